//! Energy over many `(start, end)` windows at once.
//!
//! Every window edge `x` gets the cumulative energy `F(x)` from the first
//! sample, with the segment that contains `x` split at `x` (linear
//! interpolation for trapezoid and counters, the held value for hold). A
//! window's energy is `F(end) - F(start)`, computed from the compensated
//! cumulative sums, so adjacent windows add up to their union. Edges are
//! visited in time order: a channel whose rows all went in unrepaired (the
//! common case, gaps allowed) takes the block-parallel sweep of
//! [`crate::sweep`]; any other replays the reference path into prefix sums.
//! Nothing is extrapolated: the part of a window outside the trace, or inside
//! a gap, is not covered and shows in the window's coverage.

use crate::config::{Options, Resolved, Rule, GAP_HEAD_ROWS};
use crate::edges::sorted_edges;
use crate::error::{Error, Location, Result};
use crate::integrate::{effective_threads, integrate_resolved, require_two_samples};
use crate::partial::{Partial, Sample};
use crate::sum::CompensatedSum;
use crate::sweep::{advance, clean_sweep, edge_part, Swept};

/// Energy and coverage of each window of one channel.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WindowEnergies {
    pub energy_j: Vec<f64>,
    /// Integrated (non-gap, inside-trace) time in each window.
    pub covered_ns: Vec<i64>,
    /// Gaps that overlap each window.
    pub n_gaps: Vec<u64>,
}

/// Integrate one channel and the energies of `windows` over it.
///
/// ```
/// use epcore_core::config::Options;
/// use epcore_core::window::integrate_windows;
/// let t = [0, 1_000_000_000, 2_000_000_000];
/// let p = [100.0, 300.0, 300.0];
/// let (whole, w) = integrate_windows(&Options::default(), &t, &p,
///     &[(0, 500_000_000), (500_000_000, 2_000_000_000)], 1)?;
/// assert_eq!(whole.energy_j(), 500.0);
/// assert_eq!(w.energy_j, vec![75.0, 425.0]); // 200 W at 0.5 s
/// # Ok::<(), epcore_core::Error>(())
/// ```
pub fn integrate_windows(
    opts: &Options,
    t: &[i64],
    v: &[f64],
    windows: &[(i64, i64)],
    threads: usize,
) -> Result<(Partial, WindowEnergies)> {
    opts.validate()?;
    if t.len() != v.len() {
        return Err(Error::LengthMismatch {
            what: "timestamps and values".into(),
            expected: t.len(),
            found: v.len(),
        });
    }
    if t.is_empty() {
        return Err(Error::EmptyInput {
            at: Location::default(),
        });
    }
    for (i, &(a, b)) in windows.iter().enumerate() {
        if b < a {
            return Err(Error::InvalidWindow {
                index: i,
                start_ns: a,
                end_ns: b,
            });
        }
    }
    let cfg = opts.resolve(&t[..t.len().min(GAP_HEAD_ROWS)]);
    let edges = sorted_edges(windows);
    if let Some(Swept {
        whole,
        at_edges,
        gaps,
    }) = clean_sweep(&cfg, t, v, &edges, effective_threads(threads, t.len()))
    {
        require_two_samples(&whole)?;
        let (t0, t1) = (t[0], t[t.len() - 1]);
        let mut by_id = vec![CompensatedSum::default(); edges.len()];
        for (&(_, id), f) in edges.iter().zip(at_edges) {
            by_id[id as usize] = f;
        }
        let gaps = Gaps::new(gaps);
        let mut out = WindowEnergies::with_capacity(windows.len());
        for (i, &(a, b)) in windows.iter().enumerate() {
            out.energy_j
                .push(cfg.to_joules(by_id[2 * i + 1].difference(&by_id[2 * i])));
            let (in_gaps_ns, n_gaps) = gaps.overlap(a, b);
            // Saturating: a trace may span more than the i64 range of ns differences.
            let inside = b.clamp(t0, t1).saturating_sub(a.clamp(t0, t1));
            // Power is not integrated across a gap; a counter's difference is.
            let skipped = if cfg.opts.rule == Rule::Counter {
                0
            } else {
                in_gaps_ns
            };
            out.covered_ns.push(inside.saturating_sub(skipped));
            out.n_gaps.push(n_gaps);
        }
        return Ok((whole, out));
    }
    let whole = integrate_resolved(&cfg, t, v, threads)?;
    require_two_samples(&whole)?;
    let w = sweep(
        &Materialized::build(&cfg, t, v)?,
        &edges,
        windows.len(),
        &cfg,
    );
    Ok((whole, w))
}

