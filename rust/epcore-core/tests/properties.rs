//! Property tests of the integration core.
//!
//! The sample-by-sample `Partial::push` path is the definition of the
//! semantics (the Python oracle in `python/epcore/_reference.py` restates it
//! with exact arithmetic); everything faster must agree with it:
//!
//! - the fused block kernel equals the sample-by-sample path on any block,
//!   clean or not, errors included;
//! - `merge(partial(a), partial(b)) == partial(a ++ b)` for any split, and the
//!   block-cut, multi-threaded integrator equals one sequential pass;
//! - adjacent windows add up to their union;
//! - constant power P over T is exactly P·T;
//! - the thread count changes no bit.
//!
//! Runs are deterministic (fixed seed); set `PROPTEST_RNG_SEED=<u64>` to
//! explore other seeds and `PROPTEST_CASES=<n>` for more cases.
#![allow(clippy::unwrap_used)]

use epcore_core::config::{Options, Resolved, Rule};
use epcore_core::integrate::{integrate_channel, integrate_resolved, BLOCK_ROWS};
use epcore_core::kernel::block_partial;
use epcore_core::partial::Partial;
use epcore_core::window::integrate_windows;
use epcore_core::Result;
use proptest::prelude::*;

mod common;

const S: i64 = 1_000_000_000;
const EPOCH_2024: i64 = 1_717_000_000 * S;

fn config(cases: u32) -> ProptestConfig {
    common::config(cases, 0x5EED_E9C0)
}

/// Rows of one channel and the options to integrate them with.
#[derive(Debug, Clone)]
struct Trace {
    opts: Options,
    t: Vec<i64>,
    v: Vec<f64>,
}

impl Trace {
    fn cfg(&self) -> Resolved {
        self.opts.resolve(&self.t)
    }
}

/// One row: what kind it is, a time step and a value.
#[derive(Debug, Clone, Copy)]
enum Row {
    Step(i64, f64),
    Gap(i64, f64),
    NonFinite(i64),
    SmallNegative(i64, f64),
    Duplicate,
    Back(i64, f64),
    BigNegative(i64),
    TooHigh(i64),
    Reset(i64, f64),
}

fn power_value() -> impl Strategy<Value = f64> {
    prop_oneof![(0u32..1000).prop_map(f64::from), 0.0..2000.0f64, Just(0.0),]
}

fn row(anomalies: u32, errors: bool) -> impl Strategy<Value = Row> {
    let dt = 1..S;
    let clean = (dt.clone(), power_value()).prop_map(|(d, p)| Row::Step(d, p));
    // Gaps under the usual thresholds, and steps beyond 2^52 ns (52 days), where an
    // integer-to-float shortcut would stop being exact (a gap unless max_gap_ns is huge).
    let gap = prop_oneof![
        3 => (2 * S..100 * S, power_value()).prop_map(|(d, p)| Row::Gap(d, p)),
        1 => ((1i64 << 50)..(1i64 << 54), power_value()).prop_map(|(d, p)| Row::Gap(d, p)),
    ];
    let repairs = prop_oneof![
        dt.clone().prop_map(Row::NonFinite),
        (dt.clone(), 1e-9..0.999f64).prop_map(|(d, p)| Row::SmallNegative(d, -p)),
        Just(Row::Duplicate),
        (dt.clone(), 0.0..50.0f64).prop_map(|(d, c)| Row::Reset(d, c)),
    ];
    let errs = prop_oneof![
        (1..S, power_value()).prop_map(|(d, p)| Row::Back(d, p)),
        dt.clone().prop_map(Row::BigNegative),
        dt.prop_map(Row::TooHigh),
    ];
    prop_oneof![
        100 => clean,
        anomalies => gap,
        anomalies => repairs,
        if errors { anomalies } else { 0 } => errs,
    ]
}

