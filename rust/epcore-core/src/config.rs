//! How a channel is integrated: the rule, the gap threshold and the repair policy.

use crate::error::{Error, Result};

/// Integration rule (reported as `method` in every result).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Instantaneous power samples: exact integral of the piecewise-linear interpolant.
    Trapezoid,
    /// Zero-order hold: each sample's power holds until the next sample
    /// (report-on-change or held readings).
    Hold,
    /// Cumulative energy counter: sum of differences, wraps unwrapped, resets restarted from zero.
    Counter,
}

impl Rule {
    pub fn name(&self) -> &'static str {
        match self {
            Rule::Trapezoid => "trapezoid",
            Rule::Hold => "hold",
            Rule::Counter => "counter",
        }
    }

    pub fn parse(s: &str) -> Result<Rule> {
        match s {
            "trapezoid" => Ok(Rule::Trapezoid),
            "hold" => Ok(Rule::Hold),
            "counter" => Ok(Rule::Counter),
            other => Err(Error::InvalidArgument {
                name: "rule".into(),
                value: other.into(),
                reason: "expected 'trapezoid', 'hold' or 'counter'".into(),
            }),
        }
    }
}

/// The default gap floor: intervals up to 2 s are never gaps.
pub const GAP_FLOOR_NS: i64 = 2_000_000_000;
/// The automatic gap threshold is this many median intervals (floored at [`GAP_FLOOR_NS`]).
pub const GAP_MEDIAN_FACTOR: i64 = 5;
/// The median interval for the automatic threshold is taken over this many leading rows,
/// so a streaming reader knows it before the whole file is read and the result
/// does not depend on chunk size.
pub const GAP_HEAD_ROWS: usize = 1025;

/// What the caller asks for. `max_gap_ns = None` means the documented default:
/// `max(5 × median interval of the first 1024 intervals, 2 s)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    pub rule: Rule,
    pub max_gap_ns: Option<i64>,
    /// Turn every repair (dropped non-finite sample, clamp, identical duplicate) into an error.
    pub strict: bool,
    /// Power in (-tolerance, 0) is clamped to 0 and counted; below is an error.
    pub negative_tolerance_w: f64,
    /// Power above this is an error (a mW column read as W, say).
    pub max_power_w: f64,
    /// Joules per counter unit (1e-3 for mJ counters). Counter rule only.
    pub counter_unit_j: f64,
    /// Wrap modulus of the counter in its own units, when known. Counter rule only.
    pub counter_modulus: Option<f64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            rule: Rule::Trapezoid,
            max_gap_ns: None,
            strict: false,
            negative_tolerance_w: 1.0,
            max_power_w: 100_000.0,
            counter_unit_j: 1.0,
            counter_modulus: None,
        }
    }
}

impl Options {
    /// Reject nonsense before any data is touched.
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &str, value: String, reason: &str| {
            Err(Error::InvalidArgument {
                name: name.into(),
                value,
                reason: reason.into(),
            })
        };
        if let Some(g) = self.max_gap_ns {
            if g <= 0 {
                return bad("max_gap", g.to_string(), "must be a positive duration");
            }
        }
        if !(self.negative_tolerance_w >= 0.0 && self.negative_tolerance_w.is_finite()) {
            return bad(
                "negative_tolerance_w",
                self.negative_tolerance_w.to_string(),
                "must be finite and >= 0",
            );
        }
        if !(self.max_power_w > 0.0) || self.max_power_w.is_nan() {
            return bad("max_power_w", self.max_power_w.to_string(), "must be > 0");
        }
        if !(self.counter_unit_j > 0.0 && self.counter_unit_j.is_finite()) {
            return bad(
                "counter_unit_j",
                self.counter_unit_j.to_string(),
                "must be finite and > 0",
            );
        }
        if let Some(m) = self.counter_modulus {
            if !(m > 0.0 && m.is_finite()) {
                return bad("counter_modulus", m.to_string(), "must be finite and > 0");
            }
        }
        Ok(())
    }

    /// Fix the gap threshold from the leading timestamps of a channel.
    pub fn resolve(&self, head_t_ns: &[i64]) -> Resolved {
        let max_gap_ns = self
            .max_gap_ns
            .unwrap_or_else(|| auto_max_gap_ns(head_t_ns));
        Resolved {
            opts: *self,
            max_gap_ns,
        }
    }
}

/// Options with the gap threshold fixed: everything a partial needs to integrate
/// and to merge with its neighbours.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resolved {
    pub opts: Options,
    pub max_gap_ns: i64,
}

impl Resolved {
    /// Convert a native sum to joules. Division by an exactly representable
    /// factor keeps exact values exact (1e12 W·ns / 2e9 is 500 J, where
    /// multiplying by 0.5e-9 would give 500.00000000000006).
    #[inline]
    pub fn to_joules(&self, native: f64) -> f64 {
        match self.opts.rule {
            // Terms are (p0 + p1) · dt_ns.
            Rule::Trapezoid => native / 2e9,
            // Terms are p0 · dt_ns.
            Rule::Hold => native / 1e9,
            Rule::Counter => {
                let u = self.opts.counter_unit_j;
                let per_j = 1.0 / u;
                if u < 1.0 && per_j.fract() == 0.0 && 1.0 / per_j == u {
                    native / per_j
                } else {
                    native * u
                }
            }
        }
    }
}

/// `max(5 × median positive interval, 2 s)` over the first [`GAP_HEAD_ROWS`] timestamps.
pub fn auto_max_gap_ns(head_t_ns: &[i64]) -> i64 {
    let head = &head_t_ns[..head_t_ns.len().min(GAP_HEAD_ROWS)];
    let mut dts: Vec<i64> = head
        .windows(2)
        .filter_map(|w| w[1].checked_sub(w[0]))
        .filter(|d| *d > 0)
        .collect();
    if dts.is_empty() {
        return GAP_FLOOR_NS;
    }
    let mid = (dts.len() - 1) / 2;
    let (_, median, _) = dts.select_nth_unstable(mid);
    median.saturating_mul(GAP_MEDIAN_FACTOR).max(GAP_FLOOR_NS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_gap_is_floored_and_follows_the_median() {
        let fast: Vec<i64> = (0..100).map(|i| i * 100_000_000).collect();
        assert_eq!(auto_max_gap_ns(&fast), GAP_FLOOR_NS);
        let slow: Vec<i64> = (0..100).map(|i| i * 1_000_000_000).collect();
        assert_eq!(auto_max_gap_ns(&slow), 5_000_000_000);
        assert_eq!(auto_max_gap_ns(&[]), GAP_FLOOR_NS);
    }

    #[test]
    fn options_reject_nonsense() {
        let o = Options {
            max_gap_ns: Some(0),
            ..Options::default()
        };
        assert!(o.validate().is_err());
        let o = Options {
            counter_unit_j: f64::NAN,
            ..Options::default()
        };
        assert!(o.validate().is_err());
        assert!(Rule::parse("simpson").is_err());
    }
}
