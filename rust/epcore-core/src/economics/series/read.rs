//! Readers of intensity and price series in common export layouts, told apart
//! by their header:
//!
//! - **Electricity Maps** (`Datetime (UTC),Country,Zone Name,Zone Id,Carbon
//!   Intensity gCO₂eq/kWh (direct),Carbon Intensity gCO₂eq/kWh (life cycle
//!   assessment),…`): the `lifecycle` column by default, `direct` on request;
//!   interval-start labels in UTC; `Data Estimated` rows are counted.
//! - **WattTime / Zeus** (`location,timestamp,duration,value[,hist]`, as
//!   `ml-energy/zeus:trace/carbon_hist.csv`): `value` in lbs CO2/MWh (× 0.453592
//!   to g/kWh), each row `[timestamp, timestamp + duration minutes)`, marginal.
//! - **ENTSO-E day-ahead prices** (`MTU (UTC)` ranges `01.01.2024 00:00 -
//!   01.01.2024 01:00`, a `Day-ahead Price [EUR/MWh]` column): explicit ranges,
//!   the currency from the column name, per MWh ÷ 1000. Local-time (`CET/CEST`)
//!   exports are refused: their DST hours are ambiguous.
//! - **Generic**: a time column (`timestamp`, `time`, `datetime`, `date`, `ts`,
//!   `start`…; RFC 3339 with a zone, epoch seconds, or zone-less times when the
//!   column name says `utc`) and one value column whose name gives the unit:
//!   `g_co2_per_kwh`, `kg_co2_per_kwh`, `lbs_co2_per_mwh`, `carbon_intensity`,
//!   `value` (g/kWh, assumed and flagged) for intensity; `price_per_kwh`,
//!   `price_per_mwh`, `<cur>_per_kwh`, `<cur>_per_mwh` for prices.
//!
//! Empty, `N/A`, `n/e` or `-` values leave a hole in the series (counted in
//! `n_missing`); every other bad field is an error naming the line and column.
//!
//! ```
//! use epcore_core::economics::series::read::{read_series_bytes, SeriesReadOptions};
//!
//! let csv = b"timestamp,price_per_mwh\n2024-01-01T00:00:00Z,80\n2024-01-01T01:00:00Z,120\n";
//! let opts = SeriesReadOptions::prices(Some("EUR"));
//! let s = read_series_bytes(csv, "p.csv", &opts)?;
//! assert_eq!(s.value, vec![0.08, 0.12]);
//! assert_eq!(s.end_ns[1] - s.start_ns[1], 3_600_000_000_000);
//! assert_eq!(s.meta.currency.as_deref(), Some("EUR"));
//! # Ok::<(), epcore_core::Error>(())
//! ```

use std::io::Read;
use std::path::Path;

use super::{Quantity, Series, SeriesMeta};
use crate::error::{Error, Location, Result};
use crate::read::codecarbon::split_quoted;
use crate::read::fields::{is_null_token, parse_f64};
use crate::read::source::{from_io, open_bytes, open_text, Limits, Source};
use crate::requests::timefmt::{looks_like_datetime, parse_rfc3339, TimeError};
use crate::time::{parse_decimal_seconds, DecimalError};

/// 1 lb/MWh in g/kWh.
pub const G_PER_KWH_PER_LB_PER_MWH: f64 = 0.453_592;
/// A series file is read whole; hourly data for a century is a few MB.
const MAX_BYTES: u64 = 256 << 20;
const NS_PER_MIN: i64 = 60_000_000_000;

/// Which carbon-intensity column of a file that has both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Basis {
    /// Life-cycle emissions (construction, fuel supply…): Electricity Maps' default.
    #[default]
    Lifecycle,
    /// Direct (combustion) emissions only.
    Direct,
}

impl Basis {
    pub fn parse(s: &str) -> Result<Basis> {
        match s.to_ascii_lowercase().as_str() {
            "lifecycle" | "life_cycle" | "lca" => Ok(Basis::Lifecycle),
            "direct" => Ok(Basis::Direct),
            _ => Err(Error::InvalidArgument {
                name: "basis".into(),
                value: s.into(),
                reason: "expected lifecycle or direct".into(),
            }),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Basis::Lifecycle => "lifecycle",
            Basis::Direct => "direct",
        }
    }
}

/// What to read and how.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesReadOptions {
    pub quantity: Quantity,
    pub basis: Basis,
    /// For prices: the currency of a file that names none; a file that names
    /// another is an error (no conversion here). None: the file's, else USD.
    pub currency: Option<String>,
    /// Wholesale prices do go below zero; refused unless set.
    pub allow_negative: bool,
}

