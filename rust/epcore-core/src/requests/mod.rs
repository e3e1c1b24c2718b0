//! Request and benchmark logs → the canonical requests table (FORMATS.md §11, §17).
//!
//! One row per request: `request_id`, `start_ns`, `first_token_ns` (nullable),
//! `end_ns` (int64 ns since the epoch, UTC), `input_tokens`, `output_tokens`
//! (int64), `model`, `ok`, `token_source` and the source `line`. Every reader
//! checks its rows through [`table::TableBuilder`] (windows, epoch range,
//! duplicate ids: see [`table`]).
//!
//! | format | file | times | first token | `token_source` |
//! |---|---|---|---|---|
//! | [`csv`] | `request_id,start_time,[first_token_time,]end_time,input_tokens,output_tokens` | epoch s (≤ 9 decimals, exact) or RFC 3339 with offset; or `*_ns` integers | the column, empty = none | `token_source` column, else `unknown` |
//! | [`bench`] vLLM `vllm bench serve --save-result --save-detailed` JSON, SGLang `bench_serving --output-details` JSONL | per-request `input_lens`, `output_lens`, `ttfts` (s), `itls` (s), `errors` | `start_times` when epoch, else `anchor_ns` + offset, or user `start_ns` | start + ttft | `unknown` |
//! | [`aiperf`] `profile_export.jsonl` | one record per line | `request_start_ns`, `request_end_ns` | start + `time_to_first_token` | `unknown` |
//! | [`ollama`] `/api/generate` records (+ harness fields) | one record per line | `started_utc`, `ended_utc` | start + client-measured TTFT | `usage` |
//!
//! Files may be gzip or zstd compressed ([`crate::read::source::open_text`]).
//! JSON numbers are read from their decimal text and rounded to the nearest
//! ns (ties to even), never through f64. JSON nesting deeper than
//! [`RequestOptions::max_json_depth`], a JSON Lines record longer than
//! `max_record_bytes` or a JSON document longer than
//! [`RequestOptions::max_document_bytes`] is a typed error.

pub mod aiperf;
pub mod bench;
pub mod csv;
mod json;
pub mod ollama;
pub mod table;
pub mod timefmt;

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Location, Result};
use crate::read::lines::LineReader;
use crate::read::source::{open_text, Progress, Source};
use crate::read::{Limits, OnChunk, ReadOptions};

pub use table::{Request, RequestTable, TokenSource};

use table::TableBuilder;

/// A request or benchmark log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestFormat {
    /// The canonical request CSV.
    Csv,
    /// `vllm bench serve --save-result --save-detailed` JSON.
    Vllm,
    /// `python -m sglang.bench_serving --output-details` JSONL (one run per line).
    Sglang,
    /// NVIDIA AIPerf `profile_export.jsonl`.
    Aiperf,
    /// Ollama `/api/generate` responses, one JSON object per line.
    Ollama,
}

impl RequestFormat {
    pub const ALL: [RequestFormat; 5] = [
        RequestFormat::Csv,
        RequestFormat::Vllm,
        RequestFormat::Sglang,
        RequestFormat::Aiperf,
        RequestFormat::Ollama,
    ];

    /// The name users type (`format="aiperf"`).
    pub fn name(&self) -> &'static str {
        match self {
            RequestFormat::Csv => "csv",
            RequestFormat::Vllm => "vllm",
            RequestFormat::Sglang => "sglang",
            RequestFormat::Aiperf => "aiperf",
            RequestFormat::Ollama => "ollama",
        }
    }

    /// The format named `s` (case and `-`/`_` insensitive, with a few aliases).
    ///
    /// ```
    /// use epcore_core::requests::RequestFormat;
    /// assert_eq!(RequestFormat::parse("AIPerf")?, RequestFormat::Aiperf);
    /// assert_eq!(RequestFormat::parse("vllm-bench")?, RequestFormat::Vllm);
    /// assert!(RequestFormat::parse("nvidia-smi").is_err());
    /// # Ok::<(), epcore_core::Error>(())
    /// ```
    pub fn parse(s: &str) -> Result<RequestFormat> {
        let norm = s.trim().to_ascii_lowercase().replace('_', "-");
        let alias = match norm.as_str() {
            "vllm-bench" | "vllm-bench-serve" | "benchmark-serving" => Some(RequestFormat::Vllm),
            "sglang-bench" | "bench-serving" => Some(RequestFormat::Sglang),
            "profile-export" | "aiperf-jsonl" => Some(RequestFormat::Aiperf),
            "requests-csv" => Some(RequestFormat::Csv),
            _ => None,
        };
        alias
            .or_else(|| {
                RequestFormat::ALL
                    .iter()
                    .copied()
                    .find(|f| f.name() == norm)
            })
            .ok_or_else(|| Error::InvalidArgument {
                name: "format".into(),
                value: s.into(),
                reason: format!("unknown request-log format; expected one of: {}", names()),
            })
    }
}

