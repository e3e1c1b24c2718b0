//! The canonical request CSV:
//! `request_id,start_time,first_token_time,end_time,input_tokens,output_tokens`.
//!
//! - times: `*_time` columns hold epoch seconds with up to 9 decimals, read
//!   exactly to the ns (never through f64), or RFC 3339 date-times with `Z` or
//!   an offset (`2025-06-09T23:21:26.037+02:00`); `*_ns` columns
//!   (`start_ns`, `first_token_ns`, `end_ns`) hold integer ns. One of each
//!   pair per file.
//! - `first_token_time` is optional, and so is each of its values: empty,
//!   `NA`, `N/A`, `null`, `None` mean "not recorded".
//! - tokens are whole numbers >= 0 (`12` or `12.0`).
//! - optional `model`, `ok` (`true/false/1/0/yes/no`, default true) and
//!   `token_source` (`usage`, `stream_chunks`, `retokenized`, `unknown`, empty =
//!   `unknown`); other columns are ignored.
//!
//! Fields are comma-separated, trimmed of spaces and tabs, and may be quoted
//! (`"a,b"`, with `""` for a quote) — a line break inside quotes is not
//! supported. Blank lines are skipped. A last line without a terminator is kept
//! if complete (warning) and dropped if cut short (warning, `truncated_tail`).

use std::borrow::Cow;

use crate::error::{Error, Location, Result};
use crate::read::fields::is_null_token;
use crate::read::lines::check_utf8;
use crate::read::source::Source;
use crate::read::OnChunk;
use crate::requests::table::{check_times, Field, Request, TableBuilder, TokenSource};
use crate::requests::timefmt::{looks_like_datetime, parse_rfc3339};
use crate::requests::{line_reader, RequestInfo, RequestOptions};
use crate::time::{parse_decimal_seconds, parse_integer_ns, DecimalError};

/// How a time column is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// `*_time`: decimal seconds or RFC 3339.
    Seconds,
    /// `*_ns`: integer nanoseconds.
    Nanos,
}

#[derive(Debug)]
struct Schema {
    names: Vec<String>,
    id: usize,
    start: (usize, Unit),
    first: Option<(usize, Unit)>,
    end: (usize, Unit),
    input: usize,
    output: usize,
    model: Option<usize>,
    ok: Option<usize>,
    token_source: Option<usize>,
}

const EXPECTED: &str =
    "request_id, start_time|start_ns, end_time|end_ns, input_tokens, output_tokens (first_token_time|first_token_ns, model, ok, token_source optional)";

impl Schema {
    fn from_header(fields: &[Cell<'_>], path: &str, line: u64) -> Result<Schema> {
        let names: Vec<String> = fields
            .iter()
            .map(|f| String::from_utf8_lossy(&f.text).trim().to_ascii_lowercase())
            .collect();
        let at = || Location {
            path: Some(path.into()),
            line: Some(line),
            ..Location::default()
        };
        let found = || names.join(",");
        let schema_err = |expected: String, hint: &str| Error::Schema {
            at: at(),
            expected,
            found: found(),
            hint: hint.into(),
        };
        for (i, n) in names.iter().enumerate() {
            if !n.is_empty() && names[..i].contains(n) {
                return Err(schema_err(
                    format!("each column once ('{n}' appears twice)"),
                    "remove or rename the repeated column",
                ));
            }
        }
        let find = |n: &str| names.iter().position(|c| c == n);
        let pair = |stem: &str| -> Result<Option<(usize, Unit)>> {
            match (find(&format!("{stem}_time")), find(&format!("{stem}_ns"))) {
                (Some(_), Some(_)) => Err(schema_err(
                    format!("one of {stem}_time and {stem}_ns"),
                    "keep one of the two columns",
                )),
                (Some(i), None) => Ok(Some((i, Unit::Seconds))),
                (None, Some(i)) => Ok(Some((i, Unit::Nanos))),
                (None, None) => Ok(None),
            }
        };
        let hint = if names.iter().any(|n| n.contains("latency")) {
            "latencies alone cannot be placed in time: a request log needs each request's id, start and end times and token counts"
        } else {
            "name the columns as in the canonical request CSV (FORMATS.md §17)"
        };
        let need = |i: Option<usize>| i.ok_or_else(|| schema_err(EXPECTED.into(), hint));
        let start = pair("start")?;
        let end = pair("end")?;
        Ok(Schema {
            id: need(find("request_id"))?,
            start: start.ok_or_else(|| schema_err(EXPECTED.into(), hint))?,
            first: pair("first_token")?,
            end: end.ok_or_else(|| schema_err(EXPECTED.into(), hint))?,
            input: need(find("input_tokens"))?,
            output: need(find("output_tokens"))?,
            model: find("model"),
            ok: find("ok"),
            token_source: find("token_source"),
            names,
        })
    }
}

/// One field of a line: its text (unquoted) and where it starts.
#[derive(Debug, PartialEq, Eq)]
struct Cell<'a> {
    text: Cow<'a, [u8]>,
    offset: usize,
}

