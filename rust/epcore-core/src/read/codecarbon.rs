//! CodeCarbon `emissions.csv`: energy per run, as a run-level energy source.
//!
//! CodeCarbon writes one row per `stop()` or `flush()` of a tracker: the
//! energy since the tracker started (`cpu_energy`, `gpu_energy`,
//! `ram_energy`, their sum `energy_consumed`; kWh), its `duration` (s) and
//! the wall-clock `timestamp` of the write (`2024-05-31T10:39:13`: local time,
//! no zone, cut to the second). Rows of one run (same `run_id`, same start
//! `timestamp − duration` within 2 s) are cumulative snapshots; a new start
//! is a new run.
//!
//! Each channel (`cpu`, `gpu`, `ram` by default; `value='energy_consumed'`
//! reads the total as channel `total`, `value='gpu_energy'` one component, a
//! comma-separated list several) becomes a counter in kWh (`unit_j = 3.6e6`):
//! at each run's start the running total of the runs before it, at each
//! snapshot that total plus the snapshot. The counter rule then gives the
//! sum over runs exactly, time between runs adds nothing, and energy lands in
//! the run's time span. A start is known to about a second (the timestamp is
//! cut to the second). An empty energy field is a missing sample: the run
//! counts up to its last known snapshot for that channel.
//!
//! Runs of one channel may not overlap (two trackers writing one file): a
//! typed error, whose hint is `channel='project_name'` (or `run_id`,
//! `experiment_id`, any column): each value of that column is then its own
//! group of channels (`myproject/gpu`), and only runs within a group must not
//! overlap.
//!
//! Times without a zone are read as UTC and flagged `naive_time` unless `tz`
//! names the zone; a `Z` or `±HH:MM` suffix is honoured. CodeCarbon multiplies
//! every component by `pue` (its `_do_measurements`): a `pue` other than 1
//! is reported in a warning, and the energies are left as written (facility
//! energy; divide by the PUE for IT energy).

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Read;

use crate::error::{Error, Location, Result};
use crate::read::civil::{self, CivilError, Clock};
use crate::read::fields::{is_null_token, parse_f64, trim_field};
use crate::read::format::Format;
use crate::read::lines::LineReader;
use crate::read::prometheus_text::{cut_tail, kept_tail};
use crate::read::source::{Progress, Source};
use crate::read::{placer, FileInfo, Layout, OnChunk, PowerReader, Quantity, ReadConfig, RowSink};

/// Joules per kWh: the counter unit.
const KWH_J: f64 = 3.6e6;
/// How far apart the computed starts of one run's snapshots may be, and how far
/// a run may seem to start before the previous one ended: timestamps are cut to the second.
const TOLERANCE_NS: i64 = 2_000_000_000;

/// The energy columns and the channel each becomes.
const COMPONENTS: [(&str, &str); 4] = [
    ("cpu_energy", "cpu"),
    ("gpu_energy", "gpu"),
    ("ram_energy", "ram"),
    ("energy_consumed", "total"),
];

/// Whether the first line is a CodeCarbon emissions header.
pub fn sniff(head: &[u8]) -> bool {
    let first = head
        .split(|&b| b == b'\n' || b == b'\r')
        .next()
        .unwrap_or_default();
    let names: Vec<&[u8]> = first.split(|&b| b == b',').map(trim_field).collect();
    let has = |n: &[u8]| names.contains(&n);
    has(b"timestamp") && has(b"duration") && (has(b"energy_consumed") || has(b"cpu_energy"))
}

/// The fields of a line, each with its byte offset.
pub(crate) type Fields<'a> = Vec<(Cow<'a, [u8]>, usize)>;

