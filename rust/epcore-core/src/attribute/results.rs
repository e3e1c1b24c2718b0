//! Per-request figures and totals, from the sweep's shares.
//!
//! A request with no measured time gets no energy (None, with the reason),
//! never a silent 0; a ratio over zero tokens is None, never inf. Aggregate
//! J/token are ratios of sums (Σ J ÷ Σ tokens), never means of ratios.

use super::classes::Attributed;
use super::idle::IdleSource;
use super::regression::Regression;
use super::segments::{Measured, TraceBounds};
use super::steady::SteadyWindow;
use super::{AttributeOptions, RequestSet, Span, Weight};
use crate::sum::CompensatedSum;

/// One request's measured energy.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RequestEnergy {
    /// Measured share of the request's window (channel-time), 0 to 1.
    pub coverage: f64,
    /// Its share of all energy measured while it was active, idle power included.
    pub energy_j: Option<f64>,
    /// The part above idle power.
    pub dynamic_energy_j: Option<f64>,
    /// `[start, first token]`: the prompt and the first output token.
    pub prefill_energy_j: Option<f64>,
    /// `[first token, end]`: the remaining `N - 1` output tokens.
    pub decode_energy_j: Option<f64>,
    /// `energy_j / output_tokens`.
    pub joules_per_output_token: Option<f64>,
    /// `prefill_energy_j / input_tokens`.
    pub joules_per_input_token: Option<f64>,
    /// `decode_energy_j / (output_tokens - 1)`.
    pub decode_joules_per_token: Option<f64>,
    /// `energy_j / (input_tokens + output_tokens)`.
    pub joules_per_token: Option<f64>,
    /// `energy_j` over the request's (clipped) duration.
    pub mean_power_w: Option<f64>,
    /// Tokens the J/token figures divide by: the request's own counts, or
    /// with a span the part processed inside it (prorated over each phase,
    /// the first token counted where it falls).
    pub counted_input_tokens: f64,
    pub counted_output_tokens: f64,
    pub counted_decode_tokens: f64,
    /// Why a figure is missing or partial.
    pub reason: Option<String>,
}

/// The whole attribution's totals.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Totals {
    /// Energy of the whole trace, or of the span when one was asked for.
    pub total_energy_j: f64,
    /// Energy measured while at least one request was active, all given to requests.
    pub attributed_energy_j: f64,
    /// Energy measured while no request was active.
    pub unattributed_energy_j: f64,
    /// Σ per-request dynamic energy (above idle power).
    pub dynamic_energy_j: f64,
    /// Idle power × covered time over the span, every channel.
    pub idle_energy_j: f64,
    pub prefill_energy_j: f64,
    pub decode_energy_j: f64,
    /// Energy of requests without a first token (no prefill/decode split).
    pub unsplit_energy_j: f64,
    pub joules_per_output_token: Option<f64>,
    pub joules_per_input_token: Option<f64>,
    pub decode_joules_per_token: Option<f64>,
    pub joules_per_token: Option<f64>,
    pub dynamic_joules_per_output_token: Option<f64>,
    pub n_requests: usize,
    /// Requests that got an energy.
    pub n_attributed: usize,
    /// Requests with no measured time (or outside the span).
    pub n_outside: usize,
    /// Requests partly measured.
    pub n_partial: usize,
    /// Tokens of the requests that got an energy (whole requests).
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// `N - 1` per split request.
    pub decode_tokens: u64,
    /// The divisors of the J/token figures: the counts above, or with a span
    /// the tokens processed inside it ([`RequestEnergy::counted_input_tokens`]).
    pub counted_input_tokens: f64,
    pub counted_output_tokens: f64,
    /// Of split requests only: the divisors of `joules_per_input_token` and
    /// `decode_joules_per_token`.
    pub counted_prefill_tokens: f64,
    pub counted_decode_tokens: f64,
}

