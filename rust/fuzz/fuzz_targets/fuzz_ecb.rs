#![no_main]
//! ECB eurofxref CSV and XML on arbitrary text: a table or a typed error, never a
//! panic; every rate a table holds is finite and positive.
use epcore_core::economics::currency::parse_ecb;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(tables) = parse_ecb(text, "fuzz") {
        for t in &tables {
            for (_, rate) in t.per_eur.iter() {
                assert!(rate.is_finite() && *rate > 0.0);
            }
        }
    }
});
