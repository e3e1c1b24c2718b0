//! Streaming readers: every format ends in canonical `(t_ns, channel, value)`
//! rows pushed into a [`RowSink`]. A new format is one new module here plus
//! one line in [`format`].
//!
//! A reader is opened on a [`source::Source`] (decompressed, BOM stripped),
//! reads its header, and says in its [`Layout`] what its values are (power in
//! W, or a cumulative counter and its unit) before any row is read. The
//! driver ([`integrate_path`]) then builds the matching integrator and lets
//! the reader push rows into it, one chunk at a time, in constant memory.

pub mod civil;
pub mod codecarbon;
pub mod csv;
mod csv_rows;
pub mod dmon;
pub mod fields;
pub mod format;
pub mod lines;
pub mod nvidia_smi;
pub mod prometheus_json;
pub mod prometheus_text;
pub mod rapl;
pub mod scrape_dir;
pub mod sink;
pub mod source;
#[cfg(test)]
pub(crate) mod test_util;
pub mod token_counters;
pub mod zeus;

use std::path::Path;

use crate::config::{Options, Rule};
use crate::error::{Error, Location, Result};
use crate::integrate::require_two_samples;
use crate::partial::Partial;
use crate::stream::StreamIntegrator;

pub use format::Format;
pub use sink::{Collector, RowSink, Tee};
pub use source::Limits;

/// How a reader reads.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// Bytes read from the source at a time; memory stays at about this plus one block per channel.
    pub chunk_bytes: usize,
    /// Longest accepted line.
    pub max_record_bytes: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        // 1 MiB: the four buffers the CSV reader keeps in flight (being read,
        // waiting, being parsed, on their way back) then stay in cache between
        // the kernel's copy and the parse; 4 MiB reads cost a fifth more CPU.
        ReadOptions {
            chunk_bytes: 1 << 20,
            max_record_bytes: 1 << 20,
        }
    }
}

/// What the user may tell a reader; every field is optional.
#[derive(Debug, Clone, Default)]
pub struct ReadConfig {
    pub read: ReadOptions,
    pub limits: Limits,
    /// IANA zone of naive local timestamps (nvidia-smi, Zeus). `None`: read them as UTC
    /// and flag `naive_time`; durations and energy are exact either way.
    pub tz: Option<String>,
    /// The value to read when a source has several: a column name
    /// (`power.draw.instant [W]`) or a metric name (`DCGM_FI_DEV_POWER_USAGE`).
    pub value: Option<String>,
    /// The column or label that names the channel (device).
    pub channel: Option<String>,
    /// Which quantity to read when a source has both power and an energy counter.
    pub prefer: Option<Prefer>,
    /// The column list of a file written without a header (nvidia-smi
    /// `--format=csv,noheader`): the `--query-gpu` list, e.g. `timestamp,index,power.draw`.
    pub columns: Option<String>,
}

/// Which of power and energy to read from a source that has both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefer {
    Power,
    Energy,
}

impl Prefer {
    pub fn parse(s: &str) -> Result<Prefer> {
        match s {
            "power" => Ok(Prefer::Power),
            "energy" => Ok(Prefer::Energy),
            other => Err(Error::InvalidArgument {
                name: "prefer".into(),
                value: other.into(),
                reason: "expected 'power' or 'energy'".into(),
            }),
        }
    }
}

/// What a reader's values are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Quantity {
    /// Power, already scaled to W by the reader.
    Power,
    /// A cumulative energy counter in its own units: `unit_j` joules per unit
    /// (1e-3 for mJ, 1e-6 for µJ), wrapping at `modulus` units when known.
    /// Kept in raw units so differences of integer counters stay exact.
    Counter { unit_j: f64, modulus: Option<f64> },
}

/// A reader's header, known before any row is read.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub format: Format,
    pub quantity: Quantity,
    /// `instant`, `avg_1s`, `avg_other` or `unknown` (FORMATS.md §17).
    pub power_semantics: &'static str,
    /// Timestamps were local wall-clock times without a zone and no `tz` was given:
    /// they were read as UTC.
    pub naive_time: bool,
    /// The zone naive timestamps were read in, when one was given.
    pub tz: Option<String>,
    pub time_column: String,
    pub value_column: String,
}

impl Layout {
    /// The integration options for this layout: the caller's, with the counter
    /// rule and unit when the values are a counter.
    pub fn options(&self, user: &Options) -> Options {
        let mut o = *user;
        if let Quantity::Counter { unit_j, modulus } = self.quantity {
            o.rule = Rule::Counter;
            o.counter_unit_j = unit_j;
            o.counter_modulus = modulus.or(user.counter_modulus);
        }
        o
    }
}

