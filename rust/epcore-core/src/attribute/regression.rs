//! The regression estimate of per-token energy.
//!
//! An estimate independent of per-request attribution: bin the run in time, take the
//! mean power of each bin and its prefill and decode token rates, and fit
//! `power_w = intercept_w + a * prefill_rate + b * decode_rate` by least squares.
//! `a` and `b` are then joules per input and per output token, and `intercept_w` the
//! power the device draws whatever the load. When the two estimates disagree, one of
//! them rests on a wrong assumption, which is why both are reported.

/// Which phase of a request a span of tokens belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseKind {
    Prefill,
    Decode,
}

/// Tokens processed uniformly over `[start_ns, end_ns]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhaseSpan {
    pub start_ns: i64,
    pub end_ns: i64,
    pub tokens: f64,
    pub kind: PhaseKind,
}

/// `n` consecutive half-open bins `[start_ns + k * bin_ns, start_ns + (k + 1) * bin_ns)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bins {
    pub start_ns: i64,
    pub bin_ns: i64,
    pub n: usize,
}

/// Tokens per second in each bin: `(prefill, decode)`.
///
/// A span's tokens spread uniformly over `[start, end]`; a zero-length span puts all its
/// tokens in the bin holding `start` (if any). Parts outside the bins are dropped, as are
/// spans with `end < start`. Non-finite token counts give non-finite rates, which [`fit`]
/// rejects rather than silently ignoring. `bin_ns <= 0` describes no time at all, so every
/// rate is NaN. If `n` bins cannot be allocated, both vectors come back empty (and so no
/// longer match the power series, which [`fit`] rejects).
///
/// Runs in O(spans + bins): whole bins a span covers go through difference arrays, and
/// only the two edge bins of each span get an exact partial overlap.
///
/// ```
/// use epcore_core::attribute::regression::{token_rates, Bins, PhaseKind, PhaseSpan};
/// let bins = Bins { start_ns: 0, bin_ns: 1_000_000_000, n: 3 };
/// // 30 decode tokens over 1.5 s to 4.5 s: 10 tokens/s, of which the bins see 1.5 s.
/// let spans = [
///     PhaseSpan { start_ns: 1_500_000_000, end_ns: 4_500_000_000, tokens: 30.0, kind: PhaseKind::Decode },
///     PhaseSpan { start_ns: 200_000_000, end_ns: 200_000_000, tokens: 7.0, kind: PhaseKind::Prefill },
/// ];
/// let (prefill, decode) = token_rates(&bins, &spans);
/// assert_eq!(prefill, vec![7.0, 0.0, 0.0]);
/// assert!((decode[0] - 0.0).abs() < 1e-12);
/// assert!((decode[1] - 5.0).abs() < 1e-12);
/// assert!((decode[2] - 10.0).abs() < 1e-12);
/// ```
pub fn token_rates(bins: &Bins, spans: &[PhaseSpan]) -> (Vec<f64>, Vec<f64>) {
    let n = bins.n;
    if bins.bin_ns <= 0 {
        return match (filled(n, f64::NAN), filled(n, f64::NAN)) {
            (Some(p), Some(d)) => (p, d),
            _ => (Vec::new(), Vec::new()),
        };
    }
    let (Some(mut prefill), Some(mut decode)) = (Diff::new(n), Diff::new(n)) else {
        return (Vec::new(), Vec::new());
    };

    // All times in i128: n * bin_ns < 2^64 * 2^63 and adding an i64 to that still fits,
    // so nothing below can overflow, whatever the inputs.
    let bin_ns = i128::from(bins.bin_ns);
    let lo = i128::from(bins.start_ns);
    let hi = lo + (n as i128) * bin_ns;
    let bin_s = bins.bin_ns as f64 / 1e9;
    // Index of the bin holding t, for lo <= t < hi (so it is below n and fits a usize).
    let bin_of = |t: i128| ((t - lo) / bin_ns) as usize;
    let bin_start = |k: usize| lo + (k as i128) * bin_ns;

    for span in spans {
        let acc = match span.kind {
            PhaseKind::Prefill => &mut prefill,
            PhaseKind::Decode => &mut decode,
        };
        let (s, e) = (i128::from(span.start_ns), i128::from(span.end_ns));
        if e < s {
            continue;
        }
        if e == s {
            if lo <= s && s < hi {
                acc.add_bin(bin_of(s), span.tokens / bin_s);
            }
            continue;
        }
        let (cs, ce) = (s.max(lo), e.min(hi));
        if ce <= cs {
            continue;
        }
        let len = (e - s) as f64;
        let rate_for = |overlap_ns: i128| span.tokens * (overlap_ns as f64 / len) / bin_s;
        // ce is an exclusive bound here: a span ending exactly on a bin edge has no
        // overlap with the bin after it.
        let (k0, k1) = (bin_of(cs), bin_of(ce - 1));
        if k0 == k1 {
            acc.add_bin(k0, rate_for(ce - cs));
            continue;
        }
        acc.add_bin(k0, rate_for(bin_start(k0 + 1) - cs));
        acc.add_bin(k1, rate_for(ce - bin_start(k1)));
        if k1 > k0 + 1 {
            acc.add_range(k0 + 1, k1, rate_for(bin_ns));
        }
    }
    (prefill.into_rates(n), decode.into_rates(n))
}

