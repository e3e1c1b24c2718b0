//! Prometheus HTTP API query results: `/api/v1/query_range` (`"resultType":
//! "matrix"`, `"values":[[t,"v"],...]`) and `/api/v1/query` (`"vector"`,
//! `"value":[t,"v"]`; a range selector `metric[1h]` gives a matrix of the raw
//! samples). The whole response or just its `data` object is accepted.
//!
//! Times are JSON numbers of Unix seconds; their decimal text is read exactly
//! to the nanosecond (never through f64). Values are JSON strings (`"245.6"`,
//! `"NaN"`, `"+Inf"`): `NaN`, `±Inf` and `null` are missing readings. A
//! response with `"status":"error"` is an error carrying the server's
//! `errorType` and `error`; the server's `warnings` and `infos` become file
//! warnings. Native-histogram points are skipped and counted.
//!
//! The metric is chosen as for the text format ([`super::prometheus_text`]),
//! from `__name__`. A query of an expression (`sum(...)`, `rate(...)`) drops
//! `__name__`: its series are read only when `value` says what they are
//! (`value='DCGM_FI_DEV_POWER_USAGE'`, or just a unit, `value='[W]'`).
//! Channels come from the series labels as for the text format; Prometheus
//! adds `instance` to every series, which serves as the host when the exporter
//! gave none.
//!
//! `query_range` returns values resampled at its `step` (the last raw sample
//! at each step, looked back up to 5 min), not raw samples: counters stay
//! exact differences (at slightly earlier times), but a power gauge becomes a
//! held value. Series of exactly even spacing read as power get a warning.
//!
//! The document is parsed as a stream (memory holds one series' labels, not
//! the document); it may be at most 1 GiB after decompression (or
//! `limits.max_decompressed_bytes` when set) and nest at most 128 levels.

use std::cell::Cell;
use std::fmt;
use std::io::{self, BufReader, Read};
use std::rc::Rc;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::{Error, Location, Result};
use crate::read::fields::parse_f64;
use crate::read::format::Format;
use crate::read::prometheus_text::{
    channel_name, choose_metric, decimal_to_ns, label, later_warning, plausible_epoch, Choice,
    Labels, MetricKind,
};
use crate::read::source::{from_io, Progress, Source, TypedIo, HEAD_BYTES};
use crate::read::{place_error, FileInfo, Layout, OnChunk, PowerReader, ReadConfig, RowSink};
use crate::time::DecimalError;

/// The default cap on a JSON document's decoded size.
pub const MAX_DOCUMENT_BYTES: u64 = 1 << 30;

/// Whether the head is a Prometheus API response (or its `data` object).
pub fn sniff(head: &[u8]) -> bool {
    let body = head.trim_ascii_start();
    if body.first() != Some(&b'{') {
        return false;
    }
    let has = |k: &[u8]| memchr::memmem::find(body, k).is_some();
    (has(b"\"status\"") && (has(b"\"resultType\"") || has(b"\"errorType\"")))
        || (has(b"\"resultType\"") && has(b"\"result\""))
}

/// Open a Prometheus query result for power or energy.
pub fn open(src: Source, cfg: &ReadConfig) -> Result<Box<dyn PowerReader>> {
    let path = src.path.clone();
    let whole = src.head.len() < HEAD_BYTES;
    if src.head.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::EmptyInput {
            at: Location {
                path: Some(path),
                ..Location::default()
            },
        });
    }
    if whole {
        if let Some(e) = error_response(&src.head, &path) {
            return Err(e);
        }
    }
    let names = head_names(&src.head);
    let choice = match choose_metric(cfg, &names, &path, true) {
        Ok(c) => c,
        // An empty result has no metric to choose: it reads as no samples.
        Err(_) if whole && names.is_empty() && !has_series(&src.head) => Choice {
            name: cfg.value.clone(),
            accept_nameless: false,
            kind: MetricKind::Power {
                scale: 1.0,
                semantics: "unknown",
            },
            preferred_later: None,
            warnings: Vec::new(),
        },
        Err(e) => return Err(e),
    };
    let (quantity, semantics) = match choice.kind {
        MetricKind::Power { semantics, .. } => (crate::read::Quantity::Power, semantics),
        MetricKind::Counter { unit_j } => (
            crate::read::Quantity::Counter {
                unit_j,
                modulus: None,
            },
            "unknown",
        ),
    };
    let value_column = choice.name.clone().unwrap_or_else(|| "value".into());
    let layout = Layout {
        format: Format::PrometheusJson,
        quantity,
        power_semantics: semantics,
        naive_time: false,
        tz: None,
        time_column: "time".into(),
        value_column: value_column.clone(),
    };
    let mut info = FileInfo::of(&src);
    info.time_column = layout.time_column.clone();
    info.value_column = value_column;
    info.warnings.extend(choice.warnings.iter().cloned());
    Ok(Box::new(JsonReader {
        progress: src.progress(),
        reader: Some(src.reader),
        cap: document_cap(cfg),
        choice,
        channel_label: cfg.channel.clone(),
        layout,
        info,
    }))
}