impl SeriesReadOptions {
    pub fn intensity(basis: Basis) -> Self {
        SeriesReadOptions {
            quantity: Quantity::Intensity,
            basis,
            currency: None,
            allow_negative: false,
        }
    }

    pub fn prices(currency: Option<&str>) -> Self {
        SeriesReadOptions {
            quantity: Quantity::Price,
            basis: Basis::Lifecycle,
            currency: currency.map(str::to_owned),
            allow_negative: false,
        }
    }
}

/// Read a series file (gzip and zstd undone, BOM skipped).
pub fn read_series(path: &Path, opts: &SeriesReadOptions) -> Result<Series> {
    let src = open_text(path, &Limits::default())?;
    read_source(src, opts)
}

/// Read a series from bytes, exactly as from a file called `name`.
pub fn read_series_bytes(data: &[u8], name: &str, opts: &SeriesReadOptions) -> Result<Series> {
    let src = open_bytes(data.to_vec(), name, &Limits::default())?;
    read_source(src, opts)
}

fn read_source(mut src: Source, opts: &SeriesReadOptions) -> Result<Series> {
    let path = src.path.clone();
    let mut bytes = Vec::new();
    (&mut src.reader)
        .take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| from_io(e, &path))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(Error::InvalidArgument {
            name: "series file".into(),
            value: path,
            reason: format!(
                "larger than {} MiB: is this really a price or intensity series?",
                MAX_BYTES >> 20
            ),
        });
    }
    let text = std::str::from_utf8(&bytes).map_err(|e| Error::UnsupportedEncoding {
        at: Location {
            path: Some(path.clone()),
            byte_offset: Some(e.valid_up_to() as u64),
            ..Location::default()
        },
        reason: "not UTF-8 text".into(),
    })?;
    let rows = Rows::new(text, &path)?;
    let layout = Layout::detect(&rows, opts)?;
    layout.read(&rows, opts)
}

/// The file's lines, split into fields; blank lines skipped.
struct Rows<'a> {
    path: String,
    header: Vec<String>,
    /// (1-based line number, fields)
    body: Vec<(u64, Vec<String>)>,
    _text: &'a str,
}

impl<'a> Rows<'a> {
    fn new(text: &'a str, path: &str) -> Result<Rows<'a>> {
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i as u64 + 1, l.trim_end_matches('\r')))
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((hline, h)) = lines.next() else {
            return Err(Error::EmptyInput {
                at: Location {
                    path: Some(path.into()),
                    ..Location::default()
                },
            });
        };
        let split = |n: u64, l: &str| -> Result<Vec<String>> {
            split_quoted(l.as_bytes())
                .map(|f| {
                    f.into_iter()
                        .map(|(c, _)| String::from_utf8_lossy(&c).trim().to_string())
                        .collect()
                })
                .map_err(|at| Error::BadValue {
                    at: Location {
                        path: Some(path.into()),
                        line: Some(n),
                        byte_offset: Some(at as u64),
                        ..Location::default()
                    },
                    value: l.chars().take(64).collect(),
                    reason: "a quote is never closed".into(),
                    hint: String::new(),
                })
        };
        let header = split(hline, h)?;
        let mut body = Vec::new();
        for (n, l) in lines {
            let f = split(n, l)?;
            // A trailing empty field (ENTSO-E, ECB) is not a column.
            if f.len() != header.len()
                && !(f.len() == header.len() + 1 && f.last().is_some_and(String::is_empty))
            {
                return Err(Error::UnequalLengths {
                    at: Location {
                        path: Some(path.into()),
                        line: Some(n),
                        ..Location::default()
                    },
                    expected: header.len(),
                    found: f.len(),
                    hint: String::new(),
                });
            }
            body.push((n, f));
        }
        Ok(Rows {
            path: path.into(),
            header,
            body,
            _text: text,
        })
    }

    fn col(&self, pred: impl Fn(&str) -> bool) -> Option<usize> {
        self.header.iter().position(|h| pred(&h.to_lowercase()))
    }

    fn at(&self, line: u64, col: usize) -> Location {
        Location {
            path: Some(self.path.clone()),
            line: Some(line),
            column: self.header.get(col).cloned(),
            column_index: Some(col as u32),
            ..Location::default()
        }
    }

    fn schema(&self, expected: &str, hint: &str) -> Error {
        Error::Schema {
            at: Location {
                path: Some(self.path.clone()),
                line: Some(1),
                ..Location::default()
            },
            expected: expected.into(),
            found: format!("columns {}", self.header.join(", ")),
            hint: hint.into(),
        }
    }
}

