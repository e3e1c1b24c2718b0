//! Opening an input: compression sniffed from magic bytes and undone as a
//! stream, the byte-order mark, and the first bytes kept for format sniffing.
//!
//! gzip is read with a multi-member decoder (a plain one stops after the first
//! member: silent truncation of `cat a.gz b.gz`), zstd with the reference
//! decoder. Both are capped against decompression bombs: by total size and by
//! ratio to the compressed bytes consumed so far.

use std::fs::File;
use std::io::{self, BufReader, Cursor, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::{Error, Location, Result};

/// Caps on what a compressed input may expand to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Decompressed bytes at most (`None`: no absolute cap).
    pub max_decompressed_bytes: Option<u64>,
    /// Decompressed ÷ compressed bytes at most, checked once past 64 MiB of output.
    /// Real telemetry CSVs compress 5-30×; a gzip bomb reaches ~1000×.
    pub max_ratio: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_decompressed_bytes: None,
            max_ratio: 250.0,
        }
    }
}

/// How many leading decoded bytes are kept for format sniffing.
pub const HEAD_BYTES: usize = 64 * 1024;
/// The ratio cap only applies past this much output, so tiny files of zeros pass.
const RATIO_GRACE_BYTES: u64 = 64 << 20;

/// An opened text input, positioned after any UTF-8 BOM.
pub struct Source {
    /// The decoded bytes (the `head` is replayed first).
    pub reader: Box<dyn Read + Send>,
    pub path: String,
    /// Size of the file on disk.
    pub size_bytes: u64,
    pub had_bom: bool,
    /// `Some("gzip")` / `Some("zstd")` for a compressed file.
    pub compression: Option<&'static str>,
    /// The first decoded bytes (after the BOM), for format sniffing.
    pub head: Vec<u8>,
    consumed: Arc<AtomicU64>,
}

impl Source {
    /// A handle that reads how many bytes of the file (compressed bytes for a
    /// compressed file) have been consumed: the progress against `size_bytes`.
    pub fn progress(&self) -> Progress {
        Progress(self.consumed.clone())
    }
}

/// Bytes of the underlying file consumed so far.
#[derive(Clone)]
pub struct Progress(Arc<AtomicU64>);

impl Progress {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Calls `on_chunk` only when bytes were consumed since `*last` (start it
    /// at `u64::MAX` so the first call reports). Readers poll once per line
    /// or batch, and the callback (a progress bar, a Ctrl-C check across the
    /// Python boundary) is too costly to run for every line.
    pub fn report(&self, last: &mut u64, on_chunk: crate::read::OnChunk<'_>) -> Result<()> {
        let done = self.get();
        if done != *last {
            *last = done;
            on_chunk(done)?;
        }
        Ok(())
    }
}

/// Counts the file bytes read, for progress and for the ratio cap.
struct Counted<R> {
    inner: R,
    n: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n.fetch_add(k as u64, Ordering::Relaxed);
        Ok(k)
    }
}

/// A typed error travelling inside an `io::Error`, unwrapped again by the line reader.
#[derive(Debug)]
pub struct TypedIo(pub Error);

impl std::fmt::Display for TypedIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for TypedIo {}

/// Turn an `io::Error` from a [`Source`] into the core error: typed payloads
/// come back as they were, the rest is an I/O error of `path`.
pub fn from_io(e: io::Error, path: &str) -> Error {
    let kind = e.kind();
    let message = e.to_string();
    if e.get_ref().is_some_and(|x| x.is::<TypedIo>()) {
        if let Some(Ok(t)) = e.into_inner().map(|b| b.downcast::<TypedIo>()) {
            return t.0;
        }
    }
    Error::Io {
        path: path.into(),
        kind,
        message,
    }
}

/// A decoder's output, capped, with decoder failures turned into `CorruptInput`.
struct Decoded<R> {
    inner: R,
    what: &'static str,
    path: String,
    out: u64,
    consumed: Arc<AtomicU64>,
    limits: Limits,
}

impl<R: Read> Decoded<R> {
    fn fail(&self, e: Error) -> io::Error {
        io::Error::other(TypedIo(e))
    }