/// The decoded-size cap of a document.
pub(crate) fn document_cap(cfg: &ReadConfig) -> u64 {
    cfg.limits
        .max_decompressed_bytes
        .unwrap_or(MAX_DOCUMENT_BYTES)
}

/// The `__name__` values in the head, in order of appearance.
pub(crate) fn head_names(head: &[u8]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for at in memchr::memmem::find_iter(head, b"\"__name__\"") {
        let rest = head[at + 10..].trim_ascii_start();
        let Some(rest) = rest.strip_prefix(b":") else {
            continue;
        };
        let Some(rest) = rest.trim_ascii_start().strip_prefix(b"\"") else {
            continue;
        };
        let Some(end) = memchr::memchr(b'"', rest) else {
            continue;
        };
        let name = String::from_utf8_lossy(&rest[..end]).into_owned();
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

fn has_series(head: &[u8]) -> bool {
    memchr::memmem::find(head, b"\"metric\"").is_some()
}

/// A small error response (`"status":"error"`) read whole from the head.
fn error_response(head: &[u8], path: &str) -> Option<Error> {
    let doc: serde_json::Value = serde_json::from_slice(head).ok()?;
    let field = |k: &str| doc.get(k).and_then(|v| v.as_str()).map(str::to_string);
    (field("status").as_deref() == Some("error"))
        .then(|| query_error(path, field("errorType"), field("error")))
}

/// The error for a response the server marked as failed.
fn query_error(path: &str, error_type: Option<String>, error: Option<String>) -> Error {
    Error::Schema {
        at: Location {
            path: Some(path.into()),
            column: Some("status".into()),
            ..Location::default()
        },
        expected: "a successful query result (\"status\": \"success\")".into(),
        found: format!(
            "\"status\": \"error\", errorType '{}': {}",
            error_type.as_deref().unwrap_or("?"),
            error.as_deref().unwrap_or("(no message)")
        ),
        hint: "the query failed on the Prometheus server; fix the query (or its time range and step) and export again".into(),
    }
}

/// Receives the series of a query result as the document streams by.
pub(crate) trait SeriesHandler {
    /// A series' labels (with `__name__` when the query kept it); `Some(handle)`
    /// to receive its points, `None` to skip them.
    fn series(&mut self, labels: &Labels, at: &Location) -> Result<Option<usize>>;
    /// One point of a selected series.
    fn point(&mut self, handle: usize, t_ns: i64, value: f64, line: u64) -> Result<()>;
    /// A point that is not read (unselected series, native histogram).
    fn skipped(&mut self, why: &str);
    /// Called every few thousand points: progress and interruption.
    fn tick(&mut self) -> Result<()>;
}

/// What the document said besides its series.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    pub result_type: Option<String>,
    pub warnings: Vec<String>,
}

/// Where the parser is: bytes and lines consumed (the parser reads a byte at a time).
#[derive(Default)]
struct Pos {
    bytes: Cell<u64>,
    breaks: Cell<u64>,
    after_cr: Cell<bool>,
}

/// Counts bytes and line breaks (`\n`, `\r\n`, `\r`) as the parser consumes
/// them, and stops the document at its size cap.
struct Counting<R> {
    inner: R,
    pos: Rc<Pos>,
    cap: u64,
    path: String,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.inner.read(buf)?;
        let p = &self.pos;
        for &b in &buf[..k] {
            match b {
                b'\n' if p.after_cr.get() => p.after_cr.set(false),
                b'\n' => p.breaks.set(p.breaks.get() + 1),
                b'\r' => {
                    p.breaks.set(p.breaks.get() + 1);
                    p.after_cr.set(true);
                }
                _ => p.after_cr.set(false),
            }
        }
        p.bytes.set(p.bytes.get() + k as u64);
        if p.bytes.get() > self.cap {
            return Err(io::Error::other(TypedIo(Error::BadJson {
                at: Location {
                    path: Some(self.path.clone()),
                    line: Some(p.breaks.get() + 1),
                    byte_offset: Some(self.cap),
                    ..Location::default()
                },
                value: String::new(),
                reason: format!("the JSON document is larger than {} bytes", self.cap),
                hint: "query a shorter range or fewer series per file, or raise max_decompressed_bytes".into(),
            })));
        }
        Ok(k)
    }
}