/// How the times of a layout are given.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Times {
    /// Interval-start labels; naive date-times are UTC when `naive_utc`.
    Labels { naive_utc: bool },
    /// Each row's label plus a duration column in minutes.
    Duration { col: usize },
    /// `a - b` ranges of `DD.MM.YYYY HH:MM`, UTC.
    Mtu,
}

#[derive(Debug, Clone)]
struct Layout {
    name: &'static str,
    time: usize,
    times: Times,
    value: usize,
    /// Multiply file values by this to get g/kWh or money/kWh.
    scale: f64,
    converted_from: Option<String>,
    currency: Option<String>,
    unit_assumed: bool,
    basis: Option<&'static str>,
    method: Option<&'static str>,
    zone_col: Option<usize>,
    zone: Option<String>,
    estimated_col: Option<usize>,
}

const TIME_NAMES: [&str; 12] = [
    "timestamp",
    "time",
    "datetime",
    "date",
    "ts",
    "t",
    "start",
    "start_time",
    "timestamp_utc",
    "datetime_utc",
    "time_utc",
    "point_time",
];

impl Layout {
    fn base(name: &'static str, time: usize, times: Times, value: usize) -> Layout {
        Layout {
            name,
            time,
            times,
            value,
            scale: 1.0,
            converted_from: None,
            currency: None,
            unit_assumed: false,
            basis: None,
            method: None,
            zone_col: None,
            zone: None,
            estimated_col: None,
        }
    }

    fn detect(rows: &Rows<'_>, opts: &SeriesReadOptions) -> Result<Layout> {
        let q = opts.quantity;
        if let Some(mtu) = rows.col(|h| h.starts_with("mtu")) {
            return Layout::entsoe(rows, opts, mtu);
        }
        if let Some(dt) = rows.col(|h| h == "datetime (utc)") {
            if let Some(l) = Layout::electricity_maps(rows, opts, dt)? {
                return Ok(l);
            }
        }
        let names: Vec<String> = rows.header.iter().map(|h| h.to_lowercase()).collect();
        if names.len() >= 4 && names[..4] == ["location", "timestamp", "duration", "value"] {
            if q != Quantity::Intensity {
                return Err(rows.schema(
                    "a price column",
                    "this is a WattTime/Zeus carbon file: read it with read_intensity",
                ));
            }
            let mut l = Layout::base("watttime_zeus", 1, Times::Duration { col: 2 }, 3);
            l.scale = G_PER_KWH_PER_LB_PER_MWH;
            l.converted_from = Some("lbs/MWh".into());
            l.method = Some("marginal");
            l.zone_col = Some(0);
            return Ok(l);
        }
        Layout::generic(rows, opts)
    }

    fn electricity_maps(
        rows: &Rows<'_>,
        opts: &SeriesReadOptions,
        dt: usize,
    ) -> Result<Option<Layout>> {
        let direct = rows.col(|h| h.contains("carbon intensity") && h.contains("(direct)"));
        let lca = rows.col(|h| {
            h.contains("carbon intensity") && (h.contains("life cycle") || h.contains("(lca)"))
        });
        if direct.is_none() && lca.is_none() {
            return Ok(None);
        }
        if opts.quantity != Quantity::Intensity {
            return Err(rows.schema(
                "a price column",
                "this is an Electricity Maps carbon file: read it with read_intensity",
            ));
        }
        let (col, basis) = match opts.basis {
            Basis::Lifecycle => (lca, "lifecycle"),
            Basis::Direct => (direct, "direct"),
        };
        let Some(col) = col else {
            return Err(rows.schema(
                &format!("a {basis} carbon intensity column"),
                "pass the basis the file has (basis='direct' or 'lifecycle')",
            ));
        };
        let mut l = Layout::base(
            "electricity_maps",
            dt,
            Times::Labels { naive_utc: true },
            col,
        );
        l.basis = Some(basis);
        l.method = Some("location");
        l.zone_col = rows
            .col(|h| h == "zone id")
            .or_else(|| rows.col(|h| h == "zone name"));
        l.estimated_col = rows.col(|h| h == "data estimated");
        Ok(Some(l))
    }

