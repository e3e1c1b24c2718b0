//! Mergeable integration state.
//!
//! A [`Partial`] is everything needed to continue an integral: the compensated
//! sum, the first and last accepted samples, and the quality counters. Two
//! partials of adjacent pieces merge into the partial of the whole, which is
//! what streaming readers and distributed runs stand on; between processes a
//! partial travels as bytes ([`crate::partial_codec`]).
//!
//! The sample-by-sample path here is the definition of the semantics; the fast
//! block kernels in [`crate::kernel`] must agree with it and fall back to it on
//! any anomaly.

use crate::config::{Resolved, Rule};
use crate::error::{Error, Location, Result};
use crate::sum::CompensatedSum;

/// One accepted sample: time in ns and the (possibly clamped) value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub t_ns: i64,
    pub value: f64,
    /// Row index of the sample in its channel, for error messages.
    pub index: u64,
}

/// Counts of everything that was repaired or noticed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    /// Rows offered to the integrator.
    pub n_rows: u64,
    /// Rows accepted as samples.
    pub n_samples: u64,
    pub n_nonfinite: u64,
    pub n_negative_clamped: u64,
    pub n_duplicate_identical: u64,
    pub n_gaps: u64,
    pub gap_ns: i64,
    /// Time between accepted samples that was integrated (gaps excluded for power rules).
    pub covered_ns: i64,
    pub n_wraps: u64,
    pub n_resets: u64,
}

impl Counts {
    // Saturating: a partial decoded from bytes (`Partial::from_bytes`) may carry any
    // counts, and merging it must never overflow into a panic.
    fn add(&mut self, o: &Counts) {
        self.n_rows = self.n_rows.saturating_add(o.n_rows);
        self.n_samples = self.n_samples.saturating_add(o.n_samples);
        self.n_nonfinite = self.n_nonfinite.saturating_add(o.n_nonfinite);
        self.n_negative_clamped = self.n_negative_clamped.saturating_add(o.n_negative_clamped);
        self.n_duplicate_identical = self
            .n_duplicate_identical
            .saturating_add(o.n_duplicate_identical);
        self.n_gaps = self.n_gaps.saturating_add(o.n_gaps);
        self.gap_ns = self.gap_ns.saturating_add(o.gap_ns);
        self.covered_ns = self.covered_ns.saturating_add(o.covered_ns);
        self.n_wraps = self.n_wraps.saturating_add(o.n_wraps);
        self.n_resets = self.n_resets.saturating_add(o.n_resets);
    }
}

/// Count one more; saturating for the same reason as [`Counts::add`].
#[inline(always)]
fn bump(n: &mut u64) {
    *n = n.saturating_add(1);
}

/// The integration state of one channel over a contiguous piece of its rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Partial {
    pub cfg: Resolved,
    /// Sum in the rule's native unit; `cfg.to_joules` converts it.
    pub sum: CompensatedSum,
    pub first: Option<Sample>,
    pub last: Option<Sample>,
    pub counts: Counts,
    pub min_dt_ns: i64,
    pub max_dt_ns: i64,
    pub min_value: f64,
    pub max_value: f64,
}

impl Partial {
    pub fn new(cfg: Resolved) -> Self {
        Partial {
            cfg,
            sum: CompensatedSum::default(),
            first: None,
            last: None,
            counts: Counts::default(),
            min_dt_ns: i64::MAX,
            max_dt_ns: 0,
            min_value: f64::INFINITY,
            max_value: f64::NEG_INFINITY,
        }
    }

    /// Energy in joules of the accepted samples so far.
    pub fn energy_j(&self) -> f64 {
        self.cfg.to_joules(self.sum.value())
    }

    /// Time from the first to the last accepted sample.
    pub fn span_ns(&self) -> i64 {
        match (self.first, self.last) {
            (Some(a), Some(b)) => b.t_ns.saturating_sub(a.t_ns),
            _ => 0,
        }
    }

    /// Check and repair one value; `Ok(None)` means the row is dropped (and counted).
    fn accept_value(&mut self, value: f64, index: u64) -> Result<Option<f64>> {
        let o = &self.cfg.opts;
        let at = || Location {
            index: Some(index),
            ..Location::default()
        };
        if !value.is_finite() {
            if o.strict {
                let what = if o.rule == Rule::Counter {
                    "counter"
                } else {
                    "power"
                };
                return Err(Error::NonFinite {
                    at: at(),
                    what: what.into(),
                    value,
                });
            }
            bump(&mut self.counts.n_nonfinite);
            return Ok(None);
        }
        if o.rule == Rule::Counter {
            if value < 0.0 {
                return Err(Error::BadValue {
                    at: at(),
                    value: value.to_string(),
                    reason: "a cumulative energy counter cannot be negative".into(),
                    hint: "is this a power column rather than a counter?".into(),
                });
            }
            return Ok(Some(value));
        }
        if value < 0.0 {
            if value > -o.negative_tolerance_w && !o.strict {
                bump(&mut self.counts.n_negative_clamped);
                return Ok(Some(0.0));
            }
            return Err(Error::NegativePower {
                at: at(),
                value,
                tolerance_w: o.negative_tolerance_w,
            });
        }
        if value > o.max_power_w {
            return Err(Error::ImplausiblePower {
                at: at(),
                value,
                max_power_w: o.max_power_w,
            });
        }
        Ok(Some(value))
    }