/// The parse state shared by the nested visitors.
struct State<'h> {
    h: &'h mut dyn SeriesHandler,
    pos: Rc<Pos>,
    path: String,
    /// The typed error behind a visitor's failure (serde only carries text).
    failure: Option<Error>,
    status: Option<String>,
    error_type: Option<String>,
    error: Option<String>,
    summary: Summary,
    series: usize,
    points: u32,
}

impl State<'_> {
    fn line(&self) -> u64 {
        self.pos.breaks.get() + 1
    }

    fn at(&self, column: String) -> Location {
        Location {
            path: Some(self.path.clone()),
            line: Some(self.line()),
            column: Some(column),
            byte_offset: Some(self.pos.bytes.get()),
            ..Location::default()
        }
    }

    /// Keep `e` for the caller and stop the parser.
    fn fail<E: de::Error>(&mut self, e: Error) -> E {
        self.failure = Some(e);
        E::custom("epcore")
    }
}

/// Parse a query result from `reader`, handing series and points to `h`.
pub(crate) fn walk(
    reader: Box<dyn Read + Send>,
    path: &str,
    cap: u64,
    h: &mut dyn SeriesHandler,
) -> Result<Summary> {
    let pos = Rc::new(Pos::default());
    let counting = Counting {
        inner: BufReader::with_capacity(1 << 16, reader),
        pos: pos.clone(),
        cap,
        path: path.into(),
    };
    let mut de = serde_json::Deserializer::from_reader(counting);
    let mut st = State {
        h,
        pos,
        path: path.into(),
        failure: None,
        status: None,
        error_type: None,
        error: None,
        summary: Summary::default(),
        series: 0,
        points: 0,
    };
    let parsed = Root(&mut st).deserialize(&mut de).and_then(|()| de.end());
    if let Err(e) = parsed {
        return Err(json_error(e, &mut st));
    }
    if st.status.as_deref() == Some("error") {
        return Err(query_error(path, st.error_type.take(), st.error.take()));
    }
    if st.status.is_none() && st.summary.result_type.is_none() {
        return Err(Error::Schema {
            at: Location {
                path: Some(path.into()),
                line: Some(1),
                ..Location::default()
            },
            expected: "a Prometheus API response: {\"status\": ..., \"data\": {\"resultType\": ..., \"result\": [...]}}".into(),
            found: "a JSON object without status or resultType".into(),
            hint: "save the response of /api/v1/query_range or /api/v1/query as it comes".into(),
        });
    }
    Ok(st.summary)
}

/// A parser failure as a typed error: the visitor's own, or the parser's.
fn json_error(e: serde_json::Error, st: &mut State<'_>) -> Error {
    if let Some(mut f) = st.failure.take() {
        if let Some(at) = f.location_mut() {
            if at.line.is_none() {
                at.line = Some(e.line() as u64);
            }
        }
        return f;
    }
    let at = Location {
        path: Some(st.path.clone()),
        line: Some(e.line() as u64),
        byte_offset: Some(st.pos.bytes.get().saturating_sub(1)),
        ..Location::default()
    };
    let msg = e.to_string();
    let reason = match msg.rsplit_once(" at line ") {
        Some((m, _)) => m.to_string(),
        None => msg,
    };
    match e.classify() {
        serde_json::error::Category::Io => from_io(e.into(), &st.path),
        serde_json::error::Category::Eof => Error::BadJson {
            at,
            value: String::new(),
            reason: format!("the JSON ends early: {reason}"),
            hint: "was the file cut short? export the query result again".into(),
        },
        _ => Error::BadJson {
            at,
            value: String::new(),
            hint: if reason.contains("recursion limit") {
                "JSON nested deeper than 128 levels is not a Prometheus API response".into()
            } else if reason.contains("trailing characters") {
                "one JSON document per file: save each query result to its own file".into()
            } else {
                "is this the JSON of a Prometheus query? name the format explicitly if it was guessed wrong".into()
            },
            reason: format!("invalid Prometheus JSON: {reason}"),
        },
    }
}

struct Root<'a, 'h>(&'a mut State<'h>);

