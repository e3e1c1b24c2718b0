//! epcore-core: what each LLM token really costs in joules, money and carbon.
//!
//! Pure Rust, no Python. Data flows one way:
//! read → canonical arrays → integrate → attribute → convert → present.
//!
//! - [`read`]: streaming readers that end in canonical `(t_ns, channel, value)` rows;
//! - [`integrate`], [`kernel`], [`partial`], [`window`], [`stream`]: energy over time and windows,
//!   as mergeable partials;
//! - [`economics`]: steady-state cost, energy and carbon per token and per query;
//! - [`error`]: the one error type.
#![forbid(unsafe_code)]

pub mod attribute;
pub mod config;
pub mod economics;
pub mod edges;
pub mod error;
pub mod integrate;
pub mod kernel;
pub mod partial;
pub mod partial_codec;
pub mod read;
pub mod requests;
pub mod stream;
pub mod sum;
pub mod sweep;
pub mod time;
pub mod window;
pub mod window_stream;

pub use config::{Options, Rule};
pub use error::{Error, Result};
pub use partial::Partial;