    /// Feed one row. This is the reference semantics of the integrator.
    pub fn push(&mut self, t_ns: i64, value: f64, index: u64) -> Result<()> {
        bump(&mut self.counts.n_rows);
        let Some(v) = self.accept_value(value, index)? else {
            return Ok(());
        };
        self.push_accepted(Sample {
            t_ns,
            value: v,
            index,
        })
    }

    /// Append an already-accepted sample after the last one.
    fn push_accepted(&mut self, s: Sample) -> Result<()> {
        let Some(prev) = self.last else {
            self.first = Some(s);
            self.last = Some(s);
            bump(&mut self.counts.n_samples);
            self.note_value(s.value);
            return Ok(());
        };
        let at = || Location {
            index: Some(s.index),
            ..Location::default()
        };
        if s.t_ns < prev.t_ns {
            return Err(Error::UnsortedTimestamps {
                at: at(),
                previous_ns: prev.t_ns,
                value_ns: s.t_ns,
            });
        }
        if s.t_ns == prev.t_ns {
            // Identical duplicates carry no information; conflicting ones would move
            // energy by an unbounded amount depending on which one we kept.
            if s.value == prev.value && !self.cfg.opts.strict {
                bump(&mut self.counts.n_duplicate_identical);
                return Ok(());
            }
            return Err(Error::ConflictingDuplicate {
                at: at(),
                t_ns: s.t_ns,
                first: prev.value,
                second: s.value,
            });
        }
        let dt = s
            .t_ns
            .checked_sub(prev.t_ns)
            .ok_or_else(|| Error::TimestampOverflow {
                at: at(),
                value: s.t_ns.to_string(),
            })?;
        self.segment(prev, s, dt)?;
        self.last = Some(s);
        bump(&mut self.counts.n_samples);
        self.note_value(s.value);
        Ok(())
    }

    fn note_value(&mut self, v: f64) {
        self.min_value = self.min_value.min(v);
        self.max_value = self.max_value.max(v);
    }

    /// Integrate the segment between two accepted samples, `dt > 0`.
    fn segment(&mut self, a: Sample, b: Sample, dt: i64) -> Result<()> {
        self.min_dt_ns = self.min_dt_ns.min(dt);
        self.max_dt_ns = self.max_dt_ns.max(dt);
        let gap = dt > self.cfg.max_gap_ns;
        if gap {
            bump(&mut self.counts.n_gaps);
            self.counts.gap_ns = self.counts.gap_ns.saturating_add(dt);
        }
        match self.cfg.opts.rule {
            Rule::Trapezoid | Rule::Hold if gap => {}
            Rule::Trapezoid => {
                self.sum.add((a.value + b.value) * dt as f64);
                self.counts.covered_ns = self.counts.covered_ns.saturating_add(dt);
            }
            Rule::Hold => {
                self.sum.add(a.value * dt as f64);
                self.counts.covered_ns = self.counts.covered_ns.saturating_add(dt);
            }
            Rule::Counter => {
                // A counter's difference is exact across a gap, so it is kept (and the gap reported).
                let d = self.counter_delta(a, b, dt)?;
                self.sum.add(d);
                self.counts.covered_ns = self.counts.covered_ns.saturating_add(dt);
            }
        }
        Ok(())
    }

    /// The energy (in counter units) between two counter readings.
    fn counter_delta(&mut self, a: Sample, b: Sample, dt: i64) -> Result<f64> {
        if b.value >= a.value {
            return Ok(b.value - a.value);
        }
        let o = &self.cfg.opts;
        // Most energy the device could have used in dt, in counter units.
        let budget = o.max_power_w * (dt as f64 * 1e-9) / o.counter_unit_j;
        if let Some(m) = o.counter_modulus {
            let wrapped = (m - a.value) + b.value;
            if wrapped >= 0.0 && wrapped <= budget {
                bump(&mut self.counts.n_wraps);
                return Ok(wrapped);
            }
        }
        if b.value <= budget {
            // Prometheus-style reset: the new reading counted from zero. What was used
            // between the last reading and the reset is lost, so the total is a lower bound.
            bump(&mut self.counts.n_resets);
            return Ok(b.value);
        }
        Err(Error::AmbiguousCounterDecrease {
            at: Location {
                index: Some(b.index),
                ..Location::default()
            },
            previous: a.value,
            value: b.value,
            hint: if o.counter_modulus.is_some() {
                "the drop is too large for a wrap or a reset at max_power_w; check the counter unit and modulus".into()
            } else {
                "pass counter_modulus if the counter wraps, or check the counter unit".into()
            },
        })
    }