/// Knuth's TwoSum: `a + b == s + e` exactly.
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

fn filled(n: usize, value: f64) -> Option<Vec<f64>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).ok()?;
    v.resize(n, value);
    Some(v)
}

/// A difference array kept as head plus exact rounding error, so that a long run of
/// `+rate` here and `-rate` there cancels exactly instead of leaving rounding residue
/// in every later bin.
struct Diff {
    hi: Vec<f64>,
    lo: Vec<f64>,
}

impl Diff {
    fn new(n: usize) -> Option<Diff> {
        let len = n.checked_add(1)?;
        Some(Diff {
            hi: filled(len, 0.0)?,
            lo: filled(len, 0.0)?,
        })
    }

    fn add(&mut self, k: usize, x: f64) {
        let (s, e) = two_sum(self.hi[k], x);
        self.hi[k] = s;
        self.lo[k] += e;
    }

    /// Adds `x` to bins `k0..k1`.
    fn add_range(&mut self, k0: usize, k1: usize, x: f64) {
        self.add(k0, x);
        self.add(k1, -x);
    }

    fn add_bin(&mut self, k: usize, x: f64) {
        self.add_range(k, k + 1, x);
    }

    fn into_rates(self, n: usize) -> Vec<f64> {
        let (mut hi, mut lo) = (0.0, 0.0);
        let mut out = self.hi;
        for k in 0..n {
            let (s, e) = two_sum(hi, out[k]);
            hi = s;
            lo += e + self.lo[k];
            out[k] = hi + lo;
        }
        out.truncate(n);
        out
    }
}

/// The fitted model `power_w = intercept_w + a * prefill_rate + b * decode_rate`.
#[derive(Debug, Clone, PartialEq)]
pub struct Regression {
    pub joules_per_input_token: f64,
    pub joules_per_output_token: f64,
    pub intercept_w: f64,
    pub stderr_joules_per_input_token: f64,
    pub stderr_joules_per_output_token: f64,
    pub stderr_intercept_w: f64,
    pub r_squared: f64,
    pub residual_std_w: f64,
    pub n_bins: usize,
}

/// A column is taken as constant, or two columns as collinear, when what is left of it
/// after projecting out the others is below this fraction of its norm. The same cut-off
/// R's `lm` uses: coefficients past it are set by rounding error, not by the data.
const RANK_TOL: f64 = 1e-7;

