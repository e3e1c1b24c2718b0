//! Fast block kernels.
//!
//! A block of rows that has no anomaly at all (every value in range, times
//! strictly increasing, no gap) is integrated in one fused SIMD pass with
//! eight independent compensated accumulators (two vectors of four lanes). Any anomaly sends the whole block to
//! the sample-by-sample path in [`crate::partial`], which defines the
//! semantics; the fast path only ever answers for blocks where both agree.

use crate::config::{Resolved, Rule};
use crate::error::Result;
use crate::partial::{Counts, Partial, Sample};
use crate::sum::{CompensatedSum, Lanes};
use wide::bytemuck::cast;
use wide::{f64x4, u64x4};

const LANES: usize = 8;

/// Integers below 2^52 convert to f64 exactly by this bit trick, which
/// vectorizes on every x86-64 (a plain `as f64` from i64 does not before AVX-512).
pub(crate) const MAGIC: u64 = 0x4330_0000_0000_0000;
pub(crate) const TWO52: f64 = 4_503_599_627_370_496.0;

#[inline(always)]
fn small_i64_to_f64(x: u64) -> f64 {
    f64::from_bits(x | MAGIC) - TWO52
}

/// Integrate one block of rows (`index0` is the channel row index of `t[0]`).
pub fn block_partial(cfg: &Resolved, t: &[i64], v: &[f64], index0: u64) -> Result<Partial> {
    let fast =
        fast_block::<false>(cfg, t, v, index0).or_else(|| fast_block::<true>(cfg, t, v, index0));
    if let Some(p) = fast {
        return Ok(p);
    }
    // Missing readings ([N/A] in nvidia-smi logs) are the common reason to
    // leave the fused pass: the finite runs between them still take it, and
    // only the missing rows go through the reference path. Runs are cut at
    // the same rows whatever the chunking, so the result stays deterministic.
    let mut p = Partial::new(*cfg);
    let mut a = 0;
    while a < t.len() {
        let b = v[a..]
            .iter()
            .position(|x| !x.is_finite())
            .map_or(t.len(), |k| a + k);
        if b > a {
            let run = fast_block::<false>(cfg, &t[a..b], &v[a..b], index0 + a as u64)
                .or_else(|| fast_block::<true>(cfg, &t[a..b], &v[a..b], index0 + a as u64));
            match run {
                Some(r) if b - a >= 2 => p.merge(&r)?,
                _ => {
                    for i in a..b {
                        p.push(t[i], v[i], index0 + i as u64)?;
                    }
                }
            }
        }
        if b < t.len() {
            p.push(t[b], v[b], index0 + b as u64)?;
        }
        a = b + 1;
    }
    Ok(p)
}

/// The fused pass for each rule; `GAPS` is the variant that also counts (and,
/// for power, skips) intervals above the gap threshold.
fn fast_block<const GAPS: bool>(
    cfg: &Resolved,
    t: &[i64],
    v: &[f64],
    index0: u64,
) -> Option<Partial> {
    match cfg.opts.rule {
        Rule::Trapezoid => fused::<GAPS, _, _>(
            cfg,
            t,
            v,
            index0,
            |p0, p1, dt| (p0 + p1) * dt,
            |p0, p1, dt| (p0 + p1) * dt,
        ),
        Rule::Hold => fused::<GAPS, _, _>(
            cfg,
            t,
            v,
            index0,
            |p0, _p1, dt| p0 * dt,
            |p0, _p1, dt| p0 * dt,
        ),
        Rule::Counter => fused::<GAPS, _, _>(
            cfg,
            t,
            v,
            index0,
            |c0, c1, _dt| c1 - c0,
            |c0, c1, _dt| c1 - c0,
        ),
    }
}

/// Four timestamps as lanes.
#[inline(always)]
pub(crate) fn load_u(s: &[i64]) -> u64x4 {
    u64x4::new([s[0] as u64, s[1] as u64, s[2] as u64, s[3] as u64])
}