/// The gap intervals of a channel that passed the clean sweep, with prefix sums
/// of their lengths, so each window's overlap with them is two binary searches.
struct Gaps {
    start: Vec<i64>,
    end: Vec<i64>,
    prefix_ns: Vec<i64>,
}

impl Gaps {
    fn new(gaps: Vec<(i64, i64)>) -> Gaps {
        let mut prefix_ns: Vec<i64> = Vec::with_capacity(gaps.len() + 1);
        prefix_ns.push(0i64);
        for &(a, b) in &gaps {
            prefix_ns.push(prefix_ns[prefix_ns.len() - 1].saturating_add(b.saturating_sub(a)));
        }
        Gaps {
            start: gaps.iter().map(|g| g.0).collect(),
            end: gaps.iter().map(|g| g.1).collect(),
            prefix_ns,
        }
    }

    /// Time of `(a, b)` inside gaps, and how many gaps overlap it.
    fn overlap(&self, a: i64, b: i64) -> (i64, u64) {
        // Gaps are disjoint and in time order: those overlapping (a, b) are a contiguous run.
        let i0 = self.end.partition_point(|&e| e <= a);
        let i1 = self.start.partition_point(|&s| s < b);
        if i1 <= i0 {
            return (0, 0);
        }
        let mut ns = self.prefix_ns[i1].saturating_sub(self.prefix_ns[i0]);
        ns = ns.saturating_sub(a.saturating_sub(self.start[i0]).max(0)); // the first gap may start before a
        ns = ns.saturating_sub(self.end[i1 - 1].saturating_sub(b).max(0)); // the last may end after b
        (ns, (i1 - i0) as u64)
    }
}

impl WindowEnergies {
    fn with_capacity(n: usize) -> Self {
        WindowEnergies {
            energy_j: Vec::with_capacity(n),
            covered_ns: Vec::with_capacity(n),
            n_gaps: Vec::with_capacity(n),
        }
    }
}

/// Accepted samples with per-segment energies and prefix sums, for traces that
/// needed repairs or have gaps (the uncommon case, so memory is spent freely).
struct Materialized {
    rule: Rule,
    t: Vec<i64>,
    v: Vec<f64>,
    delta: Vec<f64>,
    gap: Vec<bool>,
    prefix: Vec<CompensatedSum>,
    prefix_cov: Vec<i64>,
    prefix_gaps: Vec<u64>,
}

impl Materialized {
    fn build(cfg: &Resolved, t: &[i64], v: &[f64]) -> Result<Self> {
        // Replay the reference path and record each accepted sample and segment.
        let mut p = Partial::new(*cfg);
        let mut m = Materialized {
            rule: cfg.opts.rule,
            t: Vec::new(),
            v: Vec::new(),
            delta: Vec::new(),
            gap: Vec::new(),
            prefix: vec![CompensatedSum::default()],
            prefix_cov: vec![0],
            prefix_gaps: vec![0],
        };
        for (i, (&ti, &vi)) in t.iter().zip(v).enumerate() {
            let before_sum = p.sum;
            let before = p.counts;
            let last: Option<Sample> = p.last;
            p.push(ti, vi, i as u64)?;
            if p.counts.n_samples == before.n_samples {
                continue; // dropped row
            }
            let Some(s) = p.last else { continue };
            if last.is_some() {
                let seg = p.sum.difference(&before_sum);
                let is_gap = p.counts.n_gaps > before.n_gaps;
                let cov = p.counts.covered_ns - before.covered_ns;
                m.delta.push(seg);
                m.gap.push(is_gap);
                let mut acc = m.prefix[m.prefix.len() - 1];
                // Re-adding the segment's own sum keeps the prefix compensated.
                acc.add(seg);
                m.prefix.push(acc);
                m.prefix_cov
                    .push(m.prefix_cov[m.prefix_cov.len() - 1].saturating_add(cov));
                m.prefix_gaps
                    .push(m.prefix_gaps[m.prefix_gaps.len() - 1] + is_gap as u64);
            }
            m.t.push(s.t_ns);
            m.v.push(s.value);
        }
        Ok(m)
    }

