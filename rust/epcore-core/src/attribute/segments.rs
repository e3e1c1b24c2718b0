//! The trace side: its time bounds, and one integral per segment, per channel.
//!
//! Every channel is integrated once over all segments (consecutive event
//! times), the span and the regression bins, in a single window pass, so the
//! cost is one sweep of the samples whatever the number of requests.

use super::events::request_times;
use super::regression::Bins;
use super::{bins, AttributeOptions, Channel, RequestSet};
use crate::config::{Resolved, GAP_HEAD_ROWS};
use crate::error::{Error, Location, Result};
use crate::partial::Partial;
use crate::window::{integrate_windows, WindowEnergies};

/// Where each channel's samples start and end.
pub(crate) struct TraceBounds {
    /// Earliest first sample and latest last sample over channels.
    pub span: (i64, i64),
    pub per_channel: Vec<(i64, i64)>,
}

impl TraceBounds {
    pub fn of(channels: &[Channel]) -> Result<TraceBounds> {
        let mut per_channel = Vec::with_capacity(channels.len());
        for (c, ch) in channels.iter().enumerate() {
            // The first and last readings the integrator keeps: a missing (NaN) one is dropped.
            let kept = |i: &usize| ch.values.get(*i).is_some_and(|v| v.is_finite());
            let first = (0..ch.t_ns.len()).find(kept);
            let last = (0..ch.t_ns.len()).rev().find(kept);
            match (first, last) {
                (Some(a), Some(b)) => per_channel.push((ch.t_ns[a], ch.t_ns[b])),
                _ => {
                    return Err(Error::EmptyInput {
                        at: Location {
                            channel: Some(format!("#{c}")),
                            ..Location::default()
                        },
                    })
                }
            }
        }
        let lo = per_channel.iter().map(|b| b.0).min().unwrap_or(0);
        let hi = per_channel.iter().map(|b| b.1).max().unwrap_or(0);
        Ok(TraceBounds {
            span: (lo, hi),
            per_channel,
        })
    }

    /// Refuse requests that all miss the trace: two clocks without a common base.
    pub fn require_overlap(&self, reqs: &RequestSet) -> Result<()> {
        let n = reqs.start_ns.len();
        if n == 0 {
            return Ok(());
        }
        let (t0, t1) = self.span;
        if (0..n).any(|i| reqs.start_ns[i] <= t1 && reqs.end_ns[i] >= t0) {
            return Ok(());
        }
        let lo = request_times(reqs).map(|(t, _)| t).min().unwrap_or(0);
        let hi = request_times(reqs).map(|(t, _)| t).max().unwrap_or(0);
        Err(Error::ClockMismatch {
            requests_ns: (lo, hi),
            trace_ns: (t0, t1),
        })
    }
}

/// The integrals the attribution is made of.
pub(crate) struct Measured {
    pub whole: Vec<Partial>,
    pub resolved: Vec<Resolved>,
    /// Per channel: energy and covered time of each segment.
    pub segments: Vec<WindowEnergies>,
    /// Per channel: energy and covered time of the span.
    pub span_energy_j: Vec<f64>,
    pub span_covered_ns: Vec<i64>,
    /// The regression bins and, per channel, their integrals.
    pub bins: Option<(Bins, Vec<WindowEnergies>)>,
}

/// Integrate every channel over the segments of `x`, the span and the bins.
pub(crate) fn measure(
    channels: &[Channel],
    x: &[i64],
    bounds: (i64, i64),
    opts: &AttributeOptions,
) -> Result<Measured> {
    let bins = if opts.regression {
        bins::choose(channels, bounds, opts.regression_bin_ns)?
    } else {
        None
    };
    let mut windows: Vec<(i64, i64)> = x.windows(2).map(|w| (w[0], w[1])).collect();
    let m = windows.len();
    windows.push(bounds);
    if let Some(b) = &bins {
        windows.extend(bins::windows(b));
    }
    let mut out = Measured {
        whole: Vec::with_capacity(channels.len()),
        resolved: Vec::with_capacity(channels.len()),
        segments: Vec::with_capacity(channels.len()),
        span_energy_j: Vec::with_capacity(channels.len()),
        span_covered_ns: Vec::with_capacity(channels.len()),
        bins: None,
    };
    let mut per_bin = Vec::new();
    for (c, ch) in channels.iter().enumerate() {
        let (whole, mut w) =
            integrate_windows(ch.options, ch.t_ns, ch.values, &windows, opts.threads).map_err(
                |mut e| {
                    if let Some(at) = e.location_mut() {
                        at.channel.get_or_insert_with(|| format!("#{c}"));
                    }
                    e
                },
            )?;
        let tail = w.split_off(m);
        out.span_energy_j.push(tail.energy_j[0]);
        out.span_covered_ns.push(tail.covered_ns[0]);
        if bins.is_some() {
            per_bin.push(WindowEnergies {
                energy_j: tail.energy_j[1..].to_vec(),
                covered_ns: tail.covered_ns[1..].to_vec(),
                n_gaps: tail.n_gaps[1..].to_vec(),
            });
        }
        out.resolved.push(
            ch.options
                .resolve(&ch.t_ns[..ch.t_ns.len().min(GAP_HEAD_ROWS)]),
        );
        out.whole.push(whole);
        out.segments.push(w);
    }
    out.bins = bins.map(|b| (b, per_bin));
    Ok(out)
}

impl WindowEnergies {
    fn split_off(&mut self, at: usize) -> WindowEnergies {
        WindowEnergies {
            energy_j: self.energy_j.split_off(at),
            covered_ns: self.covered_ns.split_off(at),
            n_gaps: self.n_gaps.split_off(at),
        }
    }
}