/// Four values as lanes.
#[inline(always)]
pub(crate) fn load_f(s: &[f64]) -> f64x4 {
    f64x4::new([s[0], s[1], s[2], s[3]])
}

/// Running extremes; plain comparisons (not `f64::min`) so they map to SIMD
/// min/max. NaN is caught separately: it poisons the sum.
#[derive(Clone, Copy)]
struct Extremes {
    min_dt: f64,
    max_dt: f64,
    min_v: f64,
    max_v: f64,
}

#[inline(always)]
fn lo(a: f64, b: f64) -> f64 {
    if a < b {
        a
    } else {
        b
    }
}

#[inline(always)]
fn hi(a: f64, b: f64) -> f64 {
    if a > b {
        a
    } else {
        b
    }
}

/// The fused pass. Returns `None` if the block has any anomaly (a gap too,
/// unless `GAPS`), which the checks after the loop detect from the extremes
/// of the intervals and values and from the finiteness of the sum.
#[inline(always)]
fn fused<const GAPS: bool, F, G>(
    cfg: &Resolved,
    t: &[i64],
    v: &[f64],
    index0: u64,
    term: F,
    term4: G,
) -> Option<Partial>
where
    F: Fn(f64, f64, f64) -> f64,
    G: Fn(f64x4, f64x4, f64x4) -> f64x4,
{
    let n = t.len();
    // Intervals convert to f64 exactly below 2^52 ns (52 days), which is checked below; a
    // threshold beyond that (max_gap_s = 1e9, "never a gap") compares the same in f64.
    const DT_LIMIT: f64 = 4_503_599_627_370_496.0;
    if n < 2 || v.len() != n {
        return None;
    }
    let rule = cfg.opts.rule;
    let skip_gaps = GAPS && rule != Rule::Counter;
    let max_gap = f64x4::splat(cfg.max_gap_ns as f64);

    // Two vectors of four lanes for the sums hide the latency of the TwoSum chain;
    // the extremes need one vector each. Few live registers: no spills on SSE2.
    let zero = f64x4::ZERO;
    let (mut s_hi, mut s_lo) = ([zero; 2], [zero; 2]);
    let mut min_dt = f64x4::splat(f64::INFINITY);
    let mut max_dt = zero;
    let mut min_v = f64x4::splat(f64::INFINITY);
    let mut max_v = f64x4::splat(f64::NEG_INFINITY);
    let (mut gap_n, mut gap_dt) = (zero, zero);
    let mut or_d = u64x4::ZERO;
    let mut v_sum = zero;
    let magic = u64x4::splat(MAGIC);
    let two52 = f64x4::splat(TWO52);
    let segs = n - 1;
    let full = segs / LANES * LANES;
    let quads = t[..full]
        .chunks_exact(LANES)
        .zip(t[1..=full].chunks_exact(LANES))
        .zip(
            v[..full]
                .chunks_exact(LANES)
                .zip(v[1..=full].chunks_exact(LANES)),
        );
    for ((t0, t1), (p0, p1)) in quads {
        for j in 0..2 {
            let r = 4 * j..4 * j + 4;
            // The conversion is exact only below 2^52: a negative (wrapped) or larger
            // difference would collide with the exponent bits, so all are OR-ed and checked.
            let d = load_u(&t1[r.clone()]) - load_u(&t0[r.clone()]);
            or_d |= d;
            let dt = cast::<u64x4, f64x4>(d | magic) - two52;
            let (a, b) = (load_f(&p0[r.clone()]), load_f(&p1[r]));
            min_dt = min_dt.fast_min(dt);
            max_dt = max_dt.fast_max(dt);
            min_v = min_v.fast_min(a);
            max_v = max_v.fast_max(a);
            let mut x = term4(a, b, dt);
            if GAPS {
                // Masking a gap's term could hide a NaN in it: values get their own sum.
                v_sum += a;
                let gap = dt.simd_gt(max_gap);
                gap_n += gap & f64x4::ONE;
                gap_dt += gap & dt;
                if skip_gaps {
                    x &= !gap;
                }
            }
            // TwoSum, lane-wise.
            let sum = s_hi[j] + x;
            let bb = sum - s_hi[j];
            s_lo[j] += (s_hi[j] - (sum - bb)) + (x - bb);
            s_hi[j] = sum;
        }
    }
    let mut ex = Extremes {
        min_dt: f64::INFINITY,
        max_dt: 0.0,
        min_v: f64::INFINITY,
        max_v: f64::NEG_INFINITY,
    };
    let (mut n_gaps, mut gap_total) = (0.0f64, 0.0f64);
    let mut any_d = 0u64;
    let mut any_v = 0.0f64;
    for k in 0..4 {
        any_d |= or_d.as_array()[k];
        ex.min_dt = lo(ex.min_dt, min_dt.as_array()[k]);
        ex.max_dt = hi(ex.max_dt, max_dt.as_array()[k]);
        ex.min_v = lo(ex.min_v, min_v.as_array()[k]);
        ex.max_v = hi(ex.max_v, max_v.as_array()[k]);
        n_gaps += gap_n.as_array()[k];
        any_v += v_sum.as_array()[k];
        gap_total += gap_dt.as_array()[k];
    }
    let mut lanes = Lanes::<LANES>::new();
    for j in 0..2 {
        lanes.set(4 * j, s_hi[j].as_array(), s_lo[j].as_array());
    }
    let mut tail = CompensatedSum::default();
    for i in full..segs {
        let (t0, t1, p0, p1) = (t[i], t[i + 1], v[i], v[i + 1]);
        let d = t1.wrapping_sub(t0) as u64;
        any_d |= d;
        let dt = small_i64_to_f64(d);
        ex.min_dt = lo(ex.min_dt, dt);
        ex.max_dt = hi(ex.max_dt, dt);
        ex.min_v = lo(ex.min_v, p0);
        ex.max_v = hi(ex.max_v, p0);
        any_v += p0;
        let gap = GAPS && dt > cfg.max_gap_ns as f64;
        if gap {
            n_gaps += 1.0;
            gap_total += dt;
        }
        if !(gap && skip_gaps) {
            tail.add(term(p0, p1, dt));
        }
    }
    let last_v = v[n - 1];
    let mut all = ex;
    all.min_v = lo(all.min_v, last_v);
    all.max_v = hi(all.max_v, last_v);
    let mut sum = CompensatedSum::default();
    lanes.fold_into(&mut sum);
    sum.merge(&tail);
    let (s_hi, s_lo) = sum.parts();
    let values_ok = match rule {
        // NaN or inf anywhere reaches a term (the last value too, in trapezoid) and poisons the sum.
        Rule::Trapezoid => all.min_v >= 0.0 && all.max_v <= cfg.opts.max_power_w,
        Rule::Hold => all.min_v >= 0.0 && all.max_v <= cfg.opts.max_power_w && last_v.is_finite(),
        // Counters must not decrease: every term is >= 0.
        Rule::Counter => all.min_v >= 0.0 && all.max_v.is_finite() && counter_terms_ok(v),
    };
    // Every interval positive and below 2^52 ns, and (without GAPS) none a gap; the
    // intervals bounded by the largest one rule out a wrap through the i64 range.
    let dt_ok =
        any_d < 1 << 52 && all.min_dt > 0.0 && (GAPS || all.max_dt <= cfg.max_gap_ns as f64);
    let finite = s_hi.is_finite() && s_lo.is_finite() && any_v.is_finite() && last_v.is_finite();
    if !(values_ok && dt_ok && finite) || gap_total >= DT_LIMIT {
        return None;
    }
    let reach = (all.max_dt as i64).checked_mul(segs as i64)?;
    t[0].checked_add(reach)?;
    let span = t[n - 1].checked_sub(t[0])?;
    let gap_ns = gap_total as i64;
    Some(Partial {
        cfg: *cfg,
        sum,
        first: Some(Sample {
            t_ns: t[0],
            value: v[0],
            index: index0,
        }),
        last: Some(Sample {
            t_ns: t[n - 1],
            value: last_v,
            index: index0 + segs as u64,
        }),
        counts: Counts {
            n_rows: n as u64,
            n_samples: n as u64,
            n_gaps: n_gaps as u64,
            gap_ns,
            covered_ns: if skip_gaps { span - gap_ns } else { span },
            ..Counts::default()
        },
        min_dt_ns: all.min_dt as i64,
        max_dt_ns: all.max_dt as i64,
        min_value: all.min_v,
        max_value: all.max_v,
    })
}