    fn range(&self, k0: usize, k1: usize) -> (CompensatedSum, i64, u64) {
        let mut s = self.prefix[k1];
        let (hi, lo) = self.prefix[k0].parts();
        s.add(-hi);
        s.merge(&CompensatedSum::from_parts(0.0, -lo));
        (
            s,
            self.prefix_cov[k1].saturating_sub(self.prefix_cov[k0]),
            self.prefix_gaps[k1] - self.prefix_gaps[k0],
        )
    }

    fn part(&self, k: usize, u: i64) -> (f64, i64) {
        // Power is not bridged across a gap; a counter's difference is exact across it.
        if self.gap[k] && self.rule != Rule::Counter {
            return (0.0, 0);
        }
        let e = edge_part(
            self.rule,
            self.t[k],
            self.t[k + 1],
            self.v[k],
            self.v[k + 1],
            self.delta[k],
            u,
        );
        (e, u)
    }
}

/// Cumulative state at one edge (shared with the streaming twin in [`crate::window_stream`]).
#[derive(Clone, Copy, Default)]
pub(crate) struct EdgeState {
    pub energy: CompensatedSum,
    pub covered_ns: i64,
    /// Gap segments that start before the edge.
    pub gaps_started: u64,
    /// Gap segments that end at or before the edge.
    pub gaps_ended: u64,
}

impl EdgeState {
    /// The window energies from the states at each window's two edges.
    pub(crate) fn windows(
        states: &[EdgeState],
        n_windows: usize,
        cfg: Option<&Resolved>,
    ) -> WindowEnergies {
        let mut out = WindowEnergies::with_capacity(n_windows);
        for i in 0..n_windows {
            let (a, b) = (&states[2 * i], &states[2 * i + 1]);
            let e = b.energy.difference(&a.energy);
            out.energy_j.push(cfg.map_or(0.0, |c| c.to_joules(e)));
            out.covered_ns
                .push(b.covered_ns.saturating_sub(a.covered_ns));
            out.n_gaps.push(b.gaps_started.saturating_sub(a.gaps_ended));
        }
        out
    }
}

