//! `nvidia-smi --query-gpu=... --format=csv[,nounits][,noheader]` logs.
//!
//! ```text
//! timestamp, index, power.draw [W], memory.used [MiB]
//! 2025/06/09 23:21:26.037, 0, 30.80 W, 686 MiB
//! 2025/06/09 23:21:26.037, 1, [N/A], 686 MiB
//! ```
//!
//! - Fields are separated by `", "` and trimmed; the header names each field
//!   with its unit in brackets (`power.draw [W]`), which `nounits` keeps.
//! - The power column is `value=` (the header text or the bare field name),
//!   else the first of `power.draw.instant`, `power.draw`, `power.draw.average`.
//!   Values are checked against the declared unit: `W`, bare numbers (`nounits`),
//!   `mW`/`kW` (converted, counted in `n_unit_normalized`); any other unit is an
//!   error. A column declared in `J`/`mJ` is read as a cumulative counter.
//! - `[N/A]`, `[Not Supported]`, `[Unknown Error]`, `[GPU is lost]`, any `[...]`
//!   (and an empty field) are missing readings: pushed as NaN, counted by the
//!   integrator, never read as 0.
//! - `timestamp` is the logging host's local time without a zone: read as UTC
//!   and flagged `naive_time`, or converted with `tz=` (DST gaps and folds are
//!   errors).
//! - One row per GPU per tick: the channel is the `channel=` column, else
//!   `uuid`, `pci.bus_id` or `index`, else a single channel `"0"`. Without a
//!   key column, interleaved GPUs either trip the integrator (duplicate or
//!   backward timestamps) or, when their timestamps differ by a millisecond,
//!   are detected from the rhythm of the timestamps and warned about.
//! - A header line repeated inside the file (logs appended with `>>`) is skipped
//!   and counted.
//! - `noheader` files need the column list, the `--query-gpu` text:
//!   [`open_with_columns`].

use std::io::Read;

use wide::u8x32;

use crate::error::{Error, Location, Result};
use crate::read::civil::{CivilError, Clock};
use crate::read::fields::{is_null_token, parse_f64, trim_field, POW10};
use crate::read::format::Format;
use crate::read::lines::{check_utf8, LineReader};
use crate::read::source::{Progress, Source};
use crate::read::{
    place_error, FileInfo, Layout, OnChunk, PowerReader, Prefer, Quantity, ReadConfig, RowSink,
};

/// Whether the first line is an nvidia-smi CSV header: a `timestamp` field and
/// at least one `name [unit]` field.
pub fn sniff(head: &[u8]) -> bool {
    let Some(first) = first_line(head) else {
        return false;
    };
    let cols: Vec<Col> = first
        .split(|&b| b == b',')
        .map(|f| Col::parse(&String::from_utf8_lossy(trim_field(f))))
        .collect();
    cols.iter().any(|c| c.name == "timestamp") && cols.iter().any(|c| c.unit.is_some())
}

/// The first line that is not blank.
pub(crate) fn first_line(head: &[u8]) -> Option<&[u8]> {
    head.split(|&b| b == b'\n' || b == b'\r')
        .find(|l| !l.iter().all(u8::is_ascii_whitespace))
}

/// One header field: `power.draw [W]` → name `power.draw`, unit `W`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Col {
    /// As printed in the header.
    pub text: String,
    pub name: String,
    pub unit: Option<String>,
}

impl Col {
    pub fn parse(text: &str) -> Col {
        let text = text.trim();
        if let Some(open) = text.rfind('[') {
            if text.ends_with(']') && open > 0 {
                return Col {
                    text: text.into(),
                    name: text[..open].trim().into(),
                    unit: Some(text[open + 1..text.len() - 1].trim().into()),
                };
            }
        }
        Col {
            text: text.into(),
            name: text.into(),
            unit: None,
        }
    }

    /// Whether the user named this column: by its header text or its bare name.
    pub fn is(&self, wanted: &str) -> bool {
        let w = wanted.trim();
        self.text == w || self.name == w
    }
}

/// Watts per power unit, joules per energy unit.
fn unit_factor(unit: &[u8], power: bool) -> Option<f64> {
    match (unit, power) {
        (b"W", true) | (b"J", false) => Some(1.0),
        (b"mW", true) | (b"mJ", false) => Some(1e-3),
        (b"kW", true) | (b"kJ", false) => Some(1e3),
        _ => None,
    }
}

/// The value column, its declared unit and how values are scaled.
#[derive(Debug, Clone)]
pub(crate) struct ValueCol {
    /// Power (to W) or a counter (kept in the declared unit).
    pub power: bool,
    pub declared: String,
    /// W or J per declared unit.
    pub declared_factor: f64,
}

impl ValueCol {
    /// The column's quantity from its declared unit; `None` for a non-power, non-energy unit.
    pub fn of_unit(unit: &str) -> Option<ValueCol> {
        let (power, f) = match unit_factor(unit.as_bytes(), true) {
            Some(f) => (true, f),
            None => (false, unit_factor(unit.as_bytes(), false)?),
        };
        Some(ValueCol {
            power,
            declared: unit.into(),
            declared_factor: f,
        })
    }

    pub fn quantity(&self) -> Quantity {
        if self.power {
            Quantity::Power
        } else {
            Quantity::Counter {
                unit_j: self.declared_factor,
                modulus: None,
            }
        }
    }

    /// Multiply a number in `unit` by this to get the value pushed (W, or counter units).
    #[inline]
    fn scale_of(&self, unit: &[u8]) -> Option<f64> {
        let f = unit_factor(unit, self.power)?;
        Some(if self.power {
            f
        } else {
            f / self.declared_factor
        })
    }

    /// A field with an optional unit suffix: (value, converted from another unit).
    /// Missing-reading tokens give NaN.
    #[inline(always)]
    pub fn parse(&self, f: &[u8]) -> std::result::Result<(f64, bool), FieldError> {
        // The common case, "312.45 W" or "312.45", in one pass.
        if let Some((x, end)) = leading_decimal(f) {
            let unit = trim_field(&f[end..]);
            let own = match unit {
                [] => true,
                [u] => self.declared.as_bytes() == [*u],
                _ => unit == self.declared.as_bytes(),
            };
            if own {
                return Ok((
                    x * if self.power {
                        self.declared_factor
                    } else {
                        1.0
                    },
                    false,
                ));
            }
        }
        self.parse_general(f)
    }

