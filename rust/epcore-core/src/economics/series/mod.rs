//! Time-varying carbon intensity and electricity prices, integrated against a
//! power trace: ∫P(t)·I(t)dt, never average × average.
//!
//! A [`Series`] is a list of intervals `[start_ns, end_ns)` with one value each
//! (gCO2e/kWh, or money per kWh). Files that label each value with one
//! timestamp (Electricity Maps, `timestamp,value`) use **interval-start
//! labels**: a value holds from its timestamp until the next one, and the last
//! value holds for as long as the step before it. Files with explicit ranges
//! (ENTSO-E `MTU`, WattTime/Zeus `duration`) keep their ranges. A missing value
//! leaves a hole: no interval there.
//!
//! [`integrate_series`] takes the trace's energy `E_k` inside each interval
//! (exact window integration, [`crate::window::integrate_windows`], per
//! channel) and sums `E_k / 3.6e6 × v_k`. Beside it, the *naive* figure is the
//! energy times the series' time-average over the same covered time
//! (average × average); the difference is the covariance of power and
//! intensity, zero when either is constant.
//!
//! ```
//! use epcore_core::attribute::Channel;
//! use epcore_core::config::Options;
//! use epcore_core::economics::series::{integrate_series, Quantity, Series, SeriesMeta, SeriesOptions};
//!
//! // 100 W for the first hour, 300 W for the second; 200 then 400 g/kWh.
//! let h = 3_600_000_000_000i64;
//! let t = [0, h, h, 2 * h];
//! let p = [100.0, 100.0, 300.0, 300.0];
//! let opts = Options { rule: epcore_core::Rule::Hold, ..Options::default() };
//! let ch = [Channel { t_ns: &t[..2], values: &p[..2], options: &opts },
//!           Channel { t_ns: &t[2..], values: &p[2..], options: &opts }];
//! let s = Series::from_labels(&[0, h], &[Some(200.0), Some(400.0)], SeriesMeta::new(Quantity::Intensity))?;
//! // One channel per hour here; the integral is 0.1 kWh × 200 + 0.3 kWh × 400 = 140 g.
//! let r = integrate_series(&ch, &s, &SeriesOptions::default())?;
//! assert!((r.total - 140.0).abs() < 1e-9);
//! assert!((r.naive_total.expect("the example is valid") - 120.0).abs() < 1e-9); // 0.4 kWh × 300 g/kWh
//! # Ok::<(), epcore_core::Error>(())
//! ```

pub mod read;

use crate::attribute::Channel;
use crate::error::{Error, Location, Result};
use crate::sum::CompensatedSum;
use crate::window::integrate_windows;

use super::J_PER_KWH;

/// What the values of a series are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// Grid carbon intensity, gCO2e per kWh.
    Intensity,
    /// Electricity price, money per kWh (in [`SeriesMeta::currency`]).
    Price,
}

impl Quantity {
    pub fn name(&self) -> &'static str {
        match self {
            Quantity::Intensity => "intensity",
            Quantity::Price => "price",
        }
    }

    /// The unit of every value after reading: `g_co2_per_kwh` or `per_kwh`.
    pub fn unit(&self) -> &'static str {
        match self {
            Quantity::Intensity => "g_co2_per_kwh",
            Quantity::Price => "per_kwh",
        }
    }
}

/// What is known about a series: where it came from and how it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesMeta {
    pub quantity: Quantity,
    /// ISO 4217 code of a price series.
    pub currency: Option<String>,
    /// `electricity_maps`, `generic`, `watttime_zeus`, `entsoe_day_ahead`, `arrays`.
    pub layout: String,
    /// `lifecycle` or `direct` (intensity).
    pub basis: Option<String>,
    /// `location` (average) or `marginal` (WattTime MOER).
    pub method: Option<String>,
    /// The zone or location named in the file.
    pub zone: Option<String>,
    pub path: Option<String>,
    /// The column the values came from.
    pub column: Option<String>,
    /// The unit in the file when it was converted (`lbs/MWh`, `per MWh`…).
    pub converted_from: Option<String>,
    /// Data rows read, rows without a value (holes), rows the source marks as estimated.
    pub n_rows: u64,
    pub n_missing: u64,
    pub n_estimated: u64,
    /// Whether the unit was assumed rather than named (`time,value`: g/kWh).
    pub unit_assumed: bool,
}

