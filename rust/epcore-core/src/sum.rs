//! Compensated summation.
//!
//! Every energy total is a [`CompensatedSum`]: a head `hi` plus the exact
//! rounding errors collected in `lo` (Knuth's branch-free TwoSum, the same
//! error-free transform Neumaier's algorithm uses). Its error is about
//! `n * eps^2` relative to the sum of magnitudes, so the rounded value is the
//! correctly rounded sum in all but near-tie cases, whatever the grouping —
//! which is what makes results independent of chunk size and thread count.

/// Knuth's TwoSum: `a + b == s + e` exactly, branch-free so it vectorizes.
#[inline(always)]
pub fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    let e = (a - (s - bb)) + (b - bb);
    (s, e)
}

/// A running sum with its rounding error carried alongside.
///
/// ```
/// use epcore_core::sum::CompensatedSum;
/// let mut s = CompensatedSum::default();
/// for x in [1.0, 1e100, 1.0, -1e100] { s.add(x); }
/// assert_eq!(s.value(), 2.0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CompensatedSum {
    hi: f64,
    lo: f64,
}

impl CompensatedSum {
    /// Build from the two parts (as stored in a serialized partial).
    pub fn from_parts(hi: f64, lo: f64) -> Self {
        CompensatedSum { hi, lo }
    }

    /// The head and the carried error.
    pub fn parts(&self) -> (f64, f64) {
        (self.hi, self.lo)
    }

    #[inline(always)]
    pub fn add(&mut self, x: f64) {
        let (s, e) = two_sum(self.hi, x);
        self.hi = s;
        self.lo += e;
    }

    /// Add another compensated sum (used when merging partials).
    #[inline]
    pub fn merge(&mut self, other: &CompensatedSum) {
        self.add(other.hi);
        self.lo += other.lo;
    }

    /// The rounded total.
    #[inline]
    pub fn value(&self) -> f64 {
        self.hi + self.lo
    }

    /// `self - other`, computed without cancelling the carried errors first;
    /// window energies are differences of cumulative sums.
    pub fn difference(&self, other: &CompensatedSum) -> f64 {
        let (d, e) = two_sum(self.hi, -other.hi);
        d + (e + (self.lo - other.lo))
    }
}

/// Several independent accumulators, so a hot loop is not latency bound on one
/// dependency chain. Lanes are combined in a fixed order.
#[derive(Debug, Clone, Copy)]
pub struct Lanes<const N: usize> {
    hi: [f64; N],
    lo: [f64; N],
}

impl<const N: usize> Default for Lanes<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Lanes<N> {
    pub fn new() -> Self {
        Lanes {
            hi: [0.0; N],
            lo: [0.0; N],
        }
    }

    #[inline(always)]
    pub fn add(&mut self, xs: [f64; N]) {
        for k in 0..N {
            let (s, e) = two_sum(self.hi[k], xs[k]);
            self.hi[k] = s;
            self.lo[k] += e;
        }
    }

    /// Load lanes `at..at + hi.len()` from vector registers' contents.
    pub fn set(&mut self, at: usize, hi: &[f64], lo: &[f64]) {
        self.hi[at..at + hi.len()].copy_from_slice(hi);
        self.lo[at..at + lo.len()].copy_from_slice(lo);
    }

    /// Fold the lanes, in lane order, into `into`.
    pub fn fold_into(&self, into: &mut CompensatedSum) {
        for k in 0..N {
            into.merge(&CompensatedSum {
                hi: self.hi[k],
                lo: self.lo[k],
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adversarial_mix_is_exact() {
        let mut s = CompensatedSum::default();
        s.add(1.0);
        for _ in 0..10_000_000 {
            s.add(1e-16);
        }
        let want = 1.0 + 1e-9;
        assert!(((s.value() - want) / want).abs() < 1e-15, "{}", s.value());
    }

    #[test]
    fn difference_keeps_small_windows_accurate() {
        let mut a = CompensatedSum::default();
        a.add(1e12);
        let mut b = a;
        b.add(0.125);
        b.add(1e-7);
        assert_eq!(b.difference(&a), 0.125 + 1e-7);
    }

    #[test]
    fn lanes_fold_matches_sequential() {
        let mut lanes = Lanes::<4>::new();
        let mut seq = CompensatedSum::default();
        for i in 0..1000 {
            let xs = [i as f64 * 0.1, 1e10, -1e10, 0.3];
            lanes.add(xs);
            for x in xs {
                seq.add(x);
            }
        }
        let mut folded = CompensatedSum::default();
        lanes.fold_into(&mut folded);
        assert_eq!(folded.value(), seq.value());
    }
}