/// A trace of up to `max_rows` rows; `anomalies` weighs repaired rows and gaps against
/// 100 clean ones, `errors` mixes in rows the integrator refuses.
fn trace(max_rows: usize, anomalies: u32, errors: bool) -> impl Strategy<Value = Trace> {
    (
        prop_oneof![Just(Rule::Trapezoid), Just(Rule::Hold), Just(Rule::Counter)],
        prop_oneof![Just(0i64), Just(EPOCH_2024), Just(-1_000_000 * S)],
        proptest::collection::vec(row(anomalies, errors), 0..max_rows),
        prop_oneof![
            Just(None),
            (S..10 * S).prop_map(Some),
            Just(Some(1i64 << 60))
        ],
        prop_oneof![Just(None), Just(Some(5000.0f64))],
    )
        .prop_map(|(rule, t0, rows, max_gap_ns, modulus)| {
            build(rule, t0, &rows, max_gap_ns, modulus)
        })
}

fn build(
    rule: Rule,
    t0: i64,
    rows: &[Row],
    max_gap_ns: Option<i64>,
    modulus: Option<f64>,
) -> Trace {
    let opts = Options {
        rule,
        max_gap_ns,
        counter_modulus: if rule == Rule::Counter { modulus } else { None },
        ..Options::default()
    };
    let mut t = Vec::with_capacity(rows.len());
    let mut v = Vec::with_capacity(rows.len());
    let mut now = t0;
    let mut energy = 1000.0f64; // counter: the underlying cumulative energy
    for r in rows {
        let (dt, value) = match *r {
            Row::Step(d, p) | Row::Gap(d, p) => (d, p),
            Row::NonFinite(d) => (d, f64::NAN),
            Row::SmallNegative(d, p) => (d, p),
            Row::Duplicate => match v.last() {
                Some(&last) => (0, last),
                None => (1, 1.0),
            },
            Row::Back(d, p) => (-d, p),
            Row::BigNegative(d) => (d, -5.0),
            Row::TooHigh(d) => (d, 1e6),
            Row::Reset(d, c) => (d, c),
        };
        now += dt;
        let value = if rule == Rule::Counter {
            // The counter advances by power × time (at most 2000 W, so every wrap and
            // reset stays within what max_power_w allows and is recognised).
            match *r {
                Row::Step(d, p) | Row::Gap(d, p) | Row::SmallNegative(d, p) => {
                    energy += p.abs() * d as f64 / 1e9;
                    modulus.map_or(energy, |m| energy % m)
                }
                Row::Reset(d, c) => {
                    energy = c.min(0.5 * 100_000.0 * d as f64 / 1e9);
                    energy
                }
                _ => value,
            }
        } else {
            value
        };
        t.push(now);
        v.push(value);
    }
    Trace { opts, t, v }
}

/// The sample-by-sample reference pass.
fn sequential(cfg: &Resolved, t: &[i64], v: &[f64], index0: u64) -> Result<Partial> {
    let mut p = Partial::new(*cfg);
    for (i, (&ti, &vi)) in t.iter().zip(v).enumerate() {
        p.push(ti, vi, index0 + i as u64)?;
    }
    Ok(p)
}

/// Equal within `ulps` units in the last place (a regrouped compensated sum may round the
/// other way in a near tie; it never drifts further).
fn close_ulps(a: f64, b: f64, ulps: f64) -> bool {
    a == b || (a - b).abs() <= ulps * f64::EPSILON * a.abs().max(b.abs())
}

/// Same state apart from the grouping of the compensated sum.
fn assert_same_state(
    got: &Partial,
    want: &Partial,
    ulps: f64,
) -> std::result::Result<(), TestCaseError> {
    prop_assert_eq!(got.cfg, want.cfg);
    prop_assert_eq!(got.counts, want.counts);
    prop_assert_eq!(got.first, want.first);
    prop_assert_eq!(got.last, want.last);
    if want.counts.n_samples >= 2 {
        prop_assert_eq!(got.min_dt_ns, want.min_dt_ns);
        prop_assert_eq!(got.max_dt_ns, want.max_dt_ns);
    }
    if want.counts.n_samples >= 1 {
        prop_assert!(
            got.min_value == want.min_value,
            "{} vs {}",
            got.min_value,
            want.min_value
        );
        prop_assert!(
            got.max_value == want.max_value,
            "{} vs {}",
            got.max_value,
            want.max_value
        );
    }
    prop_assert!(
        close_ulps(got.energy_j(), want.energy_j(), ulps),
        "energy {} vs {}",
        got.energy_j(),
        want.energy_j()
    );
    Ok(())
}

