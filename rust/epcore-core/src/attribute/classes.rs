//! Channel classes: channels that serve the same requests are swept together.
//!
//! By default every request runs on every channel (tensor parallel), so there
//! is one class and one sweep over the summed channels. When requests name
//! their channels (data parallel replicas, or a model per GPU), channels with
//! identical request sets form a class, and each class splits only its own
//! energy among only its own requests.

use std::collections::HashMap;

use super::events::PhaseSpan;
use super::idle::{estimate, IdleMap, IdleSource};
use super::segments::Measured;
use super::split::{activity, split, Segments, Shares};
use super::{AttributeOptions, Channel, IdlePower, RequestSet};
use crate::error::{Error, Result};

pub(crate) struct Classes {
    /// The channels of each class.
    channels: Vec<Vec<usize>>,
    /// The requests of each class; None: all of them.
    requests: Vec<Option<Vec<bool>>>,
    /// How many channels each request runs on.
    pub n_channels_of: Vec<usize>,
}

/// What the sweeps give, with the idle power they used.
pub(crate) struct Attributed {
    pub shares: Shares,
    pub idle_w: Vec<f64>,
    pub idle_source: Vec<IdleSource>,
}

impl Classes {
    pub fn build(reqs: &RequestSet, n_channels: usize) -> Result<Classes> {
        let n = reqs.start_ns.len();
        let Some(lists) = &reqs.channels else {
            return Ok(Classes {
                channels: vec![(0..n_channels).collect()],
                requests: vec![None],
                n_channels_of: vec![n_channels; n],
            });
        };
        let mut of_channel: Vec<Vec<u32>> = vec![Vec::new(); n_channels];
        let mut n_channels_of = Vec::with_capacity(n);
        for (i, list) in lists.iter().enumerate() {
            let mut mine: Vec<u32> = list.clone();
            mine.sort_unstable();
            mine.dedup();
            if let Some(&c) = mine.iter().find(|&&c| c as usize >= n_channels) {
                return Err(Error::InvalidArgument {
                    name: "channels".into(),
                    value: format!("request {i}: channel #{c}"),
                    reason: format!("the trace has {n_channels} channels"),
                });
            }
            for &c in &mine {
                of_channel[c as usize].push(i as u32);
            }
            n_channels_of.push(mine.len());
        }
        let mut index: HashMap<Vec<u32>, usize> = HashMap::new();
        let mut channels: Vec<Vec<usize>> = Vec::new();
        let mut requests = Vec::new();
        for (c, set) in of_channel.into_iter().enumerate() {
            let k = *index.entry(set.clone()).or_insert_with(|| {
                channels.push(Vec::new());
                let mut mask = vec![false; n];
                for &r in &set {
                    mask[r as usize] = true;
                }
                requests.push(Some(mask));
                channels.len() - 1
            });
            channels[k].push(c);
        }
        Ok(Classes {
            channels,
            requests,
            n_channels_of,
        })
    }

    /// Sweep each class and split its energy among its requests.
    #[allow(clippy::too_many_arguments)]
    pub fn attribute(
        &self,
        chans: &[Channel],
        reqs: &RequestSet,
        phases: &[PhaseSpan],
        x: &[i64],
        measured: &Measured,
        opts: &AttributeOptions,
        clip: (i64, i64),
    ) -> Attributed {
        let n_ch = chans.len();
        let mut out = Attributed {
            shares: Shares::new(reqs.start_ns.len()),
            idle_w: vec![0.0; n_ch],
            idle_source: vec![IdleSource::Off; n_ch],
        };
        for (members, mask) in self.channels.iter().zip(&self.requests) {
            let mine = |r: usize| mask.as_ref().is_none_or(|m| m[r]);
            let class_phases: Vec<PhaseSpan> = phases
                .iter()
                .filter(|p| mine(p.req as usize))
                .copied()
                .collect();
            let act = activity(x, &class_phases);
            let idle_map = (opts.idle == IdlePower::Auto).then(|| {
                IdleMap::new(
                    (0..reqs.start_ns.len())
                        .filter(|&r| mine(r))
                        .map(|r| (reqs.start_ns[r], reqs.end_ns[r]))
                        .collect(),
                )
            });
            for &c in members {
                let (w, src) = match (&opts.idle, &idle_map) {
                    (IdlePower::Given(w), _) => (w[c], IdleSource::Given),
                    (IdlePower::Auto, Some(map)) => {
                        estimate(&measured.resolved[c], chans[c].t_ns, chans[c].values, map)
                    }
                    _ => (0.0, IdleSource::Off),
                };
                out.idle_w[c] = w;
                out.idle_source[c] = src;
            }
            let seg = self.segments(members, measured, &out.idle_w);
            let windows: Vec<(u32, i64, i64)> = (0..reqs.start_ns.len())
                .filter(|&r| mine(r))
                .map(|r| {
                    (
                        r as u32,
                        reqs.start_ns[r].max(clip.0),
                        reqs.end_ns[r].min(clip.1),
                    )
                })
                .filter(|w| w.1 < w.2)
                .collect();
            split(x, &seg, &act, &class_phases, &windows, &mut out.shares);
        }
        out
    }

    fn segments(&self, members: &[usize], measured: &Measured, idle_w: &[f64]) -> Segments {
        let m = measured.segments.first().map_or(0, |s| s.energy_j.len());
        let mut seg = Segments {
            energy_j: vec![0.0; m],
            dynamic_j: vec![0.0; m],
            covered_ns: vec![0; m],
        };
        for &c in members {
            let w = &measured.segments[c];
            for k in 0..m {
                let idle_j = idle_w[c] * (w.covered_ns[k] as f64 / 1e9);
                seg.energy_j[k] += w.energy_j[k];
                seg.dynamic_j[k] += w.energy_j[k] - idle_j;
                seg.covered_ns[k] = seg.covered_ns[k].saturating_add(w.covered_ns[k]);
            }
        }
        seg
    }
}
