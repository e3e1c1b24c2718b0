//! Rows of the canonical CSV: schema, field splitting and value parsing, and
//! parsing of whole runs of lines, in parallel when the run is large.

use crate::config::{Options, Rule};
use crate::error::{Error, Location, Result};
use crate::read::fields::{
    digit_prefix, digits_value, is_null_token, nondigit_mask, parse_f64, trim_field, word_at, POW10,
};
use crate::read::Prefer;
use crate::time::{parse_decimal_seconds, parse_integer_ns, DecimalError, NS_PER_DECIMAL};

#[derive(Clone, Copy, PartialEq)]
pub(super) enum TimeKind {
    Nanoseconds,
    Seconds,
}

/// Where the needed columns sit in each row.
pub(super) struct Schema {
    pub n_cols: usize,
    pub time: usize,
    pub time_kind: TimeKind,
    pub value: usize,
    /// Multiply parsed values by this (mW → W).
    pub value_scale: f64,
    pub channel: Option<usize>,
    pub names: Vec<String>,
}

/// The columns a caller names (`value=`, `channel=`) or the quantity it prefers.
#[derive(Clone, Copy, Default)]
pub(super) struct ColumnPick<'a> {
    pub value: Option<&'a str>,
    pub channel: Option<&'a str>,
    pub prefer: Option<Prefer>,
}

const TIME_COLUMNS: [(&str, TimeKind); 2] = [
    ("timestamp_ns", TimeKind::Nanoseconds),
    ("time_s", TimeKind::Seconds),
];

impl Schema {
    /// Read the header; also adapts `opts` when the value column is a counter.
    /// `pick` names the value and channel columns or the quantity to prefer
    /// when a file has both power and a counter (a live recording keeps both).
    pub(super) fn from_header(
        line: &[u8],
        path: &str,
        opts: &mut Options,
        pick: &ColumnPick<'_>,
    ) -> Result<Schema> {
        let names: Vec<String> = line
            .split(|&b| b == b',')
            .map(|f| String::from_utf8_lossy(trim_field(f)).trim().to_string())
            .collect();
        let find = |n: &str| names.iter().position(|c| c == n);
        let schema_err = |found: String| {
            Error::Schema {
            at: Location { path: Some(path.into()), line: Some(1), ..Location::default() },
            expected: "a time column (timestamp_ns or time_s) and a value column (power_w, power_mw, energy_j or energy_mj)".into(),
            found,
            hint: "the canonical header is 'timestamp_ns,power_w' or 'time_s,power_w', optionally with 'channel'; other formats come with their own readers".into(),
        }
        };
        let found = format!("columns [{}]", names.join(", "));
        let Some((time, time_kind)) = TIME_COLUMNS
            .iter()
            .find_map(|(n, k)| find(n).map(|i| (i, *k)))
        else {
            return Err(schema_err(found));
        };
        let named = |what: &str, name: &str| Error::Schema {
            at: Location {
                path: Some(path.into()),
                line: Some(1),
                column: Some(name.into()),
                ..Location::default()
            },
            expected: format!("a {what} column named '{name}'"),
            found: format!("columns [{}]", names.join(", ")),
            hint: format!("name one of the header's columns with {what}="),
        };
        let candidates: &[&str] = match (pick.value, pick.prefer) {
            (Some(v), _) => {
                if find(v).is_none() {
                    return Err(named("value", v));
                }
                &[]
            }
            (None, Some(Prefer::Energy)) => &["energy_j", "energy_mj", "power_w", "power_mw"],
            (None, Some(Prefer::Power)) => &["power_w", "power_mw"],
            (None, None) => &["power_w", "power_mw", "energy_j", "energy_mj"],
        };
        let column = match pick.value {
            Some(v) => Some(v),
            None => candidates.iter().copied().find(|n| find(n).is_some()),
        };
        let (value, value_scale) = match column {
            // Any other named column is read as power in W.
            Some(n @ ("energy_j" | "energy_mj")) => {
                opts.rule = Rule::Counter;
                opts.counter_unit_j = if n == "energy_mj" { 1e-3 } else { 1.0 };
                (find(n), 1.0)
            }
            Some(n @ "power_mw") => (find(n), 1e-3),
            Some(n) => (find(n), 1.0),
            None => (None, 1.0),
        };
        let Some(value) = value else {
            return Err(schema_err(found));
        };
        let channel = match pick.channel {
            Some(c) => Some(find(c).ok_or_else(|| named("channel", c))?),
            None => find("channel"),
        };
        Ok(Schema {
            n_cols: names.len(),
            time,
            time_kind,
            value,
            value_scale,
            channel,
            names,
        })
    }
}

/// A row field that failed to parse.
pub(super) struct FieldError {
    pub column: usize,
    pub reason: String,
    pub hint: String,
}

/// The fields of one line, as offsets into it.
pub(super) struct Fields<'a> {
    pub line: &'a [u8],
    pub bounds: &'a [(usize, usize)],
}

