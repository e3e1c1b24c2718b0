#![no_main]
//! The partial codec on arbitrary bytes: never a panic. What decodes
//! re-encodes to the same bytes (the layout is canonical) and merges without
//! a panic; a partial built from samples round-trips exactly.
//!
//! Random bytes seldom pass the magic and length checks, so even inputs build
//! a valid partial from the input's samples, encode it, and garble it with
//! (offset, xor) pairs taken from the input: that reaches every field check.
use epcore_core::config::{Options, Rule};
use epcore_core::partial::Partial;
use epcore_core::partial_codec::ENCODED_LEN;
use libfuzzer_sys::fuzz_target;

fn check_decoded(bytes: &[u8]) {
    if let Ok(p) = Partial::from_bytes(bytes) {
        assert_eq!(
            p.to_bytes(),
            bytes,
            "accepted bytes must re-encode to themselves"
        );
        let _ = p.energy_j();
        let _ = p.span_ns();
        let mut m = p.clone();
        let _ = m.merge(&p);
        let mut e = Partial::new(p.cfg);
        let _ = e.merge(&p);
        let _ = m.push(i64::MAX, 1.0, u64::MAX);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        check_decoded(rest);
        return;
    }
    let Some((&n_rows, rest)) = rest.split_first() else {
        return;
    };
    let rule = match mode / 2 % 3 {
        0 => Rule::Trapezoid,
        1 => Rule::Hold,
        _ => Rule::Counter,
    };
    let opts = Options {
        rule,
        counter_modulus: (mode & 0x40 != 0).then_some(1e6),
        max_gap_ns: (mode & 0x80 != 0).then_some(3_000_000_000),
        ..Options::default()
    };
    let n = (usize::from(n_rows) * 16).min(rest.len() / 16 * 16);
    let (rows, garble) = rest.split_at(n);
    let mut p = Partial::new(opts.resolve(&[]));
    for (i, c) in rows.chunks_exact(16).enumerate() {
        let t = i64::from_le_bytes(c[..8].try_into().unwrap_or_default());
        let v = f64::from_le_bytes(c[8..].try_into().unwrap_or_default());
        let mut q = p.clone();
        if q.push(t, v, i as u64).is_ok() {
            p = q;
        }
    }
    let mut bytes = p.to_bytes();
    let back = Partial::from_bytes(&bytes).expect("a fresh encoding decodes");
    assert_eq!(back.to_bytes(), bytes);
    for pair in garble.chunks_exact(2) {
        bytes[usize::from(pair[0]) % ENCODED_LEN] ^= pair[1];
    }
    let cut = garble.len() % (ENCODED_LEN + 2);
    check_decoded(&bytes[..cut.min(bytes.len())]);
    check_decoded(&bytes);
});