/// Split a line on commas, honouring double quotes. `Err(offset)` for a quote
/// left open or text after a closing quote.
fn split(line: &[u8]) -> std::result::Result<Vec<Cell<'_>>, usize> {
    let mut out = Vec::with_capacity(8);
    let mut i = 0;
    loop {
        let start = i;
        while matches!(line.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        if line.get(i) == Some(&b'"') {
            let open = i;
            i += 1;
            let mut text: Vec<u8> = Vec::new();
            loop {
                match line.get(i) {
                    None => return Err(open),
                    Some(b'"') if line.get(i + 1) == Some(&b'"') => {
                        text.push(b'"');
                        i += 2;
                    }
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(&c) => {
                        text.push(c);
                        i += 1;
                    }
                }
            }
            while matches!(line.get(i), Some(b' ' | b'\t')) {
                i += 1;
            }
            out.push(Cell {
                text: Cow::Owned(text),
                offset: open,
            });
            match line.get(i) {
                None => return Ok(out),
                Some(b',') => i += 1,
                Some(_) => return Err(i),
            }
        } else {
            let end = memchr::memchr(b',', &line[i..]).map_or(line.len(), |p| i + p);
            out.push(Cell {
                text: Cow::Borrowed(trim_field_spaces(&line[i..end])),
                offset: start,
            });
            if end == line.len() {
                return Ok(out);
            }
            i = end + 1;
        }
    }
}

fn trim_field_spaces(mut f: &[u8]) -> &[u8] {
    while let [rest @ .., b' ' | b'\t'] = f {
        f = rest;
    }
    f
}

