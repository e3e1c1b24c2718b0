//! Window edges in time order.
//!
//! Edges are `(t_ns, id)` with `id = 2 × window + (0 start | 1 end)`. Request
//! windows are often nearly sorted but never quite (ends overlap), so a plain
//! check comes first and an LSD radix sort on the offset from the smallest
//! edge does the rest: a few linear passes instead of `n log n` comparisons.

/// Every window edge, sorted by time (stable among equal times).
pub fn sorted_edges(windows: &[(i64, i64)]) -> Vec<(i64, u32)> {
    let mut edges: Vec<(i64, u32)> = Vec::with_capacity(windows.len() * 2);
    for (i, &(a, b)) in windows.iter().enumerate() {
        edges.push((a, (2 * i) as u32));
        edges.push((b, (2 * i + 1) as u32));
    }
    if edges.windows(2).all(|w| w[0].0 <= w[1].0) {
        return edges;
    }
    if edges.len() < 4096 {
        edges.sort_by_key(|e| e.0);
        return edges;
    }
    radix_sort(edges)
}

const DIGIT_BITS: u32 = 11;
const BUCKETS: usize = 1 << DIGIT_BITS;

fn radix_sort(mut edges: Vec<(i64, u32)>) -> Vec<(i64, u32)> {
    let min = edges.iter().map(|e| e.0).min().unwrap_or(0);
    let key = |e: &(i64, u32)| e.0.wrapping_sub(min) as u64;
    let span = edges.iter().map(key).max().unwrap_or(0);
    let bits = 64 - span.leading_zeros();
    let mut tmp = edges.clone();
    let mut shift = 0;
    while shift < bits {
        let mut counts = [0usize; BUCKETS];
        for e in &edges {
            counts[((key(e) >> shift) as usize) & (BUCKETS - 1)] += 1;
        }
        let mut pos = [0usize; BUCKETS];
        let mut acc = 0;
        for (p, c) in pos.iter_mut().zip(counts) {
            *p = acc;
            acc += c;
        }
        for e in &edges {
            let d = ((key(e) >> shift) as usize) & (BUCKETS - 1);
            tmp[pos[d]] = *e;
            pos[d] += 1;
        }
        std::mem::swap(&mut edges, &mut tmp);
        shift += DIGIT_BITS;
    }
    edges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radix_matches_a_stable_sort() {
        let mut x: u64 = 99;
        let windows: Vec<(i64, i64)> = (0..5000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let a = (x % 1_000_000_000_000) as i64 - 300_000_000_000;
                (a, a + (x % 7_000_000_000) as i64)
            })
            .collect();
        let got = sorted_edges(&windows);
        let mut want: Vec<(i64, u32)> = windows
            .iter()
            .enumerate()
            .flat_map(|(i, &(a, b))| [(a, 2 * i as u32), (b, 2 * i as u32 + 1)])
            .collect();
        want.sort_by_key(|e| e.0);
        assert_eq!(got, want);
    }
}