/// OLS of `power_w` on `[1, prefill_rate, decode_rate]` over the bins where `keep[i]` is true.
///
/// `Err` with a short reason when the slices differ in length, when fewer than 4 bins are
/// kept (3 coefficients leave no degree of freedom for a standard error), when a kept
/// bin holds a non-finite value (bins not kept may hold anything), or when the design is
/// rank-deficient or ill-conditioned: a rate constant over the kept bins, or prefill and
/// decode rates collinear. An `Ok` result holds only finite numbers.
///
/// ```
/// use epcore_core::attribute::regression::fit;
/// let prefill = [0.0, 100.0, 0.0, 200.0, 50.0, 0.0];
/// let decode = [10.0, 0.0, 30.0, 20.0, 0.0, 40.0];
/// let power: Vec<f64> = prefill.iter().zip(&decode).map(|(p, d)| 60.0 + 0.05 * p + 0.4 * d).collect();
/// let r = fit(&power, &prefill, &decode, &[true; 6]).expect("a well-posed design");
/// assert!((r.joules_per_input_token - 0.05).abs() < 1e-12);
/// assert!((r.joules_per_output_token - 0.4).abs() < 1e-12);
/// assert!((r.intercept_w - 60.0).abs() < 1e-10);
/// assert_eq!(r.n_bins, 6);
/// // A decode rate that is a multiple of the prefill rate cannot be told apart from it.
/// assert!(fit(&power, &prefill, &prefill.map(|p| 2.0 * p), &[true; 6]).is_err());
/// ```
pub fn fit(
    power_w: &[f64],
    prefill_rate: &[f64],
    decode_rate: &[f64],
    keep: &[bool],
) -> Result<Regression, String> {
    let len = power_w.len();
    if prefill_rate.len() != len || decode_rate.len() != len || keep.len() != len {
        return Err(format!(
            "power, prefill rate, decode rate and keep mask differ in length ({}, {}, {}, {})",
            len,
            prefill_rate.len(),
            decode_rate.len(),
            keep.len()
        ));
    }
    let (mut y, mut x1, mut x2) = (Vec::new(), Vec::new(), Vec::new());
    for i in (0..len).filter(|&i| keep[i]) {
        for (name, v) in [
            ("power", power_w[i]),
            ("prefill rate", prefill_rate[i]),
            ("decode rate", decode_rate[i]),
        ] {
            if !v.is_finite() {
                return Err(format!("{name} in bin {i} is not finite ({v})"));
            }
        }
        y.push(power_w[i]);
        x1.push(prefill_rate[i]);
        x2.push(decode_rate[i]);
    }
    let n = y.len();
    if n < 4 {
        return Err(format!("regression needs at least 4 usable bins, got {n}"));
    }

    let y = Centered::new(&y);
    let x1 = Centered::new(&x1);
    let x2 = Centered::new(&x2);
    for (name, x) in [("prefill", &x1), ("decode", &x2)] {
        if !(x.norm > RANK_TOL * x.raw_norm) {
            return Err(format!(
                "{name} token rate is (nearly) constant over the bins, so its energy cannot be \
                 separated from the intercept"
            ));
        }
    }
    // Unit-norm columns: the QR's R is then free of the rates' units, so RANK_TOL means
    // the same thing whatever the magnitudes.
    let z1: Vec<f64> = x1.u.iter().map(|v| v / x1.norm).collect();
    let z2: Vec<f64> = x2.u.iter().map(|v| v / x2.norm).collect();

    // Householder QR of [z1 z2], applying the same reflections to the centered power.
    // Centering already removed the intercept column exactly (it is orthogonal to
    // centered columns), so two reflections suffice.
    let (mut a, mut b, mut c) = (z1.clone(), z2.clone(), y.u.clone());
    let r11 = reflect(&mut a, &mut [&mut b, &mut c]);
    let r12 = b[0];
    let r22 = reflect(&mut b[1..], &mut [&mut c[1..]]);
    if !(r22.abs() > RANK_TOL * r11.abs()) {
        return Err(
            "prefill and decode token rates are (nearly) collinear, so their energies cannot \
             be told apart"
                .to_string(),
        );
    }
    let g2 = c[1] / r22;
    let g1 = (c[0] - r12 * g2) / r11;

    // Residuals recomputed from the data rather than read off the tail of Q'y: what is
    // reported then describes the coefficients actually returned.
    let (mut rss, mut tss) = (0.0, 0.0);
    for i in 0..n {
        let e = y.u[i] - g1 * z1[i] - g2 * z2[i];
        rss += e * e;
        tss += y.u[i] * y.u[i];
    }
    let r_squared = if tss > 0.0 {
        (1.0 - rss / tss).clamp(0.0, 1.0)
    } else if rss == 0.0 {
        1.0
    } else {
        0.0
    };
    let sigma = (rss / (n - 3) as f64).sqrt();

    // Everything so far is in units scaled by each column's largest magnitude; a
    // coefficient of z_j is g_j / norm_j in scaled units.
    let a_s = g1 / x1.norm;
    let b_s = g2 / x2.norm;
    let joules_per_input_token = a_s * y.scale / x1.scale;
    let joules_per_output_token = b_s * y.scale / x2.scale;
    let intercept_w = y.scale * (y.mean - a_s * x1.mean - b_s * x2.mean);

    // Cov(g) = sigma^2 R^-1 R^-T with R^-1 = [[p, q], [0, s]].
    let (p, q, s) = (1.0 / r11, -r12 / (r11 * r22), 1.0 / r22);
    let se_a = sigma * p.hypot(q) / x1.norm * y.scale / x1.scale;
    let se_b = sigma * s.abs() / x2.norm * y.scale / x2.scale;
    // Var(intercept) = sigma^2 (1/n + |R^-T h|^2), h = column means over column norms:
    // written as a sum of squares it cannot cancel to a negative variance.
    let (h1, h2) = (x1.mean / x1.norm, x2.mean / x2.norm);
    let (t1, t2) = (p * h1, q * h1 + s * h2);
    let se_c = y.scale * sigma * (1.0 / n as f64 + t1 * t1 + t2 * t2).sqrt();

    let out = Regression {
        joules_per_input_token,
        joules_per_output_token,
        intercept_w,
        stderr_joules_per_input_token: se_a,
        stderr_joules_per_output_token: se_b,
        stderr_intercept_w: se_c,
        r_squared,
        residual_std_w: sigma * y.scale,
        n_bins: n,
    };
    let values = [
        out.joules_per_input_token,
        out.joules_per_output_token,
        out.intercept_w,
        out.stderr_joules_per_input_token,
        out.stderr_joules_per_output_token,
        out.stderr_intercept_w,
        out.r_squared,
        out.residual_std_w,
    ];
    if values.iter().all(|v| v.is_finite()) {
        Ok(out)
    } else {
        Err(
            "regression coefficients overflow f64; the inputs are far outside any physical range"
                .to_string(),
        )
    }
}