    /// Missing-reading tokens, exponents, other units, and the errors.
    #[cold]
    #[inline(never)]
    fn parse_general(&self, f: &[u8]) -> std::result::Result<(f64, bool), FieldError> {
        if is_null_token(f) {
            return Ok((f64::NAN, false));
        }
        // The unit is the run of letters (or '%') at the end: "312.45 W", "5 mW", "1e3".
        let mut i = f.len();
        while i > 0 && (f[i - 1].is_ascii_alphabetic() || f[i - 1] == b'%') {
            i -= 1;
        }
        let (num, unit) = (trim_field(&f[..i]), &f[i..]);
        // Power goes out in W; a counter stays in its declared unit.
        let own = if self.power {
            self.declared_factor
        } else {
            1.0
        };
        let (scale, converted) = if unit.is_empty() || unit == self.declared.as_bytes() {
            (own, false)
        } else {
            match self.scale_of(unit) {
                Some(s) => (s, true),
                None => {
                    return Err(FieldError {
                        reason: format!(
                            "unit '{}' not allowed in column declared [{}]",
                            String::from_utf8_lossy(unit),
                            self.declared
                        ),
                        hint: if self.power {
                            "the value column must hold power (W, mW or kW); choose the column with value=...".into()
                        } else {
                            "the value column must hold energy (J, mJ or kJ); choose the column with value=...".into()
                        },
                    })
                }
            }
        };
        match parse_f64(num) {
            Some(x) if !num.is_empty() => Ok((x * scale, converted)),
            _ => Err(FieldError {
                reason: format!("cannot read '{}' as a number", String::from_utf8_lossy(f)),
                hint: format!(
                    "values look like '312.45 {0}', '312.45' (nounits) or '[N/A]'",
                    self.declared
                ),
            }),
        }
    }
}

/// A plain `digits[.digits]` at the start of `f` (at most 15 digits, so exact
/// by Clinger's fast path, as [`parse_f64`]) and where it ends; `None` for
/// anything else, which the general path then reads.
#[inline]
fn leading_decimal(f: &[u8]) -> Option<(f64, usize)> {
    let (mut m, mut digits, mut frac, mut point) = (0u64, 0u32, 0usize, false);
    let mut i = 0;
    while i < f.len() {
        let c = f[i];
        let d = c.wrapping_sub(b'0');
        if d <= 9 {
            // At most 15 digits: the wrapping arithmetic never wraps, and skips
            // the overflow checks release builds keep on.
            m = m.wrapping_mul(10).wrapping_add(d as u64);
            digits += 1;
            frac += point as usize;
            if digits > 15 {
                return None;
            }
        } else if c == b'.' && !point {
            point = true;
        } else {
            break;
        }
        i += 1;
    }
    if digits == 0
        || f.get(i)
            .is_some_and(|c| matches!(c, b'e' | b'E' | b'.' | b'+' | b'-'))
    {
        return None;
    }
    Some((m as f64 / POW10[frac], i))
}

/// A field that failed to parse (the column is known to the caller).
#[derive(Debug, Clone)]
pub(crate) struct FieldError {
    pub reason: String,
    pub hint: String,
}

/// Where the needed columns sit in a comma-separated log (nvidia-smi, Zeus).
pub(crate) struct Schema {
    pub cols: Vec<Col>,
    pub time: usize,
    pub value: usize,
    pub vcol: ValueCol,
    pub channel: Option<usize>,
    /// Times may also be epoch seconds (`1657678056.708`), not only local date-times.
    pub epoch_ok: bool,
    /// Warn when the rows of a keyless file come in bursts (nvidia-smi ticks).
    pub rhythm_warning: bool,
}

impl Schema {
    fn n_cols(&self) -> usize {
        self.cols.len()
    }

    /// A header line inside the data (an appended log): same field names.
    fn is_header(&self, line: &[u8]) -> bool {
        let mut n = 0;
        for (i, f) in line.split(|&b| b == b',').enumerate() {
            let Some(c) = self.cols.get(i) else {
                return false;
            };
            let text = String::from_utf8_lossy(trim_field(f));
            if text != c.text && Col::parse(&text).name != c.name {
                return false;
            }
            n += 1;
        }
        n == self.cols.len()
    }

    /// Read the header (or the user's column list) and choose the columns.
    fn from_cols(
        cols: Vec<Col>,
        cfg: &ReadConfig,
        at: &Location,
    ) -> Result<(Schema, &'static str)> {
        let listing = || {
            cols.iter()
                .map(|c| c.text.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let schema_err = |expected: &str, hint: &str| Error::Schema {
            at: at.clone(),
            expected: expected.into(),
            found: format!("columns [{}]", listing()),
            hint: hint.into(),
        };
        let time = cols
            .iter()
            .position(|c| c.name == "timestamp")
            .ok_or_else(|| {
                schema_err(
                    "a timestamp column",
                    "log with --query-gpu=timestamp,index,power.draw --format=csv",
                )
            })?;
        let value = match (&cfg.value, cfg.prefer) {
            (Some(v), _) => cols.iter().position(|c| c.is(v)).ok_or_else(|| {
                schema_err(
                    &format!("the column value='{v}'"),
                    "name the column as printed in the header (power.draw [W]) or by its field name (power.draw)",
                )
            })?,
            (None, Some(Prefer::Energy)) => cols
                .iter()
                .position(|c| {
                    c.unit
                        .as_deref()
                        .and_then(ValueCol::of_unit)
                        .is_some_and(|v| !v.power)
                })
                .ok_or_else(|| {
                    schema_err(
                        "an energy column (unit J or mJ)",
                        "this log has no energy counter; read its power with prefer='power'",
                    )
                })?,
            (None, _) => ["power.draw.instant", "power.draw", "power.draw.average"]
                .iter()
                .find_map(|n| cols.iter().position(|c| c.name == *n))
                .ok_or_else(|| {
                    schema_err(
                        "a power column (power.draw.instant, power.draw or power.draw.average)",
                        "query power with --query-gpu=timestamp,index,power.draw.instant,..., or name the column with value=...",
                    )
                })?,
        };
        let c = &cols[value];
        // nvidia-smi prints every power field in W; a bare name (noheader column list) means W.
        let unit = match &c.unit {
            Some(u) => u.clone(),
            None if c.name.starts_with("power.") => "W".into(),
            None => {
                return Err(schema_err(
                    &format!("a unit for column '{}'", c.text),
                    "write the unit as nvidia-smi does: 'power.draw [W]'",
                ))
            }
        };
        let vcol = ValueCol::of_unit(&unit).ok_or_else(|| {
            schema_err(
                &format!("a power (W) or energy (J) column, not '{}'", c.text),
                "choose the power column with value=... (e.g. value='power.draw')",
            )
        })?;
        let channel = match &cfg.channel {
            Some(ch) => Some(cols.iter().position(|c| c.is(ch)).ok_or_else(|| {
                schema_err(
                    &format!("the column channel='{ch}'"),
                    "name the device column as printed (index, uuid, pci.bus_id)",
                )
            })?),
            None => ["uuid", "pci.bus_id", "index"]
                .iter()
                .find_map(|n| cols.iter().position(|c| c.name == *n)),
        };
        let semantics = match c.name.as_str() {
            "power.draw.instant" => "instant",
            "power.draw.average" => "avg_1s",
            // power.draw is a 1 s average on Ampere and newer but the instantaneous
            // reading on older GPUs, and the log does not say which GPU wrote it.
            _ => "unknown",
        };
        Ok((
            Schema {
                cols,
                time,
                value,
                vcol,
                channel,
                epoch_ok: false,
                rhythm_warning: true,
            },
            semantics,
        ))
    }
}

/// A comma-separated log (nvidia-smi, Zeus), header read.
pub(crate) struct LogReader {
    lines: LineReader<Box<dyn Read + Send>>,
    schema: Schema,
    clock: Clock,
    layout: Layout,
    info: FileInfo,
    progress: Progress,
}

/// Open an nvidia-smi `--format=csv` log and read its header.
pub fn open(src: Source, cfg: &ReadConfig) -> Result<Box<dyn PowerReader>> {
    open_with_columns(src, cfg, cfg.columns.as_deref())
}

/// Open an nvidia-smi log; `columns` is the `--query-gpu` list of a file written
/// with `noheader` (`"timestamp,index,power.draw"`, units optional:
/// `"timestamp, power.draw [W]"`). With `columns`, every line is data (a header
/// line found anyway is skipped).
pub fn open_with_columns(
    src: Source,
    cfg: &ReadConfig,
    columns: Option<&str>,
) -> Result<Box<dyn PowerReader>> {
    let shown = src.path.clone();
    let info = FileInfo::of(&src);
    let progress = src.progress();
    let clock = Clock::new(cfg.tz.as_deref())?;
    let at = |line: Option<u64>| Location {
        path: Some(shown.clone()),
        line,
        ..Location::default()
    };
    if src.head.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::EmptyInput { at: at(None) });
    }
    let mut lines = LineReader::new(
        src.reader,
        &shown,
        cfg.read.chunk_bytes,
        cfg.read.max_record_bytes,
    );
    let (cols, header_at) = match columns {
        Some(list) => (
            list.split(',').map(Col::parse).collect::<Vec<_>>(),
            Location::default(),
        ),
        None => loop {
            let Some(l) = lines.next_line()? else {
                return Err(Error::EmptyInput { at: at(None) });
            };
            if l.bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            check_utf8(l.bytes, &shown, l.number, l.offset)?;
            let first = trim_field(l.bytes.split(|&b| b == b',').next().unwrap_or_default());
            if first.first().is_some_and(u8::is_ascii_digit) || first.starts_with(b"GPU-") {
                return Err(Error::Schema {
                    at: at(Some(l.number)),
                    expected: "a header line (timestamp, power.draw [W], ...)".into(),
                    found: format!("a data row '{}'", String::from_utf8_lossy(&l.bytes[..l.bytes.len().min(60)])),
                    hint: "a log written with --format=csv,noheader needs its column list: pass the --query-gpu fields, e.g. columns='timestamp,index,power.draw'".into(),
                });
            }
            let text = String::from_utf8_lossy(l.bytes);
            break (
                text.split(',').map(Col::parse).collect(),
                at(Some(l.number)),
            );
        },
    };
    let header_at = Location {
        path: Some(shown.clone()),
        ..header_at
    };
    let (schema, semantics) = Schema::from_cols(cols, cfg, &header_at)?;
    let layout = Layout {
        format: Format::NvidiaSmi,
        quantity: schema.vcol.quantity(),
        power_semantics: semantics,
        naive_time: cfg.tz.is_none(),
        tz: cfg.tz.clone(),
        time_column: schema.cols[schema.time].text.clone(),
        value_column: schema.cols[schema.value].text.clone(),
    };
    let info = FileInfo {
        time_column: layout.time_column.clone(),
        value_column: layout.value_column.clone(),
        ..info
    };
    Ok(Box::new(LogReader {
        lines,
        schema,
        clock,
        layout,
        info,
        progress,
    }))
}