impl SeriesMeta {
    /// Metadata of in-memory values.
    pub fn new(quantity: Quantity) -> Self {
        SeriesMeta {
            quantity,
            currency: None,
            layout: "arrays".into(),
            basis: None,
            method: None,
            zone: None,
            path: None,
            column: None,
            converted_from: None,
            n_rows: 0,
            n_missing: 0,
            n_estimated: 0,
            unit_assumed: false,
        }
    }
}

/// Intervals `[start_ns[i], end_ns[i])` in time order, disjoint, each with its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub start_ns: Vec<i64>,
    pub end_ns: Vec<i64>,
    pub value: Vec<f64>,
    pub meta: SeriesMeta,
}

impl Series {
    /// From interval-start labels: `value[i]` holds on `[t[i], t[i+1])`, the
    /// last for one more step of the same length; `None` leaves a hole.
    /// Labels must be strictly increasing; at least two are needed to know the step.
    pub fn from_labels(t_ns: &[i64], value: &[Option<f64>], meta: SeriesMeta) -> Result<Series> {
        if t_ns.len() != value.len() {
            return Err(Error::LengthMismatch {
                what: "series timestamps and values".into(),
                expected: t_ns.len(),
                found: value.len(),
            });
        }
        if t_ns.len() < 2 {
            return Err(Error::InsufficientSamples {
                at: Location {
                    path: meta.path.clone(),
                    ..Location::default()
                },
                found: t_ns.len() as u64,
                needed: 2,
            });
        }
        for i in 1..t_ns.len() {
            if t_ns[i] <= t_ns[i - 1] {
                return Err(Error::UnsortedTimestamps {
                    at: Location {
                        path: meta.path.clone(),
                        ..Location::at_index(i)
                    },
                    previous_ns: t_ns[i - 1],
                    value_ns: t_ns[i],
                });
            }
        }
        let n = t_ns.len();
        let last_step = t_ns[n - 1].saturating_sub(t_ns[n - 2]);
        let mut s = Series {
            start_ns: Vec::with_capacity(n),
            end_ns: Vec::with_capacity(n),
            value: Vec::with_capacity(n),
            meta,
        };
        for i in 0..n {
            if let Some(v) = value[i] {
                let end = if i + 1 < n {
                    t_ns[i + 1]
                } else {
                    t_ns[i]
                        .checked_add(last_step)
                        .ok_or(Error::TimestampOverflow {
                            at: Location::at_index(i),
                            value: format!("{} + {last_step} ns", t_ns[i]),
                        })?
                };
                s.start_ns.push(t_ns[i]);
                s.end_ns.push(end);
                s.value.push(v);
            }
        }
        s.check()?;
        Ok(s)
    }

    /// From explicit intervals, checked: finite values, `start < end`, in time order, disjoint.
    pub fn from_intervals(
        start_ns: Vec<i64>,
        end_ns: Vec<i64>,
        value: Vec<f64>,
        meta: SeriesMeta,
    ) -> Result<Series> {
        let s = Series {
            start_ns,
            end_ns,
            value,
            meta,
        };
        s.check()?;
        Ok(s)
    }

    /// One value over `[start_ns, end_ns)`.
    pub fn constant(start_ns: i64, end_ns: i64, value: f64, meta: SeriesMeta) -> Result<Series> {
        Series::from_intervals(vec![start_ns], vec![end_ns], vec![value], meta)
    }

    pub fn len(&self) -> usize {
        self.value.len()
    }

    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }

    fn check(&self) -> Result<()> {
        let n = self.value.len();
        for (what, len) in [("end_ns", self.end_ns.len()), ("value", n)] {
            if len != self.start_ns.len() {
                return Err(Error::LengthMismatch {
                    what: format!("series start_ns and {what}"),
                    expected: self.start_ns.len(),
                    found: len,
                });
            }
        }
        if n == 0 {
            return Err(Error::EmptyInput {
                at: Location {
                    path: self.meta.path.clone(),
                    ..Location::default()
                },
            });
        }
        for i in 0..n {
            let (a, b, v) = (self.start_ns[i], self.end_ns[i], self.value[i]);
            if b <= a {
                return Err(Error::InvalidWindow {
                    index: i,
                    start_ns: a,
                    end_ns: b,
                });
            }
            if i > 0 && a < self.end_ns[i - 1] {
                return Err(Error::UnsortedTimestamps {
                    at: Location {
                        path: self.meta.path.clone(),
                        ..Location::at_index(i)
                    },
                    previous_ns: self.end_ns[i - 1],
                    value_ns: a,
                });
            }
            if !v.is_finite() {
                return Err(Error::NonFinite {
                    at: Location::at_index(i),
                    what: format!("series {}", self.meta.quantity.name()),
                    value: v,
                });
            }
            if self.meta.quantity == Quantity::Intensity && v < 0.0 {
                return Err(Error::InvalidArgument {
                    name: "g_co2_per_kwh".into(),
                    value: format!("{v} (interval {i})"),
                    reason: "carbon intensity must be >= 0".into(),
                });
            }
        }
        Ok(())
    }
}

