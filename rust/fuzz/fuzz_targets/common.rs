//! Shared oracle of the reader targets: bytes in any format never panic, and
//! the result (or the error) does not depend on the read chunk size.

use epcore_core::config::Options;
use epcore_core::read::{self, Collector, Format, ReadConfig, ReadOptions};

fn run(data: &[u8], format: Option<Format>, chunk: usize) -> Result<String, String> {
    let cfg = ReadConfig {
        read: ReadOptions {
            chunk_bytes: chunk,
            max_record_bytes: 1 << 16,
        },
        ..ReadConfig::default()
    };
    let reader = read::open_reader_bytes(data.to_vec(), "fuzz", format, &cfg)
        .map_err(|e| format!("{}", e.code()))?;
    let mut kept = Collector::default();
    let fi = read::integrate_reader(reader, &Options::default(), Some(&mut kept), &mut |_| Ok(()))
        .map_err(|e| {
            // Every error renders; a location, when present, is a real line.
            let shown = e.to_string();
            assert!(!shown.is_empty());
            if let Some(l) = e.location().and_then(|l| l.line) {
                assert!(l >= 1, "line numbers are 1-based");
            }
            format!("{} {:?}", e.code(), e.location().and_then(|l| l.line))
        })?;
    for (_, p) in &fi.channels {
        let e = p.energy_j();
        assert!(e.is_finite(), "energy must be finite, got {e}");
    }
    Ok(format!("{:?}", fi.channels))
}

/// Read `data` as `format` with a large and a tiny chunk size: same outcome.
pub fn power(format: Option<Format>, data: &[u8]) {
    let small = 1 + data.first().map_or(0, |b| (*b % 13) as usize);
    let a = run(data, format, 1 << 20);
    let b = run(data, format, small);
    assert_eq!(a, b, "chunk size {small} changed the outcome");
}