    fn entsoe(rows: &Rows<'_>, opts: &SeriesReadOptions, mtu: usize) -> Result<Layout> {
        if opts.quantity != Quantity::Price {
            return Err(rows.schema(
                "a carbon intensity column",
                "this is an ENTSO-E price file: read it with read_prices",
            ));
        }
        let name = rows.header[mtu].to_lowercase();
        if !name.contains("utc") {
            return Err(rows.schema(
                "MTU (UTC)",
                "export the ENTSO-E table with the time zone set to UTC: local CET/CEST hours are ambiguous at DST changes",
            ));
        }
        let price = rows
            .col(|h| h.contains("day-ahead") && h.contains("price"))
            .or_else(|| rows.col(|h| h.contains("price")))
            .ok_or_else(|| rows.schema("a Day-ahead Price [CUR/MWh] column", ""))?;
        let header = rows.header[price].clone();
        let unit = header
            .rsplit(['[', '('])
            .next()
            .map(|u| u.trim_end_matches([']', ')']).trim().to_string())
            .unwrap_or_default();
        let (cur, per) = unit.split_once('/').unwrap_or(("", ""));
        let mut l = Layout::base("entsoe_day_ahead", mtu, Times::Mtu, price);
        l.scale = per_energy(per).ok_or_else(|| {
            rows.schema(
                "a price column with its unit, e.g. Day-ahead Price [EUR/MWh]",
                "",
            )
        })?;
        if is_currency(cur) {
            l.currency = Some(cur.to_string());
        }
        l.converted_from = (l.scale != 1.0).then(|| format!("{cur}/{per}"));
        l.zone_col = rows.col(|h| h == "area" || h == "bidding zone");
        if l.zone_col.is_none() {
            l.zone = rows
                .header
                .iter()
                .find_map(|h| h.strip_prefix("BZN|").map(str::to_string));
        }
        Ok(l)
    }

    fn generic(rows: &Rows<'_>, opts: &SeriesReadOptions) -> Result<Layout> {
        let names: Vec<String> = rows.header.iter().map(|h| h.to_lowercase()).collect();
        let time = TIME_NAMES
            .iter()
            .find_map(|t| names.iter().position(|h| h == t))
            .or_else(|| {
                names
                    .iter()
                    .position(|h| h.starts_with("timestamp") || h.starts_with("datetime"))
            })
            .ok_or_else(|| {
                rows.schema(
                    "a time column (timestamp, time, datetime, date, start…)",
                    "name the time column timestamp; RFC 3339 with a zone or epoch seconds",
                )
            })?;
        let naive_utc = names[time].contains("utc");
        let mut l = Layout::base("generic", time, Times::Labels { naive_utc }, 0);
        let found = match opts.quantity {
            Quantity::Intensity => intensity_column(&names),
            Quantity::Price => price_column(&names),
        };
        let Some((col, scale, from, cur, assumed)) = found else {
            let expected = match opts.quantity {
                Quantity::Intensity => "an intensity column: g_co2_per_kwh, kg_co2_per_kwh, lbs_co2_per_mwh, carbon_intensity or value",
                Quantity::Price => "a price column: price_per_kwh, price_per_mwh, <cur>_per_kwh or <cur>_per_mwh (e.g. eur_per_mwh)",
            };
            return Err(rows.schema(expected, "the column name must say the unit"));
        };
        l.value = col;
        l.scale = scale;
        l.converted_from = from;
        l.currency = cur;
        l.unit_assumed = assumed;
        l.zone_col = names
            .iter()
            .position(|h| h == "zone" || h == "zone_id" || h == "region" || h == "location");
        if opts.quantity == Quantity::Intensity {
            l.basis = None;
        }
        Ok(l)
    }