impl<'a> Fields<'a> {
    pub fn len(&self) -> usize {
        self.bounds.len()
    }

    pub fn get(&self, i: usize) -> &'a [u8] {
        let (a, b) = self.bounds[i];
        &self.line[a..b]
    }
}

pub(super) fn split_fields(line: &[u8], out: &mut Vec<(usize, usize)>) {
    out.clear();
    let mut start = 0;
    for i in memchr::memchr_iter(b',', line) {
        out.push((start, i));
        start = i + 1;
    }
    out.push((start, line.len()));
}

pub(super) fn parse_row(
    fields: &Fields<'_>,
    s: &Schema,
) -> std::result::Result<(i64, f64), FieldError> {
    let tf = trim_field(fields.get(s.time));
    let t = match s.time_kind {
        TimeKind::Nanoseconds => parse_integer_ns(tf),
        TimeKind::Seconds => parse_decimal_seconds(tf),
    };
    let t_ns = t.map_err(|e| FieldError {
        column: s.time,
        reason: match e {
            DecimalError::Syntax if s.time_kind == TimeKind::Nanoseconds => {
                "cannot read it as integer nanoseconds".into()
            }
            DecimalError::Syntax => "cannot read it as decimal seconds".into(),
            DecimalError::TooPrecise => "more than 9 decimals: finer than a nanosecond".into(),
            DecimalError::Overflow => "outside the int64 nanosecond range (years 1677-2262)".into(),
        },
        hint: match s.time_kind {
            TimeKind::Nanoseconds => {
                "timestamp_ns holds integer nanoseconds since 1970, e.g. 1717000000123456789".into()
            }
            TimeKind::Seconds => "time_s holds decimal seconds, e.g. 1717000000.123456".into(),
        },
    })?;
    let vf = trim_field(fields.get(s.value));
    let value = if is_null_token(vf) {
        f64::NAN
    } else {
        parse_f64(vf).ok_or_else(|| FieldError {
            column: s.value,
            reason: format!("cannot read '{}' as a number", String::from_utf8_lossy(vf)),
            hint: "values are plain decimal numbers in the unit the header names; units inside values belong to other readers".into(),
        })? * s.value_scale
    };
    Ok((t_ns, value))
}

/// The first thing wrong in a piece; parsing stops there.
pub(super) enum RowFailure {
    Count { found: usize },
    Field(FieldError),
    TooLong,
}

/// Rows parsed from a run of complete lines, positions relative to the run.
pub(super) struct Parsed {
    /// Byte offset of the piece within its batch.
    pub offset: usize,
    pub t: Vec<i64>,
    pub v: Vec<f64>,
    /// Local channel ids, indexing `names`.
    pub ch: Vec<u32>,
    /// `(row, line)`: from row `row` on, rows sit on consecutive lines from
    /// line index `line` (0-based within the piece), up to the next entry.
    /// Before the first entry row `i` is on line `i`. Only lines without a
    /// row (blank ones) start an entry, so a clean piece has none and the hot
    /// loop keeps no per-row line bookkeeping.
    pub runs: Vec<(u32, u32)>,
    pub names: Vec<Vec<u8>>,
    /// Lines read, the failing one included.
    pub n_lines: u64,
    /// (line index, byte offset in the piece, what, the line's bytes).
    pub failure: Option<(u64, usize, RowFailure, Vec<u8>)>,
}

impl Parsed {
    pub fn new() -> Parsed {
        Parsed {
            offset: 0,
            t: Vec::new(),
            v: Vec::new(),
            ch: Vec::new(),
            runs: Vec::new(),
            names: Vec::new(),
            n_lines: 0,
            failure: None,
        }
    }

    /// Line index within the piece of row `row`.
    pub fn line_of(&self, row: usize) -> u32 {
        let k = self.runs.partition_point(|&(r, _)| r as usize <= row);
        match k.checked_sub(1).map(|k| self.runs[k]) {
            Some((r, l)) => l + (row as u32 - r),
            None => row as u32,
        }
    }

    /// Whether row `i` sits on line `i` for every row.
    pub fn lines_are_rows(&self) -> bool {
        self.runs.is_empty()
    }

    /// A line without a row: the rows after it start a new run.
    fn skip_line(&mut self) {
        let row = self.t.len() as u32;
        let next_line = self.n_lines as u32;
        match self.runs.last_mut() {
            Some(last) if last.0 == row => last.1 = next_line,
            _ => self.runs.push((row, next_line)),
        }
    }
}

/// Bytes per piece of a batch: small enough that the two parsing threads
/// share a batch evenly whatever else runs, large enough that handing a piece
/// over is noise (about 10,000 rows).
pub(super) const PIECE_BYTES: usize = 256 * 1024;

