//! Window energies of a stream, in memory proportional to the windows, not the samples.
//!
//! The online twin of the general path of [`crate::window`]: each accepted
//! sample closes a segment; every window edge that falls in that segment gets
//! the cumulative energy up to the segment's start plus the interpolated part
//! of the segment, exactly as the in-memory sweep computes it. Rows go
//! through the reference [`Partial::push`], so repairs, gaps, resets and wraps
//! have the same meaning as everywhere else, and the result does not depend
//! on how the stream was chunked.

use crate::config::{Options, Rule, GAP_HEAD_ROWS};
use crate::edges::sorted_edges;
use crate::error::{Error, Result};
use crate::partial::{Partial, Sample};
use crate::read::sink::ChannelNames;
use crate::read::RowSink;
use crate::sum::CompensatedSum;
use crate::sweep::edge_part;
use crate::window::{EdgeState, WindowEnergies};

struct ChannelWindows {
    opts: Options,
    /// Rows held until the gap threshold is known (the first GAP_HEAD_ROWS).
    head: Vec<(i64, f64, u64)>,
    part: Option<Partial>,
    states: Vec<EdgeState>,
    /// Next edge (index into the sorted edges) still to be placed.
    next: usize,
    acc: CompensatedSum,
    cov: i64,
    gaps: u64,
    first_t: Option<i64>,
    rows: u64,
}

impl ChannelWindows {
    fn new(opts: Options, n_edges: usize) -> Self {
        ChannelWindows {
            opts,
            head: Vec::new(),
            part: None,
            states: vec![EdgeState::default(); n_edges],
            next: 0,
            acc: CompensatedSum::default(),
            cov: 0,
            gaps: 0,
            first_t: None,
            rows: 0,
        }
    }

    fn push(&mut self, edges: &[(i64, u32)], t: i64, v: f64, line: u64) -> Result<()> {
        if self.part.is_none() {
            self.head.push((t, v, line));
            if self.head.len() < GAP_HEAD_ROWS {
                return Ok(());
            }
            return self.start(edges);
        }
        self.feed(edges, t, v, line)
    }

    /// Fix the gap threshold from the head rows and replay them.
    fn start(&mut self, edges: &[(i64, u32)]) -> Result<()> {
        let ts: Vec<i64> = self.head.iter().map(|r| r.0).collect();
        self.part = Some(Partial::new(self.opts.resolve(&ts)));
        for (t, v, line) in std::mem::take(&mut self.head) {
            self.feed(edges, t, v, line)?;
        }
        Ok(())
    }

    fn feed(&mut self, edges: &[(i64, u32)], t: i64, v: f64, line: u64) -> Result<()> {
        let Some(p) = self.part.as_mut() else {
            return Ok(());
        };
        let (before_sum, before) = (p.sum, p.counts);
        let prev: Option<Sample> = p.last;
        let index = self.rows;
        self.rows += 1;
        p.push(t, v, index).map_err(|mut e| {
            if let Some(at) = e.location_mut() {
                at.line = Some(line);
                at.index = None;
            }
            e
        })?;
        if p.counts.n_samples == before.n_samples {
            return Ok(()); // a dropped row
        }
        let Some(s) = p.last else { return Ok(()) };
        let Some(k) = prev else {
            self.first_t = Some(s.t_ns);
            // Edges at or before the first sample see nothing.
            while self.next < edges.len() && edges[self.next].0 <= s.t_ns {
                self.next += 1;
            }
            return Ok(());
        };
        let seg = p.sum.difference(&before_sum);
        let is_gap = p.counts.n_gaps > before.n_gaps;
        let cov = p.counts.covered_ns - before.covered_ns;
        let rule = p.cfg.opts.rule;
        while self.next < edges.len() && edges[self.next].0 < s.t_ns {
            let (x, id) = edges[self.next];
            let mut here = EdgeState {
                energy: self.acc,
                covered_ns: self.cov,
                gaps_started: self.gaps,
                gaps_ended: self.gaps,
            };
            let u = x - k.t_ns;
            if u > 0 {
                if is_gap {
                    here.gaps_started += 1;
                }
                // Power is not bridged across a gap; a counter's difference is exact across it.
                if !(is_gap && rule != Rule::Counter) {
                    let e = edge_part(rule, k.t_ns, s.t_ns, k.value, s.value, seg, u);
                    here.energy.add(e);
                    here.covered_ns = here.covered_ns.saturating_add(u);
                }
            }
            self.states[id as usize] = here;
            self.next += 1;
        }
        self.acc.add(seg);
        self.cov = self.cov.saturating_add(cov);
        self.gaps += is_gap as u64;
        Ok(())
    }