fn names() -> String {
    RequestFormat::ALL.map(|f| f.name()).join(", ")
}

/// The request-log format the first decoded bytes of a file show, if any.
///
/// JSON is recognised by the keys each writer puts first; CSV by a header
/// naming `request_id` and a start time.
///
/// ```
/// use epcore_core::requests::{sniff_requests, RequestFormat};
/// let aiperf = br#"{"metadata":{"session_num":0,"x_request_id":"a","request_start_ns":1}}"#;
/// assert_eq!(sniff_requests(aiperf), Some(RequestFormat::Aiperf));
/// assert_eq!(sniff_requests(b"request_id,start_time,end_time\n"), Some(RequestFormat::Csv));
/// assert_eq!(sniff_requests(b"time_s,power_w\n"), None);
/// ```
pub fn sniff_requests(head: &[u8]) -> Option<RequestFormat> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let body = &head[start..];
    let has = |k: &str| memchr::memmem::find(body, k.as_bytes()).is_some();
    if body.starts_with(b"{") {
        if has("\"request_start_ns\"")
            || has("\"x_request_id\"")
            || (has("\"metadata\"") && has("\"benchmark_phase\""))
        {
            return Some(RequestFormat::Aiperf);
        }
        if has("\"eval_count\"")
            || has("\"prompt_eval_count\"")
            || (has("\"started_utc\"") && has("\"ended_utc\""))
        {
            return Some(RequestFormat::Ollama);
        }
        let bench = has("\"input_lens\"")
            || has("\"ttfts\"")
            || (has("\"total_output_tokens\"") && has("\"request_throughput\""));
        if bench {
            let sglang = has("\"total_output_tokens_retokenized\"")
                || has("\"sharegpt_output_len\"")
                || has("\"backend\": \"sglang")
                || has("\"backend\":\"sglang");
            return Some(if sglang {
                RequestFormat::Sglang
            } else {
                RequestFormat::Vllm
            });
        }
        return None;
    }
    let first = body.split(|&b| b == b'\n' || b == b'\r').next()?;
    let cols: Vec<String> = first
        .split(|&b| b == b',')
        .map(|c| String::from_utf8_lossy(crate::read::fields::trim_field(c)).to_ascii_lowercase())
        .collect();
    let col = |n: &str| cols.iter().any(|c| c == n);
    if col("request_id") && (col("start_time") || col("start_ns")) {
        return Some(RequestFormat::Csv);
    }
    None
}

/// How to read a request log; every field has a default.
#[derive(Debug, Clone)]
pub struct RequestOptions {
    pub read: ReadOptions,
    pub limits: Limits,
    /// vLLM/SGLang: wall-clock time (ns since the epoch) at which the earliest
    /// request was sent, when the file's `start_times` are relative
    /// (`time.perf_counter()` seconds). Each start is `anchor_ns + (t - min t)`.
    pub anchor_ns: Option<i64>,
    /// vLLM/SGLang: every request's start (ns since the epoch), in file order,
    /// for files without usable `start_times`.
    pub start_ns: Option<Vec<i64>>,
    /// AIPerf: keep records of this `benchmark_phase` only (others are counted
    /// as skipped); `None` keeps every phase.
    pub phase: Option<String>,
    /// Label every row with this token source instead of the format's own.
    pub token_source: Option<TokenSource>,
    /// Largest single JSON document (vLLM, SGLang) read into memory.
    pub max_document_bytes: u64,
    /// Deepest JSON nesting accepted.
    pub max_json_depth: usize,
}

impl Default for RequestOptions {
    fn default() -> Self {
        RequestOptions {
            read: ReadOptions::default(),
            limits: Limits::default(),
            anchor_ns: None,
            start_ns: None,
            phase: Some("profiling".into()),
            token_source: None,
            max_document_bytes: 256 << 20,
            max_json_depth: 64,
        }
    }
}