/// Cut `bytes` (complete lines) into pieces of about [`PIECE_BYTES`] at line
/// ends: piece `i` is `bytes[cuts[i]..cuts[i + 1]]`.
pub(super) fn cut_points(bytes: &[u8]) -> Vec<usize> {
    let n = bytes.len() / PIECE_BYTES;
    let mut cuts = Vec::with_capacity(n + 2);
    cuts.push(0);
    for j in 1..n.max(1) {
        let from = (j * bytes.len() / n).max(cuts[cuts.len() - 1]);
        let Some(rel) = memchr::memchr2(b'\n', b'\r', &bytes[from..]) else {
            break;
        };
        let idx = from + rel;
        let at = if bytes[idx] == b'\r' && bytes.get(idx + 1) == Some(&b'\n') {
            idx + 2
        } else {
            idx + 1
        };
        if at >= bytes.len() {
            break;
        }
        cuts.push(at);
    }
    cuts.push(bytes.len());
    cuts
}

/// Parse complete lines (each ending in `\n`, `\r\n` or `\r`, the last
/// possibly not) into `p`, an earlier piece whose buffers are reused: fresh
/// allocations of this size cost page faults on every batch.
pub(super) fn parse_piece(
    mut p: Parsed,
    bytes: &[u8],
    offset: usize,
    s: &Schema,
    max_record: usize,
) -> Parsed {
    p.offset = offset;
    p.t.clear();
    p.v.clear();
    p.ch.clear();
    p.runs.clear();
    p.names.clear();
    p.n_lines = 0;
    p.failure = None;
    let cap = bytes.len() / 16;
    p.t.reserve(cap);
    p.v.reserve(cap);
    let mut bounds: Vec<(usize, usize)> = Vec::with_capacity(s.n_cols);
    // The canonical two-column file gets a one-pass parser; any line it does not
    // take (spaces, quotes, exponents, missing values...) goes the general way.
    let two_plain = s.n_cols == 2 && s.time == 0 && s.value == 1 && s.channel.is_none();
    // Every line the eight-byte path takes is within the record limit, unless
    // the limit is tiny; then the byte-wise path checks each line.
    let mut fast = (two_plain && max_record >= FAST_LINE_MAX).then(|| {
        Box::new(FastRun {
            t: [0; FAST_RUN],
            m: [0.0; FAST_RUN],
            d: [0.0; FAST_RUN],
            head: NO_HEAD,
        })
    });
    let mut pos = 0;
    while pos < bytes.len() {
        if let Some(run) = fast.as_deref_mut() {
            let (stop, taken) = fast_rows(bytes, pos, s.time_kind, run);
            pos = stop;
            p.t.extend_from_slice(&run.t[..taken]);
            // Auto-vectorized: four divisions per instruction.
            p.v.extend(
                run.m[..taken]
                    .iter()
                    .zip(&run.d[..taken])
                    .map(|(&m, &d)| m / d * s.value_scale),
            );
            p.n_lines += taken as u64;
            if taken > 0 {
                continue;
            }
        }
        let (end, next) = match memchr::memchr2(b'\n', b'\r', &bytes[pos..]) {
            Some(rel) => {
                let idx = pos + rel;
                let skip = if bytes[idx] == b'\r' && bytes.get(idx + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                (idx, idx + skip)
            }
            None => (bytes.len(), bytes.len()),
        };
        let line = &bytes[pos..end];
        let (index, start) = (p.n_lines, pos);
        p.n_lines += 1;
        let fail =
            |what: RowFailure| Some((index, start, what, line[..line.len().min(4096)].to_vec()));
        if line.len() > max_record {
            p.failure = fail(RowFailure::TooLong);
            return p;
        }
        pos = next;
        if two_plain {
            if let Some((t, v)) = plain_two_columns(line, s.time_kind) {
                p.t.push(t);
                p.v.push(v * s.value_scale);
                continue;
            }
        }
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            p.skip_line();
            continue;
        }
        split_fields(line, &mut bounds);
        let fields = Fields {
            line,
            bounds: &bounds,
        };
        if fields.len() != s.n_cols {
            p.failure = fail(RowFailure::Count {
                found: fields.len(),
            });
            return p;
        }
        match parse_row(&fields, s) {
            Ok((t, v)) => {
                p.t.push(t);
                p.v.push(v);
                if let Some(c) = s.channel {
                    let name = trim_field(fields.get(c));
                    let id = match p.names.iter().position(|n| n == name) {
                        Some(id) => id,
                        None => {
                            p.names.push(name.to_vec());
                            p.names.len() - 1
                        }
                    };
                    p.ch.push(id as u32);
                }
            }
            Err(fe) => {
                p.failure = fail(RowFailure::Field(fe));
                return p;
            }
        }
    }
    p
}

/// Exact powers of ten as integers, for joining digit runs.
const POW10_U64: [u64; 20] = {
    let mut p = [1u64; 20];
    let mut i = 1;
    while i < 20 {
        p[i] = p[i - 1] * 10;
        i += 1;
    }
    p
};