    /// Append the partial of the rows that follow this one. Exactly the state of
    /// integrating both pieces in one go (sums agree to the last bit except in
    /// near-tie roundings, see [`CompensatedSum`]).
    pub fn merge(&mut self, next: &Partial) -> Result<()> {
        if self.cfg != next.cfg {
            return Err(Error::InvalidArgument {
                name: "partial".into(),
                value: format!("{:?} vs {:?}", self.cfg, next.cfg),
                reason: "partials integrated with different options cannot be merged".into(),
            });
        }
        let mut counts = next.counts;
        if let (Some(_), Some(first)) = (self.last, next.first) {
            // Re-run the boundary sample through the sequential rules; it was
            // counted as accepted in `next`, so take it back out first.
            // push_accepted either adds the bridging segment or drops an identical duplicate.
            counts.n_samples = counts.n_samples.saturating_sub(1);
            self.push_accepted(first)?;
            self.sum.merge(&next.sum);
            // A one-sample piece was just placed (or dropped as a duplicate) by push_accepted.
            if next.counts.n_samples > 1 {
                self.last = next.last;
            }
        } else if self.last.is_none() {
            self.first = next.first;
            self.last = next.last;
            self.sum.merge(&next.sum);
        }
        self.counts.add(&counts);
        self.min_dt_ns = self.min_dt_ns.min(next.min_dt_ns);
        self.max_dt_ns = self.max_dt_ns.max(next.max_dt_ns);
        self.min_value = self.min_value.min(next.min_value);
        self.max_value = self.max_value.max(next.max_value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Options;

    fn cfg(rule: Rule) -> Resolved {
        Options {
            rule,
            ..Options::default()
        }
        .resolve(&[])
    }

    fn run(rule: Rule, t: &[i64], v: &[f64]) -> Result<Partial> {
        let mut p = Partial::new(cfg(rule));
        for (i, (&t, &v)) in t.iter().zip(v).enumerate() {
            p.push(t, v, i as u64)?;
        }
        Ok(p)
    }

    #[test]
    fn constant_power_is_exact() {
        let t = [0, 1_000_000_000, 2_000_000_000];
        let p = run(Rule::Trapezoid, &t, &[100.0, 100.0, 100.0]).expect("the test input is valid");
        assert_eq!(p.energy_j(), 200.0);
        let h = run(Rule::Hold, &t, &[100.0, 300.0, 5.0]).expect("the test input is valid");
        assert_eq!(h.energy_j(), 400.0);
    }

    #[test]
    fn gaps_are_reported_not_bridged() {
        let t = [0, 1_000_000_000, 10_000_000_000, 11_000_000_000];
        let p = run(Rule::Trapezoid, &t, &[100.0; 4]).expect("the test input is valid");
        assert_eq!(p.energy_j(), 200.0);
        assert_eq!(p.counts.n_gaps, 1);
        assert_eq!(p.counts.gap_ns, 9_000_000_000);
    }

    #[test]
    fn counter_reset_counts_from_zero() {
        let t = [0, 1_000_000_000, 2_000_000_000];
        let p = run(Rule::Counter, &t, &[1000.0, 1100.0, 50.0]).expect("the test input is valid");
        assert_eq!(p.energy_j(), 150.0);
        assert_eq!(p.counts.n_resets, 1);
    }

    #[test]
    fn merge_equals_sequential() {
        let t: Vec<i64> = (0..10).map(|i| i * 100_000_000).collect();
        let v: Vec<f64> = (0..10).map(|i| 50.0 + i as f64).collect();
        let whole = run(Rule::Trapezoid, &t, &v).expect("the test input is valid");
        let mut a = run(Rule::Trapezoid, &t[..4], &v[..4]).expect("the test input is valid");
        let mut b = Partial::new(cfg(Rule::Trapezoid));
        for i in 4..10 {
            b.push(t[i], v[i], i as u64)
                .expect("the test input is valid");
        }
        a.merge(&b).expect("the test input is valid");
        assert_eq!(a, whole);
    }
}