    fn at(&self) -> Location {
        Location {
            path: Some(self.path.clone()),
            byte_offset: Some(self.consumed.load(Ordering::Relaxed)),
            ..Location::default()
        }
    }
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = match self.inner.read(buf) {
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) if e.get_ref().is_some_and(|x| x.is::<TypedIo>()) => return Err(e),
            Err(e) => {
                let reason = format!("damaged {} stream: {e}", self.what);
                return Err(self.fail(Error::CorruptInput {
                    at: self.at(),
                    reason,
                }));
            }
        };
        self.out += k as u64;
        if let Some(max) = self.limits.max_decompressed_bytes {
            if self.out > max {
                let reason = format!(
                    "{} data expands past max_decompressed_bytes = {max}",
                    self.what
                );
                return Err(self.fail(Error::DecompressionLimit {
                    at: self.at(),
                    reason,
                }));
            }
        }
        let input = self.consumed.load(Ordering::Relaxed).max(1);
        if self.out > RATIO_GRACE_BYTES && self.out as f64 > self.limits.max_ratio * input as f64 {
            let reason = format!(
                "{} data expands more than {}× ({} bytes from {input})",
                self.what, self.limits.max_ratio, self.out
            );
            return Err(self.fail(Error::DecompressionLimit {
                at: self.at(),
                reason,
            }));
        }
        Ok(k)
    }
}

/// Open `path` for reading text: decompressed if compressed, refusing what
/// is clearly not UTF-8 text.
pub fn open_text(path: &Path, limits: &Limits) -> Result<Source> {
    let shown = path.display().to_string();
    let io_err = |e: io::Error| Error::Io {
        path: shown.clone(),
        kind: e.kind(),
        message: e.to_string(),
    };
    let f = File::open(path).map_err(io_err)?;
    let meta = f.metadata().map_err(io_err)?;
    if meta.is_dir() {
        return Err(Error::Io {
            path: shown.clone(),
            kind: io::ErrorKind::IsADirectory,
            message: "is a directory".into(),
        });
    }
    open_stream(Box::new(f), shown, meta.len(), limits)
}

/// Open in-memory bytes as text, exactly as a file of the same content
/// (decompression, BOM, sniffing head): for fuzzing and for callers that hold bytes.
pub fn open_bytes(data: Vec<u8>, name: &str, limits: &Limits) -> Result<Source> {
    let size = data.len() as u64;
    open_stream(Box::new(Cursor::new(data)), name.to_string(), size, limits)
}

/// Open any byte stream as text (decompressing it if its magic says so).
pub fn open_stream(
    f: Box<dyn Read + Send>,
    shown: String,
    size_bytes: u64,
    limits: &Limits,
) -> Result<Source> {
    let io_err = |e: io::Error| from_io(e, &shown);
    let consumed = Arc::new(AtomicU64::new(0));
    let mut raw = BufReader::with_capacity(
        1 << 16,
        Counted {
            inner: f,
            n: consumed.clone(),
        },
    );
    let magic = {
        use std::io::BufRead;
        let b = raw.fill_buf().map_err(io_err)?;
        b[..b.len().min(4)].to_vec()
    };
    let at = |what: &str| Location {
        path: Some(shown.clone()),
        line: if what.is_empty() { Some(1) } else { None },
        byte_offset: Some(0),
        ..Location::default()
    };
    let decoded = |inner: Box<dyn Read + Send>, what| -> Box<dyn Read + Send> {
        Box::new(Decoded {
            inner,
            what,
            path: shown.clone(),
            out: 0,
            consumed: consumed.clone(),
            limits: *limits,
        })
    };
    let (mut reader, compression): (Box<dyn Read + Send>, Option<&'static str>) = if magic
        .starts_with(&[0x1F, 0x8B])
    {
        let d = flate2::read::MultiGzDecoder::new(raw);
        (decoded(Box::new(d), "gzip"), Some("gzip"))
    } else if magic.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
        let d = zstd::stream::read::Decoder::with_buffer(raw).map_err(|e| Error::CorruptInput {
            at: at("zstd"),
            reason: format!("damaged zstd stream: {e}"),
        })?;
        (decoded(Box::new(d), "zstd"), Some("zstd"))
    } else {
        (Box::new(raw), None)
    };
    let mut head = Vec::with_capacity(HEAD_BYTES);
    (&mut reader)
        .take(HEAD_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(|e| from_io(e, &shown))?;
    if let Some(what) = binary_kind(&head) {
        return Err(Error::UnrecognizedFormat {
            at: at(""),
            reason: format!("{what}, not text"),
            hint: hint_for_binary(what).into(),
        });
    }
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Err(Error::UnsupportedEncoding {
            at: at(""),
            reason: "UTF-16 text (byte-order mark)".into(),
        });
    }
    let had_bom = head.starts_with(&[0xEF, 0xBB, 0xBF]);
    if had_bom {
        head.drain(..3);
    }
    let replay: Box<dyn Read + Send> = Box::new(Cursor::new(head.clone()).chain(reader));
    Ok(Source {
        reader: replay,
        path: shown,
        size_bytes,
        had_bom,
        compression,
        head,
        consumed,
    })
}

