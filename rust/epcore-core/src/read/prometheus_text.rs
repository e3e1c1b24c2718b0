//! Prometheus text exposition and OpenMetrics: one scrape of a `/metrics`
//! endpoint (DCGM exporter, vLLM, SGLang), or many scrapes concatenated.
//!
//! Lines are `# HELP`, `# TYPE`, `# UNIT`, `# EOF` or other comments, and
//! samples `name{label="value",...} value [timestamp]`. Label values resolve
//! the escapes `\\`, `\"` and `\n`; values are floats (`35.686000`,
//! `4.2421665e+07`, `+Inf`, `NaN`); `NaN` and `±Inf` are missing readings,
//! never a value (counted as non-finite by the integrator). OpenMetrics
//! exemplars (`# {trace_id="..."} 1.0`) after a sample are ignored.
//!
//! **Which metric.** `value` names it (`DCGM_FI_DEV_POWER_USAGE`), with its
//! unit in brackets for metrics epcore does not know (`my_power [W]`,
//! `my_energy_total [mJ]`; `_watts` and `_joules(_total)` names need none).
//! By default the DCGM exporter's metrics are read, chosen from the first
//! 64 KiB of the file (the first scrape): the energy counter
//! `DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION` (mJ, exact differences) when it is
//! there, since a power gauge scraped every 15-30 s is a coarse sample of the
//! power; else `DCGM_FI_DEV_POWER_USAGE_INSTANT` (W, `instant`), else
//! `DCGM_FI_DEV_POWER_USAGE` (W). `prefer="power"` picks the gauge when both
//! exist. Lines of other metrics are counted in `FileInfo.skipped`.
//!
//! **Channels** come from the labels: the `channel` label when given, else
//! `UUID`, else `pci_bus_id`, else `gpu`; bus ids and indices repeat across
//! machines, so they are prefixed `host/` by the `Hostname` (or `hostname`,
//! or `instance`) label when there is one. A reader sees a line at a time and
//! cannot know whether a second host comes later, so the prefix depends on
//! the label alone, never on the rest of the file. Without any of these
//! labels the channel is the sorted label set.
//!
//! **Time.** A sample's own timestamp is Unix milliseconds (Prometheus text)
//! or Unix seconds (OpenMetrics; decimals read exactly); the two ranges do
//! not overlap between the years 2000 and 2100, which every timestamp must
//! fall in. A scrape of `/metrics` carries no time: samples without one take
//! the time of the last `# scrape_time <unix seconds>` line before them. That
//! line is epcore's convention, not part of the format; it is what
//!
//! ```text
//! while :; do echo "# scrape_time $(date +%s.%N)"; curl -s localhost:9400/metrics; sleep 15; done >> dcgm.prom
//! ```
//!
//! writes, and it gives each sample the time Prometheus itself would have
//! stamped it with (the exporter may have read the device up to its collect
//! interval earlier). Without either, the file has no time: a typed error.
//! A directory of single scrapes can be read file by file with
//! [`open_scrape`], which gives untimed samples the time the caller knows
//! (from the file name or its modification time).

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashMap;
use std::io::Read;

use crate::error::{Error, Location, Result};
use crate::read::fields::parse_f64;
use crate::read::format::Format;
use crate::read::lines::LineReader;
use crate::read::source::{Progress, Source, HEAD_BYTES};
use crate::read::{
    place_error, FileInfo, Layout, OnChunk, PowerReader, Prefer, Quantity, ReadConfig, RowSink,
};
use crate::time::DecimalError;

/// DCGM exporter power gauge, W (NVML power usage).
pub const DCGM_POWER: &str = "DCGM_FI_DEV_POWER_USAGE";
/// DCGM exporter instantaneous power gauge, W (not exported by default).
pub const DCGM_POWER_INSTANT: &str = "DCGM_FI_DEV_POWER_USAGE_INSTANT";
/// DCGM exporter energy counter, mJ since the driver loaded.
pub const DCGM_ENERGY: &str = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION";

/// The `# scrape_time <unix seconds>` comment that times the samples after it.
const SCRAPE_TIME: &[u8] = b"scrape_time";

/// Unix seconds of 2000-01-01 and 2100-01-01: the years a timestamp may name.
const EPOCH_2000_S: i64 = 946_684_800;
const EPOCH_2100_S: i64 = 4_102_444_800;

/// Whether the head of a file looks like Prometheus text exposition.
pub fn sniff(head: &[u8]) -> bool {
    for (i, line) in head.split(|&b| b == b'\n' || b == b'\r').enumerate() {
        if i > 64 {
            return false;
        }
        let line = trim_start(line);
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix(b"#") {
            let rest = trim_start(rest);
            if [&b"HELP "[..], b"TYPE ", b"UNIT ", b"scrape_time "]
                .iter()
                .any(|p| rest.starts_with(p))
            {
                return true;
            }
            continue;
        }
        return split_sample(line)
            .ok()
            .is_some_and(|s| parse_f64(s.value).is_some());
    }
    false
}

/// Open a Prometheus text file (one or many scrapes) for power or energy.
pub fn open(src: Source, cfg: &ReadConfig) -> Result<Box<dyn PowerReader>> {
    open_scrape(src, cfg, None)
}

/// Open a Prometheus text file whose samples without a timestamp were
/// scraped at `scrape_time_ns` (a directory of single scrapes, each timed by
/// its file name or modification time); a `# scrape_time` line inside still wins.
pub fn open_scrape(
    src: Source,
    cfg: &ReadConfig,
    scrape_time_ns: Option<i64>,
) -> Result<Box<dyn PowerReader>> {
    let path = src.path.clone();
    if src.head.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::EmptyInput {
            at: Location {
                path: Some(path),
                ..Location::default()
            },
        });
    }
    let whole = src.head.len() < HEAD_BYTES;
    let names = head_metric_names(&src.head, whole);
    let choice = choose_metric(cfg, &names, &path, false)?;
    if choice.name.is_none() {
        return Err(Error::Schema {
            at: Location {
                path: Some(path),
                ..Location::default()
            },
            expected: "a metric name in value ('name [unit]')".into(),
            found: format!("value='{}'", cfg.value.as_deref().unwrap_or_default()),
            hint: "every sample of a text exposition has a name: value='my_power [W]'".into(),
        });
    }
    let (quantity, semantics) = choice.kind.layout();
    let value_column = choice.name.clone().unwrap_or_default();
    let layout = Layout {
        format: Format::PrometheusText,
        quantity,
        power_semantics: semantics,
        naive_time: false,
        tz: None,
        time_column: "timestamp".into(),
        value_column: value_column.clone(),
    };
    let mut info = FileInfo::of(&src);
    info.time_column = layout.time_column.clone();
    info.value_column = value_column;
    info.warnings.extend(choice.warnings.iter().cloned());
    let scanner = Scanner::new(src, cfg, scrape_time_ns);
    Ok(Box::new(TextReader {
        scanner,
        choice,
        channel_label: cfg.channel.clone(),
        layout,
        info,
    }))
}

