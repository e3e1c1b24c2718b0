//! The steady-state window, as the ML.ENERGY benchmark measures it.
//!
//! With a batch of `B` slots and `N` requests, the batch fills at the `B`-th
//! first token and stays full until only `B` requests are left to finish: the
//! window runs from the `B`-th first token to the `(N - B)`-th completion
//! (0-based: `F[B-1]` to `E[N-B-1]`). Ramp-up and drain are left out, so the
//! J/token it gives is the figure for a full server.

use super::RequestSet;
use crate::error::{Error, Result};

/// The steady-state window and the batch size it assumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SteadyWindow {
    pub start_ns: i64,
    pub end_ns: i64,
    pub batch_size: usize,
    /// True when `batch_size` was the most requests ever in flight at once.
    pub batch_size_observed: bool,
}

/// The most requests in flight at once, counting `[start, end)` (touching ends do not overlap).
pub fn max_concurrency(start_ns: &[i64], end_ns: &[i64]) -> usize {
    let mut ev: Vec<(i64, i8)> = Vec::with_capacity(2 * start_ns.len());
    for (&s, &e) in start_ns.iter().zip(end_ns) {
        if s < e {
            ev.push((s, 1));
            ev.push((e, -1));
        }
    }
    // Ends sort before starts at the same time.
    ev.sort_unstable();
    let (mut n, mut best) = (0i64, 0i64);
    for (_, d) in ev {
        n += i64::from(d);
        best = best.max(n);
    }
    best as usize
}

fn no_steady_state(value: String, reason: String) -> Error {
    Error::InvalidArgument {
        name: "steady_state".into(),
        value,
        reason,
    }
}

/// The steady-state window of `reqs` for a batch of `batch_size` (the observed maximum when None).
pub fn steady_window(reqs: &RequestSet, batch_size: Option<usize>) -> Result<SteadyWindow> {
    let n = reqs.start_ns.len();
    let observed = batch_size.is_none();
    let b = match batch_size {
        Some(b) => b,
        None => max_concurrency(&reqs.start_ns, &reqs.end_ns),
    };
    if b == 0 {
        return Err(no_steady_state(
            format!("batch_size={b}"),
            "no two requests overlap and no batch size was given: there is no full batch to measure".into(),
        ));
    }
    if n <= b {
        return Err(no_steady_state(
            format!("batch_size={b}, requests={n}"),
            format!("{n} requests never fill a batch of {b} and then keep it full; send more requests than the batch holds"),
        ));
    }
    let mut first: Vec<i64> = (0..n)
        .map(|i| reqs.first_token_ns[i].unwrap_or(reqs.start_ns[i]))
        .collect();
    let mut ends = reqs.end_ns.clone();
    first.sort_unstable();
    ends.sort_unstable();
    let (start_ns, end_ns) = (first[b - 1], ends[n - b - 1]);
    if end_ns <= start_ns {
        return Err(no_steady_state(
            format!("batch_size={b}, requests={n}"),
            format!(
                "the batch of {b} is never full: completion {} comes {} ns before first token {b}",
                n - b,
                start_ns.saturating_sub(end_ns)
            ),
        ));
    }
    Ok(SteadyWindow {
        start_ns,
        end_ns,
        batch_size: b,
        batch_size_observed: observed,
    })
}