/// `digits[.digits]` at `b[at..]`, eight bytes at a time, as (all digits as
/// one integer, digit count, digits after the point, whether there was a
/// point, index of the first byte after it). `None` past 19 digits, or when a
/// load would pass the end of `b` (the caller then takes the byte-wise path).
///
/// `(m, digits)` may say that the `digits` bytes before `at` were digits of
/// value `m` already (a whole window, no point), so the run goes on from there.
///
/// A point inside a window is stepped over: when the run also ends in the
/// window, the bytes after the point are shifted down over it; otherwise the
/// window is blended with the one a byte further on (bytes before the point
/// from the first, after it from the second). Either way eight digits are
/// converted at once, whatever side of the point they sit on.
#[inline(always)]
fn swar_decimal(b: &[u8], at: usize, m: u64, digits: u32) -> Option<(u64, u32, u32, bool, usize)> {
    let (mut m, mut digits, mut frac, mut point, mut i) = (m, digits, 0u32, false, at);
    if digits > 0 && !run_goes_on(b, i, point) {
        return Some((m, digits, frac, point, i));
    }
    loop {
        let w = word_at(b, i)?;
        let mask = nondigit_mask(w);
        let n = mask.trailing_zeros() / 8;
        let (w, k, step) = if n < 8 && !point && (w >> (8 * n)) as u8 == b'.' {
            point = true;
            let low = (1u64 << (8 * n)) - 1;
            // The next non-digit after the point, if it is in this window.
            let end = (mask & (mask - 1)).trailing_zeros() / 8;
            let (w, k, step) = if end < 8 {
                ((w & low) | ((w >> 8) & !low), end - 1, end)
            } else {
                let w = (w & low) | (word_at(b, i + 1)? & !low);
                let k = digit_prefix(w);
                (w, k, k + 1)
            };
            frac += k - n;
            (w, k, step)
        } else {
            frac += if point { n } else { 0 };
            (w, n, n)
        };
        if digits + k > 19 {
            return None;
        }
        // m < 10^digits, so m·10^k + (k digits) < 10^19 < 2^64: exact without overflow checks.
        m = m.wrapping_mul(POW10_U64[k as usize]) + digits_value(w, k);
        digits += k;
        i += step as usize;
        if k < 8 || !run_goes_on(b, i, point) {
            return Some((m, digits, frac, point, i));
        }
    }
}

/// After a full window, one byte tells whether the run goes on.
#[inline(always)]
fn run_goes_on(b: &[u8], i: usize, point: bool) -> bool {
    matches!(b.get(i), Some(&c) if c.is_ascii_digit() || (c == b'.' && !point))
}

/// One canonical row `digits[.digits],[-]digits[.digits]` and its line
/// terminator, starting at `b[pos]`, read eight bytes at a time: (t, the
/// value's digits as a signed integer, the power of ten to divide them by,
/// index of the terminator, start of the next line). `None` for anything
/// else, and near the end of `b`; the caller then goes the byte-wise way.
///
/// `head` holds what earlier timestamps tell: most `time_s` rows share the
/// integer part of the one before and only read their fraction, and most
/// `timestamp_ns` rows skip their first window; fields that end within one
/// more window take short paths.
///
/// The values are the ones [`plain_two_columns`] and the general path give:
/// the same integer, exact nanoseconds, and Clinger's exact case for the
/// power, `digits / 10^k` with at most 15 digits, one correctly rounded
/// division. The division is left to the caller, which does it for a
/// whole run of rows at once (a division per row stalls the row loop). The
/// sign goes on the dividend: rounding to nearest is symmetric, so
/// `(-m) / p == -(m / p)`, zero included.
#[inline(always)]
fn swar_row(
    b: &[u8],
    pos: usize,
    kind: TimeKind,
    head: &mut Heads,
) -> Option<(i64, f64, f64, usize, usize)> {
    let short = match kind {
        TimeKind::Seconds => fraction_after_whole(b, pos, head),
        TimeKind::Nanoseconds => time_after_head(b, pos, &head.eight),
    };
    let (t, comma) = match short {
        Some(x) => x,
        None => swar_time(b, pos, kind, head)?,
    };
    let (m, d, end, next) = match short_value(b, comma + 1) {
        Some(x) => x,
        None => swar_value(b, comma + 1)?,
    };
    Some((t, m, d, end, next))
}