    fn read(&self, rows: &Rows<'_>, opts: &SeriesReadOptions) -> Result<Series> {
        let mut meta = SeriesMeta::new(opts.quantity);
        meta.layout = self.name.into();
        meta.path = Some(rows.path.clone());
        meta.column = rows.header.get(self.value).cloned();
        meta.converted_from = self.converted_from.clone();
        meta.unit_assumed = self.unit_assumed;
        meta.basis = self.basis.map(str::to_string);
        meta.method = self.method.map(str::to_string);
        meta.zone = self.zone.clone();
        if opts.quantity == Quantity::Price {
            meta.currency = Some(self.price_currency(rows, opts)?);
        }
        let mut labels: Vec<i64> = Vec::with_capacity(rows.body.len());
        let mut values: Vec<Option<f64>> = Vec::with_capacity(rows.body.len());
        let mut ends: Vec<i64> = Vec::new();
        let mut zone_line = 0u64;
        for (line, f) in &rows.body {
            let line = *line;
            meta.n_rows += 1;
            if let Some(zc) = self.zone_col {
                let z = &f[zc];
                match &meta.zone {
                    None if !z.is_empty() => {
                        meta.zone = Some(z.clone());
                        zone_line = line;
                    }
                    Some(prev) if !z.is_empty() && z != prev => {
                        return Err(Error::BadValue {
                            at: rows.at(line, zc),
                            value: z.clone(),
                            reason: format!(
                                "the file mixes zones: '{prev}' (line {zone_line}) and '{z}'"
                            ),
                            hint: "split the file by zone: one series is one zone".into(),
                        });
                    }
                    _ => {}
                }
            }
            if let Some(ec) = self.estimated_col {
                if f[ec].eq_ignore_ascii_case("true") || f[ec] == "1" {
                    meta.n_estimated += 1;
                }
            }
            let (start, end) = self.times(rows, line, f)?;
            if let Some(&prev) = labels.last() {
                if start < prev || (start == prev && self.times != Times::Mtu) {
                    return Err(Error::UnsortedTimestamps {
                        at: rows.at(line, self.time),
                        previous_ns: prev,
                        value_ns: start,
                    });
                }
            }
            let v = self.value(rows, line, f, opts)?;
            if v.is_none() {
                meta.n_missing += 1;
            }
            labels.push(start);
            values.push(v);
            if let Some(e) = end {
                ends.push(e);
            }
        }
        if labels.is_empty() {
            return Err(Error::EmptyInput {
                at: Location {
                    path: Some(rows.path.clone()),
                    ..Location::default()
                },
            });
        }
        if let Times::Labels { .. } = self.times {
            return Series::from_labels(&labels, &values, meta);
        }
        // Explicit ranges: keep the rows with a value.
        let (mut s, mut e, mut v) = (Vec::new(), Vec::new(), Vec::new());
        for ((a, b), x) in labels.into_iter().zip(ends).zip(values) {
            if let Some(x) = x {
                s.push(a);
                e.push(b);
                v.push(x);
            }
        }
        Series::from_intervals(s, e, v, meta)
    }

    fn price_currency(&self, rows: &Rows<'_>, opts: &SeriesReadOptions) -> Result<String> {
        match (&self.currency, &opts.currency) {
            (Some(file), Some(asked)) if !file.eq_ignore_ascii_case(asked) => Err(Error::InvalidArgument {
                name: "currency".into(),
                value: asked.clone(),
                reason: format!(
                    "{} is priced in {file} ({}); convert the result rather than relabel the prices",
                    rows.path,
                    rows.header[self.value]
                ),
            }),
            (Some(file), _) => Ok(file.to_ascii_uppercase()),
            (None, Some(asked)) => {
                if is_currency(asked) {
                    Ok(asked.clone())
                } else {
                    Err(Error::InvalidArgument {
                        name: "currency".into(),
                        value: asked.clone(),
                        reason: "expected a three-letter upper-case ISO 4217 code such as USD or EUR".into(),
                    })
                }
            }
            (None, None) => Ok("USD".into()),
        }
    }

    fn times(&self, rows: &Rows<'_>, line: u64, f: &[String]) -> Result<(i64, Option<i64>)> {
        let raw = &f[self.time];
        let at = || rows.at(line, self.time);
        match self.times {
            Times::Labels { naive_utc } => Ok((time_field(raw, naive_utc, at)?, None)),
            Times::Duration { col } => {
                let start = time_field(raw, false, at)?;
                let minutes = parse_f64(f[col].as_bytes())
                    .filter(|m| m.is_finite() && *m > 0.0 && *m <= 1e7)
                    .ok_or_else(|| Error::BadValue {
                        at: rows.at(line, col),
                        value: f[col].clone(),
                        reason: format!("cannot read '{}' as a duration in minutes", f[col]),
                        hint: "duration is the length of the interval in minutes, > 0".into(),
                    })?;
                let len = (minutes * NS_PER_MIN as f64).round() as i64;
                Ok((start, Some(start.saturating_add(len))))
            }
            Times::Mtu => {
                let bad = |reason: &str| Error::BadValue {
                    at: at(),
                    value: raw.clone(),
                    reason: reason.into(),
                    hint: "ENTSO-E ranges look like 01.01.2024 00:00 - 01.01.2024 01:00 (UTC)"
                        .into(),
                };
                let (a, b) = raw
                    .split_once(" - ")
                    .ok_or_else(|| bad("not a 'start - end' range"))?;
                let a = dotted_utc(a.trim())
                    .ok_or_else(|| bad("cannot read the start as DD.MM.YYYY HH:MM"))?;
                let b = dotted_utc(b.trim().trim_end_matches("(UTC)").trim())
                    .ok_or_else(|| bad("cannot read the end as DD.MM.YYYY HH:MM"))?;
                if b <= a {
                    return Err(bad("the range ends before it starts"));
                }
                Ok((a, Some(b)))
            }
        }
    }