impl LogReader {
    /// A reader over `lines` (positioned after the header) with a chosen schema.
    pub(crate) fn new(
        lines: LineReader<Box<dyn Read + Send>>,
        schema: Schema,
        clock: Clock,
        layout: Layout,
        info: FileInfo,
        progress: Progress,
    ) -> LogReader {
        LogReader {
            lines,
            schema,
            clock,
            layout,
            info,
            progress,
        }
    }
}

/// Rows of one channel parsed from a piece.
#[derive(Default)]
struct Rows {
    name: Vec<u8>,
    t: Vec<i64>,
    v: Vec<f64>,
    line: Vec<u32>,
}

/// What stopped a piece.
enum What {
    TooLong,
    Count { found: usize },
    Field { column: usize, e: FieldError },
    Time(CivilError),
}

struct Failure {
    /// Line index within the piece.
    index: u64,
    /// Byte offset of the line within the piece.
    start: usize,
    what: What,
    line: Vec<u8>,
}

/// Timing rhythm of consecutive rows, to notice GPUs interleaved without a key.
#[derive(Default, Clone, Copy)]
struct Rhythm {
    first: Option<i64>,
    last: Option<i64>,
    steps: u64,
    /// Steps of at most [`BURST_NS`]: rows of one tick, not of one GPU.
    close: u64,
}

/// nvidia-smi stamps the GPUs of one tick within a millisecond or two; one GPU
/// is never sampled that fast.
const BURST_NS: i64 = 2_000_000;

impl Rhythm {
    #[inline]
    fn step(&mut self, t: i64) {
        if let Some(p) = self.last {
            self.steps += 1;
            self.close += (t.wrapping_sub(p) as u64 <= BURST_NS as u64) as u64;
        } else {
            self.first = Some(t);
        }
        self.last = Some(t);
    }

    fn then(&mut self, o: &Rhythm) {
        if let (Some(p), Some(f)) = (self.last, o.first) {
            self.steps += 1;
            self.close += (f.wrapping_sub(p) as u64 <= BURST_NS as u64) as u64;
        }
        if self.first.is_none() {
            self.first = o.first;
        }
        if o.last.is_some() {
            self.last = o.last;
        }
        self.steps += o.steps;
        self.close += o.close;
    }
}

/// Rows parsed from a run of complete lines.
struct Piece {
    /// Byte offset of the piece within its batch.
    offset: usize,
    chans: Vec<Rows>,
    n_lines: u64,
    n_unit_normalized: u64,
    n_headers: u64,
    rhythm: Rhythm,
    /// Whether the last row's last field ended in a unit (or `]`): a final line
    /// whose last field ends in a digit instead was cut mid-value.
    last_ends_unit: Option<bool>,
    failure: Option<Failure>,
}

#[inline]
fn ends_in_unit(line: &[u8]) -> bool {
    trim_field(line)
        .last()
        .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'%' || b == b']')
}

/// Positions of `,`, `\n` and `\r`, in order, found 32 bytes at a time: one
/// vector compare per 32 bytes, then a bit per separator. Rows hold a
/// separator every ~10 bytes, where a search that restarts at each hit
/// spends more on restarting than on searching.
struct Separators<'a> {
    b: &'a [u8],
    base: usize,
    mask: u32,
}

impl<'a> Separators<'a> {
    fn new(b: &'a [u8]) -> Self {
        Separators {
            b,
            base: 0,
            mask: separator_mask(b, 0),
        }
    }
}

impl Iterator for Separators<'_> {
    type Item = usize;

    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            self.base += 32;
            if self.base >= self.b.len() {
                return None;
            }
            self.mask = separator_mask(self.b, self.base);
        }
        let i = self.base + self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(i)
    }
}