/// The `timestamp_ns` field at `b[pos]` when its first eight bytes are
/// `head`'s and the rest of it (up to 11 digits) ends within two more windows:
/// (t, index of the comma after it). `None` otherwise ([`swar_time`] then
/// decides).
#[inline(always)]
fn time_after_head(b: &[u8], pos: usize, head: &(u64, u64)) -> Option<(i64, usize)> {
    if word_at(b, pos)? != head.0 {
        return None;
    }
    let at = pos + 8;
    let w = word_at(b, at)?;
    let n = digit_prefix(w);
    if n < 8 {
        if (w >> (8 * n)) as u8 != b',' {
            return None;
        }
        // Below 10^16: exact (unchecked is safe), and a valid i64.
        let m = head.1.wrapping_mul(POW10_U64[n as usize]) + digits_value(w, n);
        return Some((m as i64, at + n as usize));
    }
    let w3 = word_at(b, at + 8)?;
    let n3 = digit_prefix(w3);
    if n3 > 3 || (w3 >> (8 * n3)) as u8 != b',' {
        return None;
    }
    // Below 10^19 < 2^64: exact, so the unchecked (wrapping) forms are too.
    let m = (head.1.wrapping_mul(100_000_000) + digits_value(w, 8))
        .wrapping_mul(POW10_U64[n3 as usize])
        + digits_value(w3, n3);
    Some((i64::try_from(m).ok()?, at + 8 + n3 as usize))
}

/// The time field at `b[pos]`, any length: (t, index of the comma after
/// it). Keeps `head` up to date.
#[inline(always)]
fn swar_time(b: &[u8], pos: usize, kind: TimeKind, head: &mut Heads) -> Option<(i64, usize)> {
    let w = word_at(b, pos)?;
    let (m, digits, frac, point, i) = if w == head.eight.0 {
        swar_decimal(b, pos + 8, head.eight.1, 8)?
    } else {
        if digit_prefix(w) == 8 {
            head.eight = (w, digits_value(w, 8));
        }
        swar_decimal(b, pos, 0, 0)?
    };
    if digits == 0 || b.get(i) != Some(&b',') {
        return None;
    }
    let t = match kind {
        TimeKind::Seconds if frac <= 9 && (frac > 0 || !point) => i64::try_from(m)
            .ok()?
            .checked_mul(NS_PER_DECIMAL[frac as usize])?,
        TimeKind::Nanoseconds if !point => i64::try_from(m).ok()?,
        _ => return None,
    };
    let whole = digits - frac;
    if point && frac > 0 && (1..=12).contains(&whole) {
        remember_whole(b, pos, whole as usize, m / POW10_U64[frac as usize], head);
    }
    Some((t, i))
}

/// Remember the integer part and point of the time at `b[pos]`: `digits`
/// digits of value `value`, then the point.
#[cold]
fn remember_whole(b: &[u8], pos: usize, digits: usize, value: u64, head: &mut Heads) {
    let (Some(w0), Some(w1)) = (word_at(b, pos), word_at(b, pos + 8)) else {
        return;
    };
    let len = digits + 1;
    let keep = |bytes: usize| match bytes {
        0 => 0,
        1..=7 => (1u64 << (8 * bytes)) - 1,
        _ => u64::MAX,
    };
    let mask = [keep(len), keep(len.saturating_sub(8))];
    head.whole = [w0 & mask[0], w1 & mask[1]];
    head.whole_mask = mask;
    head.whole_len = len;
    head.whole_value = value;
}

/// The `time_s` field at `b[pos]` when it starts with the integer part and
/// point in `head` and its fraction (1 to 7 digits) ends within one window:
/// (t, index of the comma after it). `None` otherwise ([`swar_time`] then
/// decides; it also takes 8 and 9 decimals, at a window more per row).
#[inline(always)]
fn fraction_after_whole(b: &[u8], pos: usize, head: &Heads) -> Option<(i64, usize)> {
    let (w0, w1) = (word_at(b, pos)?, word_at(b, pos + 8)?);
    if w0 & head.whole_mask[0] != head.whole[0] || w1 & head.whole_mask[1] != head.whole[1] {
        return None;
    }
    let at = pos + head.whole_len;
    let w = word_at(b, at)?;
    let f = digit_prefix(w);
    if f == 0 || f == 8 || (w >> (8 * f)) as u8 != b',' {
        return None;
    }
    // At most 12 + 7 digits: below 10^19 < 2^64, exact without overflow checks.
    let m = head.whole_value.wrapping_mul(POW10_U64[f as usize]) + digits_value(w, f);
    let t = i64::try_from(m)
        .ok()?
        .checked_mul(NS_PER_DECIMAL[f as usize])?;
    Some((t, at + f as usize))
}