fn same_outcome(
    got: &Result<Partial>,
    want: &Result<Partial>,
    ulps: f64,
) -> std::result::Result<(), TestCaseError> {
    match (got, want) {
        (Ok(g), Ok(w)) => assert_same_state(g, w, ulps),
        (Err(g), Err(w)) => {
            prop_assert_eq!(g, w);
            Ok(())
        }
        _ => Err(TestCaseError::fail(format!(
            "outcomes differ: {:?} vs {:?}",
            got.as_ref().err(),
            want.as_ref().err()
        ))),
    }
}

proptest! {
    #![proptest_config(config(400))]

    /// The fused block kernel answers exactly as the sample-by-sample path: clean blocks
    /// (the fast path), blocks with repairs or gaps (the fallback), and errors.
    #[test]
    fn block_kernel_equals_sample_by_sample(tr in prop_oneof![
        3 => trace(200, 0, false),
        1 => trace(200, 3, false),
        1 => trace(60, 10, true),
    ], index0 in prop_oneof![Just(0u64), 0u64..1_000_000]) {
        let cfg = tr.cfg();
        let fast = block_partial(&cfg, &tr.t, &tr.v, index0);
        let slow = sequential(&cfg, &tr.t, &tr.v, index0);
        same_outcome(&fast, &slow, 2.0)?;
    }

    /// Merging the partials of any split equals integrating the whole in one pass.
    #[test]
    fn merged_pieces_equal_the_whole(
        tr in prop_oneof![trace(120, 0, false), trace(120, 8, false)],
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let cfg = tr.cfg();
        let n = tr.t.len();
        let whole = sequential(&cfg, &tr.t, &tr.v, 0);
        prop_assume!(whole.is_ok());
        let mut bounds: Vec<usize> = cuts.iter().map(|c| c.index(n + 1)).collect();
        bounds.push(0);
        bounds.push(n);
        bounds.sort_unstable();
        let mut merged = Partial::new(cfg);
        for w in bounds.windows(2) {
            let (a, b) = (w[0], w[1]);
            // Each piece through the block kernel, as the integrator and the streaming reader do.
            let piece = if b > a {
                block_partial(&cfg, &tr.t[a..b], &tr.v[a..b], a as u64).expect("clean trace integrates")
            } else {
                Partial::new(cfg)
            };
            merged.merge(&piece).expect("adjacent pieces merge");
        }
        assert_same_state(&merged, whole.as_ref().expect("clean trace integrates"), 2.0)?;
    }

    /// (a·b)·c and a·(b·c) agree.
    #[test]
    fn merge_is_associative(tr in trace(90, 8, false), i in any::<prop::sample::Index>(),
                            j in any::<prop::sample::Index>()) {
        let cfg = tr.cfg();
        prop_assume!(sequential(&cfg, &tr.t, &tr.v, 0).is_ok());
        let n = tr.t.len();
        let (i, j) = (i.index(n + 1), j.index(n + 1));
        let (i, j) = (i.min(j), i.max(j));
        let piece = |a: usize, b: usize| sequential(&cfg, &tr.t[a..b], &tr.v[a..b], a as u64).expect("clean trace integrates");
        let (a, b, c) = (piece(0, i), piece(i, j), piece(j, n));
        let mut left = a.clone();
        left.merge(&b).expect("adjacent pieces merge");
        left.merge(&c).expect("adjacent pieces merge");
        let mut bc = b.clone();
        bc.merge(&c).expect("adjacent pieces merge");
        let mut right = a;
        right.merge(&bc).expect("adjacent pieces merge");
        assert_same_state(&left, &right, 2.0)?;
    }

    /// Adjacent windows add up to their union, and the whole trace as one window is the total.
    #[test]
    fn windows_add_up(tr in prop_oneof![trace(80, 0, false), trace(80, 8, false)],
                      cuts in proptest::collection::vec(any::<prop::sample::Index>(), 2..8),
                      outside in 0..3 * S) {
        let cfg = tr.cfg();
        prop_assume!(matches!(sequential(&cfg, &tr.t, &tr.v, 0), Ok(ref p) if p.counts.n_samples >= 2));
        let (lo, hi) = (tr.t[0] - outside, *tr.t.last().expect("non-empty trace") + outside);
        let span = (hi - lo) as u128;
        let mut edges: Vec<i64> = cuts
            .iter()
            .map(|c| lo + (c.index(1 << 20) as u128 * span / (1 << 20)) as i64)
            .collect();
        edges.sort_unstable();
        let mut windows: Vec<(i64, i64)> = edges.windows(2).map(|w| (w[0], w[1])).collect();
        let k = windows.len();
        windows.push((edges[0], *edges.last().expect("non-empty trace")));
        windows.push((tr.t[0], *tr.t.last().expect("non-empty trace")));
        let (whole, w) = integrate_windows(&tr.opts, &tr.t, &tr.v, &windows, 1).expect("clean trace integrates");
        let parts: f64 = w.energy_j[..k].iter().sum();
        let union = w.energy_j[k];
        prop_assert!(w.energy_j.iter().all(|e| *e >= 0.0), "{:?}", w.energy_j);
        prop_assert!((parts - union).abs() <= 1e-13 * union, "{} vs {}", parts, union);
        prop_assert_eq!(w.covered_ns[..k].iter().sum::<i64>(), w.covered_ns[k]);
        prop_assert!(close_ulps(w.energy_j[k + 1], whole.energy_j(), 4.0),
                     "{} vs {}", w.energy_j[k + 1], whole.energy_j());
        prop_assert_eq!(w.covered_ns[k + 1], whole.counts.covered_ns);
    }

    /// Constant integer power P over any intervals: exactly P·T joules, in any window too.
    #[test]
    fn constant_power_is_exact(p in 0u32..5000, dts in proptest::collection::vec(1i64..(1 << 31), 1..64),
                               hold in any::<bool>(), t0 in prop_oneof![Just(0i64), Just(EPOCH_2024)],
                               cut in any::<prop::sample::Index>()) {
        let p = f64::from(p);
        let mut t = vec![t0];
        for d in &dts {
            t.push(t.last().expect("non-empty trace") + d);
        }
        let v = vec![p; t.len()];
        let opts = Options {
            rule: if hold { Rule::Hold } else { Rule::Trapezoid },
            max_gap_ns: Some(3 * S),
            ..Options::default()
        };
        let total_ns = t.last().expect("non-empty trace") - t0;
        let part = integrate_channel(&opts, &t, &v, 1).expect("clean trace integrates");
        prop_assert_eq!(part.energy_j(), p * total_ns as f64 / 1e9);
        let a = t0 + cut.index(total_ns as usize + 1) as i64;
        let (_, w) = integrate_windows(&opts, &t, &v, &[(a, t0 + total_ns)], 1).expect("clean trace integrates");
        prop_assert_eq!(w.energy_j[0], p * (t0 + total_ns - a) as f64 / 1e9);
    }
}