    fn finish(mut self, edges: &[(i64, u32)], n_windows: usize) -> Result<WindowEnergies> {
        if self.part.is_none() {
            self.start(edges)?;
        }
        if self.first_t.is_some() {
            let end = EdgeState {
                energy: self.acc,
                covered_ns: self.cov,
                gaps_started: self.gaps,
                gaps_ended: self.gaps,
            };
            for &(_, id) in &edges[self.next..] {
                self.states[id as usize] = end;
            }
        }
        let cfg = self.part.map(|p| p.cfg);
        Ok(EdgeState::windows(&self.states, n_windows, cfg.as_ref()))
    }
}

/// Window energies of every channel of a stream of rows.
pub struct WindowStream {
    opts: Options,
    edges: Vec<(i64, u32)>,
    n_windows: usize,
    names: ChannelNames,
    channels: Vec<ChannelWindows>,
}

impl WindowStream {
    /// `windows` are `(start_ns, end_ns)` pairs; `opts` must be the options the
    /// rows are integrated with (counter rule and unit included).
    pub fn new(opts: Options, windows: &[(i64, i64)]) -> Result<Self> {
        opts.validate()?;
        for (i, &(a, b)) in windows.iter().enumerate() {
            if b < a {
                return Err(Error::InvalidWindow {
                    index: i,
                    start_ns: a,
                    end_ns: b,
                });
            }
        }
        Ok(WindowStream {
            opts,
            edges: sorted_edges(windows),
            n_windows: windows.len(),
            names: ChannelNames::default(),
            channels: Vec::new(),
        })
    }

    /// The window energies of every channel, in order of first appearance.
    pub fn finish(self) -> Result<Vec<(String, WindowEnergies)>> {
        let (edges, n) = (self.edges, self.n_windows);
        self.names
            .into_names()
            .into_iter()
            .zip(self.channels)
            .map(|(name, c)| Ok((name, c.finish(&edges, n)?)))
            .collect()
    }
}

impl RowSink for WindowStream {
    fn channel_id(&mut self, name: &[u8]) -> usize {
        let (id, new) = self.names.id(name);
        if new {
            self.channels
                .push(ChannelWindows::new(self.opts, self.edges.len()));
        }
        id
    }

    fn push(&mut self, id: usize, t_ns: i64, value: f64, line: u64) -> Result<()> {
        match self.channels.get_mut(id) {
            Some(c) => c.push(&self.edges, t_ns, value, line),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::integrate_windows;

    #[test]
    fn streamed_windows_match_the_in_memory_sweep() {
        let n = 5000;
        let t: Vec<i64> = (0..n as i64)
            .map(|i| i * 100_000_000 + if i > 2500 { 30_000_000_000 } else { 0 })
            .collect();
        let v: Vec<f64> = (0..n)
            .map(|i| {
                if i == 77 {
                    f64::NAN
                } else {
                    100.0 + (i % 17) as f64
                }
            })
            .collect();
        let windows: Vec<(i64, i64)> = (0..300)
            .map(|k| {
                (
                    k * 1_900_000_000 - 5_000_000_000,
                    k * 1_900_000_000 + 3_333_333_333,
                )
            })
            .collect();
        let (_, want) = integrate_windows(&Options::default(), &t, &v, &windows, 1).expect("valid");
        let mut s = WindowStream::new(Options::default(), &windows).expect("valid");
        let id = s.channel_id(b"0");
        for i in 0..n {
            s.push(id, t[i], v[i], i as u64 + 2).expect("valid");
        }
        let got = s.finish().expect("valid").remove(0).1;
        assert_eq!(got.covered_ns, want.covered_ns);
        assert_eq!(got.n_gaps, want.n_gaps);
        for (a, b) in got.energy_j.iter().zip(&want.energy_j) {
            assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} vs {b}");
        }
    }
}