    fn value(
        &self,
        rows: &Rows<'_>,
        line: u64,
        f: &[String],
        opts: &SeriesReadOptions,
    ) -> Result<Option<f64>> {
        let raw = f[self.value].as_str();
        let b = raw.as_bytes();
        if is_null_token(b) || matches!(raw, "-" | "n/e" | "N/E" | "n/a") {
            return Ok(None);
        }
        let what = opts.quantity.name();
        let x = parse_f64(b).ok_or_else(|| Error::BadValue {
            at: rows.at(line, self.value),
            value: raw.into(),
            reason: format!("cannot read '{raw}' as a {what}"),
            hint: "values are decimal numbers; leave a missing one empty".into(),
        })?;
        if !x.is_finite() {
            return Err(Error::NonFinite {
                at: rows.at(line, self.value),
                what: what.into(),
                value: x,
            });
        }
        if x < 0.0 && (opts.quantity == Quantity::Intensity || !opts.allow_negative) {
            let hint = match opts.quantity {
                Quantity::Intensity => "carbon intensity is never below zero: check the column",
                Quantity::Price => "wholesale prices can be negative: pass allow_negative_price=True (CLI --allow-negative-price) to accept them",
            };
            return Err(Error::BadValue {
                at: rows.at(line, self.value),
                value: raw.into(),
                reason: format!("negative {what} {raw}"),
                hint: hint.into(),
            });
        }
        Ok(Some(x * self.scale))
    }
}

/// A time field: RFC 3339 with a zone, epoch seconds, or (when the column
/// says UTC) `YYYY-MM-DD[ T]HH:MM[:SS[.f]]` or `YYYY-MM-DD` read as UTC.
fn time_field(raw: &str, naive_utc: bool, at: impl Fn() -> Location) -> Result<i64> {
    let b = raw.as_bytes();
    let bad = |reason: &str, hint: &str| Error::BadValue {
        at: at(),
        value: raw.into(),
        reason: format!("cannot read '{raw}' as a time: {reason}"),
        hint: hint.into(),
    };
    if !looks_like_datetime(b) {
        return parse_decimal_seconds(b).map_err(|e| match e {
            DecimalError::Overflow => bad("outside the int64 nanosecond range", ""),
            _ => bad(
                "neither RFC 3339 nor epoch seconds",
                "use 2024-01-01T00:00:00Z or seconds since 1970",
            ),
        });
    }
    let e = match parse_rfc3339(b) {
        Ok(ns) => return Ok(ns),
        Err(e @ (TimeError::NoOffset | TimeError::Syntax)) => e,
        Err(e) => return Err(bad(e.reason(), "")),
    };
    // A zone-less time: UTC when the column says so, refused otherwise.
    let naive = naive_as_utc(raw).and_then(|fixed| parse_rfc3339(fixed.as_bytes()).ok());
    match naive {
        Some(ns) if naive_utc => Ok(ns),
        Some(_) => Err(bad(
            TimeError::NoOffset.reason(),
            "add Z (or the offset) to each time, or name the column timestamp_utc if the times are UTC",
        )),
        None => Err(bad(e.reason(), "")),
    }
}

/// `2024-01-01 00:00[:00[.f]]` or `2024-01-01` → RFC 3339 in UTC.
fn naive_as_utc(raw: &str) -> Option<String> {
    let s = raw.trim_end_matches(['Z', 'z']);
    match s.len() {
        10 => Some(format!("{s}T00:00:00Z")),
        16 => Some(format!("{s}:00Z")),
        n if n >= 19 => Some(format!("{s}Z")),
        _ => None,
    }
}

