//! Request phases and the sorted event times that cut the trace into segments.
//!
//! A request with a first token is in prefill on `[start, first_token]` and in
//! decode on `[first_token, end]`; without one it has a single `whole` phase.
//! Between two consecutive event times the set of active phases is fixed, so
//! one integral per segment serves every request at once.

use super::{RequestSet, Weight};
use crate::error::{Error, Location, Result};

/// Which part of a request a phase is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Prefill,
    Decode,
    Whole,
}

/// One phase of one request, clipped to the span, with its weight.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PhaseSpan {
    pub req: u32,
    pub kind: Phase,
    pub start_ns: i64,
    pub end_ns: i64,
    pub weight: f64,
}

/// Check each request's times, and shift them by `offset_ns`.
pub(crate) fn shifted(reqs: &RequestSet, offset_ns: i64) -> Result<RequestSet> {
    let n = reqs.start_ns.len();
    let lengths = [
        ("end_ns", reqs.end_ns.len()),
        ("first_token_ns", reqs.first_token_ns.len()),
        ("input_tokens", reqs.input_tokens.len()),
        ("output_tokens", reqs.output_tokens.len()),
    ];
    for (what, len) in lengths {
        if len != n {
            return Err(Error::LengthMismatch {
                what: format!("start_ns and {what}"),
                expected: n,
                found: len,
            });
        }
    }
    if let Some(ch) = &reqs.channels {
        if ch.len() != n {
            return Err(Error::LengthMismatch {
                what: "requests and their channel lists".into(),
                expected: n,
                found: ch.len(),
            });
        }
    }
    let shift = |i: usize, t: i64| -> Result<i64> {
        t.checked_add(offset_ns)
            .ok_or_else(|| Error::TimestampOverflow {
                at: Location::at_index(i),
                value: format!("{t} + offset {offset_ns}"),
            })
    };
    let mut out = RequestSet {
        start_ns: Vec::with_capacity(n),
        first_token_ns: Vec::with_capacity(n),
        end_ns: Vec::with_capacity(n),
        input_tokens: reqs.input_tokens.clone(),
        output_tokens: reqs.output_tokens.clone(),
        channels: reqs.channels.clone(),
    };
    for i in 0..n {
        let (s, e) = (reqs.start_ns[i], reqs.end_ns[i]);
        let bad = |reason: String| Error::InvalidRequestWindow {
            at: Location::at_index(i),
            value: format!("start_ns={s} end_ns={e}"),
            reason,
        };
        if e < s {
            return Err(bad(format!(
                "request {i} ends {} ns before it starts",
                s.abs_diff(e)
            )));
        }
        if let Some(f) = reqs.first_token_ns[i] {
            if f < s || f > e {
                return Err(bad(format!(
                    "request {i}: first token at {f} ns lies outside [start, end]"
                )));
            }
        }
        out.start_ns.push(shift(i, s)?);
        out.end_ns.push(shift(i, e)?);
        out.first_token_ns.push(match reqs.first_token_ns[i] {
            Some(f) => Some(shift(i, f)?),
            None => None,
        });
    }
    Ok(out)
}

/// Tokens per second, for the `tokens` weight: the work a phase does per unit time.
fn rate(tokens: f64, a: i64, b: i64) -> f64 {
    let secs = b.abs_diff(a) as f64 / 1e9;
    if secs > 0.0 {
        tokens / secs
    } else {
        0.0 // a zero-length phase has no segment: its weight is never used
    }
}

/// Every phase of every request, clipped to `span` (empty ones dropped).
pub(crate) fn phases(
    reqs: &RequestSet,
    weight: Weight,
    prefill_weight: f64,
    span: (i64, i64),
) -> Vec<PhaseSpan> {
    let mut out = Vec::with_capacity(2 * reqs.start_ns.len());
    for i in 0..reqs.start_ns.len() {
        let (s, e) = (reqs.start_ns[i], reqs.end_ns[i]);
        let input = reqs.input_tokens[i] as f64;
        let output = reqs.output_tokens[i] as f64;
        let decode_tokens = reqs.output_tokens[i].saturating_sub(1) as f64;
        let mut push = |kind: Phase, a: i64, b: i64| {
            let w = match (weight, kind) {
                (Weight::Equal, _) => 1.0,
                (Weight::Phase, Phase::Prefill) => prefill_weight,
                (Weight::Phase, _) => 1.0,
                (Weight::Tokens, Phase::Prefill) => rate(prefill_weight * input, a, b),
                (Weight::Tokens, Phase::Decode) => rate(decode_tokens, a, b),
                (Weight::Tokens, Phase::Whole) => rate(prefill_weight * input + output, a, b),
            };
            let (a, b) = (a.max(span.0), b.min(span.1));
            if a < b {
                out.push(PhaseSpan {
                    req: i as u32,
                    kind,
                    start_ns: a,
                    end_ns: b,
                    weight: w,
                });
            }
        };
        match reqs.first_token_ns[i] {
            Some(f) => {
                push(Phase::Prefill, s, f);
                push(Phase::Decode, f, e);
            }
            None => push(Phase::Whole, s, e),
        }
    }
    out
}

/// Sorted, distinct event times: every phase edge and the two ends of `bounds`.
pub(crate) fn event_times(phases: &[PhaseSpan], bounds: (i64, i64)) -> Vec<i64> {
    let mut x = Vec::with_capacity(2 * phases.len() + 2);
    x.push(bounds.0);
    x.push(bounds.1);
    for p in phases {
        x.push(p.start_ns);
        x.push(p.end_ns);
    }
    x.sort_unstable();
    x.dedup();
    x
}

/// Each request's start, first token and end, with the request's index.
pub(crate) fn request_times(reqs: &RequestSet) -> impl Iterator<Item = (i64, usize)> + '_ {
    (0..reqs.start_ns.len()).flat_map(move |i| {
        [
            Some(reqs.start_ns[i]),
            reqs.first_token_ns[i],
            Some(reqs.end_ns[i]),
        ]
        .into_iter()
        .flatten()
        .map(move |t| (t, i))
    })
}

/// The index of `t` in the sorted event times (`t` is one of them).
pub(crate) fn index_of(x: &[i64], t: i64) -> usize {
    x.partition_point(|&v| v < t)
}