/// Split a CSV line at commas, honouring `"..."` quotes (`""` inside is a quote).
/// Each field comes with its byte offset; `Err(offset)` for a quote never closed.
pub(crate) fn split_quoted(line: &[u8]) -> std::result::Result<Fields<'_>, usize> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let start = i;
        let lead = line[i..]
            .iter()
            .take_while(|&&c| c == b' ' || c == b'\t')
            .count();
        if line.get(i + lead) == Some(&b'"') {
            let open = i + lead;
            let mut v: Vec<u8> = Vec::new();
            let mut j = open + 1;
            loop {
                match line.get(j) {
                    None => return Err(open),
                    Some(b'"') if line.get(j + 1) == Some(&b'"') => {
                        v.push(b'"');
                        j += 2;
                    }
                    Some(b'"') => break,
                    Some(&c) => {
                        v.push(c);
                        j += 1;
                    }
                }
            }
            j += 1;
            j += line[j..]
                .iter()
                .take_while(|&&c| c == b' ' || c == b'\t')
                .count();
            out.push((Cow::Owned(v), start));
            match line.get(j) {
                None => return Ok(out),
                Some(b',') => i = j + 1,
                Some(_) => return Err(open),
            }
        } else {
            match memchr::memchr(b',', &line[i..]) {
                Some(p) => {
                    out.push((Cow::Borrowed(&line[i..i + p]), start));
                    i += p + 1;
                }
                None => {
                    out.push((Cow::Borrowed(&line[i..]), start));
                    return Ok(out);
                }
            }
        }
    }
}

struct Header {
    names: Vec<String>,
    timestamp: usize,
    duration: usize,
    run_id: Option<usize>,
    pue: Option<usize>,
    group: Option<usize>,
    /// (column, channel) of each energy read.
    energy: Vec<(usize, &'static str)>,
}

/// Open an `emissions.csv` and read its header.
pub fn open(src: Source, cfg: &ReadConfig) -> Result<Box<dyn PowerReader>> {
    let path = src.path.clone();
    let mut info = FileInfo::of(&src);
    let progress = src.progress();
    let naive = first_row_is_naive(&src.head);
    let mut lines = LineReader::new(
        src.reader,
        &path,
        cfg.read.chunk_bytes,
        cfg.read.max_record_bytes,
    );
    let header = loop {
        let Some(l) = lines.next_line()? else {
            return Err(Error::EmptyInput {
                at: Location {
                    path: Some(path),
                    ..Location::default()
                },
            });
        };
        info.n_lines = l.number;
        if l.bytes.trim_ascii().is_empty() {
            continue;
        }
        break parse_header(l.bytes, l.number, &path, cfg)?;
    };
    let clock = Clock::new(cfg.tz.as_deref())?;
    let layout = Layout {
        format: Format::CodeCarbon,
        quantity: Quantity::Counter {
            unit_j: KWH_J,
            modulus: None,
        },
        power_semantics: "unknown",
        naive_time: naive && cfg.tz.is_none(),
        tz: clock.zone_name().map(str::to_string),
        time_column: "timestamp".into(),
        value_column: header
            .energy
            .iter()
            .map(|&(c, _)| header.names[c].clone())
            .collect::<Vec<_>>()
            .join(","),
    };
    info.time_column = layout.time_column.clone();
    info.value_column = layout.value_column.clone();
    Ok(Box::new(CodeCarbonReader {
        lines,
        header,
        clock,
        layout,
        info,
        progress,
    }))
}

/// Whether the first data row's timestamp has no zone (CodeCarbon's own output never has one).
fn first_row_is_naive(head: &[u8]) -> bool {
    let mut rows = head
        .split(|&b| b == b'\n' || b == b'\r')
        .filter(|l| !l.trim_ascii().is_empty());
    let (Some(h), Some(r)) = (rows.next(), rows.next()) else {
        return true;
    };
    let Some(i) = h
        .split(|&b| b == b',')
        .position(|f| trim_field(f) == b"timestamp")
    else {
        return true;
    };
    match split_quoted(r)
        .ok()
        .and_then(|f| f.get(i).map(|x| x.0.to_vec()))
    {
        Some(ts) => zone_suffix(trim_field(&ts)).is_none(),
        None => true,
    }
}

fn parse_header(line: &[u8], number: u64, path: &str, cfg: &ReadConfig) -> Result<Header> {
    let fields = split_quoted(line).unwrap_or_default();
    let names: Vec<String> = fields
        .iter()
        .map(|(f, _)| String::from_utf8_lossy(trim_field(f)).trim().to_string())
        .collect();
    let find = |n: &str| names.iter().position(|c| c == n);
    let schema = |expected: String, hint: String| Error::Schema {
        at: Location {
            path: Some(path.into()),
            line: Some(number),
            ..Location::default()
        },
        expected,
        found: format!("columns [{}]", names.join(", ")),
        hint,
    };
    let (Some(timestamp), Some(duration)) = (find("timestamp"), find("duration")) else {
        return Err(schema(
            "timestamp and duration columns".into(),
            "a CodeCarbon emissions.csv starts timestamp,project_name,run_id,...,duration,..."
                .into(),
        ));
    };
    let wanted: Vec<&'static str> = match cfg.value.as_deref() {
        Some(v) => {
            let mut out = Vec::new();
            for part in v.split(',').map(str::trim) {
                let c = COMPONENTS
                    .iter()
                    .find(|(col, ch)| *col == part || *ch == part)
                    .ok_or_else(|| {
                        schema(
                            "one or more of cpu_energy, gpu_energy, ram_energy, energy_consumed"
                                .into(),
                            format!("value='{part}' is not an energy column of emissions.csv"),
                        )
                    })?;
                out.push(c.0);
            }
            out
        }
        None if ["cpu_energy", "gpu_energy", "ram_energy"]
            .iter()
            .all(|c| find(c).is_some()) =>
        {
            vec!["cpu_energy", "gpu_energy", "ram_energy"]
        }
        None => vec!["energy_consumed"],
    };
    let mut energy = Vec::new();
    for col in wanted {
        let Some(i) = find(col) else {
            return Err(schema(
                format!("column {col}"),
                "CodeCarbon writes cpu_energy, gpu_energy, ram_energy and energy_consumed (kWh); pass value= to read the ones the file has".into(),
            ));
        };
        let ch = COMPONENTS
            .iter()
            .find(|(c, _)| *c == col)
            .map_or("total", |x| x.1);
        energy.push((i, ch));
    }
    let group = match cfg.channel.as_deref() {
        Some(c) => Some(find(c).ok_or_else(|| {
            schema(
                format!("column {c} (channel='{c}')"),
                "channel names the column whose values group runs: project_name, run_id, experiment_id...".into(),
            )
        })?),
        None => None,
    };
    Ok(Header {
        timestamp,
        duration,
        run_id: find("run_id"),
        pue: find("pue"),
        group,
        energy,
        names,
    })
}