/// How [`integrate_series`] treats the trace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesOptions {
    /// Facility over IT energy (>= 1): the totals are at the facility level.
    pub pue: f64,
    /// Accept trace time outside the series (reported in the coverage) instead of an error.
    pub allow_partial: bool,
    /// Worker threads for the window integration (0: automatic).
    pub threads: usize,
}

impl Default for SeriesOptions {
    fn default() -> Self {
        SeriesOptions {
            pue: 1.0,
            allow_partial: false,
            threads: 0,
        }
    }
}

/// The series integrated against a trace. `total` is in grams (intensity) or
/// money (price); every figure with `it_` is before PUE.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesIntegral {
    /// Trace energy (IT), all channels.
    pub energy_j: f64,
    /// Trace energy inside the series' intervals.
    pub covered_energy_j: f64,
    /// Trace energy outside them (0 when the series covers the trace).
    pub outside_energy_j: f64,
    /// Integrated trace time, summed over channels.
    pub trace_ns: i64,
    /// The part of it inside the series.
    pub covered_ns: i64,
    /// `covered_ns / trace_ns` (1 for a trace of zero length).
    pub coverage: f64,
    pub pue: f64,
    /// Σ E_k/3.6e6 × v_k × pue: the integral at the facility level.
    pub total: f64,
    /// The same before PUE.
    pub it_total: f64,
    /// `total` over the covered facility kWh: the energy-weighted mean value.
    pub weighted_mean: Option<f64>,
    /// The series' time-average over the covered trace time.
    pub time_mean: Option<f64>,
    /// Covered facility kWh × `time_mean`: average × average.
    pub naive_total: Option<f64>,
    /// `total - naive_total`.
    pub difference: Option<f64>,
    /// `difference / naive_total × 100`, when `naive_total` is not 0.
    pub difference_pct: Option<f64>,
    /// Trace energy (IT, J) in each series interval.
    pub interval_energy_j: Vec<f64>,
    /// Intervals the trace overlaps.
    pub n_intervals_used: usize,
    /// First and last sample time over all channels.
    pub trace_start_ns: i64,
    pub trace_end_ns: i64,
}