/// One opened file of one format.
pub trait PowerReader: Send {
    fn layout(&self) -> &Layout;
    /// Push every row into `sink`, calling `on_chunk` with the file bytes
    /// consumed so far between chunks.
    fn read_rows(&mut self, sink: &mut dyn RowSink, on_chunk: OnChunk<'_>) -> Result<()>;
    /// What was noticed about the file; complete once `read_rows` returned.
    fn info(&self) -> &FileInfo;
    /// Turn a location in the reader's stream into one in the user's files
    /// (a directory of scrapes maps stream lines back to each file).
    fn locate(&self, e: Error) -> Error {
        e
    }
}

/// A reader over several files read as one stream, whose errors name the file and its line.
struct Mapped {
    inner: Box<dyn PowerReader>,
    map: scrape_dir::LineMap,
}

impl PowerReader for Mapped {
    fn layout(&self) -> &Layout {
        self.inner.layout()
    }
    fn read_rows(&mut self, sink: &mut dyn RowSink, on_chunk: OnChunk<'_>) -> Result<()> {
        let r = self.inner.read_rows(sink, on_chunk);
        r.map_err(|e| self.map.place(e))
    }
    fn info(&self) -> &FileInfo {
        self.inner.info()
    }
    fn locate(&self, e: Error) -> Error {
        self.map.place(self.inner.locate(e))
    }
}

/// What a reader noticed about the file itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileInfo {
    pub path: String,
    pub size_bytes: u64,
    pub n_lines: u64,
    pub had_bom: bool,
    /// `gzip` or `zstd` when the file was compressed.
    pub compression: Option<String>,
    /// The last line had no terminator but was a complete record (kept).
    pub unterminated_final_line: bool,
    /// The last line had no terminator and was incomplete (dropped).
    pub truncated_tail: bool,
    pub time_column: String,
    pub value_column: String,
    /// Values whose unit suffix differed from the column's declared unit and were converted.
    pub n_unit_normalized: u64,
    /// Rows read but not used, by reason (another metric, a warm-up phase, ...).
    pub skipped: Vec<(String, u64)>,
    pub warnings: Vec<String>,
}

impl FileInfo {
    /// Start the report of an opened source.
    pub fn of(src: &source::Source) -> FileInfo {
        FileInfo {
            path: src.path.clone(),
            size_bytes: src.size_bytes,
            had_bom: src.had_bom,
            compression: src.compression.map(str::to_string),
            ..FileInfo::default()
        }
    }

    /// Count one skipped row of the given kind.
    pub fn skip(&mut self, why: &str) {
        match self.skipped.iter_mut().find(|(k, _)| k == why) {
            Some((_, n)) => *n += 1,
            None => self.skipped.push((why.to_string(), 1)),
        }
    }
}

/// The partial of each channel, the layout and the file's own report.
#[derive(Debug, Clone)]
pub struct FileIntegration {
    pub channels: Vec<(String, Partial)>,
    pub layout: Layout,
    pub info: FileInfo,
}

/// Called between chunks with the bytes read so far: report progress, and
/// return an error (e.g. [`crate::Error::Interrupted`]) to stop.
pub type OnChunk<'a> = &'a mut dyn FnMut(u64) -> crate::Result<()>;

/// Open `path` as `format`, or as the format its content shows.
pub fn open_reader(
    path: &Path,
    format: Option<Format>,
    cfg: &ReadConfig,
) -> Result<Box<dyn PowerReader>> {
    if path.is_dir() {
        return open_scrape_dir(path, format, cfg);
    }
    open_source(source::open_text(path, &cfg.limits)?, format, cfg)
}

/// A directory is a set of Prometheus scrapes (see [`scrape_dir`]).
fn open_scrape_dir(
    path: &Path,
    format: Option<Format>,
    cfg: &ReadConfig,
) -> Result<Box<dyn PowerReader>> {
    if let Some(f) = format.filter(|f| *f != Format::PrometheusText) {
        return Err(Error::InvalidArgument {
            name: "format".into(),
            value: f.name().into(),
            reason: format!(
                "{} is a directory; only a directory of Prometheus scrapes can be read",
                path.display()
            ),
        });
    }
    let (src, map) = scrape_dir::open_scrape_dir(path, &cfg.limits)?;
    let inner = open_source(src, Some(Format::PrometheusText), cfg).map_err(|e| map.place(e))?;
    Ok(Box::new(Mapped { inner, map }))
}

/// Open in-memory bytes as `format` (or as sniffed), exactly as a file with that content.
pub fn open_reader_bytes(
    data: Vec<u8>,
    name: &str,
    format: Option<Format>,
    cfg: &ReadConfig,
) -> Result<Box<dyn PowerReader>> {
    open_source(source::open_bytes(data, name, &cfg.limits)?, format, cfg)
}

