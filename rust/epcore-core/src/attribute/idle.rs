//! Idle power: given, off, or estimated from the trace.
//!
//! The estimate is the median power while no request mapped to the channel is
//! in flight (Kepler's idle definition, made robust to the odd spike), from at
//! least [`MIN_IDLE_SAMPLES`] readings. A run with no idle time falls back to
//! the 5th percentile of all its readings, and the result says which was used.

use crate::config::{Resolved, Rule};

/// Fewer idle readings than this are not trusted for a median.
pub const MIN_IDLE_SAMPLES: usize = 5;

/// Where a channel's idle power came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleSource {
    /// Idle power is not subtracted: dynamic energy is all energy.
    Off,
    /// The caller's figure.
    Given,
    /// The median of readings taken while no request was in flight.
    IdleSegments,
    /// The 5th percentile of all readings (too little idle time in the trace).
    Percentile,
    /// No readings in the span at all: 0 W.
    NoReadings,
}

impl IdleSource {
    pub fn name(&self) -> &'static str {
        match self {
            IdleSource::Off => "off",
            IdleSource::Given => "given",
            IdleSource::IdleSegments => "idle_segments",
            IdleSource::Percentile => "percentile",
            IdleSource::NoReadings => "no_readings",
        }
    }
}

/// The union of a channel's request windows (closed, zero-length ones
/// included), as disjoint sorted intervals: idle time is everything outside.
/// Built from the requests' own windows, not the span, so idle power is a
/// property of the device over the whole trace even when a span is asked.
pub(crate) struct IdleMap {
    busy: Vec<(i64, i64)>,
}

impl IdleMap {
    pub fn new(mut windows: Vec<(i64, i64)>) -> IdleMap {
        windows.sort_unstable();
        let mut busy: Vec<(i64, i64)> = Vec::with_capacity(windows.len());
        for (s, e) in windows {
            match busy.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => busy.push((s, e)),
            }
        }
        IdleMap { busy }
    }

    /// A cursor for ranges given in time order.
    pub fn cursor(&self) -> IdleCursor<'_> {
        IdleCursor { map: self, k: 0 }
    }
}

/// Answers [`IdleCursor::is_idle`] for ranges whose starts never go back in
/// time, moving one pointer instead of binary searching each time.
pub(crate) struct IdleCursor<'m> {
    map: &'m IdleMap,
    /// First busy interval that ends at or after the last range's start.
    k: usize,
}

impl IdleCursor<'_> {
    /// True when `[a, b]` meets no request window.
    pub fn is_idle(&mut self, a: i64, b: i64) -> bool {
        let busy = &self.map.busy;
        while self.k < busy.len() && busy[self.k].1 < a {
            self.k += 1;
        }
        self.k == busy.len() || busy[self.k].0 > b
    }
}

/// Median and nearest-rank 5th percentile by selection (O(n)), not a full sort:
/// a mostly idle trace of 10⁷ readings would spend most of the attribution sorting.
fn median(v: &mut [f64]) -> f64 {
    let n = v.len();
    let (lower, mid, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    let mid = *mid;
    if n % 2 == 1 {
        mid
    } else {
        let below = lower.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (below + mid) / 2.0
    }
}

fn percentile_5(v: &mut [f64]) -> f64 {
    let rank = (v.len() * 5).div_ceil(100).max(1);
    *v.select_nth_unstable_by(rank - 1, f64::total_cmp).1
}

/// Estimate one channel's idle power from all its readings.
pub(crate) fn estimate(cfg: &Resolved, t: &[i64], v: &[f64], map: &IdleMap) -> (f64, IdleSource) {
    let mut cur = map.cursor();
    let mut idle = readings(cfg, t, v, |a, b| cur.is_idle(a, b));
    if idle.len() >= MIN_IDLE_SAMPLES {
        return (median(&mut idle), IdleSource::IdleSegments);
    }
    let mut all = readings(cfg, t, v, |_, _| true);
    if !all.is_empty() {
        (percentile_5(&mut all), IdleSource::Percentile)
    } else {
        (0.0, IdleSource::NoReadings)
    }
}

/// Power readings whose time range passes `keep`: the samples themselves, or
/// for a counter the mean power of each interval between two readings.
fn readings(
    cfg: &Resolved,
    t: &[i64],
    v: &[f64],
    mut keep: impl FnMut(i64, i64) -> bool,
) -> Vec<f64> {
    let mut out = Vec::new();
    if cfg.opts.rule == Rule::Counter {
        for i in 0..t.len().saturating_sub(1) {
            let (a, b) = (t[i], t[i + 1]);
            let d = v[i + 1] - v[i];
            // A reset, a wrap or a missing reading says nothing about idle power.
            if b > a && d.is_finite() && d >= 0.0 && keep(a, b) {
                out.push(cfg.to_joules(d) / ((b - a) as f64 / 1e9));
            }
        }
    } else {
        for (&ti, &vi) in t.iter().zip(v) {
            if vi.is_finite() && keep(ti, ti) {
                // As the integrator accepts it: a small negative offset reads as 0 W.
                out.push(vi.max(0.0));
            }
        }
    }
    out
}