#[inline(always)]
fn separator_mask(b: &[u8], base: usize) -> u32 {
    match b.get(base..base + 32) {
        Some(chunk) => {
            let mut a = [0u8; 32];
            a.copy_from_slice(chunk);
            let v = u8x32::new(a);
            (v.simd_eq(u8x32::splat(b','))
                | v.simd_eq(u8x32::splat(b'\n'))
                | v.simd_eq(u8x32::splat(b'\r')))
            .to_bitmask()
        }
        None => b
            .get(base..)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(c, b',' | b'\n' | b'\r'))
            .fold(0u32, |m, (i, _)| m | 1 << i),
    }
}

/// Batches smaller than this are parsed on one thread.
const PARALLEL_MIN_BYTES: usize = 256 * 1024;

fn parse_batch(
    bytes: &[u8],
    s: &Schema,
    clock: &mut Clock,
    max_record: usize,
    threads: usize,
    pool: &mut Vec<Rows>,
) -> Vec<Piece> {
    if threads < 2 || bytes.len() < PARALLEL_MIN_BYTES {
        return vec![parse_piece(bytes, 0, s, clock, max_record, pool)];
    }
    let mid = bytes.len() / 2;
    let Some(rel) = memchr::memchr2(b'\n', b'\r', &bytes[mid..]) else {
        return vec![parse_piece(bytes, 0, s, clock, max_record, pool)];
    };
    let idx = mid + rel;
    let split = if bytes[idx] == b'\r' && bytes.get(idx + 1) == Some(&b'\n') {
        idx + 2
    } else {
        idx + 1
    };
    let (a, b) = bytes.split_at(split);
    let mut clock2 = clock.clone();
    let mut pool2 = pool.split_off(pool.len() / 2);
    std::thread::scope(|sc| {
        let second = sc.spawn(move || {
            let p = parse_piece(b, split, s, &mut clock2, max_record, &mut pool2);
            (p, pool2)
        });
        let first = parse_piece(a, 0, s, clock, max_record, pool);
        match second.join() {
            Ok((p, mut rest)) => {
                pool.append(&mut rest);
                vec![first, p]
            }
            // Parsing returns failures rather than panicking; should it panic, parse here.
            Err(_) => vec![first, parse_piece(b, split, s, clock, max_record, pool)],
        }
    })
}

/// Channel buffers for a new channel of a piece, recycled from earlier batches
/// so their memory is already mapped.
fn take_rows(pool: &mut Vec<Rows>, name: &[u8]) -> Rows {
    let mut r = pool.pop().unwrap_or_default();
    r.name.clear();
    r.name.extend_from_slice(name);
    r.t.clear();
    r.v.clear();
    r.line.clear();
    r
}

/// Parse complete lines into rows per channel, stopping at the first bad line.
fn parse_piece(
    bytes: &[u8],
    offset: usize,
    s: &Schema,
    clock: &mut Clock,
    max_record: usize,
    pool: &mut Vec<Rows>,
) -> Piece {
    let mut p = Piece {
        offset,
        chans: Vec::new(),
        n_lines: 0,
        n_unit_normalized: 0,
        n_headers: 0,
        rhythm: Rhythm::default(),
        last_ends_unit: None,
        failure: None,
    };
    let n_cols = s.n_cols();
    // Only the fields up to the last needed one are located; the rest are counted.
    let needed = s.time.max(s.value).max(s.channel.unwrap_or(0)) + 1;
    let mut bounds: Vec<(usize, usize)> = Vec::with_capacity(n_cols);
    let mut cur: usize = 0;
    // One pass over the piece finds both the field separators and the line
    // ends: lines are short, so a search per line would cost more in set-up
    // than in scanning.
    let mut hits = Separators::new(bytes);
    // The last row's line, for the cut-line test of a final unterminated line.
    let mut last = (0, 0);
    let mut pos = 0;
    while pos < bytes.len() {
        bounds.clear();
        let mut a = pos;
        let mut found = 1;
        let (end, next) = loop {
            match hits.next() {
                // The '\n' of a "\r\n" already ended the previous line.
                Some(i) if i < pos => continue,
                Some(i) if bytes[i] == b',' => {
                    if bounds.len() < needed {
                        bounds.push((a - pos, i - pos));
                    }
                    a = i + 1;
                    found += 1;
                }
                Some(i) => {
                    let crlf = bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n');
                    break (i, i + 1 + crlf as usize);
                }
                None => break (bytes.len(), bytes.len()),
            }
        };
        if bounds.len() < needed {
            bounds.push((a - pos, end - pos));
        }
        let line = &bytes[pos..end];
        let (index, start) = (p.n_lines, pos);
        p.n_lines += 1;
        pos = next;
        let fail = |what: What| {
            Some(Failure {
                index,
                start,
                what,
                line: line[..line.len().min(4096)].to_vec(),
            })
        };
        if line.len() > max_record {
            p.failure = fail(What::TooLong);
            return p;
        }
        if found != n_cols || bounds.len() < needed {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            p.failure = fail(What::Count { found });
            return p;
        }
        let field = |i: usize| trim_field(&line[bounds[i].0..bounds[i].1]);
        let tf = field(s.time);
        let t = match clock.parse_datetime(tf) {
            Ok(t) => t,
            Err(CivilError::Syntax(_))
                if s.epoch_ok && tf.first().is_some_and(u8::is_ascii_digit) =>
            {
                match epoch_seconds(tf) {
                    Ok(t) => t,
                    Err(e) => {
                        p.failure = fail(What::Field { column: s.time, e });
                        return p;
                    }
                }
            }
            Err(e) => {
                if !tf.first().is_some_and(u8::is_ascii_digit) && s.is_header(line) {
                    p.n_headers += 1;
                    continue;
                }
                p.failure = fail(What::Time(e));
                return p;
            }
        };
        let (v, converted) = match s.vcol.parse(field(s.value)) {
            Ok(x) => x,
            Err(e) => {
                p.failure = fail(What::Field { column: s.value, e });
                return p;
            }
        };
        p.n_unit_normalized += converted as u64;
        let id = match s.channel {
            None => {
                p.rhythm.step(t);
                0
            }
            Some(c) => {
                let name = field(c);
                if p.chans.get(cur).is_some_and(|r| same(&r.name, name)) {
                    cur
                } else {
                    match p.chans.iter().position(|r| same(&r.name, name)) {
                        Some(i) => i,
                        None => {
                            p.chans.push(take_rows(pool, name));
                            p.chans.len() - 1
                        }
                    }
                }
            }
        };
        if id == p.chans.len() {
            p.chans.push(take_rows(pool, b"0"));
        }
        // Interleaved GPUs: the next row is most likely the next channel.
        cur = if id + 1 < p.chans.len() { id + 1 } else { 0 };
        let r = &mut p.chans[id];
        r.t.push(t);
        r.v.push(v);
        r.line.push(index as u32);
        last = (start, end);
    }
    if p.chans.iter().any(|r| !r.t.is_empty()) {
        p.last_ends_unit = Some(ends_in_unit(&bytes[last.0..last.1]));
    }
    p
}