/// `Z` / `±HH:MM` / `±HHMM` at the end of a timestamp: its offset in seconds and its length.
fn zone_suffix(ts: &[u8]) -> Option<(i64, usize)> {
    if ts.last() == Some(&b'Z') {
        return Some((0, 1));
    }
    for len in [6usize, 5] {
        if ts.len() < 19 + len {
            continue;
        }
        let s = &ts[ts.len() - len..];
        let sign = match s[0] {
            b'+' => 1,
            b'-' => -1,
            _ => continue,
        };
        let digits: Vec<u8> = s[1..].iter().copied().filter(|c| *c != b':').collect();
        if digits.len() != 4 || !digits.iter().all(u8::is_ascii_digit) || (len == 6 && s[3] != b':')
        {
            continue;
        }
        let n = |a: usize| ((digits[a] - b'0') * 10 + (digits[a + 1] - b'0')) as i64;
        return Some((sign * (n(0) * 3600 + n(2) * 60), len));
    }
    None
}

/// Whether `YYYY-MM-DD?HH:MM:SS` has digits where digits belong. Checked here
/// before the civil-time parser sees the text, so no byte can reach its digit
/// arithmetic (a space in `T 9:39:13` once overflowed there).
fn digits_in_place(ts: &[u8]) -> bool {
    ts.len() >= 19
        && ts[..19].iter().enumerate().all(|(i, c)| match i {
            4 | 7 => matches!(c, b'-' | b'/'),
            10 => matches!(c, b'T' | b' '),
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        })
}

/// A timestamp to UTC ns: its own offset when it has one, else the clock's zone (or UTC).
fn parse_timestamp(clock: &mut Clock, ts: &[u8]) -> std::result::Result<i64, CivilError> {
    if !digits_in_place(ts) {
        return Err(CivilError::Syntax(
            "expected a date and time like 2024-05-31T10:39:13",
        ));
    }
    match zone_suffix(ts) {
        None => clock.parse_datetime(ts),
        Some((offset_s, len)) => {
            let local = &ts[..ts.len() - len];
            if local.len() < 19 || !matches!(local[10], b'T' | b' ') {
                return Err(CivilError::Syntax(
                    "expected a date and time like 2024-05-31T10:39:13",
                ));
            }
            let days = civil::parse_date(&local[..10])?;
            let tod = civil::parse_time_of_day(&local[11..])?;
            days.checked_mul(86_400_000_000_000)
                .and_then(|d| d.checked_add(tod))
                .and_then(|l| l.checked_sub(offset_s * 1_000_000_000))
                .ok_or(CivilError::Overflow)
        }
    }
}

