//! Readers of the ECB `eurofxref` files: the daily and history CSVs and the
//! daily / 90-day / history XML (FORMATS.md §14). Each gives one [`Rates`]
//! table per reference day, newest first; [`pick`] chooses one.
//!
//! CSV: a header `Date, USD, JPY, …` and one row per day. The daily file
//! separates with `", "`, ends each line with a separator, and writes the
//! date in English (`30 October 2026`); the history file uses `,`, ISO dates
//! newest first, and `N/A` for a currency that did not exist that day.
//!
//! XML: `<Cube time='2026-09-11'><Cube currency='USD' rate='1.1592'/>…</Cube>`,
//! single or double quotes, one dated cube per day.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use super::iso::is_code_shaped;
use super::{Rates, ECB_SOURCE};
use crate::error::{Error, Location, Result};
use crate::read::source::{from_io, open_text, Limits};

/// An ECB file is a few MB; anything past this is not one.
const MAX_BYTES: u64 = 256 << 20;

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Read every dated table of an ECB CSV or XML file (sniffed; `.gz`/`.zst`
/// read directly), newest first.
pub fn read_ecb(path: &Path) -> Result<Vec<Rates>> {
    let limits = Limits {
        max_decompressed_bytes: Some(MAX_BYTES),
        ..Limits::default()
    };
    let src = open_text(path, &limits)?;
    let shown = src.path.clone();
    let mut bytes = Vec::new();
    src.reader
        .take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| from_io(e, &shown))?;
    let text = String::from_utf8(bytes).map_err(|e| Error::UnsupportedEncoding {
        at: Location {
            path: Some(shown.clone()),
            byte_offset: Some(e.utf8_error().valid_up_to() as u64),
            ..Location::default()
        },
        reason: "not UTF-8 text".into(),
    })?;
    parse_ecb(&text, &shown)
}

/// Parse ECB text, CSV or XML by its first character; `name` labels errors and the source.
///
/// ```
/// use epcore_core::economics::currency::parse_ecb;
/// let daily = "Date, USD, JPY, BRL, \n30 October 2026, 1.1172, 175.68, 6.0123, \n";
/// let t = parse_ecb(daily, "eurofxref.csv")?;
/// assert_eq!(t[0].date.as_deref(), Some("2026-10-30"));
/// assert_eq!(t[0].per_eur["JPY"], 175.68);
/// # Ok::<(), epcore_core::Error>(())
/// ```
pub fn parse_ecb(text: &str, name: &str) -> Result<Vec<Rates>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match text.trim_start().bytes().next() {
        None => Err(Error::EmptyInput {
            at: at(name, None, None),
        }),
        Some(b'<') => parse_ecb_xml(text, name),
        Some(_) => parse_ecb_csv(text, name),
    }
}

/// The table of `tables` (newest first) for `date`: the newest on or before
/// it (a weekend or holiday takes the last reference day before), or the
/// newest of all when `date` is `None`.
pub fn pick<'a>(tables: &'a [Rates], date: Option<&str>) -> Result<&'a Rates> {
    let Some(want) = date else {
        return tables.first().ok_or_else(|| Error::EmptyInput {
            at: Location::default(),
        });
    };
    if parse_iso_date(want).is_none() {
        return Err(Error::InvalidArgument {
            name: "date".into(),
            value: want.into(),
            reason: "expected a date as YYYY-MM-DD".into(),
        });
    }
    // ISO dates order as text.
    tables
        .iter()
        .find(|t| t.date.as_deref().is_some_and(|d| d <= want))
        .ok_or_else(|| {
            let oldest = tables
                .last()
                .and_then(|t| t.date.clone())
                .unwrap_or_default();
            Error::InvalidArgument {
                name: "date".into(),
                value: want.into(),
                reason: format!("no rates on or before this date; the table starts on {oldest}"),
            }
        })
}