fn sweep(
    seg: &Materialized,
    edges: &[(i64, u32)],
    n_windows: usize,
    cfg: &Resolved,
) -> WindowEnergies {
    let t = &seg.t;
    let n = t.len();
    let mut states = vec![EdgeState::default(); edges.len()];
    let mut k = 0usize; // t[k] <= x for the current edge
    let mut acc = CompensatedSum::default();
    let mut cov = 0i64;
    let mut gaps = 0u64;
    for &(x, id) in edges {
        let st = &mut states[id as usize];
        if x <= t[0] {
            continue; // nothing before the trace
        }
        let k1 = advance(t, k, x);
        if k1 > k {
            let (e, c, g) = seg.range(k, k1);
            acc.merge(&e);
            cov = cov.saturating_add(c);
            gaps += g;
            k = k1;
        }
        let mut here = EdgeState {
            energy: acc,
            covered_ns: cov,
            gaps_started: gaps,
            gaps_ended: gaps,
        };
        if k + 1 < n {
            let u = x - t[k];
            if u > 0 {
                if seg.gap[k] {
                    here.gaps_started += 1;
                }
                let (e, c) = seg.part(k, u);
                here.energy.add(e);
                here.covered_ns = here.covered_ns.saturating_add(c);
            }
        }
        *st = here;
    }
    EdgeState::windows(&states, n_windows, Some(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_sweep_agrees_with_the_general_path_across_blocks() {
        use crate::integrate::BLOCK_ROWS;
        let n = 3 * BLOCK_ROWS + 5;
        // Gaps (10 s jumps) inside a block, at a block boundary and near the end.
        let gap_at = [
            1000,
            BLOCK_ROWS as i64,
            2 * BLOCK_ROWS as i64 + 7,
            n as i64 - 2,
        ];
        let jump = |i: i64| gap_at.iter().filter(|&&g| i >= g).count() as i64 * 10_000_000_000;
        let t: Vec<i64> = (0..n as i64)
            .map(|i| 1_000 + i * 1_000_000 + (i * 7919) % 400_000 + jump(i))
            .collect();
        let v: Vec<f64> = (0..n)
            .map(|i| 70.0 + ((i * 31) % 650) as f64 * 0.93)
            .collect();
        let mut ws: Vec<(i64, i64)> = Vec::new();
        let mut x: u64 = 7;
        for _ in 0..3000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let a = (x % (t[n - 1] as u64 + 2_000_000_000)) as i64 - 1_000_000_000;
            ws.push((a, a + (x % 3_000_000_000) as i64));
        }
        for b in 1..4 {
            let at = t[(b * BLOCK_ROWS).min(n - 1)];
            ws.push((at, at + 5));
            ws.push((at - 3, at));
        }
        ws.push((t[0], t[n - 1]));
        let cumulative: Vec<f64> = v
            .iter()
            .scan(0.0, |acc, x| {
                *acc += x;
                Some(*acc)
            })
            .collect();
        for rule in [Rule::Trapezoid, Rule::Hold, Rule::Counter] {
            let o = Options {
                rule,
                ..Options::default()
            };
            let v = if rule == Rule::Counter {
                &cumulative
            } else {
                &v
            };
            let (whole, fast) =
                integrate_windows(&o, &t, v, &ws, 2).expect("the test input is valid");
            let cfg = o.resolve(&t[..GAP_HEAD_ROWS]);
            let general = sweep(
                &Materialized::build(&cfg, &t, v).expect("the test input is valid"),
                &sorted_edges(&ws),
                ws.len(),
                &cfg,
            );
            for i in 0..ws.len() {
                let (a, b) = (fast.energy_j[i], general.energy_j[i]);
                assert!(
                    (a - b).abs() <= 1e-12 * b.abs().max(1e-300),
                    "{rule:?} window {i}: {a} vs {b}"
                );
            }
            assert_eq!(fast.covered_ns, general.covered_ns, "{rule:?}");
            assert_eq!(fast.n_gaps, general.n_gaps, "{rule:?}");
            assert_eq!(whole.counts.n_gaps, 4);
            let last = ws.len() - 1;
            assert!((fast.energy_j[last] - whole.energy_j()).abs() <= 1e-12 * whole.energy_j());
        }
    }

    #[test]
    fn advance_finds_the_last_sample_at_or_before() {
        let t: Vec<i64> = (0..100).map(|i| i * 10).collect();
        assert_eq!(advance(&t, 0, 0), 0);
        assert_eq!(advance(&t, 0, 9), 0);
        assert_eq!(advance(&t, 0, 10), 1);
        assert_eq!(advance(&t, 3, 555), 55);
        assert_eq!(advance(&t, 0, 10_000), 99);
        assert_eq!(advance(&t, 99, 10_000), 99);
    }

    #[test]
    fn adjacent_windows_add_up_to_their_union() {
        let t: Vec<i64> = (0..50).map(|i| i * 1_000_003).collect();
        let v: Vec<f64> = (0..50).map(|i| 10.0 + (i % 7) as f64 * 3.3).collect();
        let cuts = [0, 3_333_333, 17_000_000, 17_000_001, 49_000_147];
        let mut ws: Vec<(i64, i64)> = cuts.windows(2).map(|c| (c[0], c[1])).collect();
        ws.push((cuts[0], cuts[4]));
        let (_, w) = integrate_windows(&Options::default(), &t, &v, &ws, 1)
            .expect("the test input is valid");
        let parts: f64 = w.energy_j[..4].iter().sum();
        assert!((parts - w.energy_j[4]).abs() <= 1e-12 * w.energy_j[4]);
    }

    #[test]
    fn gaps_and_outside_are_uncovered() {
        let s = 1_000_000_000;
        let t = [0, s, 10 * s, 11 * s];
        let v = [100.0; 4];
        let ws = [(-s, 2 * s), (5 * s, 6 * s), (0, 11 * s), (12 * s, 13 * s)];
        let (whole, w) = integrate_windows(&Options::default(), &t, &v, &ws, 1)
            .expect("the test input is valid");
        assert_eq!(whole.energy_j(), 200.0);
        assert_eq!(w.energy_j, vec![100.0, 0.0, 200.0, 0.0]);
        assert_eq!(w.covered_ns, vec![s, 0, 2 * s, 0]);
        assert_eq!(w.n_gaps, vec![1, 1, 1, 0]);
    }

    #[test]
    fn counters_interpolate_linearly() {
        let s = 1_000_000_000;
        let t = [0, s, 2 * s];
        let c = [5000.0, 5100.0, 20.0]; // reset between 1 s and 2 s
        let o = Options {
            rule: Rule::Counter,
            ..Options::default()
        };
        let (whole, w) = integrate_windows(&o, &t, &c, &[(s / 2, 3 * s / 2)], 1)
            .expect("the test input is valid");
        assert_eq!(whole.energy_j(), 120.0);
        assert_eq!(whole.counts.n_resets, 1);
        assert_eq!(w.energy_j, vec![60.0]);
    }
}
