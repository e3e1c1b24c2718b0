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
    let fi = read::integrate_reader(
        reader,
        &Options::default(),
        Some(&mut kept),
        &mut |_| Ok(()),
    )
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
    let a = run(data, format, 1 << 12);
    let b = run(data, format, small);
    assert_eq!(a, b, "chunk size {small} changed the outcome");
}

/// Read `data` as a request log of `format` with a large and a tiny chunk size: same outcome.
pub fn requests(format: Option<epcore_core::requests::RequestFormat>, data: &[u8]) {
    use epcore_core::read::source::open_bytes;
    use epcore_core::requests::{read_requests_from, RequestOptions};
    let run = |chunk: usize| -> Result<String, String> {
        let opts = RequestOptions {
            read: ReadOptions {
                chunk_bytes: chunk,
                max_record_bytes: 1 << 16,
            },
            ..RequestOptions::default()
        };
        let src =
            open_bytes(data.to_vec(), "fuzz", &opts.limits).map_err(|e| e.code().to_string())?;
        let log = read_requests_from(src, format, &opts, &mut |_| Ok(()))
            .map_err(|e| format!("{} {:?} {}", e.code(), e.location().and_then(|l| l.line), e))?;
        let t = &log.table;
        for i in 0..t.start_ns.len() {
            assert!(
                t.end_ns[i] >= t.start_ns[i],
                "a request must not end before it starts"
            );
            if let Some(f) = t.first_token_ns[i] {
                assert!(
                    t.start_ns[i] <= f && f <= t.end_ns[i],
                    "first token outside the request"
                );
            }
        }
        Ok(format!("{:?}", t.start_ns))
    };
    let small = 1 + data.first().map_or(0, |b| (*b % 13) as usize);
    assert_eq!(
        run(1 << 12),
        run(small),
        "chunk size {small} changed the outcome"
    );
}

/// Token counters from Prometheus text or JSON: never a panic, chunk-size invariant.
pub fn token_counters(data: &[u8]) {
    use epcore_core::read::source::open_bytes;
    use epcore_core::read::token_counters::read_token_counters_from;
    let run = |chunk: usize| -> Result<String, String> {
        let cfg = ReadConfig {
            read: ReadOptions {
                chunk_bytes: chunk,
                max_record_bytes: 1 << 16,
            },
            ..ReadConfig::default()
        };
        let src =
            open_bytes(data.to_vec(), "fuzz", &cfg.limits).map_err(|e| e.code().to_string())?;
        let tc = read_token_counters_from(src, None, &cfg, &mut |_| Ok(()))
            .map_err(|e| format!("{} {}", e.code(), e))?;
        Ok(format!("{:?} {:?}", tc.t_ns, tc.generation_tokens_total))
    };
    let small = 1 + data.first().map_or(0, |b| (*b % 13) as usize);
    assert_eq!(
        run(1 << 12),
        run(small),
        "chunk size {small} changed the outcome"
    );
}