/// The ECB CSV layouts (daily and history).
pub fn parse_ecb_csv(text: &str, name: &str) -> Result<Vec<Rates>> {
    let mut lines = text
        .split('\n')
        .enumerate()
        .map(|(i, l)| (i as u64 + 1, l.strip_suffix('\r').unwrap_or(l)))
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((header_line, header)) = lines.next() else {
        return Err(Error::EmptyInput {
            at: at(name, None, None),
        });
    };
    let codes = header_codes(header, header_line, name)?;
    let mut tables: Vec<(u64, Rates)> = Vec::new();
    for (line, row) in lines {
        let cells = fields(row);
        if cells.len() != codes.len() + 1 {
            return Err(Error::UnequalLengths {
                at: at(name, Some(line), None),
                expected: codes.len() + 1,
                found: cells.len(),
                hint: "an ECB CSV row has the date and one cell per currency of the header".into(),
            });
        }
        let date = csv_date(cells[0]).ok_or_else(|| Error::BadValue {
            at: at(name, Some(line), Some(("Date", 0))),
            value: cells[0].into(),
            reason: format!("cannot read '{}' as a date", cells[0]),
            hint: "expected YYYY-MM-DD or an English date such as 30 October 2026".into(),
        })?;
        let mut per_eur = BTreeMap::new();
        for (i, (code, cell)) in codes.iter().zip(&cells[1..]).enumerate() {
            // N/A: the currency did not exist (or was not quoted) that day.
            if cell.is_empty() || cell.eq_ignore_ascii_case("N/A") {
                continue;
            }
            let v = rate_value(cell).ok_or_else(|| bad_rate(name, line, code, i + 1, cell))?;
            per_eur.insert(code.clone(), v);
        }
        tables.push((line, table(date, per_eur, name)));
    }
    newest_first(tables, name)
}

/// The ECB XML layouts (daily, 90-day and full history).
pub fn parse_ecb_xml(text: &str, name: &str) -> Result<Vec<Rates>> {
    let mut tables: Vec<(u64, Rates)> = Vec::new();
    let mut line: u64 = 1;
    let mut pos = 0usize;
    let b = text.as_bytes();
    while let Some(off) = memchr::memchr(b'<', &b[pos..]) {
        let start = pos + off;
        line += count_newlines(&b[pos..start]);
        let rest = &text[start..];
        let skip_to = |end: &str| rest.find(end).map(|i| start + i + end.len());
        let end = if rest.starts_with("<!--") {
            skip_to("-->")
        } else if rest.starts_with("<?") {
            skip_to("?>")
        } else {
            skip_to(">")
        };
        let Some(end) = end else {
            return Err(Error::CorruptInput {
                at: at(name, Some(line), None),
                reason: "the XML ends inside a tag".into(),
            });
        };
        let tag = &text[start + 1..end - 1];
        if let Some(attrs) = cube_attributes(tag) {
            cube(attrs, name, line, &mut tables)?;
        }
        line += count_newlines(&b[start..end]);
        pos = end;
    }
    if tables.is_empty() {
        return Err(Error::UnrecognizedFormat {
            at: at(name, None, None),
            reason: "no <Cube time='…'> element: not an ECB eurofxref XML file".into(),
            hint:
                "pass eurofxref-daily.xml, eurofxref-hist-90d.xml or eurofxref-hist.xml, or the CSV"
                    .into(),
        });
    }
    newest_first(tables, name)
}