/// Everything [`super::attribute`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribution {
    pub totals: Totals,
    pub requests: Vec<RequestEnergy>,
    /// Idle power of each channel, W, and where it came from.
    pub idle_w: Vec<f64>,
    pub idle_source: Vec<IdleSource>,
    /// The span attributed: the whole trace or the asked span.
    pub span_ns: (i64, i64),
    pub steady_state: Option<SteadyWindow>,
    /// The regression estimate, or why there is none; None when not asked.
    pub regression: Option<Result<Regression, String>>,
    pub regression_bin_ns: Option<i64>,
    pub weight: Weight,
    pub prefill_weight: f64,
}

fn per_token(energy_j: Option<f64>, tokens: f64) -> Option<f64> {
    energy_j.filter(|_| tokens > 0.0).map(|e| e / tokens)
}

/// The share of `[a, b]` inside `clip`; a zero-length phase counts whole where it lies.
fn inside(a: i64, b: i64, clip: (i64, i64)) -> f64 {
    if b > a {
        let lo = a.max(clip.0);
        let hi = b.min(clip.1);
        if hi <= lo {
            0.0
        } else if hi - lo == b - a {
            1.0
        } else {
            (i128::from(hi) - i128::from(lo)) as f64 / (i128::from(b) - i128::from(a)) as f64
        }
    } else {
        f64::from(u8::from(clip.0 <= a && a <= clip.1))
    }
}

