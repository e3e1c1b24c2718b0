//! Rows of the canonical CSV: schema, field splitting and value parsing, and
//! parsing of whole runs of lines, in parallel when the run is large.

use crate::config::{Options, Rule};
use crate::error::{Error, Location, Result};
use crate::read::fields::{is_null_token, parse_f64, trim_field, POW10};
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

const TIME_COLUMNS: [(&str, TimeKind); 2] = [
    ("timestamp_ns", TimeKind::Nanoseconds),
    ("time_s", TimeKind::Seconds),
];

impl Schema {
    /// Read the header; also adapts `opts` when the value column is a counter.
    pub(super) fn from_header(line: &[u8], path: &str, opts: &mut Options) -> Result<Schema> {
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
        let (value, value_scale) = if let Some(i) = find("power_w") {
            (i, 1.0)
        } else if let Some(i) = find("power_mw") {
            (i, 1e-3)
        } else if let Some(i) = find("energy_j") {
            opts.rule = Rule::Counter;
            opts.counter_unit_j = 1.0;
            (i, 1.0)
        } else if let Some(i) = find("energy_mj") {
            opts.rule = Rule::Counter;
            opts.counter_unit_j = 1e-3;
            (i, 1.0)
        } else {
            return Err(schema_err(found));
        };
        Ok(Schema {
            n_cols: names.len(),
            time,
            time_kind,
            value,
            value_scale,
            channel: find("channel"),
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
    /// 0-based line index within the piece of each row.
    pub line: Vec<u32>,
    pub names: Vec<Vec<u8>>,
    /// Lines read, the failing one included.
    pub n_lines: u64,
    /// (line index, byte offset in the piece, what, the line's bytes).
    pub failure: Option<(u64, usize, RowFailure, Vec<u8>)>,
}

/// Batches smaller than this are parsed on one thread; spawning costs more than it gives.
const PARALLEL_MIN_BYTES: usize = 256 * 1024;

/// Parse a run of complete lines, splitting it in two at a line end and using
/// two threads when it is large. Pieces come back in order.
pub(super) fn parse_batch(
    bytes: &[u8],
    s: &Schema,
    max_record: usize,
    threads: usize,
) -> Vec<Parsed> {
    if threads < 2 || bytes.len() < PARALLEL_MIN_BYTES {
        return vec![parse_piece(bytes, 0, s, max_record)];
    }
    let mid = bytes.len() / 2;
    let Some(rel) = memchr::memchr2(b'\n', b'\r', &bytes[mid..]) else {
        return vec![parse_piece(bytes, 0, s, max_record)];
    };
    let idx = mid + rel;
    let split = if bytes[idx] == b'\r' && bytes.get(idx + 1) == Some(&b'\n') {
        idx + 2
    } else {
        idx + 1
    };
    let (a, b) = bytes.split_at(split);
    std::thread::scope(|sc| {
        let second = sc.spawn(|| parse_piece(b, split, s, max_record));
        let first = parse_piece(a, 0, s, max_record);
        match second.join() {
            Ok(p) => vec![first, p],
            // Parsing returns failures rather than panicking; should it panic, parse here.
            Err(_) => vec![first, parse_piece(b, split, s, max_record)],
        }
    })
}

/// Parse complete lines (each ending in `\n`, `\r\n` or `\r`, the last possibly not).
pub(super) fn parse_piece(bytes: &[u8], offset: usize, s: &Schema, max_record: usize) -> Parsed {
    let cap = bytes.len() / 16;
    let mut p = Parsed {
        offset,
        t: Vec::with_capacity(cap),
        v: Vec::with_capacity(cap),
        ch: Vec::new(),
        line: Vec::with_capacity(cap),
        names: Vec::new(),
        n_lines: 0,
        failure: None,
    };
    let mut bounds: Vec<(usize, usize)> = Vec::with_capacity(s.n_cols);
    // The canonical two-column file gets a one-pass parser; any line it does not
    // take (spaces, quotes, exponents, missing values...) goes the general way.
    let two_plain = s.n_cols == 2 && s.time == 0 && s.value == 1 && s.channel.is_none();
    let mut pos = 0;
    while pos < bytes.len() {
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
                p.line.push(index as u32);
                continue;
            }
        }
        if line.iter().all(|b| b.is_ascii_whitespace()) {
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
                p.line.push(index as u32);
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
        ] {
            let general = {
                let s = Schema {
                    n_cols: 2,
                    time: 0,
                    time_kind: kind,
                    value: 1,
                    value_scale: 1.0,
                    channel: None,
                    names: vec!["t".into(), "p".into()],
                };
                let mut b = Vec::new();
                split_fields(line, &mut b);
                parse_row(&Fields { line, bounds: &b }, &s).ok()
            };
            // When the one-pass parser takes a line, it must agree with the general path.
            if let Some((t, v)) = plain_two_columns(line, kind) {
                assert_eq!(
                    Some((t, v.to_bits())),
                    general.map(|(t, v)| (t, v.to_bits()))
                );
            }
        }
        assert!(plain_two_columns(b"1717000000.123456,312.45", TimeKind::Seconds).is_some());
        assert!(plain_two_columns(b" 1,2", TimeKind::Seconds).is_none());
        assert!(plain_two_columns(b"1,[N/A]", TimeKind::Seconds).is_none());
        assert!(plain_two_columns(b"1,2e3", TimeKind::Seconds).is_none());
        assert!(plain_two_columns(b"1.5,2", TimeKind::Nanoseconds).is_none());
    }
}