/// One `<Cube …>` tag: a dated cube opens a table, a currency cube adds to it.
fn cube(attrs: &str, name: &str, line: u64, tables: &mut Vec<(u64, Rates)>) -> Result<()> {
    let attrs = attributes(attrs).ok_or_else(|| Error::BadValue {
        at: at(name, Some(line), None),
        value: attrs.trim().into(),
        reason: "cannot read the attributes of a <Cube> tag".into(),
        hint: "attributes are name='value' or name=\"value\"".into(),
    })?;
    let get = |k: &str| attrs.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
    if let Some(time) = get("time") {
        let date = parse_iso_date(time).ok_or_else(|| Error::BadValue {
            at: at(name, Some(line), Some(("time", 0))),
            value: time.into(),
            reason: format!("cannot read '{time}' as a date"),
            hint: "expected time='YYYY-MM-DD'".into(),
        })?;
        tables.push((line, table(date, BTreeMap::new(), name)));
        return Ok(());
    }
    let (Some(code), Some(rate)) = (get("currency"), get("rate")) else {
        return Ok(()); // the outer <Cube> that holds the days
    };
    if !is_code_shaped(code) {
        return Err(Error::BadValue {
            at: at(name, Some(line), Some(("currency", 0))),
            value: code.into(),
            reason: format!("'{code}' is not a three-letter currency code"),
            hint: String::new(),
        });
    }
    let Some((_, t)) = tables.last_mut() else {
        return Err(Error::Schema {
            at: at(name, Some(line), None),
            expected: "a <Cube time='YYYY-MM-DD'> around each rate".into(),
            found: format!("a {code} rate outside any dated cube"),
            hint: String::new(),
        });
    };
    let v = rate_value(rate).ok_or_else(|| {
        let mut e = bad_rate(name, line, code, 0, rate);
        if let Some(l) = e.location_mut() {
            l.column = Some("rate".into());
            l.column_index = None;
        }
        e
    })?;
    if t.per_eur.insert(code.to_string(), v).is_some() && code != "EUR" {
        return Err(Error::BadValue {
            at: at(name, Some(line), Some(("currency", 0))),
            value: code.into(),
            reason: format!(
                "{code} appears twice on {}",
                t.date.as_deref().unwrap_or("?")
            ),
            hint: String::new(),
        });
    }
    Ok(())
}

/// The attribute text of a `Cube` tag (any namespace prefix), else `None`.
fn cube_attributes(tag: &str) -> Option<&str> {
    let tag = tag.strip_suffix('/').unwrap_or(tag);
    let name_end = tag
        .find(|c: char| c.is_ascii_whitespace())
        .unwrap_or(tag.len());
    let local = tag[..name_end].rsplit(':').next()?;
    (local == "Cube").then(|| &tag[name_end..])
}

/// `a='x' b="y"` -> `[(a, x), (b, y)]`; `None` when malformed.
fn attributes(s: &str) -> Option<Vec<(&str, &str)>> {
    let mut out = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let eq = rest.find('=')?;
        let key = rest[..eq].trim();
        let after = rest[eq + 1..].trim_start();
        let quote = after.chars().next().filter(|c| *c == '\'' || *c == '"')?;
        let close = after[1..].find(quote)?;
        out.push((key, &after[1..1 + close]));
        rest = after[close + 2..].trim_start();
    }
    Some(out)
}

fn count_newlines(b: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', b).count() as u64
}

/// Header codes, with the trailing empty column of the ECB layout dropped.
fn header_codes(header: &str, line: u64, name: &str) -> Result<Vec<String>> {
    let cells = fields(header);
    let schema = |found: String| Error::Schema {
        at: at(name, Some(line), None),
        expected: "the ECB eurofxref header Date, USD, JPY, …".into(),
        found,
        hint: "pass eurofxref.csv or eurofxref-hist.csv as the ECB publishes them".into(),
    };
    match cells.first() {
        Some(d) if d.eq_ignore_ascii_case("date") => {}
        first => return Err(schema(format!("first column '{}'", first.unwrap_or(&"")))),
    }
    let mut codes = Vec::new();
    for (i, c) in cells.iter().enumerate().skip(1) {
        if !is_code_shaped(c) {
            return Err(Error::Schema {
                at: at(name, Some(line), Some((c, i))),
                expected: "a three-letter currency code".into(),
                found: format!("column {} '{c}'", i + 1),
                hint: "pass eurofxref.csv or eurofxref-hist.csv as the ECB publishes them".into(),
            });
        }
        codes.push((*c).to_string());
    }
    if codes.is_empty() {
        return Err(schema("no currency columns".into()));
    }
    Ok(codes)
}

/// Cells split on `,` and trimmed (so `", "` works too), without the
/// empty cell that the ECB's trailing separator leaves at the end.
fn fields(line: &str) -> Vec<&str> {
    let mut cells: Vec<&str> = line.split(',').map(str::trim).collect();
    if cells.len() > 1 && cells.last().is_some_and(|c| c.is_empty()) {
        cells.pop();
    }
    cells
}