/// Why a field was refused: the reason and a hint.
type FieldError = (String, &'static str);

fn time_field(f: &[u8], unit: Unit) -> std::result::Result<Option<i64>, FieldError> {
    if is_null_token(f) {
        return Ok(None);
    }
    let decimal = |e: DecimalError, what: &str| -> FieldError {
        match e {
            DecimalError::Syntax => (
                format!("cannot read '{}' as {what}", String::from_utf8_lossy(f)),
                "times are epoch seconds (1750000000.123), RFC 3339 with an offset, or integer ns in *_ns columns",
            ),
            DecimalError::TooPrecise => (
                "more than 9 decimals: finer than a nanosecond".into(),
                "round the time to the nanosecond",
            ),
            DecimalError::Overflow => (
                "outside the int64 nanosecond range (years 1677-2262)".into(),
                "is the column in the unit its name says?",
            ),
        }
    };
    match unit {
        Unit::Nanos => parse_integer_ns(f)
            .map(Some)
            .map_err(|e| decimal(e, "integer nanoseconds")),
        Unit::Seconds if looks_like_datetime(f) => parse_rfc3339(f).map(Some).map_err(|e| {
            (
                e.reason().to_string(),
                "write date-times as RFC 3339 with Z or an offset: 2025-06-09T23:21:26.037+02:00",
            )
        }),
        Unit::Seconds => parse_decimal_seconds(f)
            .map(Some)
            .map_err(|e| decimal(e, "epoch seconds")),
    }
}

/// A token count: `[+]digits[.0…]`, >= 0.
pub(crate) fn token_field(f: &[u8]) -> std::result::Result<i64, FieldError> {
    const HINT: &str = "token counts are whole numbers >= 0";
    if f.is_empty() {
        return Err(("missing token count".into(), HINT));
    }
    let body = f.strip_prefix(b"+").unwrap_or(f);
    let (int, frac) = match memchr::memchr(b'.', body) {
        Some(p) => (&body[..p], Some(&body[p + 1..])),
        None => (body, None),
    };
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    let shown = String::from_utf8_lossy(f);
    if f.first() == Some(&b'-') && f.len() > 1 {
        let rest = &f[1..];
        let numeric = rest.iter().all(|c| c.is_ascii_digit() || *c == b'.')
            && rest.iter().any(u8::is_ascii_digit);
        if numeric {
            return Err(("negative token count".into(), HINT));
        }
    }
    if !digits(int) || frac.is_some_and(|fr| !digits(fr)) {
        return Err((format!("cannot read '{shown}' as a token count"), HINT));
    }
    if frac.is_some_and(|fr| fr.iter().any(|&c| c != b'0')) {
        return Err((format!("token count '{shown}' is not an integer"), HINT));
    }
    parse_integer_ns(int).map_err(|_| (format!("token count '{shown}' is out of range"), HINT))
}

fn ok_field(f: &[u8]) -> std::result::Result<bool, FieldError> {
    match f.to_ascii_lowercase().as_slice() {
        b"true" | b"1" | b"yes" => Ok(true),
        b"false" | b"0" | b"no" => Ok(false),
        _ => Err((
            format!("cannot read '{}' as ok", String::from_utf8_lossy(f)),
            "ok is true/false, 1/0 or yes/no",
        )),
    }
}

fn source_field(f: &[u8]) -> std::result::Result<TokenSource, FieldError> {
    if f.is_empty() {
        return Ok(TokenSource::Unknown);
    }
    TokenSource::parse(&String::from_utf8_lossy(f)).map_err(|_| {
        (
            format!("unknown token source '{}'", String::from_utf8_lossy(f)),
            "token_source is usage, stream_chunks, retokenized or unknown",
        )
    })
}

/// A row's failure: the column index (or none for the whole line) and the error.
struct RowError {
    column: Option<usize>,
    offset: usize,
    value: String,
    reason: String,
    hint: String,
    count: Option<(usize, usize)>,
}

fn parse_row(
    line: &[u8],
    s: &Schema,
    number: u64,
) -> std::result::Result<(Request, Vec<usize>), RowError> {
    let fields = split(line).map_err(|off| RowError {
        column: None,
        offset: off,
        value: String::from_utf8_lossy(&line[off..]).into_owned(),
        reason: "unbalanced double quote".into(),
        hint: "close every quoted field, and write a quote inside one as \"\" (line breaks inside quotes are not supported)".into(),
        count: None,
    })?;
    if fields.len() != s.names.len() {
        return Err(RowError {
            column: None,
            offset: 0,
            value: String::new(),
            reason: String::new(),
            hint: "quote fields that contain commas".into(),
            count: Some((s.names.len(), fields.len())),
        });
    }
    let fail = |i: usize, (reason, hint): FieldError| RowError {
        column: Some(i),
        offset: fields[i].offset,
        value: String::from_utf8_lossy(&fields[i].text).into_owned(),
        reason,
        hint: hint.into(),
        count: None,
    };
    let get = |i: usize| -> &[u8] { &fields[i].text };
    let required = |(i, unit): (usize, Unit)| -> std::result::Result<i64, RowError> {
        match time_field(get(i), unit) {
            Ok(Some(t)) => Ok(t),
            Ok(None) => Err(fail(
                i,
                ("missing time".into(), "start and end times are required"),
            )),
            Err(e) => Err(fail(i, e)),
        }
    };
    let id = get(s.id);
    if id.is_empty() {
        return Err(fail(
            s.id,
            ("empty request id".into(), "every request needs an id"),
        ));
    }
    let request = Request {
        request_id: String::from_utf8_lossy(id).into_owned(),
        start_ns: required(s.start)?,
        first_token_ns: match s.first {
            Some((i, unit)) => time_field(get(i), unit).map_err(|e| fail(i, e))?,
            None => None,
        },
        end_ns: required(s.end)?,
        input_tokens: token_field(get(s.input)).map_err(|e| fail(s.input, e))?,
        output_tokens: token_field(get(s.output)).map_err(|e| fail(s.output, e))?,
        model: s
            .model
            .map(get)
            .filter(|m| !m.is_empty())
            .map(|m| String::from_utf8_lossy(m).into_owned()),
        ok: match s.ok {
            Some(i) => ok_field(get(i)).map_err(|e| fail(i, e))?,
            None => true,
        },
        token_source: match s.token_source {
            Some(i) => source_field(get(i)).map_err(|e| fail(i, e))?,
            None => TokenSource::Unknown,
        },
        line: number,
    };
    Ok((request, fields.iter().map(|f| f.offset).collect()))
}

pub(crate) fn read(
    src: Source,
    opts: &RequestOptions,
    rows: &mut TableBuilder,
    info: &mut RequestInfo,
    on_chunk: OnChunk<'_>,
) -> Result<()> {
    let path = info.path.clone();
    let (progress, mut lines) = line_reader(src, opts, &path);
    let schema = loop {
        let Some(l) = lines.next_line()? else {
            return Err(Error::EmptyInput {
                at: Location {
                    path: Some(path.clone()),
                    ..Location::default()
                },
            });
        };
        info.n_lines = l.number;
        if l.bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        check_utf8(l.bytes, &path, l.number, l.offset)?;
        let fields = split(l.bytes).map_err(|off| Error::Schema {
            at: Location {
                path: Some(path.clone()),
                line: Some(l.number),
                byte_offset: Some(l.offset + off as u64),
                ..Location::default()
            },
            expected: EXPECTED.into(),
            found: "a header with an unbalanced quote".into(),
            hint: "close every quoted column name".into(),
        })?;
        break Schema::from_header(&fields, &path, l.number)?;
    };
    let mut reported = u64::MAX;
    loop {
        progress.report(&mut reported, on_chunk)?;
        let Some(l) = lines.next_line()? else {
            break;
        };
        info.n_lines = l.number;
        if l.bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        check_utf8(l.bytes, &path, l.number, l.offset)?;
        let (number, offset, terminated) = (l.number, l.offset, l.terminated);
        let parsed = parse_row(l.bytes, &schema, number);
        let place = |offsets: &[usize]| {
            let (path, names) = (&path, &schema.names);
            let cols = [
                (Field::Id, schema.id),
                (Field::Start, schema.start.0),
                (Field::End, schema.end.0),
                (
                    Field::FirstToken,
                    schema.first.map_or(schema.end.0, |f| f.0),
                ),
            ];
            let offsets = offsets.to_vec();
            move |field: Field| {
                let col = cols
                    .iter()
                    .find(|(f, _)| *f == field)
                    .map_or(schema.id, |c| c.1);
                Location {
                    path: Some(path.clone()),
                    line: Some(number),
                    column: Some(names[col].clone()),
                    byte_offset: Some(offset + offsets.get(col).copied().unwrap_or(0) as u64),
                    ..Location::default()
                }
            }
        };
        if !terminated {
            let complete = match &parsed {
                Ok((r, offs)) => check_times(r, &place(offs)).is_ok(),
                Err(_) => false,
            };
            if !complete {
                info.truncated_tail = true;
                info.warnings.push(format!(
                    "line {number}: the last line is incomplete and has no line terminator (file still being written?); it was dropped"
                ));
                break;
            }
            info.unterminated_final_line = true;
            info.warnings.push(format!(
                "line {number}: the last line has no line terminator; it was complete and is kept"
            ));
        }
        match parsed {
            Ok((r, offs)) => {
                info.n_records += 1;
                rows.push(r, &place(&offs))?;
            }
            Err(e) => return Err(row_error(e, &schema, &path, number, offset)),
        }
    }
    on_chunk(progress.get())?;
    Ok(())
}

fn row_error(e: RowError, s: &Schema, path: &str, line: u64, offset: u64) -> Error {
    let at = Location {
        path: Some(path.into()),
        line: Some(line),
        column: e.column.map(|i| s.names[i].clone()),
        byte_offset: Some(offset + e.offset as u64),
        ..Location::default()
    };
    match e.count {
        Some((expected, found)) => Error::UnequalLengths {
            at,
            expected,
            found,
            hint: e.hint,
        },
        None => Error::BadValue {
            at,
            value: e.value,
            reason: e.reason,
            hint: e.hint,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::test_util::write;
    use crate::requests::{read_requests, RequestFormat, RequestLog};

    fn read(body: &str) -> Result<RequestLog> {
        let p = write("requests", &format!("c{}.csv", body.len()), body.as_bytes());
        read_requests(
            &p,
            Some(RequestFormat::Csv),
            &RequestOptions::default(),
            &mut |_| Ok(()),
        )
    }

    const HEAD: &str =
        "request_id,start_time,first_token_time,end_time,input_tokens,output_tokens\n";

    #[test]
    fn splits_quotes() {
        let f = split(br#"a, "b,c" ,"d""e",,f "#).expect("balanced");
        let t: Vec<&[u8]> = f.iter().map(|f| f.text.as_ref()).collect();
        assert_eq!(t, vec![&b"a"[..], b"b,c", b"d\"e", b"", b"f"]);
        assert_eq!(split(br#"a,"b"#), Err(2));
        assert_eq!(split(br#""a"x,b"#), Err(3));
    }

    #[test]
    fn reads_every_time_form() {
        let log = read(&format!(
            "{HEAD}a,1750000000.000000001,,1750000001,10,2\n\
             b,2025-06-15T17:06:40.5+02:00,2025-06-15T15:06:40.75Z,1750000041,3,4.0\n"
        ))
        .expect("valid");
        let t = &log.table;
        assert_eq!(
            t.start_ns,
            vec![1_750_000_000_000_000_001, 1_750_000_000_500_000_000]
        );
        assert_eq!(
            t.first_token_ns,
            vec![None, Some(1_750_000_000_750_000_000)]
        );
        assert_eq!(t.output_tokens, vec![2, 4]);
        assert_eq!(t.line, vec![2, 3]);
        let log = read(
            "request_id,start_ns,end_ns,input_tokens,output_tokens,ok,token_source,model\n\
                        x,1750000000000000000,1750000000000000005,1,1,no,usage,\"m,1\"\n",
        )
        .expect("valid");
        assert!(!log.table.ok[0]);
        assert_eq!(log.table.token_source[0], TokenSource::Usage);
        assert_eq!(log.table.model[0].as_deref(), Some("m,1"));
    }

    #[test]
    fn bad_rows_name_line_column_and_value() {
        let e = read(&format!("{HEAD}a,1750000000,,1750000001,-3,2\n")).expect_err("negative");
        assert_eq!(e.code(), "bad_value");
        let at = e.location().expect("located");
        assert_eq!(
            (at.line, at.column.as_deref()),
            (Some(2), Some("input_tokens"))
        );
        assert_eq!(e.value().as_deref(), Some("-3"));
        let e = read(&format!("{HEAD}a,1750000000,,1750000001,2.5,2\n")).expect_err("fraction");
        assert!(e.reason().contains("not an integer"), "{e}");
        let e = read(&format!("{HEAD}a,1750000002,,1750000001,2,2\n")).expect_err("backwards");
        assert_eq!(e.code(), "invalid_window");
        assert_eq!(
            e.location().and_then(|l| l.column.clone()).as_deref(),
            Some("end_time")
        );
        let e = read(&format!("{HEAD}a,1750000000,1750000009,1750000001,2,2\n"))
            .expect_err("late token");
        assert_eq!(
            e.location().and_then(|l| l.column.clone()).as_deref(),
            Some("first_token_time")
        );
        let e = read(&format!("{HEAD}a,2025-06-15T15:06:40,,1750000001,2,2\n")).expect_err("naive");
        assert!(e.reason().contains("offset"), "{e}");
        let e = read(&format!("{HEAD}a,1750000000,,1750000001,2\n")).expect_err("short row");
        assert_eq!(e.code(), "unequal_lengths");
        let e = read("latency_ms\n12.5\n").expect_err("latencies");
        assert_eq!(e.code(), "schema");
        assert!(e.hint().unwrap_or_default().contains("latencies"), "{e}");
        let e =
            read(&format!("{HEAD}a,1,,2,1,1\na,1750000000,,1750000001,1,1\n")).expect_err("1970");
        assert_eq!(e.code(), "bad_value");
    }

    #[test]
    fn duplicates_and_the_last_line() {
        let row = "a,1750000000,,1750000001,1,1\n";
        let log = read(&format!("{HEAD}{row}\n{row}")).expect("exact repeat");
        assert_eq!(log.table.len(), 1);
        assert_eq!(log.info.n_duplicate_identical, 1);
        let e = read(&format!("{HEAD}{row}a,1750000000,,1750000001,1,2\n")).expect_err("conflict");
        assert_eq!(e.code(), "duplicate_request_id");
        let log = read(&format!("{HEAD}{row}b,1750000000,,17500")).expect("cut tail");
        assert!(log.info.truncated_tail);
        assert_eq!(log.table.len(), 1);
        let log = read(&format!("{HEAD}{row}b,1750000000,,1750000003,1,1")).expect("whole tail");
        assert!(log.info.unterminated_final_line);
        assert_eq!(log.table.len(), 2);
        assert_eq!(read(HEAD).expect_err("header only").code(), "empty_input");
        assert_eq!(read("").expect_err("empty").code(), "empty_input");
    }

    #[test]
    fn token_fields() {
        assert_eq!(token_field(b"007").map_err(|e| e.0), Ok(7));
        assert_eq!(token_field(b"+12.00").map_err(|e| e.0), Ok(12));
        for bad in [
            &b"1e3"[..],
            b"12.",
            b".5",
            b"-",
            b"x",
            b"1.5",
            b"-1",
            b"99999999999999999999",
        ] {
            assert!(token_field(bad).is_err(), "{bad:?}");
        }
    }
}
