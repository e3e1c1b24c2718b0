#![no_main]
//! vLLM/SGLang token counters from Prometheus text or JSON: never a panic, chunk-size invariant.
use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
mod common;

fuzz_target!(|data: &[u8]| common::token_counters(data));