/// A value field `[-]digits[.digits]` at `b[at]` that ends, with its line
/// terminator, within one window: (signed digits, power of ten, index of
/// the terminator, start of the next line). `None` otherwise ([`swar_value`]
/// then decides).
#[inline(always)]
fn short_value(b: &[u8], at: usize) -> Option<(f64, f64, usize, usize)> {
    let neg = b.get(at) == Some(&b'-');
    let at = at + neg as usize;
    let w = word_at(b, at)?;
    let mask = nondigit_mask(w);
    let n = mask.trailing_zeros() / 8;
    if n == 8 {
        return None;
    }
    let (digits, k, frac, e) = if (w >> (8 * n)) as u8 == b'.' {
        let rest = mask & (mask - 1);
        if rest == 0 {
            return None;
        }
        let e = rest.trailing_zeros() / 8;
        let low = (1u64 << (8 * n)) - 1;
        ((w & low) | ((w >> 8) & !low), e - 1, e - 1 - n, e)
    } else {
        (w, n, 0, n)
    };
    if k == 0 {
        return None;
    }
    let end = at + e as usize;
    let next = match (w >> (8 * e)) as u8 {
        b'\n' => end + 1,
        b'\r' if b.get(end + 1) == Some(&b'\n') => end + 2,
        b'\r' => end + 1,
        _ => return None,
    };
    // At most 7 digits: the signed conversion is exact and one instruction.
    let m = digits_value(digits, k) as i64 as f64;
    Some((if neg { -m } else { m }, POW10[frac as usize], end, next))
}

/// A value field `[-]digits[.digits]` at `b[at]` of up to 15 digits, and its
/// line terminator: as [`short_value`].
#[inline(always)]
fn swar_value(b: &[u8], at: usize) -> Option<(f64, f64, usize, usize)> {
    let neg = b.get(at) == Some(&b'-');
    let (m, digits, frac, _, end) = swar_decimal(b, at + neg as usize, 0, 0)?;
    if digits == 0 || digits > 15 {
        return None;
    }
    let next = match b.get(end) {
        Some(b'\n') => end + 1,
        Some(b'\r') if b.get(end + 1) == Some(&b'\n') => end + 2,
        Some(b'\r') => end + 1,
        _ => return None,
    };
    // Below 10^15 < 2^53: the signed conversion is exact and one instruction.
    let m = m as i64 as f64;
    Some((if neg { -m } else { m }, POW10[frac as usize], end, next))
}

/// Rows per run of the eight-byte path: its buffers stay in L1.
const FAST_RUN: usize = 512;

/// Where the eight-byte path puts a run of rows: times, and values as
/// (dividend, divisor), divided for the whole run at once.
struct FastRun {
    t: [i64; FAST_RUN],
    m: [f64; FAST_RUN],
    d: [f64; FAST_RUN],
    head: Heads,
}

/// What the time fields of earlier rows tell about the next ones: timestamps
/// of neighbouring rows share their leading digits.
#[derive(Clone, Copy)]
struct Heads {
    /// The first eight bytes of an earlier timestamp, all digits, and their value.
    eight: (u64, u64),
    /// The integer part and point of an earlier `time_s` (1 to 12 digits):
    /// its bytes in two words (`bytes[i] & mask[i]`), their count and the
    /// integer's value. A row whose first `len` bytes are these has the same
    /// integer part, and only its fraction is left to read.
    whole: [u64; 2],
    whole_mask: [u64; 2],
    whole_len: usize,
    whole_value: u64,
}

/// [`Heads`] before any row: eight zeros, whose value is 0; an integer part
/// that no row starts with (the masks keep no byte, and `0` is not `1`).
const NO_HEAD: Heads = Heads {
    eight: (u64::from_le_bytes(*b"00000000"), 0),
    whole: [1, 0],
    whole_mask: [0, 0],
    whole_len: 0,
    whole_value: 0,
};

/// Longest line the eight-byte path can take: 20 + 1 + 1 + 16 bytes.
const FAST_LINE_MAX: usize = 38;

/// Rows of the eight-byte path from `b[pos]` on, up to [`FAST_RUN`] of
/// them and until a line it does not take. Returns where it stopped and the
/// rows taken. Only called when no line it takes can be over the record limit.
#[inline(never)]
fn fast_rows(b: &[u8], mut pos: usize, kind: TimeKind, run: &mut FastRun) -> (usize, usize) {
    let mut k = 0;
    while k < FAST_RUN {
        let Some((t, m, d, _, next)) = swar_row(b, pos, kind, &mut run.head) else {
            break;
        };
        run.t[k] = t;
        run.m[k] = m;
        run.d[k] = d;
        k += 1;
        pos = next;
    }
    (pos, k)
}

/// One run of digits with at most one '.' (if `point_ok`), stopping at the first
/// other byte: (digits as an integer, digit count, digits after the point,
/// whether a point was seen, index of the stop). `None` past `max_digits`.
/// The cap keeps the wrapping arithmetic from ever wrapping; wrapping only
/// spares the overflow checks that release builds keep on.
#[inline(always)]
fn digit_run(
    line: &[u8],
    mut i: usize,
    point_ok: bool,
    max_digits: u32,
) -> Option<(u64, u32, u32, bool, usize)> {
    let (mut m, mut digits, mut frac, mut point) = (0u64, 0u32, 0u32, false);
    while i < line.len() {
        let c = line[i];
        let d = c.wrapping_sub(b'0');
        if d <= 9 {
            m = m.wrapping_mul(10).wrapping_add(d as u64);
            digits = digits.wrapping_add(1);
            frac = frac.wrapping_add(point as u32);
        } else if c == b'.' && !point && point_ok {
            point = true;
        } else {
            break;
        }
        if digits > max_digits {
            return None;
        }
        i = i.wrapping_add(1);
    }
    Some((m, digits, frac, point, i))
}

