//! The sweep: who is active in each segment, and each request's share.
//!
//! A phase's weight is constant over the phase, so a request's share of the
//! segments it spans is `w × Σ E_k / W_k` over those segments: one difference of
//! compensated prefix sums per phase instead of a walk over its segments. The
//! whole attribution is `O((segments + phases) · log segments)` and never
//! rescans the trace per request.

use super::events::{index_of, Phase, PhaseSpan};
use crate::sum::CompensatedSum;

/// Active phases per segment of one channel class.
pub(crate) struct Activity {
    /// Active phases in segment `k` (between event times `k` and `k + 1`).
    pub n: Vec<u32>,
    /// Active phases with a positive weight.
    pub n_weighted: Vec<u32>,
    /// Total weight in each segment (exactly 0 where `n_weighted` is 0).
    pub w: Vec<f64>,
}

/// Sweep the phases over the event times `x`.
pub(crate) fn activity(x: &[i64], phases: &[PhaseSpan]) -> Activity {
    let m = x.len().saturating_sub(1);
    let mut dn = vec![0i64; m + 1];
    let mut dpos = vec![0i64; m + 1];
    let mut dw: Vec<CompensatedSum> = vec![CompensatedSum::default(); m + 1];
    for p in phases {
        let (a, b) = (index_of(x, p.start_ns), index_of(x, p.end_ns));
        dn[a] += 1;
        dn[b] -= 1;
        if p.weight > 0.0 {
            dpos[a] += 1;
            dpos[b] -= 1;
            dw[a].add(p.weight);
            dw[b].add(-p.weight);
        }
    }
    let mut out = Activity {
        n: Vec::with_capacity(m),
        n_weighted: Vec::with_capacity(m),
        w: Vec::with_capacity(m),
    };
    let (mut n, mut pos) = (0i64, 0i64);
    let mut w = CompensatedSum::default();
    for k in 0..m {
        n += dn[k];
        pos += dpos[k];
        w.merge(&dw[k]);
        if pos == 0 {
            // Adding and removing weights leaves rounding dust; an empty set weighs exactly 0.
            w = CompensatedSum::default();
        }
        out.n.push(n.max(0) as u32);
        out.n_weighted.push(pos.max(0) as u32);
        out.w.push(if pos > 0 { w.value() } else { 0.0 });
    }
    out
}

/// Energy, dynamic energy and covered time of each segment, summed over a class's channels.
pub(crate) struct Segments {
    pub energy_j: Vec<f64>,
    pub dynamic_j: Vec<f64>,
    pub covered_ns: Vec<i64>,
}

/// What one class's sweep gives each request, added into the running totals.
#[derive(Default)]
pub(crate) struct Shares {
    pub energy_j: Vec<CompensatedSum>,
    pub dynamic_j: Vec<CompensatedSum>,
    pub prefill_j: Vec<CompensatedSum>,
    pub decode_j: Vec<CompensatedSum>,
    /// Covered channel-ns inside each request's (clipped) window.
    pub covered_ns: Vec<i128>,
    pub attributed_j: CompensatedSum,
    pub unattributed_j: CompensatedSum,
}

impl Shares {
    pub fn new(n_requests: usize) -> Shares {
        Shares {
            energy_j: vec![CompensatedSum::default(); n_requests],
            dynamic_j: vec![CompensatedSum::default(); n_requests],
            prefill_j: vec![CompensatedSum::default(); n_requests],
            decode_j: vec![CompensatedSum::default(); n_requests],
            covered_ns: vec![0; n_requests],
            attributed_j: CompensatedSum::default(),
            unattributed_j: CompensatedSum::default(),
        }
    }
}

/// Prefix sums over segments of `E/W` (weighted segments) and `E/N` (segments
/// where every active phase weighs 0, split equally so nothing is lost).
struct Prefix {
    weighted: Vec<CompensatedSum>,
    equal: Vec<CompensatedSum>,
}

impl Prefix {
    fn build(values: &[f64], act: &Activity) -> Prefix {
        let m = values.len();
        let mut weighted = Vec::with_capacity(m + 1);
        let mut equal = Vec::with_capacity(m + 1);
        let (mut a, mut b) = (CompensatedSum::default(), CompensatedSum::default());
        weighted.push(a);
        equal.push(b);
        for k in 0..m {
            if act.n_weighted[k] > 0 {
                a.add(values[k] / act.w[k]);
            } else if act.n[k] > 0 {
                b.add(values[k] / f64::from(act.n[k]));
            }
            weighted.push(a);
            equal.push(b);
        }
        Prefix { weighted, equal }
    }

    /// A phase's share of the segments `ka..kb`.
    fn share(&self, weight: f64, ka: usize, kb: usize) -> f64 {
        if weight > 0.0 {
            weight * self.weighted[kb].difference(&self.weighted[ka])
        } else {
            self.equal[kb].difference(&self.equal[ka])
        }
    }
}

/// Split one class's segment energies among its phases, adding into `out`.
///
/// `windows` are the requests' (clipped) `[start, end]` windows, for coverage.
pub(crate) fn split(
    x: &[i64],
    seg: &Segments,
    act: &Activity,
    phases: &[PhaseSpan],
    windows: &[(u32, i64, i64)],
    out: &mut Shares,
) {
    let energy = Prefix::build(&seg.energy_j, act);
    let dynamic = Prefix::build(&seg.dynamic_j, act);
    for (k, &e) in seg.energy_j.iter().enumerate() {
        if act.n[k] > 0 {
            out.attributed_j.add(e);
        } else {
            out.unattributed_j.add(e);
        }
    }
    for p in phases {
        let (ka, kb) = (index_of(x, p.start_ns), index_of(x, p.end_ns));
        let r = p.req as usize;
        let e = energy.share(p.weight, ka, kb);
        out.energy_j[r].add(e);
        out.dynamic_j[r].add(dynamic.share(p.weight, ka, kb));
        match p.kind {
            Phase::Prefill => out.prefill_j[r].add(e),
            Phase::Decode => out.decode_j[r].add(e),
            Phase::Whole => {}
        }
    }
    let mut covered = Vec::with_capacity(seg.covered_ns.len() + 1);
    let mut acc = 0i128;
    covered.push(acc);
    for &c in &seg.covered_ns {
        acc += i128::from(c);
        covered.push(acc);
    }
    for &(r, a, b) in windows {
        let (ka, kb) = (index_of(x, a), index_of(x, b));
        out.covered_ns[r as usize] += covered[kb] - covered[ka];
    }
}
