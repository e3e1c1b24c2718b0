#![no_main]
//! Intensity and price series files on arbitrary bytes: a series or a typed
//! error, never a panic.
use epcore_core::economics::series::read::{read_series_bytes, Basis, SeriesReadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = read_series_bytes(data, "fuzz.csv", &SeriesReadOptions::intensity(Basis::Lifecycle));
    let _ = read_series_bytes(data, "fuzz.csv", &SeriesReadOptions::prices(None));
});