/// Equality of short names (GPU indices, bus ids) without a library call per row.
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

impl PowerReader for LogReader {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn info(&self) -> &FileInfo {
        &self.info
    }

    fn read_rows(&mut self, sink: &mut dyn RowSink, on_chunk: OnChunk<'_>) -> Result<()> {
        let (schema, info, lines, clock) = (
            &self.schema,
            &mut self.info,
            &mut self.lines,
            &mut self.clock,
        );
        let shown = info.path.clone();
        let place = |e: Error| {
            place_error(
                e,
                &shown,
                &schema.cols[schema.time].text,
                &schema.cols[schema.value].text,
            )
        };
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(2);
        let max_record = lines.max_record_bytes();
        let mut rhythm = Rhythm::default();
        let mut n_headers = 0;
        let mut last_ends_unit = None;
        let mut last_reported = u64::MAX;
        let mut pool: Vec<Rows> = Vec::new();
        loop {
            self.progress.report(&mut last_reported, on_chunk)?;
            let Some(batch) = lines.next_batch()? else {
                break;
            };
            let (first_line, offset, terminated) = (batch.number, batch.offset, batch.terminated);
            let pieces = if terminated {
                parse_batch(batch.bytes, schema, clock, max_record, threads, &mut pool)
            } else {
                vec![parse_piece(
                    batch.bytes,
                    0,
                    schema,
                    clock,
                    max_record,
                    &mut pool,
                )]
            };
            if !terminated {
                // The last line has no terminator: the file may still be being written.
                let tail = batch.bytes.to_vec();
                lines.skip_lines(1);
                info.n_lines = first_line;
                let Some(p) = pieces.into_iter().next() else {
                    break;
                };
                let rows: usize = p.chans.iter().map(|r| r.t.len()).sum();
                let cut = p.failure.is_some()
                    || (rows > 0 && last_ends_unit == Some(true) && !ends_in_unit(&tail))
                    || tail.split(|&b| b == b',').any(|f| trim_field(f).is_empty());
                if rows == 0 && p.failure.is_none() {
                    n_headers += p.n_headers;
                } else if cut {
                    info.truncated_tail = true;
                    info.warnings.push(format!(
                        "line {first_line}: the last line is incomplete and has no line terminator (file still being written?); it was dropped"
                    ));
                } else {
                    rhythm.then(&p.rhythm);
                    info.n_unit_normalized += p.n_unit_normalized;
                    push_piece(&p, sink, first_line).map_err(place)?;
                    info.unterminated_final_line = true;
                    info.warnings.push(format!(
                        "line {first_line}: the last line has no line terminator; it was complete and is kept"
                    ));
                }
                break;
            }
            let mut line_base = first_line;
            for mut p in pieces {
                push_piece(&p, sink, line_base).map_err(place)?;
                pool.append(&mut p.chans);
                info.n_unit_normalized += p.n_unit_normalized;
                n_headers += p.n_headers;
                rhythm.then(&p.rhythm);
                if p.last_ends_unit.is_some() {
                    last_ends_unit = p.last_ends_unit;
                }
                if let Some(f) = p.failure {
                    // Rows before the bad line may hold an earlier error: surface it first.
                    sink.flush().map_err(place)?;
                    let line_no = line_base + f.index;
                    let byte = offset + (p.offset + f.start) as u64;
                    return Err(row_error(f, line_no, byte, schema, &shown, clock));
                }
                line_base += p.n_lines;
            }
            lines.skip_lines(line_base - first_line);
            info.n_lines = line_base - 1;
        }
        for _ in 0..n_headers {
            info.skip("repeated header line");
        }
        if schema.rhythm_warning
            && schema.channel.is_none()
            && rhythm.steps >= 8
            && rhythm.close * 4 > rhythm.steps
        {
            info.warnings.push(format!(
                "{} of {} consecutive rows are at most 2 ms apart: several GPUs interleaved without an index/uuid column? Their rows were read as one device; pass channel=<device column> or log with --query-gpu=timestamp,index,...",
                rhythm.close, rhythm.steps
            ));
        }
        on_chunk(self.progress.get())?;
        Ok(())
    }
}

/// Epoch seconds (`1657678056.708783`), exact to the ns; only years 2000-2100
/// are accepted, so milliseconds or nanoseconds are not misread as seconds.
fn epoch_seconds(f: &[u8]) -> std::result::Result<i64, FieldError> {
    const LO: i64 = 946_684_800_000_000_000;
    const HI: i64 = 4_102_444_800_000_000_000;
    match crate::time::parse_decimal_seconds(f) {
        Ok(t) if (LO..HI).contains(&t) => Ok(t),
        Ok(_) | Err(crate::time::DecimalError::Overflow) => Err(FieldError {
            reason: "epoch seconds outside the years 2000-2100".into(),
            hint: "is the time in milliseconds or nanoseconds? convert it to seconds or to a date-time".into(),
        }),
        Err(_) => Err(FieldError {
            reason: "neither a date-time nor epoch seconds".into(),
            hint: "times look like 2022-07-13 02:07:36.708783111 or 1657678056.708783111".into(),
        }),
    }
}

/// Hand a piece's rows to the sink, a channel at a time.
fn push_piece(p: &Piece, sink: &mut dyn RowSink, line_base: u64) -> Result<()> {
    for r in &p.chans {
        let id = sink.channel_id(&r.name);
        sink.push_rows(id, &r.t, &r.v, line_base, &r.line)?;
    }
    Ok(())
}

/// The error for the first bad line of a piece.
fn row_error(f: Failure, line: u64, byte: u64, s: &Schema, path: &str, clock: &Clock) -> Error {
    let at = Location {
        path: Some(path.into()),
        line: Some(line),
        byte_offset: Some(byte),
        ..Location::default()
    };
    let bytes = &f.line;
    if let Err(e) = check_utf8(bytes, path, line, byte) {
        return e;
    }
    let field_at = |col: usize| -> (Location, String) {
        let mut a = 0;
        let mut bounds = (0, bytes.len());
        for (i, piece) in bytes.split(|&b| b == b',').enumerate() {
            if i == col {
                bounds = (a, a + piece.len());
                break;
            }
            a += piece.len() + 1;
        }
        let lead = bytes[bounds.0..bounds.1]
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        (
            Location {
                column: Some(s.cols[col].text.clone()),
                column_index: Some(col as u32),
                byte_offset: Some(byte + (bounds.0 + lead) as u64),
                ..at.clone()
            },
            String::from_utf8_lossy(trim_field(&bytes[bounds.0..bounds.1])).into_owned(),
        )
    };
    match f.what {
        What::TooLong => Error::RecordTooLong {
            at,
            limit: bytes.len().max(1),
        },
        What::Count { found } => Error::UnequalLengths {
            at,
            expected: s.n_cols(),
            found,
            hint: if found > s.n_cols() {
                "a comma inside a value? nvidia-smi separates fields with ', '".into()
            } else {
                "a missing field; is the row cut short?".into()
            },
        },
        What::Field { column, e } => {
            let (at, value) = field_at(column);
            Error::BadValue {
                at,
                value,
                reason: e.reason,
                hint: e.hint,
            }
        }
        What::Time(e) => {
            let (at, value) = field_at(s.time);
            time_error(e, at, value, clock)
        }
    }
}