fn rate_value(cell: &str) -> Option<f64> {
    // Rust also reads "inf" and "NaN"; a rate must be a positive finite decimal.
    let ok_chars = cell.bytes().all(|b| {
        b.is_ascii_digit() || b == b'.' || b == b'e' || b == b'E' || b == b'-' || b == b'+'
    });
    let v: f64 = cell.parse().ok().filter(|_| ok_chars)?;
    (v.is_finite() && v > 0.0).then_some(v)
}

fn bad_rate(name: &str, line: u64, code: &str, col: usize, cell: &str) -> Error {
    Error::BadValue {
        at: at(name, Some(line), Some((code, col))),
        value: cell.into(),
        reason: format!("cannot read '{cell}' as a rate (units of {code} per 1 EUR)"),
        hint: "a rate is a positive decimal number, or N/A".into(),
    }
}

fn at(name: &str, line: Option<u64>, column: Option<(&str, usize)>) -> Location {
    Location {
        path: Some(name.into()),
        line,
        column: column.map(|(c, _)| c.to_string()),
        column_index: column.and_then(|(_, i)| u32::try_from(i).ok()),
        ..Location::default()
    }
}

fn table(date: String, per_eur: BTreeMap<String, f64>, name: &str) -> Rates {
    let mut per_eur = per_eur;
    per_eur.insert("EUR".into(), 1.0);
    Rates {
        date: Some(date),
        source: format!("{ECB_SOURCE}, read from {name}"),
        per_eur,
    }
}

/// Sort newest first; the same day twice is an error naming both lines.
fn newest_first(mut tables: Vec<(u64, Rates)>, name: &str) -> Result<Vec<Rates>> {
    tables.sort_by(|a, b| b.1.date.cmp(&a.1.date));
    for w in tables.windows(2) {
        if w[0].1.date == w[1].1.date {
            let (first, second) = (w[0].0.min(w[1].0), w[0].0.max(w[1].0));
            let date = w[0].1.date.clone().unwrap_or_default();
            return Err(Error::BadValue {
                at: at(name, Some(second), Some(("Date", 0))),
                value: date.clone(),
                reason: format!("the date {date} appears twice (first on line {first})"),
                hint: "an ECB file has one row per reference day".into(),
            });
        }
    }
    Ok(tables.into_iter().map(|(_, t)| t).collect())
}

/// `2025-05-09` or `9 May 2025` -> `2025-05-09`.
fn csv_date(cell: &str) -> Option<String> {
    parse_iso_date(cell).or_else(|| parse_english_date(cell))
}

/// A valid calendar date written `YYYY-MM-DD`, returned as written.
pub fn parse_iso_date(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i32> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    valid(y, m, d).then(|| s.to_string())
}

/// `30 October 2026` (the ECB daily CSV) -> `2026-10-30`.
fn parse_english_date(s: &str) -> Option<String> {
    let mut parts = s.split_ascii_whitespace();
    let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let d: i32 = d.parse().ok()?;
    let y: i32 = y.parse().ok()?;
    let m = MONTHS.iter().position(|n| n.eq_ignore_ascii_case(m))? as i32 + 1;
    valid(y, m, d).then(|| format!("{y:04}-{m:02}-{d:02}"))
}