/// What a metric's values are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum MetricKind {
    /// A gauge in W after multiplying by `scale`.
    Power { scale: f64, semantics: &'static str },
    /// A cumulative counter of `unit_j` joules per unit.
    Counter { unit_j: f64 },
}

impl MetricKind {
    fn layout(&self) -> (Quantity, &'static str) {
        match *self {
            MetricKind::Power { semantics, .. } => (Quantity::Power, semantics),
            MetricKind::Counter { unit_j } => (
                Quantity::Counter {
                    unit_j,
                    modulus: None,
                },
                "unknown",
            ),
        }
    }

    /// The factor from the metric's values to the integrator's (W for power, raw for counters).
    pub(crate) fn scale(&self) -> f64 {
        match *self {
            MetricKind::Power { scale, .. } => scale,
            MetricKind::Counter { .. } => 1.0,
        }
    }
}

/// The metric a power reader reads.
#[derive(Debug, Clone)]
pub(crate) struct Choice {
    /// The metric's name; `None` when the user named only a unit (`value="[W]"`):
    /// series without `__name__` (PromQL expressions) are read.
    pub name: Option<String>,
    /// Series without `__name__` (query results of an expression) are read as
    /// this metric: the user said what they are.
    pub accept_nameless: bool,
    pub kind: MetricKind,
    /// The metric the default would have preferred, not seen in the head:
    /// if it shows up later, the file gets a warning.
    pub preferred_later: Option<&'static str>,
    pub warnings: Vec<String>,
}

impl Choice {
    pub(crate) fn matches(&self, name: Option<&str>) -> bool {
        match (name, &self.name) {
            (Some(n), Some(want)) => n == want,
            (None, _) => self.accept_nameless,
            (Some(_), None) => false,
        }
    }
}

/// The kind of a metric epcore knows by name or by the Prometheus naming convention.
fn known_kind(name: &str) -> Option<MetricKind> {
    match name {
        DCGM_ENERGY => Some(MetricKind::Counter { unit_j: 1e-3 }),
        DCGM_POWER_INSTANT => Some(MetricKind::Power {
            scale: 1.0,
            semantics: "instant",
        }),
        DCGM_POWER => Some(MetricKind::Power {
            scale: 1.0,
            semantics: "unknown",
        }),
        n if n.ends_with("_joules_total") || n.ends_with("_joules") => {
            Some(MetricKind::Counter { unit_j: 1.0 })
        }
        n if n.ends_with("_watts") => Some(MetricKind::Power {
            scale: 1.0,
            semantics: "unknown",
        }),
        _ => None,
    }
}

/// The kind a bracketed unit names.
fn unit_kind(unit: &str) -> Option<MetricKind> {
    let power = |scale| {
        Some(MetricKind::Power {
            scale,
            semantics: "unknown",
        })
    };
    let counter = |unit_j| Some(MetricKind::Counter { unit_j });
    match unit {
        "W" => power(1.0),
        "mW" => power(1e-3),
        "kW" => power(1e3),
        "J" => counter(1.0),
        "mJ" => counter(1e-3),
        "uJ" | "µJ" => counter(1e-6),
        "kJ" => counter(1e3),
        "Wh" => counter(3600.0),
        "kWh" => counter(3.6e6),
        _ => None,
    }
}

/// `"name [unit]"` as its name and unit.
fn split_unit(v: &str) -> (&str, Option<&str>) {
    let v = v.trim();
    match (v.rfind('['), v.ends_with(']')) {
        (Some(i), true) => (v[..i].trim(), Some(v[i + 1..v.len() - 1].trim())),
        _ => (v, None),
    }
}

/// Choose the metric to read from `cfg.value`, `cfg.prefer` and the metric
/// names seen in the head. `json` only changes the wording of errors.
pub(crate) fn choose_metric(
    cfg: &ReadConfig,
    head_names: &[String],
    path: &str,
    json: bool,
) -> Result<Choice> {
    let at = || Location {
        path: Some(path.into()),
        ..Location::default()
    };
    let unit_hint = "name the unit in brackets: value='my_metric [W]' for a power gauge (W, mW, kW) or value='my_energy_total [mJ]' for an energy counter (J, mJ, uJ, kJ, Wh, kWh)";
    if let Some(v) = &cfg.value {
        let (name, unit) = split_unit(v);
        let kind = match unit {
            Some(u) => unit_kind(u).ok_or_else(|| Error::Schema {
                at: at(),
                expected: "a unit of power (W, mW, kW) or energy (J, mJ, uJ, kJ, Wh, kWh)".into(),
                found: format!("unit '{u}' in value='{v}'"),
                hint: unit_hint.into(),
            })?,
            None => known_kind(name).ok_or_else(|| Error::Schema {
                at: at(),
                expected: format!("the unit of metric '{name}'"),
                found: "a metric epcore does not know, without a unit".into(),
                hint: unit_hint.into(),
            })?,
        };
        return Ok(Choice {
            name: (!name.is_empty()).then(|| name.to_string()),
            accept_nameless: true,
            kind,
            preferred_later: None,
            warnings: Vec::new(),
        });
    }
    let has = |n: &str| head_names.iter().any(|h| h == n);
    let power = [DCGM_POWER_INSTANT, DCGM_POWER]
        .into_iter()
        .find(|n| has(n));
    let energy = has(DCGM_ENERGY).then_some(DCGM_ENERGY);
    let mut warnings = Vec::new();
    let name = match (cfg.prefer, energy, power) {
        (Some(Prefer::Power), _, Some(p)) => p,
        (_, Some(e), _) => e,
        (Some(Prefer::Energy), None, Some(p)) => {
            warnings.push(format!(
                "prefer='energy' but no {DCGM_ENERGY} samples in the first 64 KiB; read the power gauge {p}"
            ));
            p
        }
        (_, None, Some(p)) => p,
        (_, None, None) => {
            let mut seen: Vec<&str> = Vec::new();
            for n in head_names {
                if !seen.contains(&n.as_str()) && seen.len() < 12 {
                    seen.push(n);
                }
            }
            return Err(Error::Schema {
                at: at(),
                expected: format!(
                    "{} of {DCGM_ENERGY}, {DCGM_POWER_INSTANT} or {DCGM_POWER} in the first 64 KiB",
                    if json { "series" } else { "samples" }
                ),
                found: if seen.is_empty() && json {
                    "series without a __name__ label (the result of an expression such as sum(...))"
                        .into()
                } else if seen.is_empty() {
                    "no samples".into()
                } else {
                    format!("metrics [{}]", seen.join(", "))
                },
                hint: format!(
                    "name the metric to read: value='DCGM_FI_DEV_POWER_USAGE'; {unit_hint}"
                ),
            });
        }
    };
    let kind = known_kind(name).unwrap_or(MetricKind::Power {
        scale: 1.0,
        semantics: "unknown",
    });
    let preferred_later =
        (energy.is_none() && cfg.prefer != Some(Prefer::Power)).then_some(DCGM_ENERGY);
    Ok(Choice {
        name: Some(name.to_string()),
        accept_nameless: false,
        kind,
        preferred_later,
        warnings,
    })
}

