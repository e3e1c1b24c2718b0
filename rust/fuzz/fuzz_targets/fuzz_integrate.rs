#![no_main]
//! The integrator on arbitrary arrays: never a panic; the block-parallel path
//! equals the streaming path bit for bit; energies are finite.
use epcore_core::config::{Options, Rule};
use epcore_core::integrate::partial_channel;
use epcore_core::stream::StreamIntegrator;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let rule = match data[0] % 3 {
        0 => Rule::Trapezoid,
        1 => Rule::Hold,
        _ => Rule::Counter,
    };
    let opts = Options {
        rule,
        counter_modulus: if data[1] % 2 == 0 { Some(1e6) } else { None },
        ..Options::default()
    };
    let rows: Vec<(i64, f64)> = data[2..]
        .chunks_exact(16)
        .map(|c| {
            let t = i64::from_le_bytes(c[..8].try_into().unwrap_or_default());
            let v = f64::from_le_bytes(c[8..].try_into().unwrap_or_default());
            (t, v)
        })
        .collect();
    let t: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let v: Vec<f64> = rows.iter().map(|r| r.1).collect();
    let whole = partial_channel(&opts, &t, &v, 2);
    let mut s = match StreamIntegrator::new(opts) {
        Ok(s) => s,
        Err(_) => return,
    };
    let id = s.channel_id(b"0");
    let mut streamed = Ok(());
    for (i, r) in rows.iter().enumerate() {
        streamed = s.push(id, r.0, r.1, i as u64 + 1);
        if streamed.is_err() {
            break;
        }
    }
    let streamed = streamed.and_then(|_| s.finish());
    match (whole, streamed) {
        (Ok(w), Ok(mut out)) => {
            assert!(w.energy_j().is_finite());
            if let Some((_, p)) = out.pop() {
                assert_eq!(p, w);
            }
        }
        (Err(a), Err(b)) => assert_eq!(a.code(), b.code()),
        (a, b) => panic!(
            "paths disagree: {:?} vs {:?}",
            a.map(|p| p.energy_j()),
            b.map(|_| ())
        ),
    }
});