struct CodeCarbonReader {
    lines: LineReader<Box<dyn Read + Send>>,
    header: Header,
    clock: Clock,
    layout: Layout,
    info: FileInfo,
    progress: Progress,
}

/// One row, read.
struct Row {
    end_ns: i64,
    start_ns: i64,
    run_id: String,
    group: String,
    pue: Option<f64>,
    /// kWh per energy column (`NaN` for an empty field).
    kwh: Vec<f64>,
}

/// The run being read in one group, and the group's running totals.
struct Group {
    ids: Vec<usize>,
    /// Running totals (kWh) of the runs before the current one, per channel.
    base: Vec<f64>,
    run: Option<Run>,
    /// The last snapshot, held back in case the next one has the same timestamp.
    pending: Option<(i64, Vec<f64>, u64)>,
}

struct Run {
    run_id: String,
    start_ns: i64,
    start_line: u64,
    last_ns: i64,
    /// The last known cumulative energy of the run per channel (`NaN` before the first).
    last: Vec<f64>,
}

impl CodeCarbonReader {
    /// A bad field: column and offset in the line, the line's number and file offset.
    fn field_error(
        &self,
        (col, at): (usize, usize),
        value: &[u8],
        (number, offset): (u64, u64),
        reason: &str,
        hint: &str,
    ) -> Error {
        Error::BadValue {
            at: Location {
                path: Some(self.info.path.clone()),
                line: Some(number),
                column: Some(self.header.names[col].clone()),
                column_index: Some(col as u32),
                byte_offset: Some(offset + at as u64),
                ..Location::default()
            },
            value: String::from_utf8_lossy(value).into_owned(),
            reason: reason.into(),
            hint: hint.into(),
        }
    }

    /// Read one data line.
    fn parse_row(&mut self, line: &[u8], number: u64, offset: u64) -> Result<Row> {
        let h = &self.header;
        let fields = match split_quoted(line) {
            Ok(f) => f,
            Err(at) => {
                return Err(Error::BadValue {
                    at: Location {
                        path: Some(self.info.path.clone()),
                        line: Some(number),
                        byte_offset: Some(offset + at as u64),
                        ..Location::default()
                    },
                    value: String::from_utf8_lossy(&line[at..line.len().min(at + 64)]).into_owned(),
                    reason: "a quoted field is never closed".into(),
                    hint: "fields with commas are quoted \"...\" within one line".into(),
                })
            }
        };
        if fields.len() != h.names.len() {
            return Err(Error::UnequalLengths {
                at: Location {
                    path: Some(self.info.path.clone()),
                    line: Some(number),
                    byte_offset: Some(offset),
                    ..Location::default()
                },
                expected: h.names.len(),
                found: fields.len(),
                hint: if fields.len() > h.names.len() {
                    "an unquoted comma inside a field?".into()
                } else {
                    "a missing field; is the row cut short?".into()
                },
            });
        }
        let get = |i: usize| trim_field(&fields[i].0);
        let ts = get(h.timestamp);
        let end_ns = match parse_timestamp(&mut self.clock, ts) {
            Ok(t) => t,
            Err(e) => {
                let (col, at) = (h.timestamp, fields[h.timestamp].1);
                let value = String::from_utf8_lossy(ts).into_owned();
                let loc = Location {
                    path: Some(self.info.path.clone()),
                    line: Some(number),
                    column: Some(h.names[col].clone()),
                    column_index: Some(col as u32),
                    byte_offset: Some(offset + at as u64),
                    ..Location::default()
                };
                return Err(match e {
                    CivilError::Syntax(why) => Error::BadValue {
                        at: loc,
                        value,
                        reason: why.into(),
                        hint: "CodeCarbon timestamps look like 2024-05-31T10:39:13".into(),
                    },
                    CivilError::Nonexistent(why) | CivilError::Ambiguous(why) => {
                        Error::AmbiguousLocalTime {
                            at: loc,
                            value,
                            tz: self.clock.zone_name().unwrap_or("UTC").into(),
                            reason: why,
                        }
                    }
                    CivilError::Overflow => Error::TimestampOverflow { at: loc, value },
                });
            }
        };
        let df = get(h.duration);
        let duration_ns = parse_f64(df)
            .filter(|d| d.is_finite() && *d >= 0.0 && *d < 1e9)
            .map(|d| (d * 1e9).round() as i64);
        let Some(duration_ns) = duration_ns else {
            return Err(self.field_error(
                (h.duration, fields[h.duration].1),
                df,
                (number, offset),
                "not a duration in seconds >= 0",
                "duration is the seconds since the tracker started",
            ));
        };
        let mut kwh = Vec::with_capacity(h.energy.len());
        for &(c, _) in &h.energy {
            let f = get(c);
            let v = if is_null_token(f) {
                f64::NAN
            } else {
                match parse_f64(f).filter(|x| x.is_finite() && *x >= 0.0) {
                    Some(x) => x,
                    None => {
                        return Err(self.field_error(
                            (c, fields[c].1),
                            f,
                            (number, offset),
                            "not an energy in kWh >= 0",
                            "CodeCarbon energies are kWh, e.g. 0.0004047892176375 or 3.4e-05",
                        ))
                    }
                }
            };
            kwh.push(v);
        }
        let text = |i: Option<usize>| {
            i.map(|i| String::from_utf8_lossy(get(i)).into_owned())
                .unwrap_or_default()
        };
        let pue = h.pue.and_then(|i| parse_f64(get(i)));
        Ok(Row {
            end_ns,
            start_ns: end_ns.saturating_sub(duration_ns),
            run_id: text(h.run_id),
            group: text(h.group),
            pue,
            kwh,
        })
    }
}