/// The warning for a preferred metric that appeared only after the head.
pub(crate) fn later_warning(name: &str, chosen: &str) -> String {
    format!(
        "{name} appeared only after the first 64 KiB and was skipped: {chosen} was read; pass value='{name}' to read the energy counter"
    )
}

/// Metric names of the sample lines in the head (the last, possibly cut,
/// line left out unless the head is the whole file).
fn head_metric_names(head: &[u8], whole: bool) -> Vec<String> {
    let mut lines: Vec<&[u8]> = head.split(|&b| b == b'\n' || b == b'\r').collect();
    if !whole {
        lines.pop();
    }
    let mut names: Vec<String> = Vec::new();
    for line in lines {
        let line = trim_start(line);
        if line.is_empty() || line[0] == b'#' {
            continue;
        }
        if let Some(n) = metric_name(line) {
            if !names.iter().any(|x| *x == n) {
                names.push(n.into_owned());
            }
        }
    }
    names
}

fn trim_start(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    s
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b':'
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b':'
}

/// The labels of one series, escapes resolved, in the order written.
pub(crate) type Labels = Vec<(String, String)>;

/// The value of label `name`.
pub(crate) fn label<'l>(labels: &'l [(String, String)], name: &str) -> Option<&'l str> {
    labels
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The channel of a series (see the module documentation); `Err(label)` when
/// the requested label is missing.
pub(crate) fn channel_name(
    labels: &[(String, String)],
    channel_label: Option<&str>,
) -> std::result::Result<String, String> {
    let host = ["Hostname", "hostname", "instance"]
        .iter()
        .find_map(|h| label(labels, h).filter(|v| !v.is_empty()));
    let with_host = |v: &str| match host {
        Some(h) => format!("{h}/{v}"),
        None => v.to_string(),
    };
    if let Some(l) = channel_label {
        let v = label(labels, l).ok_or_else(|| l.to_string())?;
        return Ok(match l {
            "UUID" | "Hostname" | "hostname" | "instance" => v.to_string(),
            _ => with_host(v),
        });
    }
    if let Some(u) = label(labels, "UUID").filter(|u| !u.is_empty()) {
        return Ok(u.to_string());
    }
    for l in ["pci_bus_id", "gpu"] {
        if let Some(v) = label(labels, l) {
            return Ok(with_host(v));
        }
    }
    let mut rest: Vec<&(String, String)> = labels.iter().filter(|(k, _)| k != "__name__").collect();
    if rest.is_empty() {
        return Ok("0".into());
    }
    rest.sort();
    Ok(rest
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect::<Vec<_>>()
        .join(","))
}

/// One sample line split into its parts (offsets are into the line).
pub(crate) struct RawSample<'a> {
    /// The label block with its braces, or empty.
    pub labels: &'a [u8],
    pub labels_at: usize,
    pub value: &'a [u8],
    pub value_at: usize,
    pub timestamp: Option<(&'a [u8], usize)>,
}

/// The metric name of a sample line, without checking the rest.
pub(crate) fn metric_name(line: &[u8]) -> Option<Cow<'_, str>> {
    if line.first() == Some(&b'{') {
        let end = block_end(line, 0).ok()?;
        let (name, _) = parse_labels(&line[..=end]).ok()?;
        return name.map(Cow::Owned);
    }
    let n = line.iter().take_while(|&&c| is_name_char(c)).count();
    if n == 0 || !is_name_start(line[0]) {
        return None;
    }
    std::str::from_utf8(&line[..n]).ok().map(Cow::Borrowed)
}

/// Index of the `}` closing the block that opens at `line[start]`, skipping quoted strings.
fn block_end(line: &[u8], start: usize) -> std::result::Result<usize, (usize, String)> {
    let mut i = start + 1;
    let mut quoted = false;
    while i < line.len() {
        match (quoted, line[i]) {
            (true, b'\\') => i += 1,
            (_, b'"') => quoted = !quoted,
            (false, b'}') => return Ok(i),
            _ => {}
        }
        i += 1;
    }
    Err((
        start,
        if quoted {
            "a label value's quote is never closed".into()
        } else {
            "the label set's '{' is never closed".into()
        },
    ))
}

/// Split a sample line; `Err((offset, reason))` when it is not one.
pub(crate) fn split_sample(line: &[u8]) -> std::result::Result<RawSample<'_>, (usize, String)> {
    // A name inside the braces (`{"my.metric",a="b"}`) is read with the labels.
    let mut i = if line.first() == Some(&b'{') {
        0
    } else {
        let n = line.iter().take_while(|&&c| is_name_char(c)).count();
        if n == 0 || !is_name_start(line[0]) {
            return Err((0, "not a metric name".into()));
        }
        n
    };
    let (labels, labels_at) = if line.get(i) == Some(&b'{') {
        let end = block_end(line, i)?;
        let at = i;
        i = end + 1;
        (&line[at..=end], at)
    } else {
        (&line[i..i], i)
    };
    let ws = |i: usize| {
        line[i..]
            .iter()
            .take_while(|&&c| c == b' ' || c == b'\t')
            .count()
    };
    let gap = ws(i);
    if gap == 0 {
        return Err((
            i,
            if i == line.len() {
                "the sample has no value".into()
            } else {
                "expected a space before the value".into()
            },
        ));
    }
    i += gap;
    let token = |i: usize| {
        line[i..]
            .iter()
            .take_while(|&&c| c != b' ' && c != b'\t')
            .count()
    };
    let value_at = i;
    let n = token(i);
    if n == 0 {
        return Err((i, "the sample has no value".into()));
    }
    let value = &line[i..i + n];
    i += n;
    i += ws(i);
    let mut timestamp = None;
    // An OpenMetrics exemplar (" # {...} value [ts]") may follow; it is not ours to read.
    if i < line.len() && line[i] != b'#' {
        let n = token(i);
        timestamp = Some((&line[i..i + n], i));
        i += n;
        i += ws(i);
        if i < line.len() && line[i] != b'#' {
            return Err((i, "unexpected text after the timestamp".into()));
        }
    }
    Ok(RawSample {
        labels,
        labels_at,
        value,
        value_at,
        timestamp,
    })
}