impl<'de> DeserializeSeed<'de> for Root<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Root<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Prometheus API response object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        let st = self.0;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "status" => st.status = map.next_value::<Option<String>>()?,
                "errorType" => st.error_type = map.next_value::<Option<String>>()?,
                "error" => st.error = map.next_value::<Option<String>>()?,
                "warnings" | "infos" => {
                    let notes = map.next_value::<Option<Vec<String>>>()?.unwrap_or_default();
                    for n in notes {
                        st.summary.warnings.push(format!("Prometheus {key}: {n}"));
                    }
                }
                "data" => map.next_value_seed(Data(&mut *st))?,
                // The `data` object saved on its own.
                "resultType" => st.summary.result_type = map.next_value::<Option<String>>()?,
                "result" => map.next_value_seed(ResultSeed(&mut *st))?,
                _ => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(())
    }
}

struct Data<'a, 'h>(&'a mut State<'h>);

impl<'de> DeserializeSeed<'de> for Data<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Data<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a data object {\"resultType\": ..., \"result\": [...]}")
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        let st = self.0;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "resultType" => st.summary.result_type = map.next_value::<Option<String>>()?,
                "result" => map.next_value_seed(ResultSeed(&mut *st))?,
                _ => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(())
    }
}

struct ResultSeed<'a, 'h>(&'a mut State<'h>);

impl<'de> DeserializeSeed<'de> for ResultSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ResultSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of series")
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        let st = self.0;
        while seq.next_element_seed(Item(&mut *st))?.is_some() {}
        Ok(())
    }
}

/// One element of `result`: a series object, or a scalar/string result's parts.
struct Item<'a, 'h>(&'a mut State<'h>);

impl Item<'_, '_> {
    fn not_series<E: de::Error>(self) -> E {
        let at = self.0.at("result".into());
        self.0.fail(Error::Schema {
            at,
            expected: "series (resultType matrix or vector)".into(),
            found: "a scalar or string result, which has no series".into(),
            hint: "query an instant vector or a range vector, e.g. DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION or DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION[1h]".into(),
        })
    }
}

impl<'de> DeserializeSeed<'de> for Item<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Item<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a series object {\"metric\": {...}, \"values\": [...]}")
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<(), E> {
        Err(self.not_series())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> std::result::Result<(), E> {
        Err(self.not_series())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<(), E> {
        Err(self.not_series())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> std::result::Result<(), E> {
        Err(self.not_series())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        let st = self.0;
        st.series += 1;
        let index = st.series - 1;
        // `None` until the labels are read; points that come first wait in `early`.
        let mut target: Option<Option<usize>> = None;
        let mut early: Vec<(i64, f64, u64)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "metric" => {
                    let labels = map.next_value::<Option<LabelMap>>()?.unwrap_or_default().0;
                    let at = st.at(format!("result[{index}].metric"));
                    let t = match st.h.series(&labels, &at) {
                        Ok(t) => t,
                        Err(e) => return Err(st.fail(e)),
                    };
                    for (t_ns, v, line) in early.drain(..) {
                        deliver(st, t, t_ns, v, line)?;
                    }
                    target = Some(t);
                }
                "values" | "value" => map.next_value_seed(Points {
                    st: &mut *st,
                    target,
                    early: &mut early,
                    many: key == "values",
                    column: format!("result[{index}].{key}"),
                })?,
                "histograms" | "histogram" => {
                    map.next_value::<Skip>()?;
                    st.h.skipped("native histogram points");
                }
                _ => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        if target.is_none() {
            let at = st.at(format!("result[{index}]"));
            let t = match st.h.series(&Labels::new(), &at) {
                Ok(t) => t,
                Err(e) => return Err(st.fail(e)),
            };
            for (t_ns, v, line) in early.drain(..) {
                deliver(st, t, t_ns, v, line)?;
            }
        }
        Ok(())
    }
}

/// Hand one point to the handler (or count it as skipped).
fn deliver<E: de::Error>(
    st: &mut State<'_>,
    target: Option<usize>,
    t_ns: i64,
    v: f64,
    line: u64,
) -> std::result::Result<(), E> {
    match target {
        Some(id) => {
            if let Err(e) = st.h.point(id, t_ns, v, line) {
                return Err(st.fail(e));
            }
        }
        None => st.h.skipped("other metrics"),
    }
    st.points += 1;
    if st.points >= 4096 {
        st.points = 0;
        if let Err(e) = st.h.tick() {
            return Err(st.fail(e));
        }
    }
    Ok(())
}

/// A value epcore does not read, skipped by recursion so that the parser's
/// nesting limit (128 levels) holds for it too (serde_json skips iteratively).
struct Skip;

impl<'de> de::Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Skip;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> std::result::Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> std::result::Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> std::result::Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_unit<E: de::Error>(self) -> std::result::Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Skip, A::Error> {
                while seq.next_element::<Skip>()?.is_some() {}
                Ok(Skip)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> std::result::Result<Skip, A::Error> {
                while m.next_entry::<Skip, Skip>()?.is_some() {}
                Ok(Skip)
            }
        }
        d.deserialize_any(V)
    }
}

