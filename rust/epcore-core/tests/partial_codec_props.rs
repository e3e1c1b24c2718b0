//! Property tests of the partial codec (`Partial::to_bytes` / `from_bytes`).
//!
//! - any partial built by pushing samples (repairs and gaps included, any rule
//!   and options) round-trips exactly, bit for bit, and re-encodes to the same bytes;
//! - merging decoded partials equals merging the originals;
//! - every truncation, and any single garbled byte, is either an error or
//!   decodes to a partial that re-encodes to exactly the garbled bytes
//!   (a changed float payload is still a well-formed partial), never a panic.
//!
//! Deterministic (fixed seed); `PROPTEST_RNG_SEED` / `PROPTEST_CASES` explore more.

use epcore_core::config::{Options, Resolved, Rule};
use epcore_core::partial::Partial;
use epcore_core::partial_codec::ENCODED_LEN;
use proptest::prelude::*;

mod common;

fn config(cases: u32) -> ProptestConfig {
    common::config(cases, 0xC0DE_C0DE)
}

fn options() -> impl Strategy<Value = Options> {
    (
        prop_oneof![Just(Rule::Trapezoid), Just(Rule::Hold), Just(Rule::Counter)],
        prop::option::of(1i64..20_000_000_000),
        any::<bool>(),
        0.0..5.0f64,
        prop_oneof![Just(100_000.0), 1.0..1e6f64],
        prop_oneof![Just(1.0), Just(1e-3), Just(1e-6), 1e-9..10.0f64],
        prop::option::of(1.0..1e12f64),
    )
        .prop_map(
            |(rule, max_gap_ns, strict, tol, max_p, unit, modulus)| Options {
                rule,
                max_gap_ns,
                strict,
                negative_tolerance_w: tol,
                max_power_w: max_p,
                counter_unit_j: unit,
                counter_modulus: if rule == Rule::Counter { modulus } else { None },
            },
        )
}

/// Rows as (time step ns, value): steps of 0 make duplicates, NaN and small
/// negatives exercise the repairs, large steps make gaps.
fn rows() -> impl Strategy<Value = Vec<(i64, f64)>> {
    let step = prop_oneof![
        8 => 1i64..2_000_000_000,
        1 => Just(0i64),
        1 => 3_000_000_000i64..60_000_000_000,
    ];
    let value = prop_oneof![
        8 => 0.0..2000.0f64,
        1 => Just(f64::NAN),
        1 => -0.5..0.0f64,
    ];
    prop::collection::vec((step, value), 0..300)
}

fn times(rows: &[(i64, f64)], t0: i64) -> Vec<i64> {
    rows.iter()
        .scan(t0, |t, (dt, _)| {
            *t += dt;
            Some(*t)
        })
        .collect()
}

/// Push the rows; rows the rules reject (a conflicting duplicate, a counter
/// decrease...) are skipped, so the partial is always one a run can produce.
fn build(cfg: Resolved, rows: &[(i64, f64)], t0: i64, first_index: u64) -> Partial {
    let mut p = Partial::new(cfg);
    for (i, (t, &(_, v))) in times(rows, t0).into_iter().zip(rows).enumerate() {
        let mut q = p.clone();
        if q.push(t, v, first_index + i as u64).is_ok() {
            p = q;
        }
    }
    p
}

/// A partial of the rows, its gap threshold resolved from their own head.
fn built(opts: &Options, rows: &[(i64, f64)], t0: i64) -> Partial {
    build(opts.resolve(&times(rows, t0)), rows, t0, 0)
}

fn same_bits(a: &Partial, b: &Partial) -> bool {
    a == b && a.to_bytes() == b.to_bytes()
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn round_trip_is_exact(opts in options(), rows in rows(), t0 in -1_000_000_000_000i64..1_000_000_000_000) {
        let p = built(&opts, &rows, t0);
        let bytes = p.to_bytes();
        prop_assert_eq!(bytes.len(), ENCODED_LEN);
        let back = Partial::from_bytes(&bytes).expect("a fresh encoding decodes");
        // PartialEq on f64 would let -0.0 == 0.0 pass; the re-encoding compares bits.
        prop_assert!(same_bits(&back, &p));
        prop_assert_eq!(back.energy_j().to_bits(), p.energy_j().to_bits());
    }

    #[test]
    fn merge_of_decoded_equals_merge_of_originals(opts in options(), a in rows(), b in rows()) {
        // Both pieces integrate with the threshold resolved from the head of the whole
        // channel, as a distributed run does.
        let pa = built(&opts, &a, 0);
        let span: i64 = a.iter().map(|(dt, _)| dt).sum();
        let pb = build(pa.cfg, &b, span + 1, a.len() as u64);
        let mut direct = pa.clone();
        let direct_ok = direct.merge(&pb);
        let mut via = Partial::from_bytes(&pa.to_bytes()).expect("decodes");
        let via_ok = via.merge(&Partial::from_bytes(&pb.to_bytes()).expect("decodes"));
        prop_assert_eq!(direct_ok.is_ok(), via_ok.is_ok());
        if direct_ok.is_ok() {
            prop_assert!(same_bits(&direct, &via));
        }
    }

    #[test]
    fn truncated_bytes_are_errors(opts in options(), rows in rows(), cut in 0usize..ENCODED_LEN) {
        let bytes = built(&opts, &rows, 0).to_bytes();
        let e = Partial::from_bytes(&bytes[..cut]).expect_err("a truncated encoding must not decode");
        prop_assert_eq!(e.code(), "corrupt_input");
    }

    #[test]
    fn garbled_bytes_never_panic(opts in options(), rows in rows(), at in 0usize..ENCODED_LEN, x in 1u8..=255) {
        let mut bytes = built(&opts, &rows, 0).to_bytes();
        bytes[at] ^= x;
        match Partial::from_bytes(&bytes) {
            Err(e) => prop_assert_eq!(e.code(), "corrupt_input"),
            // The encoding is canonical: what decodes re-encodes to the same bytes,
            // and merging it (with itself, say) returns, whatever it holds.
            Ok(p) => {
                prop_assert_eq!(p.to_bytes(), bytes);
                let mut m = p.clone();
                let _ = m.merge(&p);
            }
        }
    }
}

#[test]
fn header_damage_is_named() {
    let bytes = Partial::new(Options::default().resolve(&[])).to_bytes();
    let mut bad = bytes.clone();
    bad[..4].copy_from_slice(b"PK\x03\x04");
    let e = Partial::from_bytes(&bad).expect_err("a zip header is not a partial");
    assert!(e.to_string().contains("magic"), "{e}");
    let e = Partial::from_bytes(&bytes[..100]).expect_err("cut short");
    assert!(e.to_string().contains("236"), "{e}");
}