impl RequestOptions {
    /// Refuse options outside their domain (zero caps, an anchor outside 2000-2100,
    /// both `anchor_ns` and `start_ns`).
    ///
    /// ```
    /// use epcore_core::requests::RequestOptions;
    /// assert!(RequestOptions::default().validate().is_ok());
    /// let both = RequestOptions {
    ///     anchor_ns: Some(1_750_000_000_000_000_000),
    ///     start_ns: Some(vec![1_750_000_000_000_000_000]),
    ///     ..RequestOptions::default()
    /// };
    /// assert_eq!(both.validate().map_err(|e| e.code()), Err("invalid_argument"));
    /// ```
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &str, value: String, reason: &str| {
            Err(Error::InvalidArgument {
                name: name.into(),
                value,
                reason: reason.into(),
            })
        };
        if self.max_json_depth == 0 {
            return bad("max_json_depth", "0".into(), "must be >= 1");
        }
        if self.max_document_bytes == 0 {
            return bad("max_document_bytes", "0".into(), "must be >= 1");
        }
        if self.read.max_record_bytes == 0 {
            return bad("max_record_bytes", "0".into(), "must be >= 1");
        }
        if let Some(a) = self.anchor_ns {
            if !(table::EPOCH_2000_NS..table::EPOCH_2100_NS).contains(&a) {
                return bad(
                    "anchor_ns",
                    a.to_string(),
                    "must be ns since the epoch between 2000 and 2100 (seconds × 1e9)",
                );
            }
            if self.start_ns.is_some() {
                return bad(
                    "anchor_ns",
                    a.to_string(),
                    "give anchor_ns or start_ns, not both",
                );
            }
        }
        Ok(())
    }
}

/// What a reader noticed about the file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestInfo {
    pub path: String,
    /// The format read (`csv`, `vllm`, ...).
    pub format: String,
    pub size_bytes: u64,
    /// `gzip` or `zstd` when the file was compressed.
    pub compression: Option<String>,
    pub had_bom: bool,
    pub n_lines: u64,
    /// Records found, before any was skipped or dropped.
    pub n_records: u64,
    /// The last line had no terminator but was a complete record (kept).
    pub unterminated_final_line: bool,
    /// The last line had no terminator and was incomplete (dropped).
    pub truncated_tail: bool,
    /// Records read but not kept, by reason (`benchmark_phase=warmup`, ...).
    pub skipped: Vec<(String, u64)>,
    /// Rows that repeated an earlier row exactly, dropped.
    pub n_duplicate_identical: u64,
    /// Where start times came from: `file`, `anchor_ns` or `start_ns`.
    pub timing: String,
    pub warnings: Vec<String>,
}

impl RequestInfo {
    fn of(src: &Source, format: RequestFormat) -> RequestInfo {
        RequestInfo {
            path: src.path.clone(),
            format: format.name().into(),
            size_bytes: src.size_bytes,
            compression: src.compression.map(str::to_string),
            had_bom: src.had_bom,
            timing: "file".into(),
            ..RequestInfo::default()
        }
    }

    /// Count one skipped record of the given kind.
    pub fn skip(&mut self, why: &str) {
        match self.skipped.iter_mut().find(|(k, _)| k == why) {
            Some((_, n)) => *n += 1,
            None => self.skipped.push((why.to_string(), 1)),
        }
    }
}

/// The table and the report of one file.
#[derive(Debug, Clone)]
pub struct RequestLog {
    pub table: RequestTable,
    pub info: RequestInfo,
}

/// Read a request log into the canonical table: `format` names it, or the
/// content shows it ([`sniff_requests`]). `on_chunk` is called between chunks
/// with the file bytes consumed (for progress, and to stop on Ctrl-C).
///
/// ```
/// use epcore_core::requests::{read_requests, RequestOptions};
/// let dir = std::env::temp_dir().join(format!("epcore-doc-req-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let p = dir.join("r.csv");
/// std::fs::write(&p, "request_id,start_time,first_token_time,end_time,input_tokens,output_tokens\n\
///                     a,1750000000.5,1750000000.75,1750000002,100,20\n")?;
/// let log = read_requests(&p, None, &RequestOptions::default(), &mut |_| Ok(()))?;
/// assert_eq!(log.table.start_ns, vec![1_750_000_000_500_000_000]);
/// assert_eq!(log.table.first_token_ns, vec![Some(1_750_000_000_750_000_000)]);
/// assert_eq!(log.info.format, "csv");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_requests(
    path: &Path,
    format: Option<RequestFormat>,
    opts: &RequestOptions,
    on_chunk: OnChunk<'_>,
) -> Result<RequestLog> {
    opts.validate()?;
    read_requests_from(open_text(path, &opts.limits)?, format, opts, on_chunk)
}