/// A series' labels, in document order.
#[derive(Default)]
struct LabelMap(Labels);

impl<'de> de::Deserialize<'de> for LabelMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LabelMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of label names to string values")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut m: A,
            ) -> std::result::Result<LabelMap, A::Error> {
                let mut out = Labels::new();
                while let Some((k, v)) = m.next_entry::<String, String>()? {
                    out.push((k, v));
                }
                Ok(LabelMap(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// `values` (a list of points) or `value` (one point) of a series.
struct Points<'a, 'h> {
    st: &'a mut State<'h>,
    target: Option<Option<usize>>,
    early: &'a mut Vec<(i64, f64, u64)>,
    many: bool,
    column: String,
}

impl<'de> DeserializeSeed<'de> for Points<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        if self.many {
            d.deserialize_seq(self)
        } else {
            let Points {
                st,
                target,
                early,
                column,
                ..
            } = self;
            PointSeed {
                st,
                target,
                early,
                column,
            }
            .deserialize(d)
        }
    }
}

impl<'de> Visitor<'de> for Points<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of [time, \"value\"] points")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        let mut i = 0usize;
        loop {
            let seed = PointSeed {
                st: &mut *self.st,
                target: self.target,
                early: &mut *self.early,
                column: format!("{}[{i}]", self.column),
            };
            if seq.next_element_seed(seed)?.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }
}

/// One `[time, "value"]` point.
struct PointSeed<'a, 'h> {
    st: &'a mut State<'h>,
    target: Option<Option<usize>>,
    early: &'a mut Vec<(i64, f64, u64)>,
    column: String,
}

impl<'de> DeserializeSeed<'de> for PointSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for PointSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a point [time, \"value\"]")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        let st = self.st;
        let bad = |st: &mut State<'_>, what: &str, value: String, reason: String, hint: &str| {
            let at = st.at(format!("{}{what}", self.column));
            st.fail::<A::Error>(Error::BadValue {
                at,
                value,
                reason,
                hint: hint.into(),
            })
        };
        let Some(t) = seq.next_element::<Box<RawValue>>()? else {
            return Err(bad(
                st,
                "",
                "[]".into(),
                "a point needs [time, value]".into(),
                "points are [unix seconds, \"value\"]",
            ));
        };
        let text = t.get().trim_matches('"');
        let t_ns = match decimal_to_ns(text.as_bytes(), 9) {
            Ok(t) if plausible_epoch(t) => t,
            Ok(_) | Err(DecimalError::Overflow) => {
                return Err(bad(
                    st,
                    "[0]",
                    text.into(),
                    "not Unix seconds between the years 2000 and 2100".into(),
                    "point times are Unix seconds, e.g. 1712000000.123",
                ));
            }
            Err(DecimalError::TooPrecise) => {
                return Err(bad(
                    st,
                    "[0]",
                    text.into(),
                    "more than 9 decimals: finer than a nanosecond".into(),
                    "point times are Unix seconds, e.g. 1712000000.123",
                ));
            }
            Err(DecimalError::Syntax) => {
                return Err(bad(
                    st,
                    "[0]",
                    text.into(),
                    "not a number".into(),
                    "point times are Unix seconds, e.g. 1712000000.123",
                ));
            }
        };
        let Some(v) = seq.next_element::<PointValue>()? else {
            return Err(bad(
                st,
                "",
                text.into(),
                "a point needs [time, value]".into(),
                "points are [unix seconds, \"value\"]",
            ));
        };
        let v = match v {
            PointValue::Number(x) => x,
            PointValue::Text(s) => match parse_f64(s.trim().as_bytes()) {
                Some(x) => x,
                None => {
                    return Err(bad(
                        st,
                        "[1]",
                        s,
                        "not a number".into(),
                        "values are strings of floats: \"245.6\", \"NaN\", \"+Inf\"",
                    ));
                }
            },
        };
        if seq.next_element::<Skip>()?.is_some() {
            return Err(bad(
                st,
                "",
                text.into(),
                "a point has more than two elements".into(),
                "points are [unix seconds, \"value\"]",
            ));
        }
        let line = st.line();
        match self.target {
            Some(t) => deliver(st, t, t_ns, v, line),
            None => {
                self.early.push((t_ns, v, line));
                Ok(())
            }
        }
    }
}

/// A point's value: a string of a float (Prometheus), a number, or `null` (missing).
enum PointValue {
    Number(f64),
    Text(String),
}