/// Parse a label block `{a="x",b="y"}` (escapes resolved). A bare quoted
/// string as an item is the metric name (Prometheus 3 UTF-8 names).
pub(crate) fn parse_labels(
    block: &[u8],
) -> std::result::Result<(Option<String>, Labels), (usize, String)> {
    let mut out = Labels::new();
    let mut name = None;
    if block.is_empty() {
        return Ok((None, out));
    }
    let n = block.len();
    let mut i = 1;
    let skip_ws = |i: &mut usize| {
        while *i < n && (block[*i] == b' ' || block[*i] == b'\t') {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        if i >= n - 1 {
            break;
        }
        let key = if block[i] == b'"' {
            let (s, next) = quoted(block, i)?;
            i = next;
            s
        } else {
            let k = block[i..]
                .iter()
                .take_while(|&&c| is_name_char(c) && c != b':')
                .count();
            if k == 0 {
                return Err((i, "expected a label name".into()));
            }
            let s = String::from_utf8_lossy(&block[i..i + k]).into_owned();
            i += k;
            s
        };
        skip_ws(&mut i);
        if block[i] == b'=' {
            i += 1;
            skip_ws(&mut i);
            if block[i] != b'"' {
                return Err((i, format!("the value of label '{key}' is not quoted")));
            }
            let (v, next) = quoted(block, i)?;
            i = next;
            out.push((key, v));
        } else if name.is_none() && out.is_empty() {
            name = Some(key);
        } else {
            return Err((i, format!("expected '=' after label '{key}'")));
        }
        skip_ws(&mut i);
        match block[i] {
            b',' => i += 1,
            b'}' => break,
            _ => return Err((i, "expected ',' or '}' between labels".into())),
        }
    }
    Ok((name, out))
}

/// The quoted string at `block[i]` with escapes resolved, and the index after it.
fn quoted(block: &[u8], i: usize) -> std::result::Result<(String, usize), (usize, String)> {
    let mut v = Vec::new();
    let mut j = i + 1;
    while j < block.len() {
        match block[j] {
            b'"' => {
                let s = String::from_utf8(v)
                    .map_err(|_| (i, "a label value is not valid UTF-8".to_string()))?;
                return Ok((s, j + 1));
            }
            b'\\' if j + 1 < block.len() => {
                match block[j + 1] {
                    b'n' => v.push(b'\n'),
                    b'\\' => v.push(b'\\'),
                    b'"' => v.push(b'"'),
                    // Unknown escapes are kept as written.
                    c => v.extend_from_slice(&[b'\\', c]),
                }
                j += 2;
            }
            c => {
                v.push(c);
                j += 1;
            }
        }
    }
    Err((i, "a label value's quote is never closed".into()))
}

/// `[+-]digits[.digits][(e|E)[+-]digits]` times 10^`exp10`, exactly, as an
/// integer: decimal seconds (`exp10 = 9`) or milliseconds (`6`) to ns
/// without rounding. Digits finer than a nanosecond are refused unless zero.
pub(crate) fn decimal_to_ns(s: &[u8], exp10: i32) -> std::result::Result<i64, DecimalError> {
    let (neg, body) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (mant, exp) = match body.iter().position(|&c| c == b'e' || c == b'E') {
        Some(p) => (&body[..p], Some(&body[p + 1..])),
        None => (body, None),
    };
    let exp: i32 = match exp {
        None => 0,
        Some(e) => {
            let (eneg, ed) = match e.first() {
                Some(b'-') => (true, &e[1..]),
                Some(b'+') => (false, &e[1..]),
                _ => (false, e),
            };
            if ed.is_empty() || ed.len() > 4 || !ed.iter().all(u8::is_ascii_digit) {
                return Err(DecimalError::Syntax);
            }
            let v = ed.iter().fold(0i32, |a, &c| a * 10 + (c - b'0') as i32);
            if eneg {
                -v
            } else {
                v
            }
        }
    };
    let (int, frac) = match mant.iter().position(|&c| c == b'.') {
        Some(p) => (&mant[..p], &mant[p + 1..]),
        None => (mant, &mant[mant.len()..]),
    };
    if int.is_empty() && frac.is_empty() {
        return Err(DecimalError::Syntax);
    }
    let mut m: u128 = 0;
    let mut digits = 0;
    for &c in int.iter().chain(frac) {
        if !c.is_ascii_digit() {
            return Err(DecimalError::Syntax);
        }
        if m == 0 && c == b'0' {
            continue;
        }
        digits += 1;
        if digits > 36 {
            return Err(DecimalError::Overflow);
        }
        m = m * 10 + (c - b'0') as u128;
    }
    if m == 0 {
        return Ok(0);
    }
    let scale = exp10 + exp - frac.len() as i32;
    let m = if scale >= 0 {
        if scale > 38 {
            return Err(DecimalError::Overflow);
        }
        m.checked_mul(10u128.pow(scale as u32))
            .ok_or(DecimalError::Overflow)?
    } else {
        let k = (-scale) as u32;
        if k > 38 {
            return Err(DecimalError::TooPrecise);
        }
        let p = 10u128.pow(k);
        if m % p != 0 {
            return Err(DecimalError::TooPrecise);
        }
        m / p
    };
    let v = i64::try_from(m).map_err(|_| DecimalError::Overflow)?;
    Ok(if neg { -v } else { v })
}

/// Whether `t_ns` falls in the years 2000 to 2100.
pub(crate) fn plausible_epoch(t_ns: i64) -> bool {
    (EPOCH_2000_S * 1_000_000_000..EPOCH_2100_S * 1_000_000_000).contains(&t_ns)
}

/// A sample's own timestamp: integer Unix milliseconds (Prometheus text) or
/// Unix seconds (OpenMetrics, decimals allowed), told apart by magnitude.
fn sample_time(tok: &[u8]) -> std::result::Result<i64, String> {
    let integer = !tok.is_empty()
        && tok
            .iter()
            .enumerate()
            .all(|(i, &c)| c.is_ascii_digit() || (i == 0 && (c == b'-' || c == b'+')));
    let mut tried = Vec::with_capacity(2);
    if integer {
        tried.push(decimal_to_ns(tok, 6));
    }
    tried.push(decimal_to_ns(tok, 9));
    for t in tried.iter().flatten() {
        if plausible_epoch(*t) {
            return Ok(*t);
        }
    }
    Err(match tried.last() {
        Some(Err(DecimalError::TooPrecise)) => "more than 9 decimals: finer than a nanosecond".into(),
        Some(Err(DecimalError::Syntax)) => "not a number".into(),
        _ => "neither Unix milliseconds (Prometheus text) nor Unix seconds (OpenMetrics) between the years 2000 and 2100".into(),
    })
}

/// A selected sample line, as the scanner hands it over.
pub(crate) struct Scanned<'a> {
    pub sample: RawSample<'a>,
    /// The metric name (owned only for names inside the braces).
    pub name: Cow<'a, str>,
    pub number: u64,
    pub offset: u64,
    pub terminated: bool,
    /// The time of the last `# scrape_time` line (or the file's default).
    pub scrape_ns: Option<i64>,
}

/// Walks the lines of a text exposition: comments, scrape times, metric
/// selection, progress; hands each selected sample line to a callback.
pub(crate) struct Scanner {
    lines: LineReader<Box<dyn Read + Send>>,
    path: String,
    scrape_ns: Option<i64>,
    progress: Progress,
}

impl Scanner {
    pub(crate) fn new(src: Source, cfg: &ReadConfig, scrape_ns: Option<i64>) -> Scanner {
        let progress = src.progress();
        let path = src.path.clone();
        Scanner {
            lines: LineReader::new(
                src.reader,
                &path,
                cfg.read.chunk_bytes,
                cfg.read.max_record_bytes,
            ),
            path,
            scrape_ns,
            progress,
        }
    }