/// `digits[.digits],[-]digits[.digits]` in one pass, or `None` for anything
/// else (the general parser then decides). Values agree with the general path:
/// exact nanoseconds, and Clinger's exact case for the power.
#[inline]
fn plain_two_columns(line: &[u8], kind: TimeKind) -> Option<(i64, f64)> {
    let n = line.len();
    let (m, digits, frac, point, i) = digit_run(line, 0, kind == TimeKind::Seconds, 18)?;
    if digits == 0 || i == n || line[i] != b',' || frac > 9 || (point && frac == 0) {
        return None;
    }
    let t = match kind {
        TimeKind::Seconds => i64::try_from(m)
            .ok()?
            .checked_mul(NS_PER_DECIMAL[frac as usize])?,
        TimeKind::Nanoseconds => m as i64,
    };
    let neg = line.get(i + 1) == Some(&b'-');
    let (m, digits, frac, _, end) = digit_run(line, i + 1 + neg as usize, true, 15)?;
    if digits == 0 || end != n {
        return None;
    }
    let x = m as f64 / POW10[frac as usize];
    Some((t, if neg { -x } else { x }))
}

/// One row read by each parser of the two-column file, for tests: the line
/// is `text` up to its first terminator, and what follows is what a piece
/// would hold after it. Values as `(t, value bits)`, `None` where a parser
/// does not take the line; the eight-byte path also gives where the next
/// line starts.
pub(super) fn row_every_way(text: &[u8], kind: TimeKind) -> RowEveryWay {
    let end = memchr::memchr2(b'\n', b'\r', text).unwrap_or(text.len());
    let line = &text[..end];
    let s = Schema {
        n_cols: 2,
        time: 0,
        time_kind: kind,
        value: 1,
        value_scale: 1.0,
        channel: None,
        names: vec!["t".into(), "p".into()],
    };
    let mut bounds = Vec::new();
    split_fields(line, &mut bounds);
    let general = if bounds.len() == 2 {
        parse_row(
            &Fields {
                line,
                bounds: &bounds,
            },
            &s,
        )
        .ok()
    } else {
        None
    };
    let next = match (text.get(end), text.get(end + 1)) {
        (Some(b'\r'), Some(b'\n')) => end + 2,
        (Some(_), _) => end + 1,
        (None, _) => end,
    };
    let eight_bytes = |head: &mut Heads| {
        swar_row(text, 0, kind, head).map(|(t, m, d, e, n)| (t, (m / d).to_bits(), e, n))
    };
    let mut head = NO_HEAD;
    let cold = eight_bytes(&mut head);
    RowEveryWay {
        eight_bytes: cold,
        // Again, with the head the first read left: the repeated-head shortcut.
        eight_bytes_again: eight_bytes(&mut head),
        one_pass: plain_two_columns(line, kind).map(|(t, v)| (t, v.to_bits())),
        general: general.map(|(t, v)| (t, v.to_bits())),
        line_end: end,
        next,
    }
}

/// What [`row_every_way`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct RowEveryWay {
    /// (t, value bits, line end, next line start).
    pub eight_bytes: Option<(i64, u64, usize, usize)>,
    pub eight_bytes_again: Option<(i64, u64, usize, usize)>,
    pub one_pass: Option<(i64, u64)>,
    pub general: Option<(i64, u64)>,
    pub line_end: usize,
    pub next: usize,
}