/// [`read_requests`] of an opened source (a file, or bytes through
/// [`crate::read::source::open_bytes`]).
pub fn read_requests_from(
    src: crate::read::source::Source,
    format: Option<RequestFormat>,
    opts: &RequestOptions,
    on_chunk: OnChunk<'_>,
) -> Result<RequestLog> {
    opts.validate()?;
    if format.is_none() && src.head.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::EmptyInput {
            at: Location {
                path: Some(src.path.clone()),
                ..Location::default()
            },
        });
    }
    let format = match format {
        Some(f) => f,
        None => sniff_requests(&src.head).ok_or_else(|| unrecognized(&src))?,
    };
    let mut info = RequestInfo::of(&src, format);
    let mut rows = TableBuilder::new(opts.token_source);
    match format {
        RequestFormat::Csv => csv::read(src, opts, &mut rows, &mut info, on_chunk)?,
        RequestFormat::Vllm | RequestFormat::Sglang => {
            bench::read(src, opts, &mut rows, &mut info, on_chunk)?
        }
        RequestFormat::Aiperf => aiperf::read(src, opts, &mut rows, &mut info, on_chunk)?,
        RequestFormat::Ollama => ollama::read(src, opts, &mut rows, &mut info, on_chunk)?,
    }
    info.n_duplicate_identical = rows.n_duplicate_identical;
    if let Some(line) = rows.first_duplicate_line {
        info.warnings.push(format!(
            "{} row(s) repeating an earlier row exactly were dropped (first on line {line})",
            rows.n_duplicate_identical
        ));
    }
    if rows.is_empty() {
        let at = Location {
            path: Some(info.path.clone()),
            ..Location::default()
        };
        if info.n_records == 0 {
            return Err(Error::EmptyInput { at });
        }
        let why = info
            .skipped
            .iter()
            .map(|(k, n)| format!("{k}: {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(Error::Schema {
            at,
            expected: "at least one request".into(),
            found: format!("{} record(s), all skipped ({why})", info.n_records),
            hint: "for AIPerf, phase=None keeps every benchmark phase".into(),
        });
    }
    Ok(RequestLog {
        table: rows.finish(),
        info,
    })
}

fn unrecognized(src: &Source) -> Error {
    crate::read::unrecognized_format(
        src,
        "a request log",
        format!(
            "name the format explicitly (one of: {}); a CSV needs request_id,start_time,end_time,input_tokens,output_tokens",
            names()
        ),
    )
}

/// The request file as lines within the read limits of `opts`, and a handle
/// on how much of it was read, for progress reports between lines.
pub(crate) fn line_reader(
    src: Source,
    opts: &RequestOptions,
    path: &str,
) -> (Progress, LineReader<Box<dyn Read + Send>>) {
    let progress = src.progress();
    let lines = LineReader::new(
        src.reader,
        path,
        opts.read.chunk_bytes,
        opts.read.max_record_bytes,
    );
    (progress, lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_by_content() {
        let vllm = br#"{"date": "20250101-000000", "backend": "vllm", "completed": 2, "input_lens": [1, 2]}"#;
        assert_eq!(sniff_requests(vllm), Some(RequestFormat::Vllm));
        let sgl =
            br#"{"backend": "sglang", "total_output_tokens_retokenized": 3, "input_lens": [1]}"#;
        assert_eq!(sniff_requests(sgl), Some(RequestFormat::Sglang));
        let ollama = br#"{"model": "m", "eval_count": 3, "prompt_eval_count": 5}"#;
        assert_eq!(sniff_requests(ollama), Some(RequestFormat::Ollama));
        assert_eq!(
            sniff_requests(b"\xEF\xBB\xBF \"request_id\", \"start_ns\"\r\n"),
            Some(RequestFormat::Csv)
        );
        assert_eq!(sniff_requests(b"{\"data\": []}"), None);
        assert_eq!(sniff_requests(b"latency_ms\n14114.5\n"), None);
        assert_eq!(sniff_requests(b""), None);
    }

    #[test]
    fn unknown_content_and_options_are_typed_errors() {
        let p = crate::read::test_util::write("requests", "lat.csv", b"latency_ms\n1.5\n");
        let e = read_requests(&p, None, &RequestOptions::default(), &mut |_| Ok(()))
            .expect_err("not a request log");
        assert_eq!(e.code(), "unrecognized_format");
        let opts = RequestOptions {
            anchor_ns: Some(5),
            ..RequestOptions::default()
        };
        let e = read_requests(&p, None, &opts, &mut |_| Ok(())).expect_err("bad anchor");
        assert_eq!(e.code(), "invalid_argument");
        assert_eq!(
            RequestFormat::parse("x").expect_err("unknown").code(),
            "invalid_argument"
        );
    }
}