/// `01.01.2024 00:00` (UTC) → ns.
fn dotted_utc(s: &str) -> Option<i64> {
    let (date, time) = s.split_once(' ')?;
    let mut d = date.split('.');
    let (dd, mm, yyyy) = (d.next()?, d.next()?, d.next()?);
    if d.next().is_some() || dd.len() != 2 || mm.len() != 2 || yyyy.len() != 4 {
        return None;
    }
    let time = match time.len() {
        5 => format!("{time}:00"),
        8 => time.to_string(),
        _ => return None,
    };
    parse_rfc3339(format!("{yyyy}-{mm}-{dd}T{time}Z").as_bytes()).ok()
}

fn is_currency(s: &str) -> bool {
    s.len() == 3 && s.bytes().all(|b| b.is_ascii_alphabetic())
}

/// Scale from money per `per` to money per kWh.
fn per_energy(per: &str) -> Option<f64> {
    match per.trim().to_ascii_lowercase().as_str() {
        "kwh" => Some(1.0),
        "mwh" => Some(1e-3),
        _ => None,
    }
}

type Found = (usize, f64, Option<String>, Option<String>, bool);

fn intensity_column(names: &[String]) -> Option<Found> {
    let table: [(&str, f64, Option<&str>); 12] = [
        ("g_co2_per_kwh", 1.0, None),
        ("g_co2e_per_kwh", 1.0, None),
        ("gco2_per_kwh", 1.0, None),
        ("gco2e_per_kwh", 1.0, None),
        ("gco2eq_per_kwh", 1.0, None),
        ("carbon_intensity", 1.0, None),
        ("carbon_intensity_g_per_kwh", 1.0, None),
        ("kg_co2_per_kwh", 1000.0, Some("kg/kWh")),
        ("kgco2_per_kwh", 1000.0, Some("kg/kWh")),
        ("lbs_co2_per_mwh", G_PER_KWH_PER_LB_PER_MWH, Some("lbs/MWh")),
        ("lbs_per_mwh", G_PER_KWH_PER_LB_PER_MWH, Some("lbs/MWh")),
        ("moer", G_PER_KWH_PER_LB_PER_MWH, Some("lbs/MWh")),
    ];
    for (name, scale, from) in table {
        if let Some(i) = names.iter().position(|h| h == name) {
            return Some((i, scale, from.map(str::to_string), None, false));
        }
    }
    for name in ["intensity", "value"] {
        if let Some(i) = names.iter().position(|h| h == name) {
            return Some((i, 1.0, None, None, true));
        }
    }
    None
}