proptest! {
    #![proptest_config(config(6))]

    /// Past one block: the integrator cuts at fixed rows and merges; with anomalies placed
    /// around the cuts it equals one sequential pass (errors: the first in row order).
    #[test]
    fn block_cuts_equal_one_pass(
        rule in prop_oneof![Just(Rule::Trapezoid), Just(Rule::Hold), Just(Rule::Counter)],
        extra in 0usize..3000,
        anomalies in proptest::collection::vec((0usize..4, -3i64..3, 0u8..6), 0..6),
        seed in any::<u64>(),
    ) {
        let n = 2 * BLOCK_ROWS + extra;
        let mut state = seed | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut t = Vec::with_capacity(n);
        let mut v = Vec::with_capacity(n);
        let mut now = EPOCH_2024;
        let mut c = 0.0;
        for _ in 0..n {
            now += 50_000_000 + (next() % 100_000_000) as i64;
            t.push(now);
            c += (next() % 1000) as f64 / 8.0;
            v.push(if rule == Rule::Counter { c } else { (next() % 700_000) as f64 / 1000.0 });
        }
        for &(block, offset, kind) in &anomalies {
            let i = ((block * BLOCK_ROWS) as i64 + offset).clamp(1, n as i64 - 1) as usize;
            match kind {
                0 => v[i] = f64::NAN,
                1 => v[i] = -0.25,                 // clamped power; a counter error
                2 => { t[i] = t[i - 1]; v[i] = v[i - 1]; } // identical duplicate
                3 => for x in &mut t[i..] { *x += 30 * S; }, // a gap
                4 => t[i] = t[i - 1] - 1,          // time goes back: error
                _ => {
                    // a counter reset to 1 J
                    if rule == Rule::Counter {
                        let drop = v[i] - 1.0;
                        for x in &mut v[i..] {
                            *x -= drop;
                        }
                    }
                }
            }
        }
        let opts = Options { rule, max_gap_ns: Some(5 * S), ..Options::default() };
        let cfg = opts.resolve(&t);
        let want = sequential(&cfg, &t, &v, 0);
        for threads in [1, 2] {
            let got = integrate_resolved(&cfg, &t, &v, threads);
            same_outcome(&got, &want, 2.0)?;
        }
    }
}