impl RowEveryWay {
    /// Whether every parser that took the line read what the general one read,
    /// and the eight-byte path ended the line where the byte-wise one does.
    pub fn agree(&self) -> bool {
        let fast = self.eight_bytes.is_none_or(|(t, v, e, n)| {
            Some((t, v)) == self.general && (e, n) == (self.line_end, self.next)
        });
        fast && self.eight_bytes_again == self.eight_bytes
            && (self.one_pass.is_none() || self.one_pass == self.general)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_pass_parser_agrees_with_the_general_one() {
        for (line, kind) in [
            (&b"1717000000.123456,312.45"[..], TimeKind::Seconds),
            (b"0,0", TimeKind::Seconds),
            (b"12.5,-0.25", TimeKind::Seconds),
            (b"1717000000123456789,5", TimeKind::Nanoseconds),
            (b"1.,5", TimeKind::Seconds),
            (b"1,5.", TimeKind::Seconds),
            (b".5,.5", TimeKind::Seconds),
            (b"1717000000.123456789,-.5", TimeKind::Seconds),
            (b"1717000000.1234567891,1", TimeKind::Seconds),
            (b"9223372036.854775807,1", TimeKind::Seconds),
            (b"9223372036.854775808,1", TimeKind::Seconds),
            (b"9223372036854775807,1", TimeKind::Nanoseconds),
            (b"9223372036854775808,1", TimeKind::Nanoseconds),
            (b"99999999999999999999,1", TimeKind::Nanoseconds),
            (b"1,123456789012345", TimeKind::Seconds),
            (b"1,1234567890123456", TimeKind::Seconds),
            (b"1,12345678.9012345", TimeKind::Seconds),
            (b"1,-0", TimeKind::Seconds),
            (b"1,--1", TimeKind::Seconds),
            (b"1,+1", TimeKind::Seconds),
            (b"1,", TimeKind::Seconds),
            (b",1", TimeKind::Seconds),
            (b"1,1,1", TimeKind::Seconds),
            (b"1.5,2", TimeKind::Nanoseconds),
            (b"00000000000000000001,2", TimeKind::Nanoseconds),
            (b"1,00000000000000.5", TimeKind::Seconds),
        ] {
            for rest in [
                &b"\n"[..],
                b"\r\n",
                b"\r",
                b"\n1717000000.000001,1\n",
                b"\r\r\n,,,,,,,,",
                b"",
            ] {
                let text = [line, rest].concat();
                let all = row_every_way(&text, kind);
                assert!(all.agree(), "{:?}: {all:?}", String::from_utf8_lossy(&text));
            }
        }
        let taken = |l: &[u8], kind| {
            let text = [l, b"\n................".as_slice()].concat();
            let all = row_every_way(&text, kind);
            (all.eight_bytes.is_some(), all.one_pass.is_some())
        };
        assert_eq!(
            taken(b"1717000000.123456,312.45", TimeKind::Seconds),
            (true, true)
        );
        // Real nanosecond timestamps have 19 digits: the byte-wise one-pass parser stops at 18.
        assert_eq!(
            taken(b"1717000000123456789,5", TimeKind::Nanoseconds),
            (true, false)
        );
        assert_eq!(taken(b" 1,2", TimeKind::Seconds), (false, false));
        assert_eq!(taken(b"1,[N/A]", TimeKind::Seconds), (false, false));
        assert_eq!(taken(b"1,2e3", TimeKind::Seconds), (false, false));
        assert_eq!(taken(b"1.5,2", TimeKind::Nanoseconds), (false, false));
        // Too close to the end of the piece for eight-byte loads: the byte-wise path takes it.
        assert!(row_every_way(b"1,2\n", TimeKind::Seconds)
            .eight_bytes
            .is_none());
    }

    #[test]
    fn pieces_cover_the_batch_and_end_at_line_ends() {
        for term in [&b"\n"[..], b"\r\n", b"\r"] {
            let mut body = Vec::new();
            let mut i = 0u64;
            while body.len() < 5 * PIECE_BYTES + 12_345 {
                body.extend_from_slice(format!("{},{}", 1_717_000_000_000 + i, i % 977).as_bytes());
                body.extend_from_slice(term);
                i += 1;
            }
            let cuts = cut_points(&body);
            assert_eq!((cuts[0], cuts[cuts.len() - 1]), (0, body.len()));
            assert!(cuts.len() >= 5);
            for w in cuts.windows(2) {
                assert!(w[0] < w[1]);
                // A cut never falls inside a line, nor between '\r' and '\n'.
                let c = w[1];
                assert!(
                    c == body.len() || (matches!(body[c - 1], b'\n' | b'\r') && body[c] != b'\n')
                );
            }
        }
        assert_eq!(cut_points(b""), [0, 0]);
        assert_eq!(cut_points(b"1,2\n"), [0, 4]);
    }

    #[test]
    fn blank_lines_keep_rows_on_their_lines() {
        let s = Schema {
            n_cols: 2,
            time: 0,
            time_kind: TimeKind::Seconds,
            value: 1,
            value_scale: 1.0,
            channel: None,
            names: vec!["t".into(), "p".into()],
        };
        let body = b"\n1717000000.000001,1.5\n1717000000.000002,2.5\n \n\n1717000000.000003,3.5\n1717000000.000004,4.5\n\n";
        let p = parse_piece(Parsed::new(), body, 0, &s, 1 << 20);
        assert!(p.failure.is_none());
        assert_eq!(p.t.len(), 4);
        assert_eq!(p.n_lines, 8);
        let lines: Vec<u32> = (0..4).map(|i| p.line_of(i)).collect();
        assert_eq!(lines, [1, 2, 5, 6]);
        assert!(!p.lines_are_rows());
        let clean = parse_piece(Parsed::new(), b"0,1\n1,2\n2,3\n", 0, &s, 1 << 20);
        assert!(clean.lines_are_rows());
        assert_eq!(clean.line_of(2), 2);
    }
}