fn price_column(names: &[String]) -> Option<Found> {
    for (i, h) in names.iter().enumerate() {
        let Some((what, per)) = h.rsplit_once("_per_") else {
            continue;
        };
        let Some(scale) = per_energy(per) else {
            continue;
        };
        let from = (scale != 1.0).then(|| format!("per {}", per.to_uppercase()));
        if what == "price" {
            return Some((i, scale, from, None, false));
        }
        let cur = what.strip_prefix("price_").unwrap_or(what);
        if is_currency(cur) {
            return Some((i, scale, from, Some(cur.to_ascii_uppercase()), false));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000_000_000;

    fn intensity(csv: &str) -> Result<Series> {
        read_series_bytes(
            csv.as_bytes(),
            "s.csv",
            &SeriesReadOptions::intensity(Basis::Lifecycle),
        )
    }

    fn prices(csv: &str) -> Result<Series> {
        read_series_bytes(csv.as_bytes(), "p.csv", &SeriesReadOptions::prices(None))
    }

    #[test]
    fn electricity_maps_lifecycle_and_direct() {
        let csv = "Datetime (UTC),Country,Zone Name,Zone Id,Carbon Intensity gCO₂eq/kWh (direct),Carbon Intensity gCO₂eq/kWh (life cycle assessment),Low Carbon Percentage,Renewable Percentage,Data Source,Data Estimated,Data Estimation Method\n\
2024-01-01 00:00:00,Germany,Germany,DE,300.5,350.25,50,45,entsoe.eu,false,\n\
2024-01-01 01:00:00,Germany,Germany,DE,310,360,50,45,entsoe.eu,true,TIME_SLICER_AVERAGE\n";
        let s = intensity(csv).expect("reads");
        assert_eq!(s.value, vec![350.25, 360.0]);
        assert_eq!(s.start_ns[0], 1_704_067_200_000_000_000);
        assert_eq!(s.end_ns[1] - s.start_ns[1], H);
        assert_eq!(s.meta.zone.as_deref(), Some("DE"));
        assert_eq!(s.meta.basis.as_deref(), Some("lifecycle"));
        assert_eq!(s.meta.n_estimated, 1);
        let d = read_series_bytes(
            csv.as_bytes(),
            "s.csv",
            &SeriesReadOptions::intensity(Basis::Direct),
        )
        .expect("reads");
        assert_eq!(d.value, vec![300.5, 310.0]);
    }

    #[test]
    fn zeus_watttime_in_lbs_per_mwh() {
        let csv = "location,timestamp,duration,value,hist\n\
MISO_MASON_CITY,2022-10-20T06:20:00+00:00,30,1000,619.2\n\
MISO_MASON_CITY,2022-10-20T06:50:00+00:00,30,500,618.6\n";
        let s = intensity(csv).expect("reads");
        assert_eq!(s.value, vec![453.592, 226.796]);
        assert_eq!(s.end_ns[0] - s.start_ns[0], 30 * NS_PER_MIN);
        assert_eq!(s.meta.method.as_deref(), Some("marginal"));
        assert_eq!(s.meta.zone.as_deref(), Some("MISO_MASON_CITY"));
    }

    #[test]
    fn entsoe_ranges_currency_and_holes() {
        let csv = "\"MTU (UTC)\",\"Area\",\"Day-ahead Price (EUR/MWh)\"\n\
\"01.01.2024 00:00 - 01.01.2024 01:00\",\"BZN|DE-LU\",\"39.10\"\n\
\"01.01.2024 01:00 - 01.01.2024 02:00\",\"BZN|DE-LU\",\"-\"\n\
\"01.01.2024 02:00 - 01.01.2024 03:00\",\"BZN|DE-LU\",\"12.5\"\n";
        let s = prices(csv).expect("reads");
        assert_eq!(s.value, vec![0.0391, 0.0125]);
        assert_eq!(s.start_ns[1] - s.start_ns[0], 2 * H);
        assert_eq!(s.meta.currency.as_deref(), Some("EUR"));
        assert_eq!(s.meta.n_missing, 1);
        let e = read_series_bytes(
            csv.as_bytes(),
            "p.csv",
            &SeriesReadOptions::prices(Some("USD")),
        )
        .expect_err("other currency");
        assert!(e.to_string().contains("priced in EUR"), "{e}");
        let local = csv.replace("MTU (UTC)", "MTU (CET/CEST)");
        assert_eq!(prices(&local).expect_err("local").code(), "schema");
    }

    #[test]
    fn generic_layouts_and_units() {
        let s = intensity("time,value\n0,100\n1800,200\n").expect("reads");
        assert!(s.meta.unit_assumed);
        assert_eq!(s.end_ns, vec![1_800_000_000_000, 3_600_000_000_000]);
        let s = intensity(
            "timestamp,kg_co2_per_kwh\n2024-01-01T00:00:00Z,0.4\n2024-01-01T01:00:00+01:00,0.5\n",
        );
        let e = s.expect_err("unsorted: +01:00 is the same instant");
        assert_eq!(e.code(), "unsorted_timestamps");
        let s = prices("timestamp,usd_per_mwh\n0,50\n3600,-5\n");
        assert!(s
            .expect_err("negative")
            .to_string()
            .contains("allow_negative_price"));
        let mut o = SeriesReadOptions::prices(None);
        o.allow_negative = true;
        let s = read_series_bytes(b"timestamp,usd_per_mwh\n0,50\n3600,-5\n", "p.csv", &o)
            .expect("allowed");
        assert_eq!(s.value, vec![0.05, -0.005]);
        assert_eq!(s.meta.currency.as_deref(), Some("USD"));
        let e = intensity("timestamp,g_co2_per_kwh\n2024-01-01 00:00,1\n2024-01-01 01:00,2\n")
            .expect_err("naive");
        assert!(e.to_string().contains("UTC offset"), "{e}");
        let s = intensity("timestamp_utc,g_co2_per_kwh\n2024-01-01 00:00,1\n2024-01-01 01:00,2\n")
            .expect("utc");
        assert_eq!(s.start_ns[0], 1_704_067_200_000_000_000);
        let e = prices("timestamp,value\n0,1\n1,2\n").expect_err("unit");
        assert_eq!(e.code(), "schema");
        let e = intensity("timestamp,g_co2_per_kwh\n0,1\n1,x\n").expect_err("bad");
        assert!(
            e.to_string().starts_with("s.csv:3: column g_co2_per_kwh"),
            "{e}"
        );
    }
}