    /// Read every line; `want(name)` selects the metrics whose lines go to `f`,
    /// the others are counted as skipped.
    pub(crate) fn scan(
        &mut self,
        info: &mut FileInfo,
        on_chunk: OnChunk<'_>,
        want: &dyn Fn(&str) -> bool,
        f: &mut dyn FnMut(&mut FileInfo, Scanned<'_>) -> Result<()>,
    ) -> Result<()> {
        let mut reported = u64::MAX;
        loop {
            self.progress.report(&mut reported, on_chunk)?;
            let Some(line) = self.lines.next_line()? else {
                break;
            };
            info.n_lines = line.number;
            let (number, offset, terminated) = (line.number, line.offset, line.terminated);
            let bytes = trim_start(line.bytes);
            let lead = (line.bytes.len() - bytes.len()) as u64;
            if bytes.is_empty() {
                continue;
            }
            if bytes[0] == b'#' {
                let rest = trim_start(&bytes[1..]);
                let stamp = rest
                    .strip_prefix(SCRAPE_TIME)
                    .filter(|t| t.first().is_none_or(|c| *c == b' ' || *c == b'\t'));
                if let Some(t) = stamp {
                    let tok = t.trim_ascii();
                    let at = offset + lead + (bytes.len() - t.len()) as u64;
                    match decimal_to_ns(tok, 9) {
                        Ok(ns) if plausible_epoch(ns) => self.scrape_ns = Some(ns),
                        // A cut last line is dropped like a cut sample.
                        _ if !terminated => {
                            cut_tail(info, number);
                        }
                        _ => {
                            return Err(Error::BadValue {
                                at: Location {
                                    path: Some(self.path.clone()),
                                    line: Some(number),
                                    column: Some("# scrape_time".into()),
                                    byte_offset: Some(at),
                                    ..Location::default()
                                },
                                value: String::from_utf8_lossy(tok).into_owned(),
                                reason: "not Unix seconds between the years 2000 and 2100".into(),
                                hint:
                                    "write '# scrape_time <unix seconds>', e.g. from $(date +%s.%N)"
                                        .into(),
                            })
                        }
                    }
                }
                continue;
            }
            let Some(name) = metric_name(bytes) else {
                if !terminated {
                    cut_tail(info, number);
                    continue;
                }
                return Err(Error::BadValue {
                    at: Location {
                        path: Some(self.path.clone()),
                        line: Some(number),
                        byte_offset: Some(offset + lead),
                        ..Location::default()
                    },
                    value: String::from_utf8_lossy(&bytes[..bytes.len().min(64)]).into_owned(),
                    reason: "not a Prometheus sample line (name{labels} value [timestamp]) or comment".into(),
                    hint: "is this a Prometheus /metrics scrape? name the format explicitly if it was guessed wrong".into(),
                });
            };
            if !want(&name) {
                info.skip("other metrics");
                continue;
            }
            let sample = match split_sample(bytes) {
                Ok(s) => s,
                Err(_) if !terminated => {
                    cut_tail(info, number);
                    continue;
                }
                Err((at, reason)) => {
                    return Err(Error::BadValue {
                        at: Location {
                            path: Some(self.path.clone()),
                            line: Some(number),
                            column: Some(name.into_owned()),
                            byte_offset: Some(offset + lead + at as u64),
                            ..Location::default()
                        },
                        value: String::from_utf8_lossy(&bytes[at..bytes.len().min(at + 64)])
                            .into_owned(),
                        reason,
                        hint: "sample lines are name{label=\"value\",...} value [timestamp]".into(),
                    })
                }
            };
            f(
                info,
                Scanned {
                    sample,
                    name,
                    number,
                    offset: offset + lead,
                    terminated,
                    scrape_ns: self.scrape_ns,
                },
            )?;
        }
        on_chunk(self.progress.get())?;
        Ok(())
    }

    pub(crate) fn path(&self) -> &str {
        &self.path
    }
}

/// Drop a cut last line (no terminator, not a complete record): the file may still be being written.
pub(crate) fn cut_tail(info: &mut FileInfo, number: u64) {
    info.truncated_tail = true;
    info.warnings.push(format!(
        "line {number}: the last line is incomplete and has no line terminator (file still being written?); it was dropped"
    ));
}

/// Keep a complete last line without a terminator.
pub(crate) fn kept_tail(info: &mut FileInfo, number: u64) {
    info.unterminated_final_line = true;
    info.warnings.push(format!(
        "line {number}: the last line has no line terminator; it was complete and is kept"
    ));
}

/// Why a selected sample cannot be used: where, the value, why and what to do.
pub(crate) struct SampleError {
    pub at: usize,
    pub column: String,
    pub value: String,
    pub reason: String,
    pub hint: String,
}

impl SampleError {
    pub(crate) fn into_error(self, path: &str, s: &Scanned<'_>) -> Error {
        Error::BadValue {
            at: Location {
                path: Some(path.into()),
                line: Some(s.number),
                column: Some(self.column),
                byte_offset: Some(s.offset + self.at as u64),
                ..Location::default()
            },
            value: self.value,
            reason: self.reason,
            hint: self.hint,
        }
    }
}

/// The time of a scanned sample: its own timestamp, or the scrape's.
pub(crate) fn resolve_time(
    s: &Scanned<'_>,
    path: &str,
) -> Result<std::result::Result<i64, SampleError>> {
    if let Some((tok, at)) = s.sample.timestamp {
        return Ok(sample_time(tok).map_err(|reason| SampleError {
            at,
            column: "timestamp".into(),
            value: String::from_utf8_lossy(tok).into_owned(),
            reason,
            hint: "Prometheus text timestamps are integer Unix milliseconds; OpenMetrics ones are Unix seconds".into(),
        }));
    }
    match s.scrape_ns {
        Some(t) => Ok(Ok(t)),
        None => Err(Error::Schema {
            at: Location {
                path: Some(path.into()),
                line: Some(s.number),
                column: Some(s.name.to_string()),
                ..Location::default()
            },
            expected: "a timestamp on each sample, or a '# scrape_time <unix seconds>' line before each scrape".into(),
            found: "a sample without a time (a scrape of /metrics carries none)".into(),
            hint: "record the time of each scrape: while :; do echo \"# scrape_time $(date +%s.%N)\"; curl -s localhost:9400/metrics; sleep 15; done >> dcgm.prom".into(),
        }),
    }
}

/// A sample's value: `NaN` (missing) for `NaN` and `±Inf`.
pub(crate) fn sample_value(s: &Scanned<'_>) -> std::result::Result<f64, SampleError> {
    parse_f64(s.sample.value).ok_or_else(|| SampleError {
        at: s.sample.value_at,
        column: s.name.to_string(),
        value: String::from_utf8_lossy(s.sample.value).into_owned(),
        reason: "not a number".into(),
        hint: "Prometheus values are floats: 35.686, 1.5e+06, NaN, +Inf".into(),
    })
}

/// The labels of a scanned sample.
pub(crate) fn sample_labels(s: &Scanned<'_>) -> std::result::Result<Labels, SampleError> {
    parse_labels(s.sample.labels)
        .map(|(_, l)| l)
        .map_err(|(at, reason)| SampleError {
            at: s.sample.labels_at + at,
            column: "labels".into(),
            value: String::from_utf8_lossy(
                &s.sample.labels[at..s.sample.labels.len().min(at + 64)],
            )
            .into_owned(),
            reason,
            hint: "labels are {name=\"value\",...} with \\\\, \\\" and \\n escapes".into(),
        })
}

/// A text exposition file, metric chosen.
struct TextReader {
    scanner: Scanner,
    choice: Choice,
    channel_label: Option<String>,
    layout: Layout,
    info: FileInfo,
}

impl PowerReader for TextReader {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn info(&self) -> &FileInfo {
        &self.info
    }