/// Counters are rare and small; a plain check that they never decrease is enough.
fn counter_terms_ok(v: &[f64]) -> bool {
    v.windows(2).all(|w| w[1] >= w[0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Options;

    fn slow(cfg: &Resolved, t: &[i64], v: &[f64]) -> Partial {
        let mut p = Partial::new(*cfg);
        for i in 0..t.len() {
            p.push(t[i], v[i], i as u64)
                .expect("the test input is valid");
        }
        p
    }

    #[test]
    fn fast_path_agrees_with_the_reference_path() {
        for rule in [Rule::Trapezoid, Rule::Hold, Rule::Counter] {
            let cfg = Options {
                rule,
                ..Options::default()
            }
            .resolve(&[]);
            for n in [2usize, 3, 5, 8, 9, 100] {
                let t: Vec<i64> = (0..n as i64)
                    .map(|i| i * 1_000_003 + (i % 3) * 17)
                    .collect();
                let v: Vec<f64> = (0..n).map(|i| 10.0 + (i * i) as f64 * 0.25).collect();
                let fast = block_partial(&cfg, &t, &v, 0).expect("the test input is valid");
                let reference = slow(&cfg, &t, &v);
                assert_eq!(fast.energy_j(), reference.energy_j(), "{rule:?} n={n}");
                assert_eq!(fast.counts, reference.counts);
                assert_eq!(fast.first, reference.first);
                assert_eq!(fast.last, reference.last);
                assert_eq!(fast.max_dt_ns, reference.max_dt_ns);
                assert_eq!(fast.min_value, reference.min_value);
            }
        }
    }

    #[test]
    fn a_nan_inside_a_gap_is_still_seen() {
        let cfg = Options {
            max_gap_ns: Some(3),
            ..Options::default()
        }
        .resolve(&[]);
        for n in [2usize, 9, 17] {
            let t: Vec<i64> = (0..n as i64).map(|i| i * 4).collect();
            let mut v = vec![1.0; n];
            v[0] = f64::NAN;
            let p = block_partial(&cfg, &t, &v, 0).expect("the test input is valid");
            assert_eq!(p.counts.n_nonfinite, 1, "n={n}");
        }
    }

    #[test]
    fn a_huge_gap_threshold_keeps_the_fast_path() {
        let cfg = Options {
            max_gap_ns: Some(i64::MAX),
            ..Options::default()
        }
        .resolve(&[]);
        let t: Vec<i64> = (0..100).map(|i| i * 1_000_000_000_000).collect();
        let v = vec![5.0; 100];
        assert!(fast_block::<false>(&cfg, &t, &v, 0).is_some());
        assert_eq!(
            block_partial(&cfg, &t, &v, 0)
                .expect("the test input is valid")
                .energy_j(),
            5.0 * 99_000.0
        );
    }

    #[test]
    fn anomalies_fall_back() {
        let cfg = Options::default().resolve(&[]);
        let t = [0, 10, 20, 30, 40, 50];
        let v = [1.0, f64::NAN, 1.0, 1.0, 1.0, 1.0];
        let p = block_partial(&cfg, &t, &v, 0).expect("the test input is valid");
        assert_eq!(p.counts.n_nonfinite, 1);
        assert_eq!(p.counts.n_samples, 5);
    }
}
