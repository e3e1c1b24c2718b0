//! JSON access for the request readers: values are kept as their raw text
//! (`serde_json::value::RawValue`), so numbers are read exactly from their
//! decimal digits, every error can point at the byte, line and key path of
//! the value, and a key that appears twice in one object is caught.
//!
//! Objects are parsed one level at a time, on demand: the formats here are a
//! few levels deep, so re-scanning a nested object's text is cheap, and a
//! record's unused parts (generated texts, prompts) are never decoded.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::{Error, Location, Result};
use crate::read::lines::check_utf8;
use crate::read::source::Source;
use crate::read::OnChunk;
use crate::requests::timefmt::{scaled_integer, NumberError};
use crate::requests::{line_reader, RequestInfo, RequestOptions};

/// A piece of JSON text and where it sits in the file.
#[derive(Clone, Copy)]
pub(crate) struct Text<'a> {
    pub path: &'a str,
    pub text: &'a str,
    /// Line of `text[0]` in the file (1-based).
    pub line: u64,
    /// File byte offset of `text[0]`.
    pub offset: u64,
}

/// The key path of a value, rendered only when an error needs it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Key<'k> {
    Name(&'k str),
    Item(&'k str, usize),
    Item2(&'k str, usize, usize),
}

impl Key<'_> {
    fn render(&self) -> String {
        match self {
            Key::Name(n) => (*n).to_string(),
            Key::Item(n, i) => format!("{n}[{i}]"),
            Key::Item2(n, i, j) => format!("{n}[{i}][{j}]"),
        }
    }
}

/// Line breaks as the line reader counts them: `\n`, `\r\n` and a bare `\r`.
fn count_breaks(b: &[u8]) -> u64 {
    let mut n = 0;
    for i in memchr::memchr2_iter(b'\n', b'\r', b) {
        if b[i] == b'\n' || b.get(i + 1) != Some(&b'\n') {
            n += 1;
        }
    }
    n
}

impl<'a> Text<'a> {
    /// Byte offset of `raw` in this text (it was parsed out of it).
    pub fn offset_of(&self, raw: &RawValue) -> usize {
        let p = raw.get().as_ptr() as usize;
        p.saturating_sub(self.text.as_ptr() as usize)
            .min(self.text.len())
    }

    fn place(&self, off: usize, column: Option<String>) -> Location {
        let off = off.min(self.text.len());
        Location {
            path: Some(self.path.to_string()),
            line: Some(self.line + count_breaks(&self.text.as_bytes()[..off])),
            column,
            byte_offset: Some(self.offset + off as u64),
            ..Location::default()
        }
    }

    /// Where `raw` sits: line, key path and byte offset.
    pub fn at(&self, raw: &RawValue, key: Key<'_>) -> Location {
        self.place(self.offset_of(raw), Some(key.render()))
    }

    /// Where a missing key would have been: the object that lacks it.
    pub fn at_missing(&self, within: &RawValue, key: Key<'_>) -> Location {
        self.at(within, key)
    }

    /// The whole text's start, with a key path.
    pub fn at_start(&self, key: Option<Key<'_>>) -> Location {
        self.place(0, key.map(|k| k.render()))
    }

    /// The text as one raw value.
    #[cfg(test)]
    pub fn root(&self) -> Result<&'a RawValue> {
        serde_json::from_str::<&RawValue>(self.text).map_err(|e| self.syntax(&e))
    }

    /// A parse failure of this text as a typed error.
    pub fn syntax(&self, e: &serde_json::Error) -> Error {
        let off = offset_of_line_col(self.text, e.line(), e.column());
        let msg = e.to_string();
        let reason = match msg.rsplit_once(" at line ") {
            Some((m, _)) => m.to_string(),
            None => msg,
        };
        // serde_json's column points at the offending byte (past the end at EOF).
        let near = self.text[floor_boundary(self.text, off)..].trim_start();
        let value: String = near.chars().take(24).collect();
        let hint = if ["NaN", "Infinity", "-Infinity"]
            .iter()
            .any(|w| near.starts_with(w))
        {
            "NaN and Infinity are not JSON; re-export the file with finite numbers or null".into()
        } else if e.is_eof() {
            "the JSON ends early: was the file cut short?".into()
        } else {
            "is this JSON (one document) or JSON Lines (one object per line)? name the format explicitly if it was guessed wrong".into()
        };
        Error::BadJson {
            at: Location {
                column: Some(e.column().to_string()),
                ..self.place(off, None)
            },
            value,
            reason: format!("invalid JSON: {reason}"),
            hint,
        }
    }
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// serde_json counts lines by `\n` and columns in bytes, both from 1.
fn offset_of_line_col(text: &str, line: usize, column: usize) -> usize {
    let b = text.as_bytes();
    let mut start = 0;
    for _ in 1..line {
        match memchr::memchr(b'\n', &b[start..]) {
            Some(p) => start += p + 1,
            None => break,
        }
    }
    (start + column.saturating_sub(1)).min(b.len())
}

/// What a raw value is, by its first byte (serde_json already checked the rest).
fn kind(raw: &RawValue) -> &'static str {
    match raw.get().as_bytes().first() {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

fn is_number(raw: &RawValue) -> bool {
    matches!(raw.get().as_bytes().first(), Some(b'-' | b'0'..=b'9'))
}

/// A JSON object's entries in file order, values unparsed.
pub(crate) struct Obj<'a> {
    entries: Vec<(Cow<'a, str>, &'a RawValue)>,
    /// The object itself, for locating missing keys.
    pub raw: &'a RawValue,
}

struct Entries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

struct KeyStr<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for KeyStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Self::Value, E> {
                Ok(KeyStr(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Self::Value, E> {
                Ok(KeyStr(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> std::result::Result<Self::Value, E> {
                Ok(KeyStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(
                self,
                mut m: M,
            ) -> std::result::Result<Self::Value, M::Error> {
                let mut out = Vec::with_capacity(m.size_hint().unwrap_or(16));
                while let Some(KeyStr(k)) = m.next_key()? {
                    let v: &'de RawValue = m.next_value()?;
                    out.push((k, v));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'a> Obj<'a> {
    /// The value of `name`, or `None` when absent or `null`. A key present twice is an error:
    /// which of two different values the writer meant is unknowable.
    pub fn get(&self, t: &Text<'a>, name: &str, key: Key<'_>) -> Result<Option<&'a RawValue>> {
        let mut found: Option<&'a RawValue> = None;
        for (k, v) in &self.entries {
            if k.as_ref() == name {
                if let Some(first) = found {
                    return Err(Error::BadJson {
                        at: t.at(v, key),
                        value: v.get().to_string(),
                        reason: format!(
                            "key '{name}' appears twice in one object (first value {})",
                            crate::error::escape_value(first.get())
                        ),
                        hint:
                            "an object must not repeat a key; fix the writer or remove one of them"
                                .into(),
                    });
                }
                found = Some(v);
            }
        }
        Ok(found.filter(|v| v.get() != "null"))
    }

    /// Like [`get`](Self::get), but an absent value is a schema error naming the key.
    pub fn need(&self, t: &Text<'a>, name: &str, key: Key<'_>, hint: &str) -> Result<&'a RawValue> {
        self.get(t, name, key)?.ok_or_else(|| Error::Schema {
            at: t.at_missing(self.raw, key),
            expected: format!("a value for '{}'", key.render()),
            found: "none".into(),
            hint: hint.into(),
        })
    }
}

/// Parse `raw` (a value inside `t`) as an object.
pub(crate) fn object<'a>(t: &Text<'a>, raw: &'a RawValue, key: Key<'_>) -> Result<Obj<'a>> {
    if !raw.get().starts_with('{') {
        return Err(wrong_type(t, raw, key, "an object"));
    }
    let Entries(entries) = serde_json::from_str(raw.get()).map_err(|e| t.syntax(&e))?;
    Ok(Obj { entries, raw })
}

/// Parse `raw` as an array of raw values.
pub(crate) fn array<'a>(
    t: &Text<'a>,
    raw: &'a RawValue,
    key: Key<'_>,
) -> Result<Vec<&'a RawValue>> {
    if !raw.get().starts_with('[') {
        return Err(wrong_type(t, raw, key, "an array"));
    }
    serde_json::from_str(raw.get()).map_err(|e| t.syntax(&e))
}

pub(crate) fn wrong_type(t: &Text<'_>, raw: &RawValue, key: Key<'_>, expected: &str) -> Error {
    Error::BadValue {
        at: t.at(raw, key),
        value: raw.get().to_string(),
        reason: format!("expected {expected}, found {}", kind(raw)),
        hint: "check the file against the format's documentation (FORMATS.md §11)".into(),
    }
}

fn number_error(t: &Text<'_>, raw: &RawValue, key: Key<'_>, what: &str, e: NumberError) -> Error {
    let reason = match e {
        NumberError::Syntax => format!("expected {what}, found {}", kind(raw)),
        NumberError::NotInteger => format!("{what} is not an integer"),
        NumberError::Overflow => format!("{what} is out of range"),
    };
    Error::BadValue {
        at: t.at(raw, key),
        value: raw.get().to_string(),
        reason,
        hint: "token counts are whole numbers >= 0; times are numbers in the field's unit".into(),
    }
}

/// A token count: a JSON number with an integral value (12 or 12.0), >= 0.
pub(crate) fn tokens(t: &Text<'_>, raw: &RawValue, key: Key<'_>) -> Result<i64> {
    if !is_number(raw) {
        return Err(number_error(
            t,
            raw,
            key,
            "a token count",
            NumberError::Syntax,
        ));
    }
    let n = scaled_integer(raw.get().as_bytes(), 0, false)
        .map_err(|e| number_error(t, raw, key, "a token count", e))?;
    if n < 0 {
        return Err(Error::BadValue {
            at: t.at(raw, key),
            value: raw.get().to_string(),
            reason: "negative token count".into(),
            hint: "token counts are whole numbers >= 0".into(),
        });
    }
    Ok(n)
}

/// An integer (nanoseconds since the epoch, an index).
pub(crate) fn integer(t: &Text<'_>, raw: &RawValue, key: Key<'_>, what: &str) -> Result<i64> {
    if !is_number(raw) {
        return Err(number_error(t, raw, key, what, NumberError::Syntax));
    }
    scaled_integer(raw.get().as_bytes(), 0, false).map_err(|e| number_error(t, raw, key, what, e))
}

/// A number in a unit of `10^-scale` ... expressed in ns: `scale` 9 for seconds,
/// 6 for ms. Rounded to the nearest ns from the exact decimal value.
pub(crate) fn time_ns(
    t: &Text<'_>,
    raw: &RawValue,
    key: Key<'_>,
    scale: i64,
    what: &str,
) -> Result<i64> {
    if !is_number(raw) {
        return Err(number_error(t, raw, key, what, NumberError::Syntax));
    }
    scaled_integer(raw.get().as_bytes(), scale, true)
        .map_err(|e| number_error(t, raw, key, what, e))
}

/// A duration: like [`time_ns`], and never negative.
pub(crate) fn duration_ns(
    t: &Text<'_>,
    raw: &RawValue,
    key: Key<'_>,
    scale: i64,
    what: &str,
) -> Result<i64> {
    let v = time_ns(t, raw, key, scale, what)?;
    if v < 0 {
        return Err(Error::BadValue {
            at: t.at(raw, key),
            value: raw.get().to_string(),
            reason: format!("negative {what}"),
            hint: "latencies and durations are >= 0".into(),
        });
    }
    Ok(v)
}

/// A JSON string, unescaped.
pub(crate) fn string(t: &Text<'_>, raw: &RawValue, key: Key<'_>) -> Result<String> {
    if !raw.get().starts_with('"') {
        return Err(wrong_type(t, raw, key, "a string"));
    }
    serde_json::from_str(raw.get()).map_err(|e| t.syntax(&e))
}

/// A string, or a number kept as its text (ids are written both ways).
pub(crate) fn id_text(t: &Text<'_>, raw: &RawValue, key: Key<'_>) -> Result<String> {
    if is_number(raw) {
        return Ok(raw.get().to_string());
    }
    string(t, raw, key)
}

pub(crate) fn boolean(t: &Text<'_>, raw: &RawValue, key: Key<'_>) -> Result<bool> {
    match raw.get() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(wrong_type(t, raw, key, "true or false")),
    }
}

/// Refuse nesting deeper than `max` before serde_json sees the text: a clear
/// error with the offset, instead of a recursion limit deep in the parser.
pub(crate) fn check_depth(t: &Text<'_>, max: usize) -> Result<()> {
    let b = t.text.as_bytes();
    let (mut depth, mut in_str, mut esc) = (0usize, false, false);
    for (i, &c) in b.iter().enumerate() {
        if in_str {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(Error::BadJson {
                        at: t.place(i, None),
                        value: String::new(),
                        reason: format!("JSON nested deeper than {max} levels"),
                        hint: "request logs are a few levels deep; raise max_json_depth if this file is genuine".into(),
                    });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Why a JSON Lines record could not be read: cut short (only acceptable on
/// the last, unterminated line), or anything else.
enum LineFailure {
    Truncated(Error),
    Other(Error),
}

fn parse_record<'a>(t: &Text<'a>, max_depth: usize) -> std::result::Result<Obj<'a>, LineFailure> {
    check_depth(t, max_depth).map_err(LineFailure::Other)?;
    let root = match serde_json::from_str::<&RawValue>(t.text) {
        Ok(r) => r,
        Err(e) if e.is_eof() => return Err(LineFailure::Truncated(t.syntax(&e))),
        Err(e) => return Err(LineFailure::Other(t.syntax(&e))),
    };
    if !root.get().starts_with('{') {
        return Err(LineFailure::Other(Error::Schema {
            at: t.at_start(None),
            expected: "one JSON object per line".into(),
            found: kind(root).into(),
            hint:
                "is this a single JSON document rather than JSON Lines? name the format explicitly"
                    .into(),
        }));
    }
    object(t, root, Key::Name("")).map_err(LineFailure::Other)
}

/// Read JSON Lines in constant memory: blank lines skipped; every other line one
/// object handed to `f` with its text; `f` returns `Some(reason)` for a record
/// it skips, counted in `info.skipped`. A last line without a terminator is kept
/// when it is a complete object (warning) and dropped when cut short (warning,
/// `truncated_tail`): the file may still be being written.
pub(crate) fn for_each_line(
    src: Source,
    opts: &RequestOptions,
    info: &mut RequestInfo,
    on_chunk: OnChunk<'_>,
    mut f: impl FnMut(&Text<'_>, Obj<'_>) -> Result<Option<String>>,
) -> Result<()> {
    let path = &info.path.clone();
    let max_depth = opts.max_json_depth;
    let (progress, mut lines) = line_reader(src, opts, path);
    let mut reported = u64::MAX;
    loop {
        progress.report(&mut reported, on_chunk)?;
        let Some(line) = lines.next_line()? else {
            break;
        };
        info.n_lines = line.number;
        if line.bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let text = check_utf8(line.bytes, path, line.number, line.offset)?;
        let t = Text {
            path,
            text,
            line: line.number,
            offset: line.offset,
        };
        let (number, terminated) = (line.number, line.terminated);
        match parse_record(&t, max_depth) {
            Ok(obj) => {
                if !terminated {
                    info.unterminated_final_line = true;
                    info.warnings.push(format!(
                        "line {number}: the last line has no line terminator; it was complete and is kept"
                    ));
                }
                info.n_records += 1;
                if let Some(why) = f(&t, obj)? {
                    info.skip(&why);
                }
            }
            Err(LineFailure::Truncated(_)) if !terminated => {
                info.truncated_tail = true;
                info.warnings.push(format!(
                    "line {number}: the last line is incomplete and has no line terminator (file still being written?); it was dropped"
                ));
            }
            Err(LineFailure::Truncated(e) | LineFailure::Other(e)) => return Err(e),
        }
    }
    on_chunk(progress.get())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Text<'_> {
        Text {
            path: "mem.jsonl",
            text: s,
            line: 5,
            offset: 100,
        }
    }

    #[test]
    fn values_are_located_by_line_key_and_offset() {
        let s = "{\"a\": 1,\n \"b\": {\"c\": -3}}";
        let t = text(s);
        let root = t.root().expect("valid");
        let o = object(&t, root, Key::Name("")).expect("object");
        let b = o
            .get(&t, "b", Key::Name("b"))
            .expect("once")
            .expect("present");
        let bo = object(&t, b, Key::Name("b")).expect("object");
        let c = bo
            .get(&t, "c", Key::Name("b.c"))
            .expect("once")
            .expect("present");
        let e = tokens(&t, c, Key::Name("b.c")).expect_err("negative");
        let at = e.location().expect("located");
        assert_eq!(at.line, Some(6));
        assert_eq!(at.column.as_deref(), Some("b.c"));
        assert_eq!(
            at.byte_offset,
            Some(100 + s.find("-3").expect("in text") as u64)
        );
        assert_eq!(e.value().as_deref(), Some("-3"));
        assert!(o.get(&t, "zz", Key::Name("zz")).expect("absent").is_none());
        let e = o
            .need(&t, "zz", Key::Name("zz"), "hint")
            .expect_err("missing");
        assert_eq!(e.code(), "schema");
    }

    #[test]
    fn duplicate_keys_depth_and_syntax_are_typed() {
        let t = text(r#"{"a": 1, "a": 2}"#);
        let o = object(&t, t.root().expect("valid"), Key::Name("")).expect("object");
        assert_eq!(
            o.get(&t, "a", Key::Name("a")).expect_err("twice").code(),
            "bad_json"
        );
        let deep = "[".repeat(70);
        let e = check_depth(&text(&deep), 64).expect_err("too deep");
        assert_eq!(e.code(), "bad_json");
        assert_eq!(e.location().and_then(|l| l.byte_offset), Some(164));
        let t = text("{\"a\": NaN}");
        let e = t.root().expect_err("NaN");
        assert_eq!(e.code(), "bad_json");
        assert!(e.hint().unwrap_or_default().contains("NaN"), "{e}");
        assert_eq!(e.value().as_deref(), Some("NaN}"));
        let t = text("{\"k\\u00e9y\": \"x\"}");
        let o = object(&t, t.root().expect("valid"), Key::Name("")).expect("object");
        assert!(o
            .get(&t, "k\u{e9}y", Key::Name("key"))
            .expect("once")
            .is_some());
    }

    #[test]
    fn numbers_by_kind() {
        let t = text(r#"[12.0, 12.5, "7", 255.88656799999998, 1759813207532900363, true]"#);
        let a = array(&t, t.root().expect("valid"), Key::Name("x")).expect("array");
        assert_eq!(tokens(&t, a[0], Key::Item("x", 0)).expect("integral"), 12);
        assert_eq!(
            tokens(&t, a[1], Key::Item("x", 1))
                .expect_err("fraction")
                .code(),
            "bad_value"
        );
        let e = tokens(&t, a[2], Key::Item("x", 2)).expect_err("string");
        assert!(e.reason().contains("found a string"), "{e}");
        assert_eq!(
            e.location().and_then(|l| l.column.clone()).as_deref(),
            Some("x[2]")
        );
        assert_eq!(
            duration_ns(&t, a[3], Key::Item("x", 3), 6, "ttft").expect("ms"),
            255_886_568
        );
        assert_eq!(
            integer(&t, a[4], Key::Item("x", 4), "ns").expect("ns"),
            1_759_813_207_532_900_363
        );
        assert!(!boolean(&t, a[5], Key::Item("x", 5))
            .map(|b| !b)
            .expect("bool"));
    }
}