/// Formats recognised by their first bytes, named so the error can say what the file is.
pub fn binary_kind(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"PAR1") {
        Some("a Parquet file")
    } else if head.starts_with(b"PK\x03\x04") {
        Some("a zip archive")
    } else if head.starts_with(b"ARROW1") {
        Some("an Arrow IPC file")
    } else if head.starts_with(&[0x1F, 0x8B]) || head.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
        Some("a compressed file inside a compressed file")
    } else {
        None
    }
}

fn hint_for_binary(what: &str) -> &'static str {
    if what.contains("Parquet") || what.contains("Arrow") {
        "read it with epcore.read_power(path, format='parquet') (needs pyarrow)"
    } else if what.contains("zip") {
        "unzip it first; epcore reads gzip and zstd directly"
    } else {
        "decompress the outer layer first"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tmp(name: &str, body: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("epcore-source-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let p = dir.join(name);
        std::fs::File::create(&p)
            .and_then(|mut f| f.write_all(body))
            .expect("temp file");
        p
    }

    fn read_all(p: &Path, limits: &Limits) -> Result<Vec<u8>> {
        let mut s = open_text(p, limits)?;
        let mut out = Vec::new();
        s.reader
            .read_to_end(&mut out)
            .map_err(|e| from_io(e, &s.path))?;
        Ok(out)
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).expect("in memory");
        e.finish().expect("in memory")
    }

    #[test]
    fn gzip_members_and_zstd_are_read_whole() {
        let mut two = gz(b"time_s,power_w\n0,1\n");
        two.extend(gz(b"1,1\n"));
        let got = read_all(&tmp("two.csv.gz", &two), &Limits::default()).expect("valid");
        assert_eq!(got, b"time_s,power_w\n0,1\n1,1\n");
        let z = zstd::stream::encode_all(&b"\xEF\xBB\xBFa,b\n"[..], 3).expect("in memory");
        let p = tmp("a.csv.zst", &z);
        let s = open_text(&p, &Limits::default()).expect("valid");
        assert!(s.had_bom);
        assert_eq!(s.compression, Some("zstd"));
        assert_eq!(read_all(&p, &Limits::default()).expect("valid"), b"a,b\n");
    }

    #[test]
    fn damaged_and_oversized_streams_are_typed_errors() {
        let mut g = gz(&vec![b'1'; 100_000]);
        g.truncate(g.len() / 2);
        let e = read_all(&tmp("cut.gz", &g), &Limits::default()).expect_err("cut");
        assert_eq!(e.code(), "corrupt_input");
        let big = gz(&vec![b'0'; 1 << 20]);
        let limits = Limits {
            max_decompressed_bytes: Some(1000),
            ..Limits::default()
        };
        let e = read_all(&tmp("bomb.gz", &big), &limits).expect_err("capped");
        assert_eq!(e.code(), "decompression_limit");
        let e = read_all(&tmp("x.parquet", b"PAR1xxxx"), &Limits::default()).expect_err("binary");
        assert_eq!(e.code(), "unrecognized_format");
    }
}