/// A column divided by its largest magnitude, then centered. The division keeps every
/// square and sum below overflow whatever the input range.
struct Centered {
    /// Largest magnitude of the input (1 when all zero).
    scale: f64,
    /// Mean of the scaled column.
    mean: f64,
    /// The scaled column minus its mean.
    u: Vec<f64>,
    /// Norm of `u`.
    norm: f64,
    /// Norm of the scaled column before centering.
    raw_norm: f64,
}

impl Centered {
    fn new(x: &[f64]) -> Centered {
        let max = x.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        let scale = if max > 0.0 { max } else { 1.0 };
        let scaled: Vec<f64> = x.iter().map(|v| v / scale).collect();
        let n = scaled.len() as f64;
        let mut mean = compensated_sum(scaled.iter().copied()) / n;
        // A second pass removes what rounding left in the first mean, so the centered
        // column is orthogonal to the intercept to working precision.
        mean += compensated_sum(scaled.iter().map(|v| v - mean)) / n;
        let u: Vec<f64> = scaled.iter().map(|v| v - mean).collect();
        Centered {
            scale,
            mean,
            norm: norm(&u),
            raw_norm: norm(&scaled),
            u,
        }
    }
}

fn compensated_sum(values: impl Iterator<Item = f64>) -> f64 {
    let (mut hi, mut lo) = (0.0, 0.0);
    for v in values {
        let (s, e) = two_sum(hi, v);
        hi = s;
        lo += e;
    }
    hi + lo
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Householder reflection that maps `x` onto `alpha * e1`, applied also to each of
/// `others`; returns `alpha`. `x` is left holding the reflection vector.
fn reflect(x: &mut [f64], others: &mut [&mut [f64]]) -> f64 {
    let nx = norm(x);
    if x.is_empty() || nx == 0.0 {
        return 0.0;
    }
    // The sign opposite to x[0] avoids cancellation in x[0] - alpha.
    let alpha = if x[0] >= 0.0 { -nx } else { nx };
    x[0] -= alpha;
    let vtv = x.iter().map(|v| v * v).sum::<f64>();
    for o in others.iter_mut() {
        let f = 2.0 * x.iter().zip(o.iter()).map(|(v, w)| v * w).sum::<f64>() / vtv;
        for (w, v) in o.iter_mut().zip(x.iter()) {
            *w -= f * v;
        }
    }
    alpha
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: i64 = 1_000_000_000;

    /// xorshift64* with Box-Muller normals: deterministic, no dependencies.
    struct Rng(u64);

    impl Rng {
        fn next_u64(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        /// Uniform in [0, 1).
        fn uniform(&mut self) -> f64 {
            (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
        }
        fn range(&mut self, lo: i64, hi: i64) -> i64 {
            lo + (self.next_u64() % (hi - lo) as u64) as i64
        }
        fn normal(&mut self) -> f64 {
            let u1 = 1.0 - self.uniform();
            let u2 = self.uniform();
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        }
    }

    const INTERCEPT: f64 = 70.0;
    const J_IN: f64 = 0.02;
    const J_OUT: f64 = 0.3;

    /// Rates as a serving run produces them: bursty prefill, decode mostly busy, some idle.
    fn synthetic_rates(rng: &mut Rng, n: usize) -> (Vec<f64>, Vec<f64>) {
        let mut p = Vec::with_capacity(n);
        let mut d = Vec::with_capacity(n);
        for _ in 0..n {
            let idle = rng.uniform() < 0.1;
            p.push(if idle || rng.uniform() < 0.3 {
                0.0
            } else {
                5000.0 * rng.uniform()
            });
            d.push(if idle { 0.0 } else { 2000.0 * rng.uniform() });
        }
        (p, d)
    }

    fn model(p: &[f64], d: &[f64]) -> Vec<f64> {
        p.iter()
            .zip(d)
            .map(|(p, d)| INTERCEPT + J_IN * p + J_OUT * d)
            .collect()
    }

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs()
    }

    #[test]
    fn recovers_noise_free_model_exactly() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let (p, d) = synthetic_rates(&mut rng, 600);
        let y = model(&p, &d);
        let r = fit(&y, &p, &d, &vec![true; 600]).expect("well-posed design");
        assert!(rel(r.joules_per_input_token, J_IN) < 1e-9, "{r:?}");
        assert!(rel(r.joules_per_output_token, J_OUT) < 1e-9, "{r:?}");
        assert!(rel(r.intercept_w, INTERCEPT) < 1e-9, "{r:?}");
        assert_eq!(r.n_bins, 600);
        assert!(r.r_squared > 1.0 - 1e-12, "{r:?}");
        assert!(r.residual_std_w < 1e-9, "{r:?}");
        assert!(r.stderr_joules_per_input_token < 1e-12, "{r:?}");
        assert!(r.stderr_intercept_w < 1e-9, "{r:?}");
    }

    #[test]
    fn recovers_model_from_token_rates_of_spans() {
        // End to end: requests as spans, through token_rates, into fit.
        let mut rng = Rng(7);
        let bins = Bins {
            start_ns: 1_700_000_000 * SEC,
            bin_ns: SEC,
            n: 600,
        };
        let mut spans = Vec::new();
        for _ in 0..3000 {
            let s = bins.start_ns + rng.range(-20 * SEC, 620 * SEC);
            let prefill_end = s + rng.range(0, SEC / 2);
            let end = prefill_end + rng.range(SEC / 10, 30 * SEC);
            spans.push(PhaseSpan {
                start_ns: s,
                end_ns: prefill_end,
                tokens: rng.range(10, 4000) as f64,
                kind: PhaseKind::Prefill,
            });
            spans.push(PhaseSpan {
                start_ns: prefill_end,
                end_ns: end,
                tokens: rng.range(1, 1000) as f64,
                kind: PhaseKind::Decode,
            });
        }
        let (p, d) = token_rates(&bins, &spans);
        let y = model(&p, &d);
        let r = fit(&y, &p, &d, &vec![true; 600]).expect("well-posed design");
        assert!(rel(r.joules_per_input_token, J_IN) < 1e-9, "{r:?}");
        assert!(rel(r.joules_per_output_token, J_OUT) < 1e-9, "{r:?}");
        assert!(rel(r.intercept_w, INTERCEPT) < 1e-9, "{r:?}");
    }

    #[test]
    fn noisy_fit_is_within_three_standard_errors() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let (p, d) = synthetic_rates(&mut rng, 600);
        let y: Vec<f64> = model(&p, &d)
            .iter()
            .map(|v| v + 5.0 * rng.normal())
            .collect();
        let r = fit(&y, &p, &d, &vec![true; 600]).expect("well-posed design");
        for (est, truth, se) in [
            (
                r.joules_per_input_token,
                J_IN,
                r.stderr_joules_per_input_token,
            ),
            (
                r.joules_per_output_token,
                J_OUT,
                r.stderr_joules_per_output_token,
            ),
            (r.intercept_w, INTERCEPT, r.stderr_intercept_w),
        ] {
            assert!(se > 0.0 && se < 0.05 * truth, "{r:?}");
            assert!(
                (est - truth).abs() < 3.0 * se,
                "{est} vs {truth} ± {se}: {r:?}"
            );
        }
        assert!((r.residual_std_w - 5.0).abs() < 0.5, "{r:?}");
        assert!(r.r_squared > 0.9 && r.r_squared < 1.0, "{r:?}");
    }

    #[test]
    fn standard_errors_match_the_spread_of_repeated_fits() {
        let mut rng = Rng(42);
        let (p, d) = synthetic_rates(&mut rng, 300);
        let truth = model(&p, &d);
        let keep = vec![true; 300];
        let reps = 300;
        let (mut est, mut se) = (vec![[0.0; 3]; reps], [0.0; 3]);
        for e in est.iter_mut() {
            let y: Vec<f64> = truth.iter().map(|v| v + 5.0 * rng.normal()).collect();
            let r = fit(&y, &p, &d, &keep).expect("well-posed design");
            *e = [
                r.joules_per_input_token,
                r.joules_per_output_token,
                r.intercept_w,
            ];
            se[0] += r.stderr_joules_per_input_token / reps as f64;
            se[1] += r.stderr_joules_per_output_token / reps as f64;
            se[2] += r.stderr_intercept_w / reps as f64;
        }
        for j in 0..3 {
            let mean = est.iter().map(|e| e[j]).sum::<f64>() / reps as f64;
            let var = est.iter().map(|e| (e[j] - mean).powi(2)).sum::<f64>() / (reps - 1) as f64;
            let ratio = var.sqrt() / se[j];
            assert!(
                (0.8..1.25).contains(&ratio),
                "coefficient {j}: spread/stderr = {ratio}"
            );
        }
    }

    #[test]
    fn rank_deficient_or_degenerate_designs_are_errors() {
        let mut rng = Rng(3);
        let (p, d) = synthetic_rates(&mut rng, 50);
        let y = model(&p, &d);
        let keep = vec![true; 50];
        let constant = vec![123.0; 50];
        let zeros = vec![0.0; 50];
        let double: Vec<f64> = p.iter().map(|v| 2.0 * v).collect();
        let affine: Vec<f64> = p.iter().map(|v| 3.0 * v + 7.0).collect();
        let nearly: Vec<f64> = p.iter().map(|v| 1000.0 + v * 1e-12).collect();
        assert!(fit(&y, &constant, &d, &keep).is_err());
        assert!(fit(&y, &p, &zeros, &keep).is_err());
        assert!(fit(&y, &p, &double, &keep).is_err());
        assert!(fit(&y, &p, &affine, &keep).is_err());
        assert!(fit(&y, &nearly, &d, &keep).is_err());
        // Too few bins, whether by length or by the mask.
        assert!(fit(&[], &[], &[], &[]).is_err());
        assert!(fit(&y[..3], &p[..3], &d[..3], &keep[..3]).is_err());
        let mut three = vec![false; 50];
        three[..3].fill(true);
        assert!(fit(&y, &p, &d, &three).is_err());
        // Mismatched lengths.
        assert!(fit(&y, &p[..49], &d, &keep).is_err());
        assert!(fit(&y, &p, &d, &keep[..49]).is_err());
        // Non-finite values in kept bins.
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut yb = y.clone();
            yb[10] = bad;
            assert!(fit(&yb, &p, &d, &keep).is_err());
            let mut pb = p.clone();
            pb[11] = bad;
            assert!(fit(&y, &pb, &d, &keep).is_err());
        }
    }

    #[test]
    fn bins_not_kept_are_ignored_even_if_garbage() {
        let mut rng = Rng(11);
        let (mut p, d) = synthetic_rates(&mut rng, 100);
        let mut y = model(&p, &d);
        let mut keep = vec![true; 100];
        for i in (0..100).step_by(7) {
            keep[i] = false;
            y[i] = f64::NAN;
            p[i] = 1e300;
        }
        let r = fit(&y, &p, &d, &keep).expect("garbage is masked out");
        assert_eq!(r.n_bins, 100 - 15);
        assert!(rel(r.joules_per_output_token, J_OUT) < 1e-9, "{r:?}");
    }

    #[test]
    fn extreme_magnitudes_never_yield_non_finite_ok() {
        let mut rng = Rng(5);
        let (p, d) = synthetic_rates(&mut rng, 40);
        let keep = vec![true; 40];
        for (ys, xs) in [
            (1e300, 1.0),
            (1e300, 1e-300),
            (1e-300, 1e300),
            (1.0, 1e-310),
            (1e-310, 1.0),
        ] {
            let y: Vec<f64> = model(&p, &d).iter().map(|v| v * ys).collect();
            let px: Vec<f64> = p.iter().map(|v| v * xs).collect();
            let dx: Vec<f64> = d.iter().map(|v| v * xs).collect();
            if let Ok(r) = fit(&y, &px, &dx, &keep) {
                for v in [
                    r.joules_per_input_token,
                    r.joules_per_output_token,
                    r.intercept_w,
                    r.stderr_joules_per_input_token,
                    r.stderr_joules_per_output_token,
                    r.stderr_intercept_w,
                    r.r_squared,
                    r.residual_std_w,
                ] {
                    assert!(v.is_finite(), "{ys} {xs}: {r:?}");
                }
            }
        }
        // Units do not matter: power in mW, rates in tokens/ms give the same fit.
        let y = model(&p, &d);
        let base = fit(&y, &p, &d, &keep).expect("well-posed");
        let mw: Vec<f64> = y.iter().map(|v| v * 1e3).collect();
        let pms: Vec<f64> = p.iter().map(|v| v * 1e-3).collect();
        let dms: Vec<f64> = d.iter().map(|v| v * 1e-3).collect();
        let scaled = fit(&mw, &pms, &dms, &keep).expect("well-posed");
        assert!(
            rel(
                scaled.joules_per_output_token,
                base.joules_per_output_token * 1e6
            ) < 1e-9
        );
        assert!(rel(scaled.intercept_w, base.intercept_w * 1e3) < 1e-9);
        // Constant power: a perfect (flat) fit.
        let flat = fit(&vec![50.0; 40], &p, &d, &keep).expect("well-posed");
        assert_eq!(flat.r_squared, 1.0);
        assert!(flat.joules_per_input_token.abs() < 1e-12);
        assert!((flat.intercept_w - 50.0).abs() < 1e-9);
    }

    /// O(spans * bins) reference: the definition, bin by bin.
    fn naive_rates(bins: &Bins, spans: &[PhaseSpan]) -> (Vec<f64>, Vec<f64>) {
        let mut out = (vec![0.0; bins.n], vec![0.0; bins.n]);
        let bin_s = bins.bin_ns as f64 / 1e9;
        for sp in spans {
            let v = match sp.kind {
                PhaseKind::Prefill => &mut out.0,
                PhaseKind::Decode => &mut out.1,
            };
            let (s, e) = (i128::from(sp.start_ns), i128::from(sp.end_ns));
            for k in 0..bins.n {
                let b0 = i128::from(bins.start_ns) + k as i128 * i128::from(bins.bin_ns);
                let b1 = b0 + i128::from(bins.bin_ns);
                if s == e {
                    if b0 <= s && s < b1 {
                        v[k] += sp.tokens / bin_s;
                    }
                } else if s < e {
                    let ov = (e.min(b1) - s.max(b0)).max(0);
                    v[k] += sp.tokens * (ov as f64 / (e - s) as f64) / bin_s;
                }
            }
        }
        out
    }

    fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| (x - y).abs() <= tol * (1.0 + y.abs()))
    }

    #[test]
    fn token_rates_conserve_split_and_drop() {
        let bins = Bins {
            start_ns: 10 * SEC,
            bin_ns: 2 * SEC,
            n: 5,
        }; // [10 s, 20 s)
        let span = |s: f64, e: f64, tokens: f64, kind| PhaseSpan {
            start_ns: (s * 1e9) as i64,
            end_ns: (e * 1e9) as i64,
            tokens,
            kind,
        };
        let total = |v: &[f64]| v.iter().sum::<f64>() * 2.0;

        // Fully inside: all tokens land in the bins.
        let inside = [
            span(10.5, 19.5, 90.0, PhaseKind::Decode),
            span(12.0, 14.0, 8.0, PhaseKind::Prefill),
        ];
        let (p, d) = token_rates(&bins, &inside);
        assert!((total(&d) - 90.0).abs() < 1e-9);
        assert_eq!(p, vec![0.0, 4.0, 0.0, 0.0, 0.0]);
        // 10 tokens/s over 10.5..19.5: three quarters of the first and last 2 s bins.
        assert!(close(&d, &[7.5, 10.0, 10.0, 10.0, 7.5], 1e-12), "{d:?}");

        // Partly outside: split in proportion to time inside.
        let partial = [
            span(4.0, 14.0, 100.0, PhaseKind::Prefill),
            span(18.0, 30.0, 120.0, PhaseKind::Decode),
        ];
        let (p, d) = token_rates(&bins, &partial);
        assert!((total(&p) - 40.0).abs() < 1e-9, "{p:?}");
        assert!((total(&d) - 20.0).abs() < 1e-9, "{d:?}");
        assert!(close(&p, &[10.0, 10.0, 0.0, 0.0, 0.0], 1e-12), "{p:?}");

        // Zero-length spans: the bin holding the instant; bin edges belong to the later bin;
        // the end of the last bin is outside.
        let instants = [
            span(10.0, 10.0, 1.0, PhaseKind::Prefill),
            span(12.0, 12.0, 2.0, PhaseKind::Prefill),
            span(19.999_999_999, 19.999_999_999, 4.0, PhaseKind::Prefill),
            span(20.0, 20.0, 8.0, PhaseKind::Prefill),
            span(9.999_999_999, 9.999_999_999, 16.0, PhaseKind::Prefill),
        ];
        let (p, d) = token_rates(&bins, &instants);
        assert_eq!(p, vec![0.5, 1.0, 0.0, 0.0, 2.0]);
        assert_eq!(d, vec![0.0; 5]);

        // Entirely outside, touching only at an edge, or reversed: dropped.
        let outside = [
            span(0.0, 10.0, 5.0, PhaseKind::Decode),
            span(20.0, 25.0, 5.0, PhaseKind::Decode),
            span(-100.0, 5.0, 5.0, PhaseKind::Prefill),
            span(15.0, 12.0, 5.0, PhaseKind::Prefill),
        ];
        assert_eq!(token_rates(&bins, &outside), (vec![0.0; 5], vec![0.0; 5]));

        // A span covering every bin and beyond: its density everywhere.
        let (_, d) = token_rates(&bins, &[span(0.0, 40.0, 400.0, PhaseKind::Decode)]);
        assert!(close(&d, &[10.0; 5], 1e-12), "{d:?}");
    }

    #[test]
    fn token_rates_match_naive_on_random_input() {
        let mut rng = Rng(0xdead_beef);
        for round in 0..200 {
            let bin_ns = rng.range(1, 5 * SEC);
            let n = rng.range(0, 60) as usize;
            let bins = Bins {
                start_ns: rng.range(-10 * SEC, 10 * SEC),
                bin_ns,
                n,
            };
            let span_lo = bins.start_ns - 3 * bin_ns;
            let span_hi = bins.start_ns + (n as i64 + 3) * bin_ns;
            let mut spans = Vec::new();
            for _ in 0..rng.range(0, 80) {
                let s = rng.range(span_lo, span_hi);
                // Mix of zero-length, short, edge-aligned and long spans.
                let e = match rng.range(0, 4) {
                    0 => s,
                    1 => s + rng.range(1, bin_ns + 1),
                    2 => bins.start_ns + rng.range(-2, n as i64 + 2) * bin_ns,
                    _ => rng.range(s, span_hi + 1),
                };
                let s = if rng.range(0, 8) == 0 {
                    bins.start_ns + rng.range(-2, n as i64 + 2) * bin_ns
                } else {
                    s
                };
                spans.push(PhaseSpan {
                    start_ns: s,
                    end_ns: e,
                    tokens: (rng.range(0, 100_000) as f64) * rng.uniform(),
                    kind: if rng.range(0, 2) == 0 {
                        PhaseKind::Prefill
                    } else {
                        PhaseKind::Decode
                    },
                });
            }
            let fast = token_rates(&bins, &spans);
            let slow = naive_rates(&bins, &spans);
            let scale = spans.iter().map(|s| s.tokens).sum::<f64>() / (bin_ns as f64 / 1e9);
            let tol = 1e-12 * (1.0 + scale);
            for (f, s) in [(&fast.0, &slow.0), (&fast.1, &slow.1)] {
                assert_eq!(f.len(), n);
                for k in 0..n {
                    assert!(
                        (f[k] - s[k]).abs() <= tol,
                        "round {round} bin {k}: {} vs {}",
                        f[k],
                        s[k]
                    );
                }
            }
        }
    }

    #[test]
    fn token_rates_survive_extreme_times_and_bad_bins() {
        let spans = [
            PhaseSpan {
                start_ns: i64::MIN,
                end_ns: i64::MAX,
                tokens: 1e6,
                kind: PhaseKind::Decode,
            },
            PhaseSpan {
                start_ns: i64::MAX,
                end_ns: i64::MAX,
                tokens: 1.0,
                kind: PhaseKind::Prefill,
            },
            PhaseSpan {
                start_ns: i64::MAX,
                end_ns: i64::MIN,
                tokens: 1.0,
                kind: PhaseKind::Prefill,
            },
        ];
        for bins in [
            Bins {
                start_ns: i64::MAX - 10,
                bin_ns: i64::MAX,
                n: 3,
            },
            Bins {
                start_ns: i64::MIN,
                bin_ns: i64::MAX,
                n: 4,
            },
            Bins {
                start_ns: 0,
                bin_ns: 1,
                n: 0,
            },
        ] {
            let (p, d) = token_rates(&bins, &spans);
            assert_eq!(p.len(), bins.n);
            assert!(p.iter().chain(&d).all(|v| v.is_finite() && *v >= 0.0));
        }
        // Bins of no width: rates are NaN, so fit refuses them.
        let (p, d) = token_rates(
            &Bins {
                start_ns: 0,
                bin_ns: 0,
                n: 5,
            },
            &spans,
        );
        assert!(p.iter().chain(&d).all(|v| v.is_nan()));
        assert!(fit(&[1.0; 5], &p, &d, &[true; 5]).is_err());
        // Far too many bins to allocate: empty, which fit rejects against any power series.
        let (p, d) = token_rates(
            &Bins {
                start_ns: 0,
                bin_ns: 1,
                n: usize::MAX,
            },
            &spans,
        );
        assert!(p.is_empty() && d.is_empty());
    }
}