fn valid(y: i32, m: i32, d: i32) -> bool {
    let (Ok(y), Ok(m), Ok(d)) = (i16::try_from(y), i8::try_from(m), i8::try_from(d)) else {
        return false;
    };
    (1000..=9999).contains(&y) && jiff::civil::Date::new(y, m, d).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HIST: &str = "Date,USD,JPY,CYP,GBP,\n2025-05-09,1.1252,163.36,N/A,0.8477,\n\
                        2025-05-08,1.1297,163.45,N/A,0.8476,\n";

    #[test]
    fn history_csv() {
        let t = parse_ecb(HIST, "h.csv").expect("valid");
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].date.as_deref(), Some("2025-05-09"));
        assert_eq!(t[0].per_eur.get("CYP"), None);
        assert_eq!(t[0].per_eur["GBP"], 0.8477);
        assert_eq!(t[1].per_eur["USD"], 1.1297);
        assert_eq!(t[0].per_eur["EUR"], 1.0);
    }

    #[test]
    fn daily_csv_with_crlf_and_bom() {
        let d = "\u{feff}Date, USD, JPY, \r\n9 May 2025, 1.1252, 163.36, \r\n";
        let t = parse_ecb(d, "d.csv").expect("valid");
        assert_eq!(t[0].date.as_deref(), Some("2025-05-09"));
        assert_eq!(t[0].per_eur["JPY"], 163.36);
    }

    #[test]
    fn xml_daily_and_history() {
        let x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gesmes:Envelope xmlns:gesmes=\"http://www.gesmes.org/xml/2002-08-01\">\n\
                 <!-- <Cube time='1999-01-01'> -->\n<Cube>\n<Cube time='2026-09-10'>\n<Cube currency='USD' rate='1.1500'/>\n</Cube>\n\
                 <Cube time=\"2026-09-11\">\n<Cube currency=\"USD\" rate=\"1.1592\"/>\n<Cube currency='JPY' rate='170.1'/></Cube></Cube>\n</gesmes:Envelope>";
        let t = parse_ecb(x, "d.xml").expect("valid");
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].date.as_deref(), Some("2026-09-11"));
        assert_eq!(t[0].per_eur["USD"], 1.1592);
        assert_eq!(t[1].per_eur["USD"], 1.15);
        let e = parse_ecb(&x.replace("170.1", "abc"), "d.xml").expect_err("bad rate");
        assert!(
            e.to_string()
                .starts_with("d.xml:10: column rate: cannot read 'abc'"),
            "{e}"
        );
    }

    #[test]
    fn errors_name_line_column_value() {
        let e = parse_ecb(&HIST.replace("0.8476", "0.84x6"), "h.csv").expect_err("bad");
        assert_eq!(e.code(), "bad_value");
        assert!(
            e.to_string()
                .starts_with("h.csv:3: column GBP: cannot read '0.84x6'"),
            "{e}"
        );
        for bad in ["-1", "0", "inf", "NaN", "1e999"] {
            let e = parse_ecb(&HIST.replace("1.1297", bad), "h.csv").expect_err("bad");
            assert_eq!(e.code(), "bad_value", "{bad}");
        }
        let e = parse_ecb(&HIST.replace("2025-05-08", "2025-02-30"), "h.csv").expect_err("bad");
        assert!(e.to_string().contains("column Date"), "{e}");
        let e = parse_ecb(&HIST.replace(",0.8476,", ","), "h.csv").expect_err("short");
        assert_eq!(e.code(), "unequal_lengths");
        let e = parse_ecb(&HIST.replace("2025-05-08", "2025-05-09"), "h.csv").expect_err("dup");
        assert!(
            e.to_string().contains("appears twice (first on line 2)"),
            "{e}"
        );
        let e = parse_ecb("When,USD\n", "h.csv").expect_err("header");
        assert_eq!(e.code(), "schema");
        assert_eq!(
            parse_ecb(" \n", "h.csv").expect_err("empty").code(),
            "empty_input"
        );
        assert_eq!(
            parse_ecb("<a/>", "x.xml").expect_err("no cube").code(),
            "unrecognized_format"
        );
    }

    #[test]
    fn picking_dates() {
        let t = parse_ecb(HIST, "h.csv").expect("valid");
        assert_eq!(
            pick(&t, None).expect("ok").date.as_deref(),
            Some("2025-05-09")
        );
        assert_eq!(
            pick(&t, Some("2025-05-11")).expect("ok").date.as_deref(),
            Some("2025-05-09")
        );
        assert_eq!(
            pick(&t, Some("2025-05-08")).expect("ok").date.as_deref(),
            Some("2025-05-08")
        );
        assert!(pick(&t, Some("2025-05-07")).is_err());
        assert!(pick(&t, Some("May 8")).is_err());
    }
}
