//! Measured energy per request under continuous batching.
//!
//! Events (request starts, first tokens, ends) cut the trace into segments in
//! which the set of active requests is fixed. Each segment is integrated once,
//! edges interpolated ([`crate::window`]), and its energy is split among the
//! requests active in it by a [`Weight`]. Energy in segments with no request
//! is unattributed, never dropped, so
//! `attributed + unattributed = total` and the per-request energies add up to
//! the attributed energy.
//!
//! Data flows: [`events`] (phases, event times) → segment integrals →
//! [`split`] (activity sweep, prefix sums, shares) → [`results`] (per-request
//! figures and totals). [`idle`] estimates idle power, [`steady`] the
//! ML.ENERGY steady-state window, [`regression`] the independent
//! least-squares estimate of J per input and output token.

mod bins;
mod classes;
pub mod events;
pub mod idle;
pub mod regression;
pub mod results;
mod segments;
pub mod split;
pub mod steady;

pub use events::Phase;
pub use idle::IdleSource;
pub use results::{Attribution, RequestEnergy, Totals};
pub use steady::SteadyWindow;

use crate::config::Options;
use crate::error::{Error, Result};

/// The canonical requests (FORMATS.md §17), as attribution needs them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestSet {
    pub start_ns: Vec<i64>,
    pub first_token_ns: Vec<Option<i64>>,
    pub end_ns: Vec<i64>,
    pub input_tokens: Vec<u64>,
    pub output_tokens: Vec<u64>,
    /// The channels each request runs on (indices into the trace's channels);
    /// None: every request runs on every channel (tensor parallel).
    pub channels: Option<Vec<Vec<u32>>>,
}

/// One channel of the trace: its samples and how to integrate them.
#[derive(Debug, Clone, Copy)]
pub struct Channel<'a> {
    pub t_ns: &'a [i64],
    pub values: &'a [f64],
    pub options: &'a Options,
}

/// How a segment's energy is split among the requests active in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Weight {
    /// The same share for every active request.
    Equal,
    /// By tokens processed per second in each request's current phase (the
    /// default): the work a request does, not just its presence, draws the
    /// power, so a request streaming 50 tok/s weighs more than one waiting out
    /// its last token.
    #[default]
    Tokens,
    /// By phase: a request in prefill weighs `prefill_weight`, one in decode 1.
    Phase,
}

impl Weight {
    pub fn parse(s: &str) -> Result<Weight> {
        match s {
            "equal" => Ok(Weight::Equal),
            "tokens" => Ok(Weight::Tokens),
            "phase" => Ok(Weight::Phase),
            _ => Err(Error::InvalidArgument {
                name: "weight".into(),
                value: s.into(),
                reason: "expected one of: tokens, equal, phase".into(),
            }),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Weight::Equal => "equal",
            Weight::Tokens => "tokens",
            Weight::Phase => "phase",
        }
    }
}

/// Idle power to separate dynamic energy from.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum IdlePower {
    /// No idle power: dynamic energy is all energy.
    Off,
    /// Estimated per channel from the trace ([`idle`]).
    #[default]
    Auto,
    /// Watts per channel, in channel order.
    Given(Vec<f64>),
}

/// Which stretch of the trace to attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Span {
    /// The whole trace.
    #[default]
    Whole,
    /// `[start, end]` in ns.
    Between(i64, i64),
    /// The steady-state window ([`steady`]); the batch size is the most requests
    /// ever in flight at once unless given.
    SteadyState { batch_size: Option<usize> },
}

/// Everything [`attribute`] can be asked.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeOptions {
    pub weight: Weight,
    /// Prefill's weight relative to decode: per token for [`Weight::Tokens`],
    /// per request for [`Weight::Phase`].
    pub prefill_weight: f64,
    pub idle: IdlePower,
    pub span: Span,
    /// Added to every request time (request clock → trace clock).
    pub offset_ns: i64,
    /// Regression bin width; None: `max(1 s, 5 × median sample interval)`.
    pub regression_bin_ns: Option<i64>,
    /// Fit the regression at all.
    pub regression: bool,
    pub threads: usize,
}

impl Default for AttributeOptions {
    fn default() -> Self {
        AttributeOptions {
            weight: Weight::Tokens,
            prefill_weight: 1.0,
            idle: IdlePower::Auto,
            span: Span::Whole,
            offset_ns: 0,
            regression_bin_ns: None,
            regression: true,
            threads: 0,
        }
    }
}