impl<'de> de::Deserialize<'de> for PointValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PointValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value: a string of a float, a number or null")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<PointValue, E> {
                Ok(PointValue::Text(s.to_string()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> std::result::Result<PointValue, E> {
                Ok(PointValue::Text(s))
            }
            fn visit_f64<E: de::Error>(self, x: f64) -> std::result::Result<PointValue, E> {
                Ok(PointValue::Number(x))
            }
            fn visit_u64<E: de::Error>(self, x: u64) -> std::result::Result<PointValue, E> {
                Ok(PointValue::Number(x as f64))
            }
            fn visit_i64<E: de::Error>(self, x: i64) -> std::result::Result<PointValue, E> {
                Ok(PointValue::Number(x as f64))
            }
            fn visit_unit<E: de::Error>(self) -> std::result::Result<PointValue, E> {
                Ok(PointValue::Number(f64::NAN))
            }
        }
        d.deserialize_any(V)
    }
}

/// A query result file, metric chosen.
struct JsonReader {
    reader: Option<Box<dyn Read + Send>>,
    progress: Progress,
    cap: u64,
    choice: Choice,
    channel_label: Option<String>,
    layout: Layout,
    info: FileInfo,
}

/// Spacing of one channel's points, to spot `query_range` resampling.
#[derive(Clone, Copy)]
struct Spacing {
    last: i64,
    dt: i64,
    n: u64,
    even: bool,
}

struct PowerHandler<'a> {
    sink: &'a mut dyn RowSink,
    choice: &'a Choice,
    layout: &'a Layout,
    channel_label: Option<&'a str>,
    info: &'a mut FileInfo,
    on_chunk: OnChunk<'a>,
    progress: Progress,
    reported: u64,
    later_seen: bool,
    spacing: Vec<Option<Spacing>>,
}

impl SeriesHandler for PowerHandler<'_> {
    fn series(&mut self, labels: &Labels, at: &Location) -> Result<Option<usize>> {
        let name = label(labels, "__name__");
        if name.is_none() && !self.choice.accept_nameless {
            return Err(Error::Schema {
                at: at.clone(),
                expected: "series with a __name__ label".into(),
                found: "a series without __name__ (the result of an expression such as sum(...) or rate(...))".into(),
                hint: "say what the series are: value='DCGM_FI_DEV_POWER_USAGE', or a unit, value='[W]' (a power) or value='[mJ]' (an energy counter)".into(),
            });
        }
        if !self.choice.matches(name) {
            if name.is_some() && name == self.choice.preferred_later {
                self.later_seen = true;
            }
            return Ok(None);
        }
        let ch = channel_name(labels, self.channel_label).map_err(|l| Error::Schema {
            at: at.clone(),
            expected: format!("label '{l}' on every series (channel='{l}')"),
            found: format!(
                "labels {{{}}}",
                labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v:?}"))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            hint: "name a label every series has, or leave channel unset (UUID, pci_bus_id or gpu)"
                .into(),
        })?;
        Ok(Some(self.sink.channel_id(ch.as_bytes())))
    }

    fn point(&mut self, id: usize, t_ns: i64, value: f64, line: u64) -> Result<()> {
        if self.spacing.len() <= id {
            self.spacing.resize(id + 1, None);
        }
        self.spacing[id] = Some(match self.spacing[id] {
            None => Spacing {
                last: t_ns,
                dt: 0,
                n: 1,
                even: true,
            },
            Some(s) => {
                let dt = t_ns.saturating_sub(s.last);
                Spacing {
                    last: t_ns,
                    dt,
                    n: s.n + 1,
                    even: s.even && (s.n < 2 || dt == s.dt),
                }
            }
        });
        self.sink
            .push(id, t_ns, value * self.choice.kind.scale(), line)
            .map_err(|e| {
                place_error(
                    e,
                    &self.info.path,
                    &self.layout.time_column,
                    &self.layout.value_column,
                )
            })
    }

    fn skipped(&mut self, why: &str) {
        self.info.skip(why);
    }

    fn tick(&mut self) -> Result<()> {
        self.progress.report(&mut self.reported, self.on_chunk)?;
        Ok(())
    }
}

impl PowerReader for JsonReader {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn info(&self) -> &FileInfo {
        &self.info
    }

