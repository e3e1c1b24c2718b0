//! Window edges over clean data, in one block-parallel pass.
//!
//! For a channel where every row is accepted as it is (the common case; gaps
//! are allowed), each block of rows is validated and summed by the block
//! kernel, then swept again while it is still in cache to get the cumulative
//! energy at every window edge that falls in it. Block prefixes are merged in
//! order afterwards, so threads never change a bit of the result. Anything
//! unclean returns `None` and the caller takes the general path.

use crate::config::{Resolved, Rule};
use crate::integrate::BLOCK_ROWS;
use crate::kernel::{block_partial, load_f, load_u, MAGIC, TWO52};
use crate::partial::Partial;
use crate::sum::{two_sum, CompensatedSum};
use wide::bytemuck::cast;
use wide::{f64x4, u64x4};

/// What a clean sweep found.
pub struct Swept {
    /// The partial of the whole channel.
    pub whole: Partial,
    /// Cumulative native energy from the first sample to each edge, in `edges` order.
    pub at_edges: Vec<CompensatedSum>,
    /// Every gap interval `(t_k, t_k+1)`, in time order.
    pub gaps: Vec<(i64, i64)>,
}

/// Cumulative native energy from the first sample to each edge (in `edges` order),
/// and the partial of the whole channel; `None` if any row needed a repair.
pub fn clean_sweep(
    cfg: &Resolved,
    t: &[i64],
    v: &[f64],
    edges: &[(i64, u32)],
    threads: usize,
) -> Option<Swept> {
    let n = t.len();
    if n < 2 || v.len() != n {
        return None;
    }
    let n_blocks = n.div_ceil(BLOCK_ROWS);
    // Edge range of each block: x in [t[lo], t[hi]) (the last block up to and including t[n-1]).
    let mut bounds = Vec::with_capacity(n_blocks + 1);
    for b in 0..n_blocks {
        bounds.push(edges.partition_point(|e| e.0 < t[b * BLOCK_ROWS]));
    }
    bounds.push(edges.partition_point(|e| e.0 <= t[n - 1]));
    if !bounds.windows(2).all(|w| w[0] <= w[1]) {
        return None; // time is not sorted: the general path will say where
    }
    let mut locals = vec![CompensatedSum::default(); edges.len()];
    let first = bounds[0];
    let last = bounds[n_blocks];
    let groups = threads.clamp(1, n_blocks);
    let per = n_blocks.div_ceil(groups);
    let skip = skip_above(cfg);
    let job = |b0: usize, b1: usize, out: &mut [CompensatedSum]| -> Option<Vec<Partial>> {
        let base = bounds[b0];
        let mut parts = Vec::with_capacity(b1 - b0);
        for b in b0..b1 {
            let lo = b * BLOCK_ROWS;
            let hi = (lo + BLOCK_ROWS).min(n);
            parts.push(block_partial(cfg, &t[lo..hi], &v[lo..hi], lo as u64).ok()?);
            let mine = &edges[bounds[b]..bounds[b + 1]];
            local_edges(
                cfg.opts.rule,
                skip,
                t,
                v,
                lo,
                hi,
                mine,
                &mut out[bounds[b] - base..bounds[b + 1] - base],
            );
        }
        Some(parts)
    };
    let parts: Vec<Partial> = if groups == 1 {
        job(0, n_blocks, &mut locals[first..last])?
    } else {
        let mut rest = &mut locals[first..last];
        let mut slices = Vec::with_capacity(groups);
        for g in 0..groups {
            let (b0, b1) = (g * per, ((g + 1) * per).min(n_blocks));
            if b0 >= b1 {
                break;
            }
            let (mine, tail) = rest.split_at_mut(bounds[b1] - bounds[b0]);
            slices.push((b0, b1, mine));
            rest = tail;
        }
        let results: Vec<Option<Vec<Partial>>> = std::thread::scope(|s| {
            let handles: Vec<_> = slices
                .into_iter()
                .map(|(b0, b1, out)| s.spawn(move || job(b0, b1, out)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().ok().flatten())
                .collect()
        });
        let mut all = Vec::with_capacity(n_blocks);
        for r in results {
            all.extend(r?);
        }
        all
    };

    // Merge in order; each block's edges get the energy before the block added.
    let mut whole = Partial::new(*cfg);
    let mut prefix = CompensatedSum::default();
    for (b, p) in parts.iter().enumerate() {
        let lo = b * BLOCK_ROWS;
        if b > 0 {
            prefix.add(segment_term(
                cfg.opts.rule,
                skip,
                t[lo - 1],
                t[lo],
                v[lo - 1],
                v[lo],
            ));
        }
        for l in &mut locals[bounds[b]..bounds[b + 1]] {
            let mut f = prefix;
            f.merge(l);
            *l = f;
        }
        prefix.merge(&p.sum);
        whole.merge(p).ok()?;
    }
    let c = &whole.counts;
    // Gaps are fine here (their segments are skipped above); repairs are not.
    let clean =
        c.n_rows == c.n_samples && c.n_negative_clamped == 0 && c.n_wraps == 0 && c.n_resets == 0;
    if !clean {
        return None;
    }
    for l in &mut locals[last..] {
        *l = whole.sum;
    }
    // Where the gaps are: only blocks that counted one, and the bridges, are scanned.
    let mut gaps = Vec::new();
    if whole.counts.n_gaps > 0 {
        for (b, p) in parts.iter().enumerate() {
            let lo = b * BLOCK_ROWS;
            let hi = (lo + BLOCK_ROWS + 1).min(n);
            let from = if p.counts.n_gaps > 0 {
                lo
            } else {
                hi.saturating_sub(2).max(lo)
            };
            for k in from..hi - 1 {
                if t[k + 1].saturating_sub(t[k]) > cfg.max_gap_ns {
                    gaps.push((t[k], t[k + 1]));
                }
            }
        }
    }
    Some(Swept {
        whole,
        at_edges: locals,
        gaps,
    })
}

/// One segment's native energy, exactly as the block kernel and `Partial` compute it;
/// 0 for a gap of a power rule (intervals above `skip_above`).
#[inline]
fn segment_term(rule: Rule, skip_above: f64, t0: i64, t1: i64, p0: f64, p1: f64) -> f64 {
    // Wrapping: unvalidated blocks are swept before the clean check and discarded after it.
    let dt = t1.wrapping_sub(t0) as f64;
    if dt > skip_above {
        return 0.0;
    }
    match rule {
        Rule::Trapezoid => (p0 + p1) * dt,
        Rule::Hold => p0 * dt,
        Rule::Counter => p1 - p0,
    }
}

/// Power is not integrated across a gap; a counter's difference is exact across it.
fn skip_above(cfg: &Resolved) -> f64 {
    match cfg.opts.rule {
        Rule::Counter => f64::INFINITY,
        Rule::Trapezoid | Rule::Hold => cfg.max_gap_ns as f64,
    }
}

/// Compensated accumulators of two vectors of four lanes; quad `q` (terms
/// `4q..4q+4` of the channel) always goes to vector `q % 2`, so the grouping of
/// terms depends only on their index.
#[derive(Clone, Copy)]
struct QuadAcc {
    hi: [f64x4; 2],
    lo: [f64x4; 2],
}

impl QuadAcc {
    #[inline(always)]
    fn add(&mut self, parity: usize, x: f64x4) {
        let (h, l) = (&mut self.hi[parity], &mut self.lo[parity]);
        let s = *h + x;
        let bb = s - *h;
        *l += (*h - (s - bb)) + (x - bb);
        *h = s;
    }

    /// The total as one compensated sum, folded as a tree (vectors, then lanes
    /// pairwise) so the dependency chain is three TwoSums deep, not eight.
    fn fold(&self) -> CompensatedSum {
        let (h0, h1) = (self.hi[0], self.hi[1]);
        let s = h0 + h1;
        let bb = s - h0;
        let lo = self.lo[0] + self.lo[1] + ((h0 - (s - bb)) + (h1 - bb));
        let (s, lo) = (s.as_array(), lo.as_array());
        let (a, ea) = two_sum(s[0], s[1]);
        let (b, eb) = two_sum(s[2], s[3]);
        let (c, ec) = two_sum(a, b);
        CompensatedSum::from_parts(c, ((lo[0] + lo[1]) + (lo[2] + lo[3])) + ((ea + eb) + ec))
    }
}

/// The four terms of quad `q` (segments `q..q+4`; the caller guarantees `t[q + 4]` exists).
#[inline(always)]
fn quad_terms(rule: Rule, skip_above: f64, t: &[i64], v: &[f64], q: usize) -> (f64x4, [i64; 4]) {
    let t1 = [t[q + 1], t[q + 2], t[q + 3], t[q + 4]];
    let (p0, p1) = (load_f(&v[q..q + 4]), load_f(&v[q + 1..q + 5]));
    let d = load_u(&t[q + 1..q + 5]) - load_u(&t[q..q + 4]);
    let lanes = d.as_array();
    // The bit trick is exact below 2^52 ns; a longer interval (a clean block can hold
    // one, integrated by the sample-by-sample path) converts the plain way.
    let dt = if (lanes[0] | lanes[1] | lanes[2] | lanes[3]) >> 52 == 0 {
        cast::<u64x4, f64x4>(d | u64x4::splat(MAGIC)) - f64x4::splat(TWO52)
    } else {
        f64x4::new(lanes.map(|x| x as i64 as f64))
    };
    let x = match rule {
        Rule::Trapezoid => (p0 + p1) * dt,
        Rule::Hold => p0 * dt,
        Rule::Counter => p1 - p0,
    };
    (x & !dt.simd_gt(f64x4::splat(skip_above)), t1)
}

/// Energy from row `lo` to each edge of one block (edges sorted, all in `[t[lo], t[hi])`).
///
/// One walk over the block: whole quads of terms go straight into the lane
/// accumulators; the quad an edge falls in is added with the terms before the
/// edge only, and the rest of it when the walk moves on (adding 0 leaves a lane
/// exactly as it was), so no term is ever added twice or summed in scalar code.
#[allow(clippy::too_many_arguments)]
fn local_edges(
    rule: Rule,
    skip: f64,
    t: &[i64],
    v: &[f64],
    lo: usize,
    hi: usize,
    edges: &[(i64, u32)],
    out: &mut [CompensatedSum],
) {
    let n_terms = hi - 1; // terms j < hi - 1 are inside the block; j = hi - 1 bridges to the next
    let quads_end = lo + (n_terms.saturating_sub(lo)) / 4 * 4;
    let mut acc = QuadAcc {
        hi: [f64x4::ZERO; 2],
        lo: [f64x4::ZERO; 2],
    };
    let mut tail = CompensatedSum::default(); // terms past the last whole quad
    let mut j = lo; // terms [lo, j) are in `acc` or `tail`
    for (o, &(x, _)) in out.iter_mut().zip(edges) {
        while j < quads_end {
            let q = lo + (j - lo) / 4 * 4;
            let parity = ((q - lo) / 4) % 2;
            if j == q && t[q + 4] <= x {
                acc.add(parity, quad_terms(rule, skip, t, v, q).0);
                j += 4;
                continue;
            }
            // x cuts this quad: add the terms from j that end at or before x.
            let (terms, t1) = quad_terms(rule, skip, t, v, q);
            let arr = terms.as_array();
            let mut take = [0.0f64; 4];
            let mut next = j;
            for k in 0..4 {
                if q + k >= j && t1[k] <= x {
                    take[k] = arr[k];
                    next = q + k + 1;
                }
            }
            if next > j {
                acc.add(parity, f64x4::new(take));
                j = next;
            }
            if j < q + 4 {
                break;
            }
        }
        while j >= quads_end && j < n_terms && t[j + 1] <= x {
            tail.add(segment_term(rule, skip, t[j], t[j + 1], v[j], v[j + 1]));
            j += 1;
        }
        let mut f = acc.fold();
        f.merge(&tail);
        let inside_gap = j + 1 < t.len() && t[j + 1].wrapping_sub(t[j]) as f64 > skip;
        if x > t[j] && j + 1 < t.len() && !inside_gap {
            f.add(edge_part(
                rule,
                t[j],
                t[j + 1],
                v[j],
                v[j + 1],
                v[j + 1] - v[j],
                x.wrapping_sub(t[j]),
            ));
        }
        *o = f;
    }
}

/// Native energy from `t0` to `t0 + u` inside the segment `(t0, p0)..(t1, p1)`;
/// `delta` is the counter difference of the segment (wraps and resets resolved).
pub fn edge_part(rule: Rule, t0: i64, t1: i64, p0: f64, p1: f64, delta: f64, u: i64) -> f64 {
    let dt = t1.wrapping_sub(t0) as f64;
    let uf = u as f64;
    match rule {
        Rule::Trapezoid => {
            let px = p0 + (p1 - p0) * (uf / dt);
            (p0 + px) * uf
        }
        Rule::Hold => p0 * uf,
        Rule::Counter => delta * (uf / dt),
    }
}

/// The largest `k >= from` with `t[k] <= x` (galloping, since edges are dense).
pub fn advance(t: &[i64], from: usize, x: i64) -> usize {
    let n = t.len();
    let mut lo = from;
    let mut step = 1usize;
    let mut hi = from + 1;
    while hi < n && t[hi] <= x {
        lo = hi;
        hi = from + step * 2;
        step *= 2;
    }
    let hi = hi.min(n);
    // t[lo] <= x, and either hi == n or t[hi] > x: binary search in (lo, hi).
    lo + t[lo + 1..hi].partition_point(|&ti| ti <= x)
}