    fn read_rows(&mut self, sink: &mut dyn RowSink, on_chunk: OnChunk<'_>) -> Result<()> {
        let path = self.scanner.path().to_string();
        let (choice, layout) = (&self.choice, &self.layout);
        let place = |e: Error| place_error(e, &path, &layout.time_column, &layout.value_column);
        let later_seen = Cell::new(false);
        let want = |name: &str| {
            if choice.preferred_later == Some(name) {
                later_seen.set(true);
            }
            choice.matches(Some(name))
        };
        let counter = matches!(choice.kind, MetricKind::Counter { .. });
        let scale = choice.kind.scale();
        let mut ids: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut last: Vec<f64> = Vec::new();
        let channel_label = self.channel_label.as_deref();
        let mut f = |info: &mut FileInfo, s: Scanned<'_>| -> Result<()> {
            let id = match ids.get(s.sample.labels) {
                Some(&id) => id,
                None => {
                    let labels = match sample_labels(&s) {
                        Ok(l) => l,
                        Err(_) if !s.terminated => {
                            cut_tail(info, s.number);
                            return Ok(());
                        }
                        Err(e) => return Err(e.into_error(&path, &s)),
                    };
                    let name = channel_name(&labels, channel_label)
                        .map_err(|l| missing_label(&path, &s, &l))?;
                    let id = sink.channel_id(name.as_bytes());
                    ids.insert(s.sample.labels.to_vec(), id);
                    id
                }
            };
            let parsed = resolve_time(&s, &path)?.and_then(|t| sample_value(&s).map(|v| (t, v)));
            let (t, v) = match parsed {
                Ok(tv) => tv,
                Err(_) if !s.terminated => {
                    cut_tail(info, s.number);
                    return Ok(());
                }
                Err(e) => return Err(e.into_error(&path, &s)),
            };
            if last.len() <= id {
                last.resize(id + 1, f64::NAN);
            }
            if !s.terminated {
                // A counter cut mid-number reads lower than its last value: a cut, not a reset.
                if counter && v < last[id] {
                    cut_tail(info, s.number);
                    return Ok(());
                }
                kept_tail(info, s.number);
            }
            if v.is_finite() {
                last[id] = v;
            }
            sink.push(id, t, v * scale, s.number).map_err(place)
        };
        self.scanner.scan(&mut self.info, on_chunk, &want, &mut f)?;
        sink.flush().map_err(place)?;
        if later_seen.get() {
            if let (Some(later), Some(chosen)) = (choice.preferred_later, &choice.name) {
                self.info.warnings.push(later_warning(later, chosen));
            }
        }
        Ok(())
    }
}