/// Over 2^21 rows (two threads' worth of blocks) the thread count changes no bit, also
/// with repairs, a gap, and an error in each thread's share (the first in row order wins).
#[test]
fn thread_count_changes_no_bit() {
    let n = (1usize << 21) + 4321;
    let mut t = Vec::with_capacity(n);
    let mut v = Vec::with_capacity(n);
    let mut now = EPOCH_2024;
    for i in 0..n {
        now += 1_000_000 + ((i * 7919) % 300_000) as i64;
        t.push(now);
        v.push(70.0 + ((i * 31) % 600) as f64 * 1.01);
    }
    v[123_456] = f64::NAN;
    v[(1 << 20) + 99] = -0.5;
    for x in &mut t[1_800_000..] {
        *x += 60 * S;
    }
    let opts = Options {
        max_gap_ns: Some(10 * S),
        ..Options::default()
    };
    let one = integrate_channel(&opts, &t, &v, 1).expect("clean trace integrates");
    for threads in [2, 3, 0] {
        assert_eq!(
            integrate_channel(&opts, &t, &v, threads).expect("clean trace integrates"),
            one,
            "threads = {threads}"
        );
    }
    assert_eq!(one.counts.n_gaps, 1);
    assert_eq!(one.counts.n_nonfinite, 1);
    assert_eq!(one.counts.n_negative_clamped, 1);
    let windows: Vec<(i64, i64)> = (0..200)
        .map(|k| (t[0] + k * 10 * S, t[0] + k * 10 * S + 7 * S))
        .collect();
    let (_, w1) = integrate_windows(&opts, &t, &v, &windows, 1).expect("clean trace integrates");
    let (_, w2) = integrate_windows(&opts, &t, &v, &windows, 2).expect("clean trace integrates");
    assert_eq!(w1, w2);

    let mut bad = v.clone();
    bad[1_900_000] = -50.0;
    bad[300_000] = 1e9;
    for threads in [1, 2] {
        let e = integrate_channel(&opts, &t, &bad, threads).unwrap_err();
        assert_eq!(e.code(), "implausible_power");
        assert_eq!(e.location().and_then(|l| l.index), Some(300_000));
    }
}