    fn read_rows(&mut self, sink: &mut dyn RowSink, on_chunk: OnChunk<'_>) -> Result<()> {
        let Some(reader) = self.reader.take() else {
            return Ok(());
        };
        on_chunk(self.progress.get())?;
        let path = self.info.path.clone();
        let mut h = PowerHandler {
            sink,
            choice: &self.choice,
            layout: &self.layout,
            channel_label: self.channel_label.as_deref(),
            info: &mut self.info,
            on_chunk,
            progress: self.progress.clone(),
            reported: u64::MAX,
            later_seen: false,
            spacing: Vec::new(),
        };
        let summary = walk(reader, &path, self.cap, &mut h)?;
        h.sink.flush().map_err(|e| {
            place_error(
                e,
                &path,
                &self.layout.time_column,
                &self.layout.value_column,
            )
        })?;
        let later = h.later_seen;
        let even = h
            .spacing
            .iter()
            .flatten()
            .find(|s| s.n >= 3 && s.even)
            .map(|s| s.dt);
        (h.on_chunk)(self.progress.get())?;
        let info = &mut self.info;
        info.warnings.extend(summary.warnings);
        if let (Some(dt), crate::read::Quantity::Power) = (even, self.layout.quantity) {
            info.warnings.push(format!(
                "points exactly {} s apart: values resampled at a query_range step are the last raw sample at each step (held), not readings at those times; for raw samples query metric[range] as an instant query, or read the energy counter",
                dt as f64 / 1e9
            ));
        }
        if later {
            if let (Some(l), Some(chosen)) = (self.choice.preferred_later, &self.choice.name) {
                info.warnings.push(later_warning(l, chosen));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Options;
    use crate::read::test_util::{integrate, with_chunk, write};
    use crate::read::{FileIntegration, Limits, Prefer, Quantity};

    fn run_with(name: &str, body: &str, c: &ReadConfig) -> Result<FileIntegration> {
        let p = write("promjson-test", name, body.as_bytes());
        integrate(&p, Some(Format::PrometheusJson), c, &Options::default())
    }

    fn run(name: &str, body: &str) -> Result<FileIntegration> {
        run_with(name, body, &ReadConfig::default())
    }

    const MATRIX: &str = r#"{"status":"success","data":{"resultType":"matrix","result":[
 {"metric":{"__name__":"DCGM_FI_DEV_POWER_USAGE","gpu":"0","UUID":"GPU-a","instance":"h:9400"},
  "values":[[1712000000.123,"245.6"],[1712000015.123,"251.0"],[1712000030.2,"NaN"],[1712000031,"251.0"]]},
 {"metric":{"__name__":"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION","gpu":"0","UUID":"GPU-a","instance":"h:9400"},
  "values":[[1712000000.123,"1000000"],[1712000015.123,"4727000"]]}
]}}"#;

    #[test]
    fn matrix_reads_the_counter_by_default_and_power_when_asked() {
        let r = run("a.json", MATRIX).expect("valid");
        assert!(matches!(r.layout.quantity, Quantity::Counter { .. }));
        assert_eq!(r.channels[0].0, "GPU-a");
        assert_eq!(r.channels[0].1.energy_j(), 3727.0);
        assert_eq!(r.info.skipped, vec![("other metrics".to_string(), 4)]);
        let c = ReadConfig {
            prefer: Some(Prefer::Power),
            ..ReadConfig::default()
        };
        let r = run_with("a.json", MATRIX, &c).expect("valid");
        let p = &r.channels[0].1;
        assert_eq!(p.counts.n_nonfinite, 1);
        assert_eq!(p.first.map(|s| s.t_ns), Some(1_712_000_000_123_000_000));
        assert_eq!(p.span_ns(), 30_877_000_000);
        // 15 s at (245.6+251)/2, then a 15.877 s gap over the 2 s floor... 5 x median = 79 s: no gap.
        let want = 15.0 * (245.6 + 251.0) / 2.0 + 15.877 * 251.0;
        assert!((p.energy_j() - want).abs() < 1e-9, "{}", p.energy_j());
        for chunk in [1, 7, 4096] {
            let power = ReadConfig {
                prefer: Some(Prefer::Power),
                ..ReadConfig::default()
            };
            let c = with_chunk(&power, chunk);
            assert_eq!(
                run_with("a.json", MATRIX, &c).expect("valid").channels,
                r.channels
            );
        }
    }