/// Integrate `series` against the trace `channels` (energies add over channels).
///
/// Trace time outside the series is an [`Error::InvalidArgument`] naming both
/// spans unless `allow_partial`; then its energy is reported, never priced.
pub fn integrate_series(
    channels: &[Channel<'_>],
    series: &Series,
    opts: &SeriesOptions,
) -> Result<SeriesIntegral> {
    check_pue(opts.pue)?;
    series.check()?;
    if channels.is_empty() {
        return Err(Error::InvalidArgument {
            name: "trace".into(),
            value: "no channels".into(),
            reason: "a trace needs at least one channel".into(),
        });
    }
    let windows: Vec<(i64, i64)> = series
        .start_ns
        .iter()
        .zip(&series.end_ns)
        .map(|(&a, &b)| (a, b))
        .collect();
    let n = windows.len();
    let mut per = vec![CompensatedSum::default(); n];
    let mut cov_ns = vec![0i64; n];
    let mut whole = CompensatedSum::default();
    let mut trace_ns = 0i64;
    let (mut t0, mut t1) = (i64::MAX, i64::MIN);
    for ch in channels {
        let (p, w) = integrate_windows(ch.options, ch.t_ns, ch.values, &windows, opts.threads)?;
        whole.add(p.energy_j());
        trace_ns = trace_ns.saturating_add(p.counts.covered_ns);
        if let (Some(a), Some(b)) = (p.first, p.last) {
            t0 = t0.min(a.t_ns);
            t1 = t1.max(b.t_ns);
        }
        for k in 0..n {
            per[k].add(w.energy_j[k]);
            cov_ns[k] = cov_ns[k].saturating_add(w.covered_ns[k]);
        }
    }
    let interval_energy_j: Vec<f64> = per.iter().map(CompensatedSum::value).collect();
    let covered_ns = cov_ns.iter().fold(0i64, |a, &b| a.saturating_add(b));
    let energy_j = whole.value();
    let mut covered = CompensatedSum::default();
    let mut it_total = CompensatedSum::default();
    let mut time_weighted = CompensatedSum::default();
    for k in 0..n {
        covered.add(interval_energy_j[k]);
        it_total.add(interval_energy_j[k] / J_PER_KWH * series.value[k]);
        time_weighted.add(cov_ns[k] as f64 * series.value[k]);
    }
    let covered_energy_j = covered.value();
    let full = covered_ns >= trace_ns;
    if !full && !opts.allow_partial {
        return Err(outside_error(series, t0, t1, trace_ns, covered_ns));
    }
    let outside_energy_j = if full {
        0.0
    } else {
        (energy_j - covered_energy_j).max(0.0)
    };
    let it_total = it_total.value();
    let total = it_total * opts.pue;
    let covered_kwh = covered_energy_j / J_PER_KWH * opts.pue;
    let weighted_mean = (covered_kwh != 0.0).then(|| total / covered_kwh);
    let time_mean = (covered_ns > 0).then(|| time_weighted.value() / covered_ns as f64);
    let naive_total = time_mean.map(|m| covered_kwh * m);
    let difference = naive_total.map(|nv| total - nv);
    let difference_pct = match (difference, naive_total) {
        (Some(d), Some(nv)) if nv != 0.0 => Some(d / nv * 100.0),
        _ => None,
    };
    Ok(SeriesIntegral {
        energy_j,
        covered_energy_j,
        outside_energy_j,
        trace_ns,
        covered_ns,
        coverage: if trace_ns > 0 {
            (covered_ns as f64 / trace_ns as f64).min(1.0)
        } else {
            1.0
        },
        pue: opts.pue,
        total,
        it_total,
        weighted_mean,
        time_mean,
        naive_total,
        difference,
        difference_pct,
        n_intervals_used: cov_ns.iter().filter(|&&c| c > 0).count(),
        interval_energy_j,
        trace_start_ns: t0,
        trace_end_ns: t1,
    })
}

/// A constant value over the whole trace (`series` of one interval spanning it).
pub fn integrate_constant(
    channels: &[Channel<'_>],
    value: f64,
    meta: SeriesMeta,
    opts: &SeriesOptions,
) -> Result<SeriesIntegral> {
    let mut lo = i64::MAX;
    let mut hi = i64::MIN;
    for ch in channels {
        if let (Some(&a), Some(&b)) = (ch.t_ns.iter().min(), ch.t_ns.iter().max()) {
            lo = lo.min(a);
            hi = hi.max(b);
        }
    }
    if lo >= hi {
        // Fewer than two distinct times: let the integrator say why.
        hi = lo.saturating_add(1);
    }
    let s = Series::constant(lo, hi, value, meta)?;
    integrate_series(channels, &s, opts)
}

fn check_pue(pue: f64) -> Result<()> {
    if pue.is_finite() && pue >= 1.0 {
        return Ok(());
    }
    Err(Error::InvalidArgument {
        name: "pue".into(),
        value: pue.to_string(),
        reason:
            "power usage effectiveness must be a finite number >= 1 (facility power over IT power)"
                .into(),
    })
}

fn outside_error(series: &Series, t0: i64, t1: i64, trace_ns: i64, covered_ns: i64) -> Error {
    let s0 = series.start_ns.first().copied().unwrap_or_default();
    let s1 = series.end_ns.last().copied().unwrap_or_default();
    let what = series.meta.quantity.name();
    let holes = if series.meta.n_missing > 0 {
        format!(
            " ({} row(s) without a value leave holes)",
            series.meta.n_missing
        )
    } else {
        String::new()
    };
    Error::InvalidArgument {
        name: format!("{what} series"),
        value: series.meta.path.clone().unwrap_or_else(|| "<series>".into()),
        reason: format!(
            "the series covers {:.1}% of the trace's time: the trace runs {} .. {} ns, the series \
             {} .. {} ns{holes}; pass allow_partial=True (CLI --allow-partial) to price only the covered part",
            100.0 * covered_ns as f64 / trace_ns.max(1) as f64,
            t0,
            t1,
            s0,
            s1
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Options, Rule};

    const H: i64 = 3_600_000_000_000;

    fn hold() -> Options {
        Options {
            rule: Rule::Hold,
            ..Options::default()
        }
    }

    fn meta() -> SeriesMeta {
        SeriesMeta::new(Quantity::Intensity)
    }

    #[test]
    fn labels_make_intervals_and_the_last_repeats_the_step() {
        let s = Series::from_labels(&[0, 10, 30], &[Some(1.0), None, Some(3.0)], meta())
            .expect("valid");
        assert_eq!(s.start_ns, vec![0, 30]);
        assert_eq!(s.end_ns, vec![10, 50]);
        assert_eq!(s.value, vec![1.0, 3.0]);
        assert!(Series::from_labels(&[0], &[Some(1.0)], meta()).is_err());
        let e =
            Series::from_labels(&[0, 0], &[Some(1.0), Some(1.0)], meta()).expect_err("unsorted");
        assert_eq!(e.code(), "unsorted_timestamps");
        let e =
            Series::from_labels(&[0, 1], &[Some(-1.0), Some(1.0)], meta()).expect_err("negative");
        assert_eq!(e.code(), "invalid_argument");
    }

    #[test]
    fn integral_differs_from_average_times_average() {
        // 100 W then 300 W (trapezoid on a step: exact with hold) against 200 then 400 g/kWh.
        let opts = Options::default();
        let t = [0, H, H + 1, 2 * H];
        let p = [100.0, 100.0, 300.0, 300.0];
        let ch = [Channel {
            t_ns: &t,
            values: &p,
            options: &opts,
        }];
        let s = Series::from_labels(&[0, H], &[Some(200.0), Some(400.0)], meta()).expect("valid");
        let r = integrate_series(&ch, &s, &SeriesOptions::default()).expect("covered");
        let e0 = 100.0 * 3600.0 + 200.0 * 1e-9;
        let e1 = 300.0 * (3600.0 - 1e-9);
        let exact = e0 / 3.6e6 * 200.0 + e1 / 3.6e6 * 400.0;
        assert!((r.total - exact).abs() < 1e-9, "{} vs {exact}", r.total);
        let naive = (e0 + e1) / 3.6e6 * 300.0;
        assert!((r.naive_total.expect("covered") - naive).abs() < 1e-9);
        assert!(r.difference.expect("covered") > 0.0);
        assert_eq!(r.coverage, 1.0);
        assert_eq!(r.outside_energy_j, 0.0);
    }

    #[test]
    fn constant_equals_the_constant_formula_and_pue_scales() {
        let opts = hold();
        let t = [0, 1_000_000_000, 5_000_000_000];
        let p = [250.0, 500.0, 0.0];
        let ch = [Channel {
            t_ns: &t,
            values: &p,
            options: &opts,
        }];
        let r = integrate_constant(
            &ch,
            400.0,
            meta(),
            &SeriesOptions {
                pue: 1.5,
                ..SeriesOptions::default()
            },
        )
        .expect("valid");
        let e = 250.0 + 500.0 * 4.0;
        assert!((r.it_total - e / 3.6e6 * 400.0).abs() < 1e-12);
        assert!((r.total - 1.5 * e / 3.6e6 * 400.0).abs() < 1e-12);
        assert!(r.difference.expect("covered").abs() < 1e-12);
        let bad = SeriesOptions {
            pue: 0.9,
            ..SeriesOptions::default()
        };
        assert!(integrate_constant(&ch, 400.0, meta(), &bad).is_err());
    }

    #[test]
    fn outside_the_series_is_an_error_unless_partial() {
        let opts = hold();
        let t = [0, 2 * H];
        let p = [100.0, 100.0];
        let ch = [Channel {
            t_ns: &t,
            values: &p,
            options: &opts,
        }];
        let s = Series::constant(0, H, 300.0, meta()).expect("valid");
        let e = integrate_series(&ch, &s, &SeriesOptions::default()).expect_err("partial");
        assert!(e.to_string().contains("50.0%"), "{e}");
        let r = integrate_series(
            &ch,
            &s,
            &SeriesOptions {
                allow_partial: true,
                ..SeriesOptions::default()
            },
        )
        .expect("allowed");
        assert_eq!(r.coverage, 0.5);
        assert!((r.outside_energy_j - 360_000.0).abs() < 1e-6);
        assert!((r.total - 0.1 * 300.0).abs() < 1e-12);
    }
}