/// The error for a sample without the label that names its channel.
pub(crate) fn missing_label(path: &str, s: &Scanned<'_>, label: &str) -> Error {
    Error::Schema {
        at: Location {
            path: Some(path.into()),
            line: Some(s.number),
            column: Some("labels".into()),
            byte_offset: Some(s.offset + s.sample.labels_at as u64),
            ..Location::default()
        },
        expected: format!("label '{label}' on every sample (channel='{label}')"),
        found: format!(
            "labels {}",
            String::from_utf8_lossy(&s.sample.labels[..s.sample.labels.len().min(200)])
        ),
        hint: "name a label every series has, or leave channel unset (UUID, pci_bus_id or gpu)"
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Options;
    use crate::read::test_util::{cfg, integrate, write};
    use crate::read::{Collector, FileIntegration};

    fn run_with(name: &str, body: &[u8], c: &ReadConfig) -> Result<FileIntegration> {
        let p = write("prom-test", name, body);
        integrate(&p, Some(Format::PrometheusText), c, &Options::default())
    }

    fn run(name: &str, body: &[u8]) -> Result<FileIntegration> {
        run_with(name, body, &cfg(1 << 20))
    }

    const SCRAPE: &str = r#"# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).
# TYPE DCGM_FI_DEV_POWER_USAGE gauge
DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-a",Hostname="h1"} {p0}
DCGM_FI_DEV_POWER_USAGE{gpu="1",UUID="GPU-b",Hostname="h1"} {p1}
# HELP DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION Total energy consumption since boot (in mJ).
# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter
DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{gpu="0",UUID="GPU-a",Hostname="h1"} {e0}
DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{gpu="1",UUID="GPU-b",Hostname="h1"} {e1}
DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a",Hostname="h1"} 91
"#;

    fn scrapes(items: &[(&str, f64, f64, u64, u64)]) -> String {
        let mut s = String::new();
        for (t, p0, p1, e0, e1) in items {
            s.push_str(&format!("# scrape_time {t}\n"));
            s.push_str(
                &SCRAPE
                    .replace("{p0}", &format!("{p0:.6}"))
                    .replace("{p1}", &format!("{p1:.6}"))
                    .replace("{e0}", &e0.to_string())
                    .replace("{e1}", &e1.to_string()),
            );
        }
        s
    }

    fn three() -> String {
        scrapes(&[
            ("1717000000", 100.0, 50.0, 5_551_899_580, 1_000),
            ("1717000015.5", 300.0, 50.0, 5_553_899_580, 751_000),
            ("1717000030", 100.0, 50.0, 5_555_399_580, 1_501_000),
        ])
    }

    #[test]
    fn energy_counter_by_default_at_any_chunk_size() {
        let body = three();
        let want = run("a.prom", body.as_bytes()).expect("valid");
        assert!(matches!(
            want.layout.quantity,
            Quantity::Counter { unit_j, .. } if unit_j == 1e-3
        ));
        assert_eq!(want.layout.value_column, DCGM_ENERGY);
        let names: Vec<&str> = want.channels.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["GPU-a", "GPU-b"]);
        assert_eq!(want.channels[0].1.energy_j(), 3500.0);
        assert_eq!(want.channels[1].1.energy_j(), 1500.0);
        assert_eq!(want.channels[0].1.span_ns(), 30_000_000_000);
        // 2 power + 1 utilisation lines per scrape.
        assert_eq!(want.info.skipped, vec![("other metrics".to_string(), 9)]);
        for chunk in [1, 7, 4096] {
            let got = run_with("a.prom", body.as_bytes(), &cfg(chunk)).expect("valid");
            assert_eq!(got.channels, want.channels, "chunk {chunk}");
            assert_eq!(got.info, want.info);
        }
    }

    #[test]
    fn prefer_power_reads_the_gauge() {
        let c = ReadConfig {
            prefer: Some(Prefer::Power),
            ..cfg(1 << 20)
        };
        let r = run_with("b.prom", three().as_bytes(), &c).expect("valid");
        assert_eq!(r.layout.quantity, Quantity::Power);
        assert_eq!(r.layout.value_column, DCGM_POWER);
        // 15.5 s × 200 W + 14.5 s × 200 W
        assert_eq!(r.channels[0].1.energy_j(), 6000.0);
        let c = ReadConfig {
            value: Some("DCGM_FI_DEV_GPU_UTIL [W]".into()),
            ..cfg(1 << 20)
        };
        let r = run_with("b2.prom", three().as_bytes(), &c).expect("valid");
        assert_eq!(r.channels[0].1.energy_j(), 91.0 * 30.0);
    }

    #[test]
    fn own_timestamps_in_ms_and_openmetrics_seconds() {
        let body = b"# TYPE DCGM_FI_DEV_POWER_USAGE gauge\n\
DCGM_FI_DEV_POWER_USAGE{gpu=\"0\"} 100 1717000000000\n\
DCGM_FI_DEV_POWER_USAGE{gpu=\"0\"} 1e2 1717000001000\n\
DCGM_FI_DEV_POWER_USAGE{gpu=\"0\"} +Inf 1717000001500\n\
DCGM_FI_DEV_POWER_USAGE{gpu=\"0\"} 100 1717000002.000000001 # {trace_id=\"x\"} 1.0\n\
# EOF\n";
        let r = run("c.prom", body).expect("valid");
        let p = &r.channels[0].1;
        assert_eq!(r.channels[0].0, "0");
        assert_eq!(p.counts.n_nonfinite, 1);
        assert_eq!(p.span_ns(), 2_000_000_001);
        assert!((p.energy_j() - 200.0000001).abs() < 1e-9);
    }

    #[test]
    fn hosts_prefix_indices_not_uuids() {
        let body = b"# scrape_time 1717000000\n\
DCGM_FI_DEV_POWER_USAGE{gpu=\"0\",Hostname=\"a\"} 10\n\
DCGM_FI_DEV_POWER_USAGE{gpu=\"0\",Hostname=\"b\"} 20\n\
# scrape_time 1717000001\n\
DCGM_FI_DEV_POWER_USAGE{gpu=\"0\",Hostname=\"a\"} 10\n\
DCGM_FI_DEV_POWER_USAGE{gpu=\"0\",Hostname=\"b\"} 20\n";
        let r = run("d.prom", body).expect("valid");
        let names: Vec<&str> = r.channels.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a/0", "b/0"]);
        let c = ReadConfig {
            channel: Some("Hostname".into()),
            ..cfg(1 << 20)
        };
        let r = run_with("d.prom", body, &c).expect("valid");
        let names: Vec<&str> = r.channels.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        let c = ReadConfig {
            channel: Some("pod".into()),
            ..cfg(1 << 20)
        };
        let e = run_with("d.prom", body, &c).expect_err("no pod label");
        assert_eq!(e.code(), "schema");
        assert_eq!(e.location().and_then(|l| l.line), Some(2));
    }

    #[test]
    fn counter_resets_are_counted_and_cut_tails_dropped() {
        let mut body = scrapes(&[
            ("1717000000", 1.0, 1.0, 9_000_000, 9_000_000),
            ("1717000010", 1.0, 1.0, 9_500_000, 9_500_000),
            ("1717000020", 1.0, 1.0, 200_000, 200_000),
        ]);
        let r = run("e.prom", body.as_bytes()).expect("valid");
        assert_eq!(r.channels[0].1.counts.n_resets, 1);
        assert_eq!(r.channels[0].1.energy_j(), 700.0);
        // A last line cut mid-number: the counter reads low, so it is a cut, not a reset.
        body.push_str("# scrape_time 1717000030\nDCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{gpu=\"0\",UUID=\"GPU-a\",Hostname=\"h1\"} 3000");
        let r = run("f.prom", body.as_bytes()).expect("valid");
        assert!(r.info.truncated_tail);
        assert_eq!(r.channels[0].1.energy_j(), 700.0);
        body.push('0');
        body.push('0');
        let r = run("g.prom", body.as_bytes()).expect("valid");
        assert!(r.info.unterminated_final_line);
        assert_eq!(r.channels[0].1.energy_j(), 800.0);
        // Drops too large for a reset are errors with the line.
        let body = scrapes(&[
            ("1717000000", 1.0, 1.0, 9_000_000_000, 1),
            ("1717000001", 1.0, 1.0, 8_000_000_000, 2),
        ]);
        let e = run("h.prom", body.as_bytes()).expect_err("ambiguous");
        assert_eq!(e.code(), "ambiguous_counter_decrease");
        assert_eq!(e.location().and_then(|l| l.line), Some(18));
        assert_eq!(
            e.location().and_then(|l| l.column.clone()).as_deref(),
            Some(DCGM_ENERGY)
        );
    }

    #[test]
    fn errors_are_typed_and_placed() {
        let code = |name: &str, body: &[u8], c: &ReadConfig| {
            let e = run_with(name, body, c).expect_err("invalid");
            (e.code(), e.location().and_then(|l| l.line), e.value())
        };
        let c = cfg(1 << 20);
        assert_eq!(code("e1.prom", b"", &c).0, "empty_input");
        let single = b"DCGM_FI_DEV_POWER_USAGE{gpu=\"0\"} 35.686000\n";
        let (k, line, _) = code("e2.prom", single, &c);
        assert_eq!((k, line), ("schema", Some(1)));
        let bad = b"# scrape_time 1717000000\nDCGM_FI_DEV_POWER_USAGE{gpu=\"0\"} 3O.5\nDCGM_FI_DEV_POWER_USAGE{gpu=\"0\"} 1\n";
        assert_eq!(
            code("e3.prom", bad, &c),
            ("bad_value", Some(2), Some("3O.5".into()))
        );
        let bad_ts = b"DCGM_FI_DEV_POWER_USAGE{gpu=\"0\"} 1 1717000000000\nDCGM_FI_DEV_POWER_USAGE{gpu=\"0\"} 1 17170000\n";
        assert_eq!(code("e4.prom", bad_ts, &c).0, "bad_value");
        let quote = b"DCGM_FI_DEV_POWER_USAGE{gpu=\"0} 1 1717000000000\nDCGM_FI_DEV_POWER_USAGE{gpu=\"0\"} 1 1717000001000\n";
        assert_eq!(code("e5.prom", quote, &c).0, "bad_value");
        let other = b"# scrape_time 1717000000\nnode_load1 0.5\n";
        assert_eq!(code("e6.prom", other, &c).0, "schema");
        let unknown = ReadConfig {
            value: Some("node_load1".into()),
            ..cfg(1 << 20)
        };
        assert_eq!(code("e6.prom", other, &unknown).0, "schema");
        let bad_unit = ReadConfig {
            value: Some("node_load1 [furlongs]".into()),
            ..cfg(1 << 20)
        };
        assert_eq!(code("e6.prom", other, &bad_unit).0, "schema");
        let garbage = b"# scrape_time 1717000000\nDCGM_FI_DEV_POWER_USAGE 1\n!!!\n";
        assert_eq!(code("e7.prom", garbage, &c).1, Some(3));
        let one = b"DCGM_FI_DEV_POWER_USAGE{gpu=\"0\"} 1 1717000000000\n";
        assert_eq!(code("e8.prom", one, &c).0, "insufficient_samples");
        let stamp = b"# scrape_time yesterday\nDCGM_FI_DEV_POWER_USAGE 1\n";
        assert_eq!(
            code("e9.prom", stamp, &c),
            ("bad_value", Some(1), Some("yesterday".into()))
        );
        let back =
            b"DCGM_FI_DEV_POWER_USAGE 1 1717000001000\nDCGM_FI_DEV_POWER_USAGE 1 1717000000000\n";
        assert_eq!(code("e10.prom", back, &c).0, "unsorted_timestamps");
    }

    #[test]
    fn a_scrape_timed_from_outside_reads_its_samples() {
        let one = b"DCGM_FI_DEV_POWER_USAGE{gpu=\"0\"} 35.686000\n";
        let src =
            crate::read::source::open_text(&write("prom-test", "s.prom", one), &Default::default())
                .expect("valid");
        let mut r = open_scrape(src, &ReadConfig::default(), Some(1_717_000_000_000_000_000))
            .expect("valid");
        let mut c = Collector::default();
        r.read_rows(&mut c, &mut |_| Ok(())).expect("valid");
        assert_eq!(c.channels[0].t_ns, vec![1_717_000_000_000_000_000]);
        assert_eq!(c.channels[0].value, vec![35.686]);
    }

    #[test]
    fn energy_seen_only_after_the_head_is_reported() {
        let mut body = String::new();
        for i in 0..1000 {
            body.push_str(&format!(
                "# scrape_time {}\nDCGM_FI_DEV_POWER_USAGE{{gpu=\"0\",UUID=\"GPU-a\"}} 100.000000\n",
                1_717_000_000 + i
            ));
        }
        body.push_str(
            "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{gpu=\"0\",UUID=\"GPU-a\"} 5551899580\n",
        );
        let r = run("late.prom", body.as_bytes()).expect("valid");
        assert_eq!(r.layout.value_column, DCGM_POWER);
        assert!(
            r.info
                .warnings
                .iter()
                .any(|w| w.contains("after the first 64 KiB")),
            "{:?}",
            r.info.warnings
        );
    }

    #[test]
    fn labels_escapes_and_names() {
        let (name, l) = parse_labels(br#"{"my.metric",a="x\"y\\z\n",b="}"}"#).expect("valid");
        assert_eq!(name.as_deref(), Some("my.metric"));
        assert_eq!(
            l,
            vec![("a".into(), "x\"y\\z\n".into()), ("b".into(), "}".into())]
        );
        assert!(parse_labels(br#"{a=x}"#).is_err());
        assert_eq!(
            metric_name(br#"{"my.metric"} 1"#).as_deref(),
            Some("my.metric")
        );
        let s = split_sample(br#"m{a="}"}  4.2421665e+07	1717000000000"#).expect("valid");
        assert_eq!(s.value, b"4.2421665e+07");
        assert_eq!(s.timestamp.map(|t| t.0), Some(&b"1717000000000"[..]));
        assert!(split_sample(b"m 1 2 3").is_err());
        assert!(sniff(b"# HELP x y\n"));
        assert!(sniff(
            b"\n\nvllm:prompt_tokens_total{model_name=\"m\"} 27453.0\n"
        ));
        assert!(!sniff(b"time_s,power_w\n0,1\n"));
        assert!(!sniff(b"# gpu pwr\n# Idx W\n    0 100\n"));
    }

    #[test]
    fn decimals_to_ns_exactly() {
        assert_eq!(
            decimal_to_ns(b"1712000000.123", 9),
            Ok(1_712_000_000_123_000_000)
        );
        assert_eq!(
            decimal_to_ns(b"1.712000000123e9", 9),
            Ok(1_712_000_000_123_000_000)
        );
        assert_eq!(
            decimal_to_ns(b"1717000000000", 6),
            Ok(1_717_000_000_000_000_000)
        );
        assert_eq!(decimal_to_ns(b"-0.5", 9), Ok(-500_000_000));
        assert_eq!(decimal_to_ns(b"1.0000000000", 9), Ok(1_000_000_000));
        assert_eq!(
            decimal_to_ns(b"1.0000000001", 9),
            Err(DecimalError::TooPrecise)
        );
        assert_eq!(decimal_to_ns(b"1e30", 9), Err(DecimalError::Overflow));
        assert_eq!(decimal_to_ns(b"1e", 9), Err(DecimalError::Syntax));
        assert_eq!(decimal_to_ns(b".", 9), Err(DecimalError::Syntax));
        assert_eq!(sample_time(b"1717000000"), Ok(1_717_000_000_000_000_000));
        assert!(sample_time(b"17170000").is_err());
    }

    #[test]
    fn real_dcgm_scrape_is_untimed_and_its_counter_exact() {
        let real = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "../../../shared/data/real/dcgm-exporter-scrapes/l40s_upcloud_scrape_excerpt.prom",
        );
        let Ok(text) = std::fs::read_to_string(&real) else {
            return;
        };
        let e = run("real1.prom", text.as_bytes()).expect_err("no time");
        assert_eq!(e.code(), "schema");
        // Two scrapes of it, 15 s apart, the second 15 kJ later.
        let later = text.replace("5551899580", "5566899580");
        let body = format!("# scrape_time 1717000000\n{text}# scrape_time 1717000015\n{later}");
        let mut c = Collector::default();
        let src = crate::read::source::open_text(
            &write("prom-test", "real2.prom", body.as_bytes()),
            &Default::default(),
        )
        .expect("valid");
        let mut r = open(src, &ReadConfig::default()).expect("valid");
        r.read_rows(&mut c, &mut |_| Ok(())).expect("valid");
        assert_eq!(
            c.channels[0].name,
            "GPU-5b4e07f6-3a86-4340-039d-25f2a83cdc43"
        );
        assert_eq!(c.channels[0].value, vec![5_551_899_580.0, 5_566_899_580.0]);
        let r = run("real2.prom", body.as_bytes()).expect("valid");
        assert_eq!(r.channels[0].1.energy_j(), 15_000.0);
    }
}
