//! Time bins for the regression estimate, and the fit over them.
//!
//! Power in each fully covered bin is regressed on the prefill and decode
//! token rates in it ([`regression`]); bins are wide enough (by default five
//! sample intervals, and at least a second) that a sensor's averaging and
//! update lag do not leak much power into the wrong bin.

use super::regression::{fit, token_rates, Bins, PhaseKind, PhaseSpan, Regression};
use super::segments::Measured;
use super::{Channel, RequestSet};
use crate::config::GAP_HEAD_ROWS;
use crate::error::{Error, Result};

/// The most bins a fit uses; more would be a unit mistake in the bin width.
pub const MAX_BINS: i64 = 10_000_000;
const MIN_BIN_NS: i64 = 1_000_000_000;

fn median_interval_ns(t: &[i64]) -> i64 {
    let head = &t[..t.len().min(GAP_HEAD_ROWS)];
    let mut dt: Vec<i64> = head
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]))
        .filter(|&d| d > 0)
        .collect();
    if dt.is_empty() {
        return 0;
    }
    let mid = dt.len() / 2;
    *dt.select_nth_unstable(mid).1
}

/// Bins over `bounds`: `bin_ns` wide, or `max(1 s, 5 × median sample interval)`.
pub(crate) fn choose(
    channels: &[Channel],
    bounds: (i64, i64),
    bin_ns: Option<i64>,
) -> Result<Option<Bins>> {
    let width = match bin_ns {
        Some(b) => b,
        None => channels
            .iter()
            .map(|c| median_interval_ns(c.t_ns).saturating_mul(5))
            .max()
            .unwrap_or(0)
            .max(MIN_BIN_NS),
    };
    let n = bounds.1.saturating_sub(bounds.0) / width;
    if n > MAX_BINS {
        return Err(Error::InvalidArgument {
            name: "regression_bin_s".into(),
            value: format!("{} s", width as f64 / 1e9),
            reason: format!("makes {n} bins (at most {MAX_BINS}); is the width in seconds?"),
        });
    }
    Ok(Some(Bins {
        start_ns: bounds.0,
        bin_ns: width,
        n: n as usize,
    }))
}

pub(crate) fn windows(b: &Bins) -> impl Iterator<Item = (i64, i64)> + '_ {
    (0..b.n as i64).map(move |k| {
        let a = b.start_ns + k * b.bin_ns;
        (a, a + b.bin_ns)
    })
}

/// The least-squares estimate over the bins, or why there is none.
pub(crate) fn estimate(
    reqs: &RequestSet,
    measured: &Measured,
) -> Option<std::result::Result<Regression, String>> {
    let (bins, per_channel) = measured.bins.as_ref()?;
    let secs = bins.bin_ns as f64 / 1e9;
    let mut power_w = vec![0.0; bins.n];
    let mut keep = vec![true; bins.n];
    for w in per_channel {
        for k in 0..bins.n {
            power_w[k] += w.energy_j[k] / secs;
            keep[k] &= w.covered_ns[k] == bins.bin_ns;
        }
    }
    let mut spans = Vec::with_capacity(2 * reqs.start_ns.len());
    for i in 0..reqs.start_ns.len() {
        let (s, e) = (reqs.start_ns[i], reqs.end_ns[i]);
        let (input, output) = (reqs.input_tokens[i] as f64, reqs.output_tokens[i]);
        // Without a first token, the prompt is read at the start and the output spread over the request.
        let (f, decode) = match reqs.first_token_ns[i] {
            Some(f) => (f, output.saturating_sub(1) as f64),
            None => (s, output as f64),
        };
        spans.push(PhaseSpan {
            start_ns: s,
            end_ns: f,
            tokens: input,
            kind: PhaseKind::Prefill,
        });
        spans.push(PhaseSpan {
            start_ns: f,
            end_ns: e,
            tokens: decode,
            kind: PhaseKind::Decode,
        });
    }
    let (prefill, decode) = token_rates(bins, &spans);
    Some(fit(&power_w, &prefill, &decode, &keep))
}