/// Tokens processed inside `clip`: (input, output, decode). Tokens are taken
/// to flow uniformly over their phase; the first token falls at its time.
fn counted(reqs: &RequestSet, i: usize, clip: (i64, i64)) -> (f64, f64, f64) {
    let (s, e) = (reqs.start_ns[i], reqs.end_ns[i]);
    let (input, output) = (reqs.input_tokens[i] as f64, reqs.output_tokens[i]);
    match reqs.first_token_ns[i] {
        Some(f) => {
            let decode = output.saturating_sub(1) as f64 * inside(f, e, clip);
            let first = if output > 0 { inside(f, f, clip) } else { 0.0 };
            (input * inside(s, f, clip), first + decode, decode)
        }
        None => {
            let share = inside(s, e, clip);
            (input * share, output as f64 * share, 0.0)
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn assemble(
    reqs: &RequestSet,
    trace: &TraceBounds,
    measured: &Measured,
    attributed: Attributed,
    n_channels_of: &[usize],
    opts: &AttributeOptions,
    bounds: (i64, i64),
    clip: (i64, i64),
    steady: Option<SteadyWindow>,
    regression: Option<Result<Regression, String>>,
) -> Attribution {
    let n = reqs.start_ns.len();
    let sh = &attributed.shares;
    let mut requests = Vec::with_capacity(n);
    let mut t = Totals {
        n_requests: n,
        ..Totals::default()
    };
    let (mut dynamic, mut prefill, mut decode, mut unsplit) = (
        CompensatedSum::default(),
        CompensatedSum::default(),
        CompensatedSum::default(),
        CompensatedSum::default(),
    );
    for i in 0..n {
        let (s, e) = (reqs.start_ns[i], reqs.end_ns[i]);
        let (a, b) = (s.max(clip.0), e.min(clip.1));
        let channels: Vec<usize> = match &reqs.channels {
            Some(l) => l[i].iter().map(|&c| c as usize).collect(),
            None => (0..trace.per_channel.len()).collect(),
        };
        let meets = |lo: i64, hi: i64| {
            channels
                .iter()
                .any(|&c| lo <= trace.per_channel[c].1 && hi >= trace.per_channel[c].0)
        };
        let mut r = RequestEnergy::default();
        let outside_span = a > b || (a == b && s < e);
        if outside_span {
            r.reason = Some("outside the span".into());
        } else if a == b {
            r.coverage = if meets(a, a) { 1.0 } else { 0.0 };
        } else {
            let full = i128::from(b - a) * n_channels_of[i] as i128;
            let covered = sh.covered_ns[i];
            r.coverage = if covered >= full {
                1.0
            } else {
                covered as f64 / full as f64
            };
        }
        if !outside_span && r.coverage == 0.0 {
            r.reason = Some(
                if meets(a, b) {
                    "in a gap of the trace"
                } else {
                    "outside the trace"
                }
                .into(),
            );
        }
        if r.coverage > 0.0 {
            if r.coverage < 1.0 {
                r.reason = Some(format!(
                    "partly outside the trace (coverage {:.2})",
                    r.coverage
                ));
            }
            let energy = sh.energy_j[i].value();
            let (input, output) = (reqs.input_tokens[i], reqs.output_tokens[i]);
            let (ci, co, cd) = counted(reqs, i, clip);
            (
                r.counted_input_tokens,
                r.counted_output_tokens,
                r.counted_decode_tokens,
            ) = (ci, co, cd);
            r.energy_j = Some(energy);
            r.dynamic_energy_j = Some(sh.dynamic_j[i].value());
            if reqs.first_token_ns[i].is_some() {
                r.prefill_energy_j = Some(sh.prefill_j[i].value());
                r.decode_energy_j = Some(sh.decode_j[i].value());
                prefill.merge(&sh.prefill_j[i]);
                decode.merge(&sh.decode_j[i]);
                t.counted_prefill_tokens += ci;
                t.decode_tokens += output.saturating_sub(1);
                t.counted_decode_tokens += cd;
            } else {
                unsplit.merge(&sh.energy_j[i]);
            }
            r.joules_per_output_token = per_token(r.energy_j, co);
            r.joules_per_input_token = per_token(r.prefill_energy_j, ci);
            r.decode_joules_per_token = per_token(r.decode_energy_j, cd);
            r.joules_per_token = per_token(r.energy_j, ci + co);
            if b > a {
                r.mean_power_w = Some(energy / ((b - a) as f64 / 1e9));
            }
            t.counted_input_tokens += ci;
            t.counted_output_tokens += co;
            dynamic.merge(&sh.dynamic_j[i]);
            t.n_attributed += 1;
            t.n_partial += usize::from(r.coverage < 1.0);
            t.input_tokens += input;
            t.output_tokens += output;
        } else {
            t.n_outside += 1;
        }
        requests.push(r);
    }
    t.total_energy_j = match opts.span {
        Span::Whole => measured.whole.iter().map(|p| p.energy_j()).sum(),
        _ => measured.span_energy_j.iter().sum(),
    };
    t.attributed_energy_j = sh.attributed_j.value();
    t.unattributed_energy_j = sh.unattributed_j.value();
    t.dynamic_energy_j = dynamic.value();
    t.prefill_energy_j = prefill.value();
    t.decode_energy_j = decode.value();
    t.unsplit_energy_j = unsplit.value();
    t.idle_energy_j = attributed
        .idle_w
        .iter()
        .zip(&measured.span_covered_ns)
        .map(|(w, &ns)| w * (ns as f64 / 1e9))
        .sum();
    let (ci, co) = (t.counted_input_tokens, t.counted_output_tokens);
    t.joules_per_output_token = per_token(Some(t.attributed_energy_j), co);
    t.joules_per_input_token = per_token(Some(t.prefill_energy_j), t.counted_prefill_tokens);
    t.decode_joules_per_token = per_token(Some(t.decode_energy_j), t.counted_decode_tokens);
    t.joules_per_token = per_token(Some(t.attributed_energy_j), ci + co);
    t.dynamic_joules_per_output_token = per_token(Some(t.dynamic_energy_j), co);
    Attribution {
        totals: t,
        requests,
        idle_w: attributed.idle_w,
        idle_source: attributed.idle_source,
        span_ns: bounds,
        steady_state: steady,
        regression,
        regression_bin_ns: measured.bins.as_ref().map(|(b, _)| b.bin_ns),
        weight: opts.weight,
        prefill_weight: opts.prefill_weight,
    }
}