/// A timestamp that failed: bad text, a DST gap or fold, or out of range.
pub(crate) fn time_error(e: CivilError, at: Location, value: String, clock: &Clock) -> Error {
    match e {
        CivilError::Syntax(reason) => Error::BadValue {
            at,
            value,
            reason: reason.into(),
            hint: "timestamps are local times like 2025/06/09 23:21:26.037 (nvidia-smi) or 2022-07-13 02:07:36.708783111 (Zeus)".into(),
        },
        CivilError::Nonexistent(reason) | CivilError::Ambiguous(reason) => Error::AmbiguousLocalTime {
            at,
            value,
            tz: clock.zone_name().unwrap_or("UTC").to_string(),
            reason,
        },
        CivilError::Overflow => Error::TimestampOverflow { at, value },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::sink::Collector;
    use crate::read::test_util::*;

    const F: Option<Format> = Some(Format::NvidiaSmi);

    fn err(name: &str, body: &str, c: &ReadConfig) -> Error {
        read_err("smi", name, body, F, c)
    }

    fn ok(name: &str, body: &str, c: &ReadConfig) -> (crate::read::FileIntegration, Collector) {
        read_ok("smi", name, body, F, c)
    }

    const REAL: &str = "timestamp, power.draw [W], utilization.gpu [%], utilization.memory [%], memory.used [MiB]\n\
        2025/06/09 23:21:26.037, 30.80 W, 0 %, 0 %, 686 MiB\n\
        2025/06/09 23:21:26.141, 31.00 W, 0 %, 0 %, 686 MiB\n\
        2025/06/09 23:21:26.244, [N/A], 0 %, 0 %, 686 MiB\n\
        2025/06/09 23:21:26.347, 57.13 W, 8 %, 1 %, 686 MiB\n";

    proptest::proptest! {
        #[test]
        fn the_one_pass_decimal_equals_the_full_parser(int in 0u64..10_000_000, frac in 0u64..100_000_000, digits in 0usize..9, unit in "( ?W| mW|)") {
            let num = if digits == 0 { int.to_string() } else { format!("{int}.{}", &format!("{frac:0>8}")[..digits]) };
            let field = format!("{num}{unit}");
            if let Some((x, end)) = leading_decimal(field.as_bytes()) {
                proptest::prop_assert_eq!(&field[..end], num.as_str());
                proptest::prop_assert_eq!(Some(x.to_bits()), parse_f64(num.as_bytes()).map(f64::to_bits));
            }
        }

        #[test]
        fn separators_are_found_in_order(bytes in proptest::collection::vec(proptest::prop_oneof![b'a'..=b'c', proptest::strategy::Just(b','), proptest::strategy::Just(b'\n'), proptest::strategy::Just(b'\r')], 0..200)) {
            let want: Vec<usize> = bytes.iter().enumerate().filter(|(_, c)| matches!(c, b',' | b'\n' | b'\r')).map(|(i, _)| i).collect();
            proptest::prop_assert_eq!(Separators::new(&bytes).collect::<Vec<_>>(), want);
        }
    }

    #[test]
    fn reads_the_real_layout_at_every_chunk_size() {
        let (fi, kept) = ok("real.csv", REAL, &cfg(1 << 20));
        assert!(sniff(REAL.as_bytes()));
        assert_eq!(fi.layout.power_semantics, "unknown");
        assert!(fi.layout.naive_time);
        assert_eq!(fi.layout.value_column, "power.draw [W]");
        assert_eq!(fi.layout.time_column, "timestamp");
        assert_eq!(fi.info.n_lines, 5);
        let s = &kept.channels[0];
        assert_eq!(s.name, "0");
        assert_eq!(s.t_ns[0], 1_749_511_286_037_000_000);
        assert!(s.value[2].is_nan());
        assert_eq!(s.line, vec![2, 3, 4, 5]);
        let p = &fi.channels[0].1;
        assert_eq!(p.counts.n_nonfinite, 1);
        let want = 0.104 * (30.80 + 31.00) / 2.0 + 0.206 * (31.00 + 57.13) / 2.0;
        assert!(
            (p.energy_j() - want).abs() < 1e-12,
            "{} vs {want}",
            p.energy_j()
        );
    }

    #[test]
    fn picks_instant_over_draw_and_keys_on_uuid_then_bus_then_index() {
        let body = "index, pci.bus_id, timestamp, power.draw.average [W], power.draw [W], power.draw.instant [W]\n\
            0, 00000000:01:00.0, 2025/01/01 00:00:00.000, 100 W, 200 W, 300 W\n\
            1, 00000000:02:00.0, 2025/01/01 00:00:00.000, 10 W, 20 W, 30 W\n\
            0, 00000000:01:00.0, 2025/01/01 00:00:01.000, 100 W, 200 W, 300 W\n\
            1, 00000000:02:00.0, 2025/01/01 00:00:01.000, 10 W, 20 W, 30 W\n";
        let (fi, kept) = ok("pick.csv", body, &cfg(1 << 20));
        assert_eq!(fi.layout.power_semantics, "instant");
        assert_eq!(kept.channels[0].name, "00000000:01:00.0");
        assert_eq!(fi.channels[0].1.energy_j(), 300.0);
        assert_eq!(fi.channels[1].1.energy_j(), 30.0);
        let mut c = cfg(1 << 20);
        c.value = Some("power.draw.average [W]".into());
        c.channel = Some("index".into());
        let (fi, kept) = ok("pick.csv", body, &c);
        assert_eq!(fi.layout.power_semantics, "avg_1s");
        assert_eq!(kept.channels[1].name, "1");
        assert_eq!(fi.channels[1].1.energy_j(), 10.0);
        c.value = Some("power.draw".into());
        let (fi, _) = ok("pick.csv", body, &c);
        assert_eq!(fi.layout.power_semantics, "unknown");
        assert_eq!(fi.channels[0].1.energy_j(), 200.0);
    }

    #[test]
    fn units_are_checked_against_the_header() {
        let body = "timestamp, power.draw [W]\n2025/01/01 00:00:00, 1000 mW\n2025/01/01 00:00:01, 1\n2025/01/01 00:00:02, 0.001 kW\n2025/01/01 00:00:03,1W\n";
        let (fi, _) = ok("units.csv", body, &cfg(1 << 20));
        assert_eq!(fi.info.n_unit_normalized, 2);
        assert_eq!(fi.channels[0].1.energy_j(), 3.0);
        let e = err(
            "badunit.csv",
            "timestamp, power.draw [W]\n2025/01/01 00:00:00, 1 W\n2025/01/01 00:00:01, 686 MiB\n",
            &cfg(1 << 20),
        );
        assert_eq!(e.code(), "bad_value");
        let at = e.location().expect("located");
        assert_eq!(
            (at.line, at.column.as_deref(), at.column_index),
            (Some(3), Some("power.draw [W]"), Some(1))
        );
        assert_eq!(e.value().as_deref(), Some("686 MiB"));
        assert!(
            e.to_string()
                .contains("unit 'MiB' not allowed in column declared [W]"),
            "{e}"
        );
        let e = err(
            "badnum.csv",
            "timestamp, power.draw [W]\n2025/01/01 00:00:00, 1 W\n2025/01/01 00:00:01, 1O3.5 W\n",
            &cfg(1 << 20),
        );
        assert_eq!(e.code(), "bad_value");
        assert_eq!(e.value().as_deref(), Some("1O3.5 W"));
        assert_eq!(e.location().and_then(|l| l.byte_offset), Some(26 + 25 + 21));
        let mut c = cfg(1 << 20);
        c.value = Some("memory.used".into());
        let e = err(
            "mem.csv",
            "timestamp, memory.used [MiB]\n2025/01/01 00:00:00, 1 MiB\n",
            &c,
        );
        assert_eq!(e.code(), "schema");
    }

    #[test]
    fn schema_errors_name_what_is_missing() {
        let c = cfg(1 << 20);
        let e = err(
            "nopower.csv",
            "timestamp, memory.used [MiB]\n2025/01/01 00:00:00, 1 MiB\n",
            &c,
        );
        assert_eq!(e.code(), "schema");
        assert!(e.to_string().contains("power.draw.instant"), "{e}");
        let e = err("notime.csv", "index, power.draw [W]\n0, 1 W\n", &c);
        assert_eq!(e.code(), "schema");
        let e = err(
            "noheader.csv",
            "2025/01/01 00:00:00, 1 W\n2025/01/01 00:00:01, 1 W\n",
            &c,
        );
        assert_eq!(e.code(), "schema");
        assert!(e.hint().unwrap_or_default().contains("columns="), "{e}");
        let mut c2 = c.clone();
        c2.channel = Some("gpu_name".into());
        assert_eq!(err("nochan.csv", REAL, &c2).code(), "schema");
        let mut c2 = c.clone();
        c2.prefer = Some(Prefer::Energy);
        assert_eq!(err("noenergy.csv", REAL, &c2).code(), "schema");
        assert_eq!(err("empty.csv", "", &c).code(), "empty_input");
        assert_eq!(err("blank.csv", "\n \n", &c).code(), "empty_input");
        let e = err("headeronly.csv", "timestamp, power.draw [W]\n", &c);
        assert_eq!(e.code(), "insufficient_samples");
        let e = err(
            "short.csv",
            "timestamp, power.draw [W], index\n2025/01/01 00:00:00, 1 W\n",
            &c,
        );
        assert_eq!(e.code(), "unequal_lengths");
        assert_eq!(e.location().and_then(|l| l.line), Some(2));
        let e = err(
            "badtime.csv",
            "timestamp, power.draw [W]\n2025/01/01 00:00:00, 1 W\n2025/13/01 00:00:00, 1 W\n",
            &c,
        );
        assert_eq!(e.code(), "bad_value");
        assert_eq!(
            e.location().and_then(|l| l.column.clone()).as_deref(),
            Some("timestamp")
        );
        let mut c2 = c.clone();
        c2.tz = Some("Nowhere/Special".into());
        assert_eq!(err("badtz.csv", REAL, &c2).code(), "invalid_argument");
    }

    #[test]
    fn ordering_errors_point_at_the_line_and_hint_at_interleaving() {
        let c = cfg(1 << 20);
        let e = err("unsorted.csv", "timestamp, power.draw [W]\n2025/01/01 00:00:02, 1 W\n2025/01/01 00:00:03, 1 W\n2025/01/01 00:00:01, 1 W\n", &c);
        assert_eq!(e.code(), "unsorted_timestamps");
        let at = e.location().expect("located");
        assert_eq!(
            (at.line, at.column.as_deref()),
            (Some(4), Some("timestamp"))
        );
        // Two GPUs, no key column, same timestamps.
        let e = err("interleaved.csv", "timestamp, power.draw [W]\n2025/01/01 00:00:00.000, 100 W\n2025/01/01 00:00:00.000, 50 W\n2025/01/01 00:00:01.000, 100 W\n2025/01/01 00:00:01.000, 50 W\n", &c);
        assert_eq!(e.code(), "conflicting_duplicate");
        assert_eq!(e.location().and_then(|l| l.line), Some(3));
        assert!(e.hint().unwrap_or_default().contains("interleaved"), "{e}");
        // Two GPUs a millisecond apart: nothing trips, the rhythm gives them away.
        let mut body = String::from("timestamp, power.draw [W]\n");
        for i in 0..20 {
            body += &format!(
                "2025/01/01 00:00:{:02}.100, 100 W\n2025/01/01 00:00:{:02}.101, 50 W\n",
                i, i
            );
        }
        let (fi, _) = ok("rhythm.csv", &body, &c);
        assert_eq!(fi.info.warnings.len(), 1, "{:?}", fi.info.warnings);
        assert!(fi.info.warnings[0].contains("interleaved"));
        let (fi, _) = ok("real.csv", REAL, &c);
        assert!(fi.info.warnings.is_empty());
    }

    #[test]
    fn naive_times_in_a_zone_and_dst() {
        let mut c = cfg(1 << 20);
        c.tz = Some("Europe/Berlin".into());
        let (fi, kept) = ok("real.csv", REAL, &c);
        assert!(!fi.layout.naive_time);
        assert_eq!(fi.layout.tz.as_deref(), Some("Europe/Berlin"));
        assert_eq!(
            kept.channels[0].t_ns[0],
            1_749_511_286_037_000_000 - 2 * 3_600_000_000_000
        );
        let (naive, _) = ok("real.csv", REAL, &cfg(1 << 20));
        assert_eq!(fi.channels[0].1.energy_j(), naive.channels[0].1.energy_j());
        let gap = "timestamp, power.draw [W]\n2024/03/31 01:59:59.900, 1 W\n2024/03/31 02:00:00.000, 1 W\n";
        let e = err("gap.csv", gap, &c);
        assert_eq!(e.code(), "ambiguous_local_time");
        let at = e.location().expect("located");
        assert_eq!(
            (at.line, at.column.as_deref()),
            (Some(3), Some("timestamp"))
        );
        assert_eq!(e.value().as_deref(), Some("2024/03/31 02:00:00.000"));
        assert!(e.to_string().contains("Europe/Berlin"), "{e}");
        let fold = "timestamp, power.draw [W]\n2024/10/27 01:59:59.900, 1 W\n2024/10/27 02:00:00.000, 1 W\n";
        assert_eq!(err("fold.csv", fold, &c).code(), "ambiguous_local_time");
        // Without a zone the same lines are plain UTC and fine.
        ok("gap.csv", gap, &cfg(1 << 20));
    }

    #[test]
    fn final_lines_cut_or_complete() {
        let c = cfg(1 << 20);
        let head = "timestamp, power.draw [W], memory.used [MiB]\n2025/01/01 00:00:00, 10 W, 1 MiB\n2025/01/01 00:00:01, 10 W, 1 MiB\n";
        let (fi, _) = ok(
            "complete.csv",
            &format!("{head}2025/01/01 00:00:02, 10 W, 1 MiB"),
            &c,
        );
        assert!(fi.info.unterminated_final_line && !fi.info.truncated_tail);
        assert_eq!(fi.channels[0].1.energy_j(), 20.0);
        assert_eq!(fi.info.warnings.len(), 1);
        for cut in [
            "2025/01/01 00:00:02, 10 W, 1",
            "2025/01/01 00:00:02, 10 W, ",
            "2025/01/01 00:00:02, 1",
            "2025/01/01 00:0",
        ] {
            let (fi, _) = ok("cut.csv", &format!("{head}{cut}"), &c);
            assert!(
                fi.info.truncated_tail && !fi.info.unterminated_final_line,
                "{cut}"
            );
            assert_eq!(fi.channels[0].1.energy_j(), 10.0, "{cut}");
        }
    }

    #[test]
    fn bom_crlf_blank_lines_repeated_headers_and_nounits() {
        let body = "\u{feff}timestamp, index, power.draw [W]\r\n2025/01/01 00:00:00.000, 0, 10\r\n\r\n2025/01/01 00:00:01.000, 0, 10\r\ntimestamp, index, power.draw [W]\r\n2025/01/01 00:00:02.000, 0, 20\r\n";
        let (fi, _) = ok("crlf.csv", body, &cfg(1 << 20));
        assert!(fi.info.had_bom);
        assert_eq!(fi.channels[0].1.energy_j(), 25.0);
        assert_eq!(
            fi.info.skipped,
            vec![("repeated header line".to_string(), 1)]
        );
        assert_eq!(fi.info.n_lines, 6);
    }

    #[test]
    fn noheader_files_take_the_query_list() {
        let body = "2025/01/01 00:00:00.000, 0, 10.5\n2025/01/01 00:00:00.000, 1, 20\n2025/01/01 00:00:01.000, 0, 10.5\n2025/01/01 00:00:01.000, 1, 20\n";
        let p = write("smi", "noheader.csv", body.as_bytes());
        let c = cfg(1 << 20);
        let src = crate::read::source::open_text(&p, &c.limits).expect("readable");
        let r =
            open_with_columns(src, &c, Some("timestamp,index,power.draw")).expect("valid columns");
        let fi =
            crate::read::integrate_reader(r, &crate::Options::default(), None, &mut |_| Ok(()))
                .expect("valid");
        assert_eq!(fi.channels.len(), 2);
        assert_eq!(fi.channels[0].1.energy_j(), 10.5);
        assert_eq!(fi.layout.value_column, "power.draw");
        let src = crate::read::source::open_text(&p, &c.limits).expect("readable");
        let e = open_with_columns(src, &c, Some("timestamp,index,utilization.gpu"))
            .err()
            .expect("no power");
        assert_eq!(e.code(), "schema");
    }

    /// The real logs in `shared/data/real` (skipped when absent); energies
    /// checked independently with Python's datetime and a plain trapezoid sum.
    #[test]
    fn real_logs_integrate_to_the_independent_reference() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/real");
        if !dir.is_dir() {
            return;
        }
        let smi = dir.join("nvidia-smi-inference-serving-logs");
        for (file, n, span_s, energy) in [
            ("gpu_metrics_log.csv", 426, 426.467, 12725.7853),
            (
                "gpu_metrics_mobilenet_steady_highfreq_run1.csv",
                537,
                55.382,
                1738.6382,
            ),
            (
                "gpu_metrics_resnet50_burst_highfreq_run1.csv",
                573,
                59.091,
                2396.9376,
            ),
            (
                "gpu_metrics_resnet50_low_highfreq_run1.csv",
                569,
                58.685,
                2203.5281,
            ),
            (
                "gpu_metrics_resnet50_steady_highfreq_run1.csv",
                526,
                54.226,
                1798.2502,
            ),
            (
                "gpu_metrics_resnet_burst_run1.csv",
                4220,
                4233.204,
                112850.3655,
            ),
        ] {
            let p = smi.join(file);
            let (fi, _) = same_at_every_chunk(&p, None, &cfg(1 << 20))
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(fi.layout.format, Format::NvidiaSmi, "{file}");
            let c = &fi.channels[0].1;
            assert_eq!(c.counts.n_samples, n, "{file}");
            assert_eq!(c.span_ns(), (span_s * 1e9_f64).round() as i64, "{file}");
            assert!(
                (c.energy_j() - energy).abs() < 1e-4,
                "{file}: {}",
                c.energy_j()
            );
        }
        let (fi, _) = same_at_every_chunk(
            &dir.join("zeus-nvml-sample/sample.csv"),
            None,
            &cfg(1 << 20),
        )
        .unwrap_or_else(|e| panic!("zeus: {e}"));
        assert_eq!(fi.layout.format, Format::Zeus);
        let c = &fi.channels[0].1;
        assert_eq!((c.counts.n_samples, c.span_ns()), (19, 958_481_625));
        assert!(
            (c.energy_j() - 31.00415520421).abs() < 1e-9,
            "{}",
            c.energy_j()
        );
    }

    #[test]
    fn large_interleaved_file_equals_the_plain_parse() {
        // Big enough for the two-thread split; 4 GPUs by uuid, [N/A] and mW sprinkled in.
        let mut body = String::from("timestamp, uuid, power.draw.instant [W], memory.used [MiB]\n");
        let mut want: Vec<(Vec<i64>, Vec<f64>)> = vec![(Vec::new(), Vec::new()); 4];
        let t0 = crate::read::civil::days_from_civil(2025, 6, 9) * 86_400_000_000_000;
        for tick in 0..6000i64 {
            let ms = tick * 100;
            let (s, frac) = (ms / 1000, ms % 1000);
            for g in 0..4usize {
                let w = 50.0 + ((tick * 7 + g as i64 * 13) % 300) as f64 * 0.25;
                let field = match (tick + g as i64) % 97 {
                    0 => "[N/A]".to_string(),
                    1 => format!("{} mW", w * 1000.0),
                    _ => format!("{w:.2} W"),
                };
                body += &format!(
                    "2025/06/09 {:02}:{:02}:{:02}.{frac:03}, GPU-{g}aaa, {field}, 686 MiB\n",
                    s / 3600,
                    (s / 60) % 60,
                    s % 60
                );
                if !field.starts_with('[') {
                    want[g].0.push(t0 + ms * 1_000_000);
                    want[g].1.push(w);
                }
            }
        }
        assert!(body.len() > 2 * PARALLEL_MIN_BYTES);
        let (fi, kept) = ok("big.csv", &body, &cfg(1 << 20));
        assert_eq!(fi.channels.len(), 4);
        for g in 0..4 {
            assert_eq!(kept.channels[g].name, format!("GPU-{g}aaa"));
            let e = fi.channels[g].1.energy_j();
            let ref_e = trapezoid(&want[g].0, &want[g].1);
            assert!((e - ref_e).abs() < 1e-9 * ref_e, "{e} vs {ref_e}");
        }
        assert!(fi.info.n_unit_normalized > 0);
    }
}
