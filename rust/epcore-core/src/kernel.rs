//! Fast block kernels.
//!
//! A block of rows that has no anomaly at all (every value in range, times
//! strictly increasing, no gap) is integrated in one fused pass with four
//! independent compensated accumulators. Any anomaly sends the whole block to
//! the sample-by-sample path in [`crate::partial`], which defines the
//! semantics; the fast path only ever answers for blocks where both agree.

use crate::config::{Resolved, Rule};
use crate::error::Result;
use crate::partial::{Counts, Partial, Sample};
use crate::sum::{CompensatedSum, Lanes};

const LANES: usize = 4;

/// Integrate one block of rows (`index0` is the channel row index of `t[0]`).
pub fn block_partial(cfg: &Resolved, t: &[i64], v: &[f64], index0: u64) -> Result<Partial> {
    let fast = match cfg.opts.rule {
        Rule::Trapezoid => fused(cfg, t, v, index0, |p0, p1, dt| (p0 + p1) * dt),
        Rule::Hold => fused(cfg, t, v, index0, |p0, _p1, dt| p0 * dt),
        Rule::Counter => fused(cfg, t, v, index0, |c0, c1, _dt| c1 - c0),
    };
    if let Some(p) = fast {
        return Ok(p);
    }
    let mut p = Partial::new(*cfg);
    for (i, (&ti, &vi)) in t.iter().zip(v).enumerate() {
        p.push(ti, vi, index0 + i as u64)?;
    }
    Ok(p)
}

/// One value is clean for the fast path.
#[inline(always)]
fn value_ok(rule: Rule, v: f64, max_p: f64) -> bool {
    match rule {
        // NaN fails both comparisons.
        Rule::Trapezoid | Rule::Hold => v >= 0.0 && v <= max_p,
        Rule::Counter => v >= 0.0 && v < f64::INFINITY,
    }
}

/// The fused pass. Returns `None` if the block has any anomaly.
#[inline(always)]
fn fused<F: Fn(f64, f64, f64) -> f64>(
    cfg: &Resolved,
    t: &[i64],
    v: &[f64],
    index0: u64,
    term: F,
) -> Option<Partial> {
    let n = t.len();
    if n < 2 || v.len() != n {
        return None;
    }
    let rule = cfg.opts.rule;
    let max_p = cfg.opts.max_power_w;
    let max_gap = cfg.max_gap_ns;
    let counter = rule == Rule::Counter;

    let mut lanes = Lanes::<LANES>::new();
    let mut bad = false;
    let mut min_dt = i64::MAX;
    let mut max_dt = 0i64;
    let mut min_v = f64::INFINITY;
    let mut max_v = f64::NEG_INFINITY;

    let segs = n - 1;
    let full = segs / LANES * LANES;
    let mut i = 0;
    while i < full {
        let tw = &t[i..i + LANES + 1];
        let vw = &v[i..i + LANES + 1];
        let mut xs = [0.0; LANES];
        for k in 0..LANES {
            let (t0, t1) = (tw[k], tw[k + 1]);
            let (p0, p1) = (vw[k], vw[k + 1]);
            // wrapping_sub plus the order check: a wrapped difference is negative.
            let dt = t1.wrapping_sub(t0);
            bad |= (t1 <= t0) | (dt <= 0) | (dt > max_gap);
            bad |= !value_ok(rule, p0, max_p);
            bad |= counter & (p1 < p0);
            min_dt = min_dt.min(dt);
            max_dt = max_dt.max(dt);
            min_v = min_v.min(p0);
            max_v = max_v.max(p0);
            xs[k] = term(p0, p1, dt as f64);
        }
        lanes.add(xs);
        i += LANES;
    }
    let mut tail = CompensatedSum::default();
    while i < segs {
        let (t0, t1, p0, p1) = (t[i], t[i + 1], v[i], v[i + 1]);
        let dt = t1.wrapping_sub(t0);
        bad |= (t1 <= t0) | (dt <= 0) | (dt > max_gap);
        bad |= !value_ok(rule, p0, max_p);
        bad |= counter & (p1 < p0);
        min_dt = min_dt.min(dt);
        max_dt = max_dt.max(dt);
        min_v = min_v.min(p0);
        max_v = max_v.max(p0);
        tail.add(term(p0, p1, dt as f64));
        i += 1;
    }
    let last_v = v[n - 1];
    bad |= !value_ok(rule, last_v, max_p);
    if bad {
        return None;
    }
    let mut sum = CompensatedSum::default();
    lanes.fold_into(&mut sum);
    sum.merge(&tail);
    let covered = t[n - 1] - t[0];
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
            covered_ns: covered,
            ..Counts::default()
        },
        min_dt_ns: min_dt,
        max_dt_ns: max_dt,
        min_value: min_v.min(last_v),
        max_value: max_v.max(last_v),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Options;

    fn slow(cfg: &Resolved, t: &[i64], v: &[f64]) -> Partial {
        let mut p = Partial::new(*cfg);
        for i in 0..t.len() {
            p.push(t[i], v[i], i as u64).unwrap();
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
                let fast = block_partial(&cfg, &t, &v, 0).unwrap();
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
    fn anomalies_fall_back() {
        let cfg = Options::default().resolve(&[]);
        let t = [0, 10, 20, 30, 40, 50];
        let v = [1.0, f64::NAN, 1.0, 1.0, 1.0, 1.0];
        let p = block_partial(&cfg, &t, &v, 0).unwrap();
        assert_eq!(p.counts.n_nonfinite, 1);
        assert_eq!(p.counts.n_samples, 5);
    }
}
