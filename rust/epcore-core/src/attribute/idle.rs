//! Idle power: given, off, or estimated from the trace.
//!
//! The estimate is the median power while no request mapped to the channel is
//! in flight (Kepler's idle definition, made robust to the odd spike), from at
//! least [`MIN_IDLE_SAMPLES`] readings. A run with no idle time falls back to
//! the 5th percentile of all its readings, and the result says which was used.

use super::split::Activity;
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

/// Whether closed time ranges meet any request window, from a class's sweep.
pub(crate) struct IdleMap<'a> {
    x: &'a [i64],
    /// Segments with an active phase, as a prefix count.
    active: Vec<u32>,
    /// Event times that are a request's own time, as a prefix count.
    touched: Vec<u32>,
}

impl<'a> IdleMap<'a> {
    pub fn new(x: &'a [i64], act: &Activity) -> IdleMap<'a> {
        let mut active = Vec::with_capacity(act.n.len() + 1);
        let mut acc = 0u32;
        active.push(acc);
        for &n in &act.n {
            acc += u32::from(n > 0);
            active.push(acc);
        }
        let mut touched = Vec::with_capacity(act.at_request.len() + 1);
        acc = 0;
        touched.push(acc);
        for &t in &act.at_request {
            acc += u32::from(t);
            touched.push(acc);
        }
        IdleMap { x, active, touched }
    }

    /// A cursor for ranges given in time order.
    pub fn cursor(&self) -> IdleCursor<'_, 'a> {
        IdleCursor {
            map: self,
            ea: 0,
            eb: 0,
        }
    }
}

/// Answers [`IdleCursor::is_idle`] for ranges whose starts and ends never go
/// back in time, moving two pointers instead of binary searching each time.
pub(crate) struct IdleCursor<'m, 'a> {
    map: &'m IdleMap<'a>,
    /// First event time `>= a`.
    ea: usize,
    /// First event time `> b`.
    eb: usize,
}

impl IdleCursor<'_, '_> {
    /// True when `[a, b]` meets no request window (closed windows).
    pub fn is_idle(&mut self, a: i64, b: i64) -> bool {
        let map = self.map;
        let x = map.x;
        while self.ea < x.len() && x[self.ea] < a {
            self.ea += 1;
        }
        while self.eb < x.len() && x[self.eb] <= b {
            self.eb += 1;
        }
        let (ea, eb) = (self.ea, self.eb);
        let m = map.active.len() - 1; // segments
                                      // Events in [a, b] that are a request's own times.
        if eb > ea && map.touched[eb] > map.touched[ea] {
            return false;
        }
        if m == 0 || eb == 0 || ea > m {
            return true; // [a, b] lies outside the event times: no window reaches it
        }
        // Segments [x_k, x_k+1] whose closed range meets [a, b].
        let lo = ea.saturating_sub(1);
        let hi = eb.saturating_sub(1).min(m - 1);
        if hi < lo {
            return true;
        }
        map.active[hi + 1] == map.active[lo]
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

/// Estimate one channel's idle power from its readings in `span`.
pub(crate) fn estimate(
    cfg: &Resolved,
    t: &[i64],
    v: &[f64],
    span: (i64, i64),
    map: &IdleMap,
) -> (f64, IdleSource) {
    let lo = t.partition_point(|&x| x < span.0);
    let hi = t.partition_point(|&x| x <= span.1);
    let mut cur = map.cursor();
    let mut idle = readings(cfg, &t[lo..hi], &v[lo..hi], |a, b| cur.is_idle(a, b));
    if idle.len() >= MIN_IDLE_SAMPLES {
        return (median(&mut idle), IdleSource::IdleSegments);
    }
    let mut all = readings(cfg, &t[lo..hi], &v[lo..hi], |_, _| true);
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
                out.push(vi);
            }
        }
    }
    out
}
