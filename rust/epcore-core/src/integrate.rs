//! Integrate one channel held in memory.
//!
//! Rows are cut into blocks of [`BLOCK_ROWS`] at fixed positions of the
//! channel's row index, each block becomes a [`Partial`], and the partials are
//! merged in order. Because the cut points depend on nothing but the row index,
//! the result is bit-identical for any thread count, and equal to what a
//! streaming reader produces for any chunk size (it cuts at the same rows).

use crate::config::{Options, Resolved, GAP_HEAD_ROWS};
use crate::error::{Error, Location, Result};
use crate::kernel::block_partial;
use crate::partial::Partial;

/// Rows per block: small enough for a block to sit in L2, large enough that
/// per-block overhead vanishes.
pub const BLOCK_ROWS: usize = 1 << 16;

/// Below this many rows, threads cost more than they give.
const MIN_ROWS_PER_THREAD: usize = 1 << 20;

/// Integrate `(t_ns, value)` rows of one channel.
///
/// `threads = 0` means one per available core.
///
/// ```
/// use epcore_core::config::Options;
/// use epcore_core::integrate::integrate_channel;
/// let t: Vec<i64> = (0..11).map(|i| i * 100_000_000).collect(); // 1 s at 10 Hz
/// let p = vec![300.0; 11];
/// let part = integrate_channel(&Options::default(), &t, &p, 1)?;
/// assert_eq!(part.energy_j(), 300.0);
/// # Ok::<(), epcore_core::Error>(())
/// ```
pub fn integrate_channel(opts: &Options, t: &[i64], v: &[f64], threads: usize) -> Result<Partial> {
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
    let part = partial_channel(opts, t, v, threads)?;
    require_two_samples(&part)?;
    Ok(part)
}

/// The mergeable state of a piece of a channel's rows: like
/// [`integrate_channel`], but a piece may hold fewer than two samples.
pub fn partial_channel(opts: &Options, t: &[i64], v: &[f64], threads: usize) -> Result<Partial> {
    opts.validate()?;
    if t.len() != v.len() {
        return Err(Error::LengthMismatch {
            what: "timestamps and values".into(),
            expected: t.len(),
            found: v.len(),
        });
    }
    let cfg = opts.resolve(&t[..t.len().min(GAP_HEAD_ROWS)]);
    integrate_resolved(&cfg, t, v, threads)
}

/// An integral needs two accepted samples; anything less would be a silent 0 J.
pub fn require_two_samples(p: &Partial) -> Result<()> {
    if p.counts.n_samples < 2 {
        return Err(Error::InsufficientSamples {
            at: Location::default(),
            found: p.counts.n_samples,
            needed: 2,
        });
    }
    Ok(())
}

/// Integrate with a fixed configuration (the gap threshold already chosen).
pub fn integrate_resolved(cfg: &Resolved, t: &[i64], v: &[f64], threads: usize) -> Result<Partial> {
    let n = t.len();
    let n_blocks = n.div_ceil(BLOCK_ROWS);
    let threads = effective_threads(threads, n);
    let block = |b: usize| {
        let lo = b * BLOCK_ROWS;
        let hi = (lo + BLOCK_ROWS).min(n);
        block_partial(cfg, &t[lo..hi], &v[lo..hi], lo as u64)
    };
    let parts: Vec<Result<Partial>> = if threads <= 1 || n_blocks < 2 {
        (0..n_blocks).map(block).collect()
    } else {
        let per = n_blocks.div_ceil(threads);
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..n_blocks)
                .step_by(per)
                .map(|b0| {
                    let b1 = (b0 + per).min(n_blocks);
                    s.spawn(move || (b0..b1).map(block).collect::<Vec<_>>())
                })
                .collect();
            handles
                .into_iter()
                // The kernels return errors instead of panicking; should one panic anyway,
                // its blocks go missing and the sequential checked path below takes over.
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        })
    };
    if parts.len() != n_blocks || parts.iter().any(|p| p.is_err()) {
        // Report the first error in row order, exactly as a sequential pass would.
        return sequential(cfg, t, v);
    }
    let mut acc = Partial::new(*cfg);
    for p in parts.into_iter().flatten() {
        acc.merge(&p)?;
    }
    Ok(acc)
}

/// The sample-by-sample pass: used to pin down the first error in row order.
fn sequential(cfg: &Resolved, t: &[i64], v: &[f64]) -> Result<Partial> {
    let mut acc = Partial::new(*cfg);
    for (i, (&ti, &vi)) in t.iter().zip(v).enumerate() {
        acc.push(ti, vi, i as u64)?;
    }
    Ok(acc)
}

/// Threads actually used: one per core by default, none beyond what the data can feed.
pub fn effective_threads(requested: usize, n: usize) -> usize {
    let avail = std::thread::available_parallelism()
        .map(|x| x.get())
        .unwrap_or(1);
    let want = if requested == 0 { avail } else { requested };
    want.min(n / MIN_ROWS_PER_THREAD).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Rule;

    fn trace(n: usize) -> (Vec<i64>, Vec<f64>) {
        let t = (0..n as i64)
            .map(|i| i * 1_000_000 + (i * 7919) % 300_000)
            .collect();
        let v = (0..n)
            .map(|i| 70.0 + ((i * 31) % 600) as f64 * 1.01)
            .collect();
        (t, v)
    }

    #[test]
    fn thread_count_does_not_change_a_bit() {
        let (t, v) = trace(3 * MIN_ROWS_PER_THREAD + 12345);
        let o = Options::default();
        let one = integrate_channel(&o, &t, &v, 1).expect("the test input is valid");
        let two = integrate_channel(&o, &t, &v, 2).expect("the test input is valid");
        let three = integrate_channel(&o, &t, &v, 3).expect("the test input is valid");
        assert_eq!(one, two);
        assert_eq!(one, three);
    }

    #[test]
    fn first_error_in_row_order_is_reported() {
        let (t, mut v) = trace(4 * BLOCK_ROWS);
        v[3 * BLOCK_ROWS + 5] = -50.0;
        v[BLOCK_ROWS + 7] = 1e9;
        let e = integrate_channel(&Options::default(), &t, &v, 2)
            .expect_err("the test input is invalid");
        assert_eq!(e.code(), "implausible_power");
        assert_eq!(
            e.location().and_then(|l| l.index),
            Some(BLOCK_ROWS as u64 + 7)
        );
    }

    #[test]
    fn unsorted_across_a_block_boundary() {
        let (mut t, v) = trace(2 * BLOCK_ROWS);
        t[BLOCK_ROWS] = t[BLOCK_ROWS - 1] - 5;
        let e = integrate_channel(&Options::default(), &t, &v, 1)
            .expect_err("the test input is invalid");
        assert_eq!(e.code(), "unsorted_timestamps");
        assert_eq!(e.location().and_then(|l| l.index), Some(BLOCK_ROWS as u64));
    }

    #[test]
    fn too_few_samples_is_an_error_not_zero() {
        let o = Options::default();
        assert_eq!(
            integrate_channel(&o, &[], &[], 1)
                .expect_err("the test input is invalid")
                .code(),
            "empty_input"
        );
        let e = integrate_channel(&o, &[5], &[1.0], 1).expect_err("the test input is invalid");
        assert_eq!(e.code(), "insufficient_samples");
        let e = integrate_channel(&o, &[5, 6], &[1.0, f64::NAN], 1)
            .expect_err("the test input is invalid");
        assert_eq!(e.code(), "insufficient_samples");
        let o = Options {
            rule: Rule::Hold,
            ..o
        };
        assert!(integrate_channel(&o, &[1, 2], &[1.0], 1).is_err());
    }
}