    #[test]
    fn expressions_need_a_unit_and_errors_carry_the_server_message() {
        let sum = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1712000000,"100"],[1712000010,"100"]]}]}}"#;
        let e = run("b.json", sum).expect_err("nameless");
        assert_eq!(e.code(), "schema");
        let c = ReadConfig {
            value: Some("[kW]".into()),
            ..ReadConfig::default()
        };
        let r = run_with("b.json", sum, &c).expect("valid");
        assert_eq!(r.channels[0].0, "0");
        assert_eq!(r.channels[0].1.energy_j(), 1_000_000.0);
        let err = r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error"}"#;
        let e = run("c.json", err).expect_err("error response");
        assert_eq!(e.code(), "schema");
        assert!(e.to_string().contains("bad_data"), "{e}");
        let scalar =
            r#"{"status":"success","data":{"resultType":"scalar","result":[1712000000,"1"]}}"#;
        let c = ReadConfig {
            value: Some("[W]".into()),
            ..ReadConfig::default()
        };
        assert_eq!(
            run_with("d.json", scalar, &c).expect_err("scalar").code(),
            "schema"
        );
    }

    #[test]
    fn broken_documents_are_typed_errors() {
        let code = |name: &str, body: &str, c: &ReadConfig| {
            let e = run_with(name, body, c).expect_err("invalid");
            (e.code(), e.location().and_then(|l| l.line))
        };
        let c = ReadConfig::default();
        let cut = &MATRIX[..MATRIX.len() - 40];
        assert_eq!(code("e1.json", cut, &c), ("bad_json", Some(5)));
        assert_eq!(
            code("e2.json", &format!("{MATRIX}\n{MATRIX}"), &c).0,
            "bad_json"
        );
        let bad = MATRIX.replace("\"251.0\"],[1712000030.2", "\"25l.0\"],[1712000030.2");
        let p = ReadConfig {
            prefer: Some(Prefer::Power),
            ..ReadConfig::default()
        };
        let e = run_with("e3.json", &bad, &p).expect_err("bad value");
        assert_eq!(e.code(), "bad_value");
        assert_eq!(e.location().and_then(|l| l.line), Some(3));
        assert_eq!(e.value().as_deref(), Some("25l.0"));
        let bad_t = MATRIX.replace("1712000015.123,\"4727000\"", "17120.5,\"4727000\"");
        assert_eq!(code("e4.json", &bad_t, &c), ("bad_value", Some(5)));
        let deep = format!(
            "{{\"status\":\"success\",\"data\":{{\"resultType\":\"matrix\",\"result\":[],\"x\":{}{}}}}}",
            "[".repeat(200),
            "]".repeat(200)
        );
        let v = ReadConfig {
            value: Some(PROBE.into()),
            ..ReadConfig::default()
        };
        assert_eq!(code("e5.json", &deep, &v).0, "bad_json");
        let small = ReadConfig {
            limits: Limits {
                max_decompressed_bytes: Some(100),
                ..Limits::default()
            },
            ..ReadConfig::default()
        };
        assert_eq!(code("e6.json", MATRIX, &small).0, "bad_json");
        assert_eq!(code("e7.json", "  \n", &c).0, "empty_input");
        let back = MATRIX.replace("1712000015.123,\"4727000\"", "1711000015.123,\"4727000\"");
        assert_eq!(code("e8.json", &back, &c), ("unsorted_timestamps", Some(5)));
        let empty = r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert_eq!(code("e9.json", empty, &c).0, "insufficient_samples");
        let vector = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"DCGM_FI_DEV_POWER_USAGE","gpu":"0"},"value":[1712000000.5,"35.686000"]}]}}"#;
        assert_eq!(code("e10.json", vector, &c).0, "insufficient_samples");
    }

    const PROBE: &str = "DCGM_FI_DEV_POWER_USAGE";

    #[test]
    fn points_before_labels_and_even_steps_are_handled() {
        let body = r#"{"data":{"result":[{"values":[[1712000000,"10"],[1712000015,"10"],[1712000030,"10"]],"metric":{"__name__":"DCGM_FI_DEV_POWER_USAGE","pci_bus_id":"00:07.0","Hostname":"n1"}}],"resultType":"matrix"},"status":"success","warnings":["PromQL info: x"]}"#;
        let r = run("f.json", body).expect("valid");
        assert_eq!(r.channels[0].0, "n1/00:07.0");
        assert_eq!(r.channels[0].1.energy_j(), 300.0);
        assert!(
            r.info
                .warnings
                .iter()
                .any(|w| w.contains("exactly 15 s apart")),
            "{:?}",
            r.info.warnings
        );
        assert!(r.info.warnings.iter().any(|w| w.contains("PromQL info: x")));
        // The data object saved on its own.
        let data = r#"{"resultType":"matrix","result":[{"metric":{"__name__":"DCGM_FI_DEV_POWER_USAGE"},"values":[[1712000000,"10"],[1712000001.5,"10"]]}]}"#;
        assert!(sniff(data.as_bytes()));
        assert_eq!(
            run("g.json", data).expect("valid").channels[0].1.energy_j(),
            15.0
        );
        assert!(sniff(MATRIX.as_bytes()));
        assert!(!sniff(b"{\"records\": []}"));
    }
}