impl AttributeOptions {
    fn validate(&self, n_channels: usize) -> Result<()> {
        let bad = |name: &str, value: String, reason: &str| Error::InvalidArgument {
            name: name.into(),
            value,
            reason: reason.into(),
        };
        if !(self.prefill_weight.is_finite() && self.prefill_weight >= 0.0) {
            return Err(bad(
                "prefill_weight",
                self.prefill_weight.to_string(),
                "must be a finite number >= 0",
            ));
        }
        if let IdlePower::Given(w) = &self.idle {
            if w.len() != n_channels {
                return Err(bad(
                    "idle_w",
                    format!("{} values", w.len()),
                    &format!("give one idle power per channel ({n_channels})"),
                ));
            }
            if let Some(x) = w.iter().find(|x| !(x.is_finite() && **x >= 0.0)) {
                return Err(bad(
                    "idle_w",
                    x.to_string(),
                    "must be a finite number of watts >= 0",
                ));
            }
        }
        if let Span::Between(a, b) = self.span {
            if b == a {
                return Err(bad(
                    "span",
                    format!("({a}, {b})"),
                    "the span is empty: give an end after its start",
                ));
            }
            if b < a {
                return Err(Error::InvalidWindow {
                    index: 0,
                    start_ns: a,
                    end_ns: b,
                });
            }
        }
        if let Some(b) = self.regression_bin_ns {
            if b <= 0 {
                return Err(bad("regression_bin_s", format!("{b} ns"), "must be > 0"));
            }
        }
        Ok(())
    }
}

/// Attribute the energy of `channels` to `requests`.
///
/// ```
/// use epcore_core::attribute::{attribute, AttributeOptions, Channel, IdlePower, RequestSet, Weight};
/// use epcore_core::config::Options;
/// let s = 1_000_000_000i64;
/// let (t, p) = ([0, 10 * s], [200.0, 200.0]); // 2000 J over 10 s
/// let opts = Options::default();
/// // Two identical requests from 2 s to 6 s share 800 J.
/// let reqs = RequestSet {
///     start_ns: vec![2 * s, 2 * s],
///     first_token_ns: vec![Some(3 * s), Some(3 * s)],
///     end_ns: vec![6 * s, 6 * s],
///     input_tokens: vec![100, 100],
///     output_tokens: vec![31, 31],
///     channels: None,
/// };
/// let o = AttributeOptions { weight: Weight::Equal, idle: IdlePower::Off, ..Default::default() };
/// let a = attribute(&[Channel { t_ns: &t, values: &p, options: &opts }], &reqs, &o)?;
/// assert_eq!(a.totals.total_energy_j, 2000.0);
/// assert_eq!(a.requests[0].energy_j, Some(400.0));
/// assert_eq!(a.requests[0].prefill_energy_j, Some(100.0));
/// assert_eq!(a.totals.unattributed_energy_j, 1200.0);
/// assert_eq!(a.requests[0].decode_joules_per_token, Some(10.0)); // 300 J over 30 tokens after the first
/// # Ok::<(), epcore_core::Error>(())
/// ```
pub fn attribute(
    channels: &[Channel],
    requests: &RequestSet,
    opts: &AttributeOptions,
) -> Result<Attribution> {
    if channels.is_empty() {
        return Err(Error::EmptyInput {
            at: crate::error::Location::default(),
        });
    }
    opts.validate(channels.len())?;
    let reqs = events::shifted(requests, opts.offset_ns)?;
    let classes = classes::Classes::build(&reqs, channels.len())?;
    let trace = segments::TraceBounds::of(channels)?;
    trace.require_overlap(&reqs)?;
    let (bounds, clip, steady) = match opts.span {
        Span::Whole => (trace.span, (i64::MIN, i64::MAX), None),
        Span::Between(a, b) => ((a, b), (a, b), None),
        Span::SteadyState { batch_size } => {
            let w = steady::steady_window(&reqs, batch_size)?;
            ((w.start_ns, w.end_ns), (w.start_ns, w.end_ns), Some(w))
        }
    };
    let phases = events::phases(&reqs, opts.weight, opts.prefill_weight, clip);
    let x = events::event_times(&phases, bounds);
    let measured = segments::measure(channels, &x, bounds, opts)?;
    let attributed = classes.attribute(channels, &reqs, &phases, &x, &measured, opts, clip);
    let regression = bins::estimate(&reqs, &measured);
    Ok(results::assemble(
        &reqs,
        &trace,
        &measured,
        attributed,
        &classes.n_channels_of,
        opts,
        bounds,
        clip,
        steady,
        regression,
    ))
}
