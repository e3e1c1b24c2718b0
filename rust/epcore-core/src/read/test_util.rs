//! Scaffolding shared by the reader tests. Every reader is checked the same
//! way, from a real file on disk (so the source layer, decompression sniffing
//! and chunked reads are all exercised) at several chunk sizes, since chunk
//! boundaries are where streaming readers go wrong.

use std::io::Write;
use std::path::PathBuf;

use crate::config::Options;
use crate::read::{Collector, FileIntegration, Format, ReadConfig, ReadOptions};
use crate::{Error, Result};

pub const CHUNKS: [usize; 4] = [1, 7, 4096, 1 << 20];

/// A file with `body` under `epcore-{dir}-{pid}-{thread}` in the temp
/// directory. Tests run in parallel threads and reuse short names
/// ("real.csv"): with one directory per process, one test truncating a file
/// another was reading made reads fail at random. A test writing the same
/// name twice still gets the same path, so results that name it compare equal.
pub fn write(dir: &str, name: &str, body: &[u8]) -> PathBuf {
    let thread = format!("{:?}", std::thread::current().id());
    let thread: String = thread.chars().filter(char::is_ascii_digit).collect();
    let dir = std::env::temp_dir().join(format!("epcore-{dir}-{}-{thread}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let p = dir.join(name);
    std::fs::File::create(&p)
        .and_then(|mut f| f.write_all(body))
        .expect("temp file");
    p
}

pub fn cfg(chunk: usize) -> ReadConfig {
    ReadConfig {
        read: ReadOptions {
            chunk_bytes: chunk,
            ..ReadOptions::default()
        },
        ..ReadConfig::default()
    }
}

/// `base` with another chunk size, for tests that also set other options.
pub fn with_chunk(base: &ReadConfig, chunk: usize) -> ReadConfig {
    let mut c = base.clone();
    c.read.chunk_bytes = chunk;
    c
}

/// Open and integrate `p` without progress reporting.
pub fn integrate(
    p: &std::path::Path,
    format: Option<Format>,
    cfg: &ReadConfig,
    opts: &Options,
) -> Result<FileIntegration> {
    crate::read::integrate_path(p, format, cfg, opts, &mut |_| Ok(()))
}

/// Integrate and keep the samples too.
pub fn run_collect(
    p: &std::path::Path,
    format: Option<Format>,
    cfg: &ReadConfig,
) -> Result<(FileIntegration, Collector)> {
    let reader = crate::read::open_reader(p, format, cfg)?;
    let mut kept = Collector::default();
    let fi =
        crate::read::integrate_reader(reader, &Options::default(), Some(&mut kept), &mut |_| {
            Ok(())
        })?;
    Ok((fi, kept))
}

/// The same result, bit for bit, at every chunk size (errors included).
pub fn same_at_every_chunk(
    p: &std::path::Path,
    format: Option<Format>,
    base: &ReadConfig,
) -> std::result::Result<(FileIntegration, Collector), Error> {
    let mut first: Option<std::result::Result<(FileIntegration, Collector), Error>> = None;
    for chunk in CHUNKS {
        let got = run_collect(p, format, &with_chunk(base, chunk));
        match &first {
            None => first = Some(got),
            Some(Ok((want, wk))) => {
                let (fi, k) = got.unwrap_or_else(|e| panic!("chunk {chunk}: {e}"));
                assert_eq!(fi.channels, want.channels, "chunk {chunk}");
                assert_eq!(fi.info, want.info, "chunk {chunk}");
                assert_eq!(bits(&k), bits(wk), "chunk {chunk}");
            }
            Some(Err(want)) => {
                let e = got
                    .err()
                    .unwrap_or_else(|| panic!("chunk {chunk}: expected {want}"));
                assert_eq!(&e, want, "chunk {chunk}");
            }
        }
    }
    first.expect("at least one chunk size")
}

/// `body` written under `dir` and read the same at every chunk size; panics
/// unless it reads.
pub fn read_ok(
    dir: &str,
    name: &str,
    body: &str,
    format: Option<Format>,
    c: &ReadConfig,
) -> (FileIntegration, Collector) {
    let p = write(dir, name, body.as_bytes());
    same_at_every_chunk(&p, format, c).unwrap_or_else(|e| panic!("{e}"))
}

/// As [`read_ok`], for input that must fail (the same way at every chunk size).
pub fn read_err(
    dir: &str,
    name: &str,
    body: &str,
    format: Option<Format>,
    c: &ReadConfig,
) -> Error {
    let p = write(dir, name, body.as_bytes());
    same_at_every_chunk(&p, format, c)
        .err()
        .unwrap_or_else(|| panic!("{name} should fail"))
}

/// Samples with values as bits, so NaN (a missing reading) compares equal to itself.
#[allow(clippy::type_complexity)]
pub fn bits(c: &Collector) -> Vec<(String, Vec<i64>, Vec<u64>, Vec<u64>)> {
    c.channels
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                s.t_ns.clone(),
                s.value.iter().map(|v| v.to_bits()).collect(),
                s.line.clone(),
            )
        })
        .collect()
}

/// Trapezoid energy of (t_ns, W) samples, the plain way.
pub fn trapezoid(t: &[i64], v: &[f64]) -> f64 {
    (1..t.len())
        .map(|i| (t[i] - t[i - 1]) as f64 * 1e-9 * (v[i] + v[i - 1]) / 2.0)
        .sum()
}