fn open_source(
    src: source::Source,
    format: Option<Format>,
    cfg: &ReadConfig,
) -> Result<Box<dyn PowerReader>> {
    if src.head.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::EmptyInput {
            at: Location {
                path: Some(src.path.clone()),
                ..Location::default()
            },
        });
    }
    let format = match format {
        Some(f) => f,
        // Only nvidia-smi logs come without a header and with a column list.
        None if cfg.columns.is_some() => Format::NvidiaSmi,
        None => format::sniff(&src.head).ok_or_else(|| unrecognized(&src))?,
    };
    format::open(format, src, cfg)
}

fn unrecognized(src: &source::Source) -> Error {
    let names: Vec<_> = Format::ALL.iter().map(|f| f.name()).collect();
    unrecognized_format(
        src,
        "a power or energy format",
        format!("name the format explicitly (one of: {})", names.join(", ")),
    )
}

/// The error for a file no sniffer claimed, quoting its first non-blank line
/// (at most 80 bytes): what the file starts with usually tells the user why.
pub(crate) fn unrecognized_format(src: &source::Source, what: &str, hint: String) -> Error {
    let first = src
        .head
        .split(|&b| b == b'\n' || b == b'\r')
        .find(|l| !l.iter().all(u8::is_ascii_whitespace))
        .unwrap_or_default();
    let first = String::from_utf8_lossy(&first[..first.len().min(80)]).into_owned();
    Error::UnrecognizedFormat {
        at: Location {
            path: Some(src.path.clone()),
            line: Some(1),
            ..Location::default()
        },
        reason: format!("not {what} epcore recognises (starts '{first}')"),
        hint,
    }
}

/// Integrate any supported file in constant memory; `extra` sees every row as
/// well (e.g. a [`Collector`] that keeps the samples).
pub fn integrate_reader(
    mut reader: Box<dyn PowerReader>,
    opts: &Options,
    extra: Option<&mut dyn RowSink>,
    on_chunk: OnChunk<'_>,
) -> Result<FileIntegration> {
    opts.validate()?;
    let layout = reader.layout().clone();
    let opts = layout.options(opts);
    let mut sink = StreamIntegrator::new(opts)?;
    match extra {
        Some(x) => reader.read_rows(&mut Tee(&mut sink, x), on_chunk)?,
        None => reader.read_rows(&mut sink, on_chunk)?,
    }
    let info = reader.info().clone();
    let channels = sink.finish().map_err(|e| place(reader.locate(e), &info))?;
    let at = || Location {
        path: Some(info.path.clone()),
        ..Location::default()
    };
    if channels.is_empty() {
        return Err(Error::InsufficientSamples {
            at: at(),
            found: 0,
            needed: 2,
        });
    }
    for (name, p) in &channels {
        require_two_samples(p).map_err(|mut e| {
            if let Some(l) = e.location_mut() {
                l.path = Some(info.path.clone());
                if channels.len() > 1 {
                    l.channel = Some(name.clone());
                }
            }
            e
        })?;
    }
    Ok(FileIntegration {
        channels,
        layout,
        info,
    })
}

/// Open and integrate a file in one call.
pub fn integrate_path(
    path: &Path,
    format: Option<Format>,
    cfg: &ReadConfig,
    opts: &Options,
    on_chunk: OnChunk<'_>,
) -> Result<FileIntegration> {
    opts.validate()?;
    let reader = open_reader(path, format, cfg)?;
    integrate_reader(reader, opts, None, on_chunk)
}

/// Add the file and the column to an integrator error: the time column for
/// ordering problems, the value column for bad values. Every reader passes
/// the errors of its sink through this.
pub fn place_error(mut e: Error, path: &str, time_column: &str, value_column: &str) -> Error {
    let col = match e.code() {
        "unsorted_timestamps" | "conflicting_duplicate" | "timestamp_overflow" => Some(time_column),
        "non_finite"
        | "negative_power"
        | "implausible_power"
        | "ambiguous_counter_decrease"
        | "bad_value" => Some(value_column),
        _ => None,
    };
    if let Some(at) = e.location_mut() {
        if at.path.is_none() {
            at.path = Some(path.into());
        }
        if at.column.is_none() {
            if let Some(c) = col.filter(|c| !c.is_empty()) {
                at.column = Some(c.to_string());
            }
        }
        // In a file the line is the useful coordinate; the channel row index is not.
        if at.line.is_some() {
            at.index = None;
        }
    }
    e
}

/// [`place_error`] bound to a reader's file and columns. The closure owns
/// copies of them so the reader can still borrow itself mutably while using it.
pub(crate) fn placer(path: &str, layout: &Layout) -> impl Fn(Error) -> Error {
    let (path, tc, vc) = (
        path.to_string(),
        layout.time_column.clone(),
        layout.value_column.clone(),
    );
    move |e| place_error(e, &path, &tc, &vc)
}

fn place(e: Error, info: &FileInfo) -> Error {
    place_error(e, &info.path, &info.time_column, &info.value_column)
}