fn flush_pending(g: &mut Group, sink: &mut dyn RowSink) -> Result<()> {
    if let Some((t, values, line)) = g.pending.take() {
        for (k, v) in values.iter().enumerate() {
            sink.push(g.ids[k], t, *v, line)?;
        }
    }
    Ok(())
}

impl PowerReader for CodeCarbonReader {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn info(&self) -> &FileInfo {
        &self.info
    }

    fn read_rows(&mut self, sink: &mut dyn RowSink, on_chunk: OnChunk<'_>) -> Result<()> {
        let path = self.info.path.clone();
        let place = &placer(&path, &self.layout);
        let mut groups: HashMap<String, Group> = HashMap::new();
        let mut order: Vec<String> = Vec::new();
        let mut pues: Vec<f64> = Vec::new();
        let mut reported = u64::MAX;
        loop {
            self.progress.report(&mut reported, on_chunk)?;
            let Some(l) = self.lines.next_line()? else {
                break;
            };
            let (number, offset, terminated) = (l.number, l.offset, l.terminated);
            let bytes = l.bytes.to_vec();
            self.info.n_lines = number;
            if bytes.trim_ascii().is_empty() {
                continue;
            }
            let row = match self.parse_row(&bytes, number, offset) {
                Ok(r) => r,
                Err(_) if !terminated => {
                    cut_tail(&mut self.info, number);
                    continue;
                }
                Err(e) => return Err(e),
            };
            if !terminated {
                kept_tail(&mut self.info, number);
            }
            if let Some(p) = row.pue.filter(|p| *p != 1.0) {
                if !pues.contains(&p) && pues.len() < 5 {
                    pues.push(p);
                }
            }
            let g = match groups.get_mut(&row.group) {
                Some(g) => g,
                None => {
                    let ids = self
                        .header
                        .energy
                        .iter()
                        .map(|(_, ch)| {
                            let name = if row.group.is_empty() {
                                (*ch).to_string()
                            } else {
                                format!("{}/{ch}", row.group)
                            };
                            sink.channel_id(name.as_bytes())
                        })
                        .collect();
                    order.push(row.group.clone());
                    groups.entry(row.group.clone()).or_insert(Group {
                        ids,
                        base: vec![0.0; self.header.energy.len()],
                        run: None,
                        pending: None,
                    })
                }
            };
            let continues = g.run.as_ref().is_some_and(|r| {
                r.run_id == row.run_id
                    && row.start_ns.abs_diff(r.start_ns) <= TOLERANCE_NS as u64
                    && row.end_ns >= r.last_ns
            });
            let cum: Vec<f64>;
            if continues {
                let Some(r) = g.run.as_mut() else {
                    continue;
                };
                for (k, v) in row.kwh.iter().enumerate() {
                    if *v < r.last[k] {
                        let (c, ch) = self.header.energy[k];
                        return Err(Error::BadValue {
                            at: Location {
                                path: Some(path.clone()),
                                line: Some(number),
                                column: Some(self.header.names[c].clone()),
                                column_index: Some(c as u32),
                                byte_offset: Some(offset),
                                ..Location::default()
                            },
                            value: v.to_string(),
                            reason: format!(
                                "the {ch} energy of run '{}' (started line {}) went down from {}",
                                r.run_id, r.start_line, r.last[k]
                            ),
                            hint: "rows of one run are cumulative; two trackers with one run_id? pass channel='project_name' or split the file".into(),
                        });
                    }
                }
                cum = g.base.iter().zip(&row.kwh).map(|(b, v)| b + v).collect();
                if g.pending.as_ref().is_some_and(|p| p.0 != row.end_ns) {
                    flush_pending(g, sink).map_err(place)?;
                }
            } else {
                flush_pending(g, sink).map_err(place)?;
                let mut push_start = true;
                if let Some(r) = g.run.take() {
                    if row.start_ns < r.last_ns.saturating_sub(TOLERANCE_NS) {
                        return Err(Error::BadValue {
                            at: Location {
                                path: Some(path.clone()),
                                line: Some(number),
                                column: Some("duration".into()),
                                byte_offset: Some(offset),
                                ..Location::default()
                            },
                            value: String::from_utf8_lossy(&bytes[..bytes.len().min(64)]).into_owned(),
                            reason: format!(
                                "this run starts {:.1} s before the run that started on line {} ended: runs overlap",
                                r.last_ns.saturating_sub(row.start_ns) as f64 / 1e9,
                                r.start_line
                            ),
                            hint: "several trackers wrote into one file? pass channel='project_name' (or run_id, experiment_id) to read each as its own channels, or split the file".into(),
                        });
                    }
                    for (k, b) in g.base.iter_mut().enumerate() {
                        if r.last[k].is_finite() {
                            *b += r.last[k];
                        }
                    }
                    // Within the timestamp's second of the last end: the start needs no sample of its own.
                    push_start = row.start_ns > r.last_ns;
                }
                if push_start {
                    for (k, b) in g.base.iter().enumerate() {
                        sink.push(g.ids[k], row.start_ns, *b, number)
                            .map_err(place)?;
                    }
                }
                g.run = Some(Run {
                    run_id: row.run_id.clone(),
                    start_ns: row.start_ns,
                    start_line: number,
                    last_ns: row.end_ns,
                    last: vec![f64::NAN; row.kwh.len()],
                });
                cum = g.base.iter().zip(&row.kwh).map(|(b, v)| b + v).collect();
            }
            if let Some(r) = g.run.as_mut() {
                r.last_ns = row.end_ns;
                for (k, v) in row.kwh.iter().enumerate() {
                    if v.is_finite() {
                        r.last[k] = *v;
                    }
                }
            }
            g.pending = Some((row.end_ns, cum, number));
        }
        for name in &order {
            if let Some(g) = groups.get_mut(name) {
                flush_pending(g, sink).map_err(place)?;
            }
        }
        sink.flush().map_err(place)?;
        if !pues.is_empty() {
            let shown: Vec<String> = pues.iter().map(|p| p.to_string()).collect();
            self.info.warnings.push(format!(
                "pue = {}: CodeCarbon multiplied every energy by it, so these are facility energies; divide by the PUE for IT energy",
                shown.join(", ")
            ));
        }
        on_chunk(self.progress.get())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Options;
    use crate::read::test_util::{cfg, integrate, write};
    use crate::read::FileIntegration;

    fn run_cfg(name: &str, body: &str, cfg: &ReadConfig) -> Result<FileIntegration> {
        let p = write("cc-test", name, body.as_bytes());
        integrate(&p, Some(Format::CodeCarbon), cfg, &Options::default())
    }

    fn run(name: &str, body: &str) -> Result<FileIntegration> {
        run_cfg(name, body, &ReadConfig::default())
    }

    const HEADER: &str = "timestamp,project_name,run_id,duration,emissions,cpu_energy,gpu_energy,ram_energy,energy_consumed,country_name,pue\n";

    fn energy(r: &FileIntegration, ch: &str) -> f64 {
        r.channels
            .iter()
            .find(|(n, _)| n == ch)
            .map_or(f64::NAN, |(_, p)| p.energy_j())
    }

    #[test]
    fn runs_and_snapshots_sum_once_at_any_chunk_size() {
        let body = format!(
            "{HEADER}\
2024-05-31T10:00:10,p,r1,10.0,0,0.001,0.002,0.0005,0.0035,France,1.0\n\
2024-05-31T10:00:20,p,r1,20.4,0,0.002,0.004,0.001,0.007,France,1.0\n\
2024-05-31T10:00:20,p,r1,20.9,0,0.0021,0.004,0.001,0.0071,France,1.0\n\
2024-05-31T11:00:00,p,r2,60,0,0.01,,0.001,,\"Paris, France\",1.0\n"
        );
        let want = run("a.csv", &body).expect("valid");
        assert!(want.layout.naive_time);
        assert!(
            matches!(want.layout.quantity, Quantity::Counter { unit_j, .. } if unit_j == 3.6e6)
        );
        assert!((energy(&want, "cpu") - (0.0021 + 0.01) * 3.6e6).abs() < 1e-6);
        assert!((energy(&want, "gpu") - 0.004 * 3.6e6).abs() < 1e-6);
        assert_eq!(
            want.channels
                .iter()
                .find(|c| c.0 == "gpu")
                .map(|c| c.1.counts.n_nonfinite),
            Some(1)
        );
        let first = want.channels[0].1.first.map(|s| s.t_ns);
        assert_eq!(first, Some(1_717_149_600_000_000_000));
        for chunk in [1, 7, 4096] {
            assert_eq!(
                run_cfg("a.csv", &body, &cfg(chunk))
                    .expect("valid")
                    .channels,
                want.channels
            );
        }
        let total = ReadConfig {
            value: Some("energy_consumed".into()),
            tz: Some("Europe/Paris".into()),
            ..ReadConfig::default()
        };
        let r = run_cfg("a.csv", &body, &total).expect("valid");
        assert_eq!(r.channels.len(), 1);
        assert_eq!(r.channels[0].0, "total");
        assert!((r.channels[0].1.energy_j() - 0.0071 * 3.6e6).abs() < 1e-6);
        assert_eq!(
            r.channels[0].1.first.map(|s| s.t_ns),
            Some(1_717_142_400_000_000_000)
        );
        assert!(!r.layout.naive_time);
    }

    #[test]
    fn overlapping_runs_need_a_grouping_column() {
        let body = format!(
            "{HEADER}\
2024-05-31T10:01:00,a,r1,60,0,0.001,0,0,0.001,F,1.0\n\
2024-05-31T10:01:30,b,r2,60,0,0.001,0,0,0.001,F,1.2\n\
2024-05-31T10:02:00,a,r1,120,0,0.002,0,0,0.002,F,1.0\n"
        );
        let e = run("b.csv", &body).expect_err("overlap");
        assert_eq!(e.code(), "bad_value");
        assert_eq!(e.location().and_then(|l| l.line), Some(3));
        assert!(e
            .hint()
            .unwrap_or_default()
            .contains("channel='project_name'"));
        let c = ReadConfig {
            channel: Some("project_name".into()),
            value: Some("cpu".into()),
            ..ReadConfig::default()
        };
        let r = run_cfg("b.csv", &body, &c).expect("valid");
        let names: Vec<&str> = r.channels.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a/cpu", "b/cpu"]);
        assert!((energy(&r, "a/cpu") - 7200.0).abs() < 1e-9);
        assert!(r.info.warnings.iter().any(|w| w.contains("pue = 1.2")));
    }

    #[test]
    fn bad_rows_are_typed() {
        let code = |name: &str, body: &str| {
            let e = run(name, body).expect_err("invalid");
            (e.code(), e.location().and_then(|l| l.line), e.value())
        };
        assert_eq!(code("e1.csv", "").0, "empty_input");
        assert_eq!(code("e2.csv", "timestamp,energy_consumed\n").0, "schema");
        assert_eq!(
            code(
                "e3.csv",
                &format!("{HEADER}2024-05-31 10:00:10,p,r,ten,0,0,0,0,0,F,1\n")
            ),
            ("bad_value", Some(2), Some("ten".into()))
        );
        assert_eq!(
            code(
                "e4.csv",
                &format!("{HEADER}2024-05-31T25:00:10,p,r,1,0,0,0,0,0,F,1\n")
            )
            .0,
            "bad_value"
        );
        assert_eq!(
            code(
                "e5.csv",
                &format!("{HEADER}2024-05-31T10:00:10,p,r,1,0,-1,0,0,0,F,1\n")
            )
            .0,
            "bad_value"
        );
        assert_eq!(
            code(
                "e6.csv",
                &format!("{HEADER}2024-05-31T10:00:10,p,r,1,0,0,0\n")
            )
            .0,
            "unequal_lengths"
        );
        assert_eq!(
            code(
                "e7.csv",
                &format!("{HEADER}2024-05-31T10:00:10,p,r,1,0,0,0,0,0,\"F,1\n")
            )
            .0,
            "bad_value"
        );
        let down = format!(
            "{HEADER}2024-05-31T10:00:10,p,r,10,0,0.002,0,0,0,F,1\n2024-05-31T10:00:20,p,r,20,0,0.001,0,0,0,F,1\n"
        );
        assert_eq!(
            code("e8.csv", &down),
            ("bad_value", Some(3), Some("0.001".into()))
        );
        let dst = ReadConfig {
            tz: Some("Europe/Paris".into()),
            ..ReadConfig::default()
        };
        let gap = format!("{HEADER}2024-03-31T02:30:00,p,r,10,0,0.002,0,0,0,F,1\n");
        assert_eq!(
            run_cfg("e9.csv", &gap, &dst).expect_err("gap").code(),
            "ambiguous_local_time"
        );
        let zoned = format!(
            "{HEADER}2024-05-31T10:00:10+02:00,p,r,10,0,0.002,0,0,0,F,1\n2024-05-31T08:00:20Z,p,r,20,0,0.003,0,0,0,F,1\n"
        );
        let r = run("z.csv", &zoned).expect("valid");
        assert!(!r.layout.naive_time);
        assert_eq!(
            r.channels[0].1.last.map(|s| s.t_ns),
            Some(1_717_142_420_000_000_000)
        );
        let tail = format!("{HEADER}2024-05-31T10:00:10,p,r,10,0,0.002,0,0,0,F,1\n2024-05-31T10:00:20,p,r,20,0,0.0");
        let r = run("t.csv", &tail).expect("valid");
        assert!(r.info.truncated_tail);
        assert!(sniff(HEADER.as_bytes()));
        assert!(!sniff(b"task_name,timestamp,rapl_energy,duration\n"));
    }

    #[test]
    fn real_example_file() {
        let real = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/real/codecarbon/examples/emissions.csv");
        if !real.exists() {
            return;
        }
        let r = integrate(&real, None, &ReadConfig::default(), &Options::default()).expect("valid");
        assert_eq!(r.layout.format, Format::CodeCarbon);
        // Totals from an independent grouping of the 28 rows into 18 runs (Python fractions).
        let want = [
            ("cpu", 6801.1133902091715),
            ("gpu", 10888.305837711014),
            ("ram", 11299.398979799365),
        ];
        for (ch, j) in want {
            assert!(
                (energy(&r, ch) - j).abs() <= 1e-9 * j,
                "{ch}: {}",
                energy(&r, ch)
            );
        }
        assert_eq!(r.channels[0].1.counts.n_nonfinite, 2);
        let c = ReadConfig {
            value: Some("energy_consumed".into()),
            ..ReadConfig::default()
        };
        let r = integrate(&real, None, &c, &Options::default()).expect("valid");
        assert!((r.channels[0].1.energy_j() - 28960.511385014706).abs() < 1e-6);
    }
}
