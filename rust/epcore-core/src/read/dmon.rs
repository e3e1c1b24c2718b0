//! `nvidia-smi dmon` logs, recorded with times (`-o DT`).
//!
//! ```text
//! #Date       Time        gpu    pwr  gtemp  mtemp     sm    mem
//! #YYYYMMDD   HH:MM:SS    Idx      W      C      C      %      %
//!  20240104   13:54:35      0    218     43      -     95      0
//! ```
//!
//! - Two `#` lines name the columns and give their units; columns vary with the
//!   driver and the `-s`/`--gpm-metrics` options, so they are found by name,
//!   and every later pair of `#` lines (dmon repeats them) is read again.
//! - Fields are separated by runs of spaces; `-` is a missing reading (NaN,
//!   counted, never 0). Power is `pwr` (`value=` picks another column) in
//!   integer W; the channel is the `gpu` column (`channel=` picks another).
//! - Times: `Date` + `Time` (`-o DT`) are the host's local time without a zone,
//!   read as UTC and flagged `naive_time`, or converted with `tz=`. With `Time`
//!   only (`-o T`) the rows are placed on 1970-01-01 and a day is added each
//!   time the clock wraps past midnight: durations and energy stay exact while
//!   no gap reaches 12 h; absolute times mean nothing (warned). Without a time
//!   column dmon rows have no timestamps, and the file is refused: the sampling
//!   interval `-d` is a request, not a measurement, so spacing rows by it would
//!   invent the time axis.

use std::io::Read;

use crate::error::{Error, Location, Result};
use crate::read::civil::{parse_time_of_day, Clock};
use crate::read::format::Format;
use crate::read::lines::check_utf8;
use crate::read::lines::LineReader;
use crate::read::nvidia_smi::{first_line, time_error, ValueCol};
use crate::read::source::{Progress, Source};
use crate::read::{placer, FileInfo, Layout, OnChunk, PowerReader, ReadConfig, RowSink};

const NS_PER_DAY: i64 = 86_400_000_000_000;

/// Whether the first line is a dmon header: `#` and a `gpu` column.
pub fn sniff(head: &[u8]) -> bool {
    let Some(first) = first_line(head) else {
        return false;
    };
    let Some(rest) = first.strip_prefix(b"#") else {
        return false;
    };
    let names: Vec<&[u8]> = rest
        .split(u8::is_ascii_whitespace)
        .filter(|t| !t.is_empty())
        .collect();
    names.iter().take(3).any(|t| *t == b"gpu") && names.len() >= 2
}

/// How rows carry their time.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Times {
    DateTime {
        date: usize,
        time: usize,
    },
    /// `-o T`: time of day only.
    TimeOnly {
        time: usize,
    },
}

/// The columns of the current header pair.
#[derive(Debug, Clone)]
struct Schema {
    names: Vec<String>,
    times: Times,
    value: usize,
    vcol: ValueCol,
    channel: usize,
    /// Line of the names line, for errors.
    line: u64,
}

fn tokens(line: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= line.len() {
            return None;
        }
        let start = i;
        while i < line.len() && !line[i].is_ascii_whitespace() {
            i += 1;
        }
        Some((start, &line[start..i]))
    })
}

fn words(line: &[u8]) -> Vec<String> {
    tokens(line)
        .map(|(_, t)| String::from_utf8_lossy(t).into_owned())
        .collect()
}

impl Schema {
    fn build(
        names: Vec<String>,
        units: Option<Vec<String>>,
        line: u64,
        cfg: &ReadConfig,
        path: &str,
    ) -> Result<Schema> {
        let at = Location {
            path: Some(path.into()),
            line: Some(line),
            ..Location::default()
        };
        let err = |expected: String, hint: &str| Error::Schema {
            at: at.clone(),
            expected,
            found: format!("columns [{}]", names.join(", ")),
            hint: hint.into(),
        };
        if let Some(u) = units.as_ref().filter(|u| u.len() != names.len()) {
            return Err(Error::Schema {
                at: Location {
                    line: Some(line + 1),
                    ..at.clone()
                },
                expected: format!("{} units, one per column", names.len()),
                found: format!("{} ({})", u.len(), u.join(" ")),
                hint: "the two '#' header lines of dmon must line up".into(),
            });
        }
        let find = |n: &str| names.iter().position(|c| c == n);
        let value_name = cfg.value.as_deref().map(str::trim).unwrap_or("pwr");
        let value = find(value_name).ok_or_else(|| {
            err(
                format!("a '{value_name}' column"),
                "record power with nvidia-smi dmon -s p (or name the column with value=...)",
            )
        })?;
        let channel_name = cfg.channel.as_deref().map(str::trim).unwrap_or("gpu");
        let channel = find(channel_name).ok_or_else(|| {
            err(
                format!("a '{channel_name}' column"),
                "dmon names the device column 'gpu'",
            )
        })?;
        // dmon prints power in W; the units line says so when present.
        let unit = units
            .as_ref()
            .and_then(|u| u.get(value).cloned())
            .unwrap_or_else(|| "W".into());
        let vcol = ValueCol::of_unit(&unit)
            .filter(|v| v.power)
            .ok_or_else(|| {
                err(
                    format!("power in W in column '{value_name}', not [{unit}]"),
                    "choose the power column with value='pwr'",
                )
            })?;
        let times = match (find("Date"), find("Time")) {
            (Some(date), Some(time)) => Times::DateTime { date, time },
            (None, Some(time)) => {
                if cfg.tz.is_some() {
                    return Err(err(
                        "Date and Time columns to apply tz".into(),
                        "this log has times of day only (-o T); record dates with nvidia-smi dmon -o DT, or leave tz unset",
                    ));
                }
                Times::TimeOnly { time }
            }
            _ => {
                return Err(err(
                    "Date and Time columns".into(),
                    "dmon rows carry no timestamps unless recorded with nvidia-smi dmon -o DT",
                ))
            }
        };
        Ok(Schema {
            names,
            times,
            value,
            vcol,
            channel,
            line,
        })
    }
}

/// An `nvidia-smi dmon` log, first header pair read.
pub struct DmonReader {
    lines: LineReader<Box<dyn Read + Send>>,
    schema: Schema,
    /// A names line waiting for its units line.
    pending_names: Option<(Vec<String>, u64)>,
    /// A data line read while looking for the units line.
    held: Option<(Vec<u8>, u64, u64, bool)>,
    clock: Clock,
    cfg: ReadConfig,
    /// `-o T`: days added at midnight wraps, and the last time of day.
    day: i64,
    last_tod: Option<i64>,
    layout: Layout,
    info: FileInfo,
    progress: Progress,
}

/// Open an `nvidia-smi dmon` log and read its first header pair.
pub fn open(src: Source, cfg: &ReadConfig) -> Result<Box<dyn PowerReader>> {
    let shown = src.path.clone();
    let info = FileInfo::of(&src);
    let progress = src.progress();
    let clock = Clock::new(cfg.tz.as_deref())?;
    let mut lines = LineReader::new(
        src.reader,
        &shown,
        cfg.read.chunk_bytes,
        cfg.read.max_record_bytes,
    );
    let mut names: Option<(Vec<String>, u64)> = None;
    let mut held = None;
    let schema = loop {
        let Some(l) = lines.next_line()? else {
            match names {
                Some((n, line)) => break Schema::build(n, None, line, cfg, &shown)?,
                None => {
                    return Err(Error::EmptyInput {
                        at: Location {
                            path: Some(shown.clone()),
                            ..Location::default()
                        },
                    })
                }
            }
        };
        if l.bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        check_utf8(l.bytes, &shown, l.number, l.offset)?;
        match (l.bytes.strip_prefix(b"#"), names.take()) {
            (Some(rest), None) => {
                let w = words(rest);
                if !w.iter().any(|t| t == "gpu") {
                    return Err(Error::Schema {
                        at: Location {
                            path: Some(shown.clone()),
                            line: Some(l.number),
                            ..Location::default()
                        },
                        expected: "a '# gpu pwr ...' header line".into(),
                        found: format!("'{}'", String::from_utf8_lossy(l.bytes)),
                        hint: "is this an nvidia-smi dmon log?".into(),
                    });
                }
                names = Some((w, l.number));
            }
            (Some(rest), Some((n, line))) => {
                break Schema::build(n, Some(words(rest)), line, cfg, &shown)?;
            }
            (None, Some((n, line))) => {
                held = Some((l.bytes.to_vec(), l.number, l.offset, l.terminated));
                break Schema::build(n, None, line, cfg, &shown)?;
            }
            (None, None) => {
                return Err(Error::Schema {
                    at: Location {
                        path: Some(shown.clone()),
                        line: Some(l.number),
                        ..Location::default()
                    },
                    expected: "a '# gpu pwr ...' header line before the data".into(),
                    found: format!(
                        "'{}'",
                        String::from_utf8_lossy(&l.bytes[..l.bytes.len().min(60)])
                    ),
                    hint: "keep the two '#' header lines dmon prints".into(),
                })
            }
        }
    };
    let time_column = match schema.times {
        Times::DateTime { date, time } => format!("{} {}", schema.names[date], schema.names[time]),
        Times::TimeOnly { time } => schema.names[time].clone(),
    };
    let time_only = matches!(schema.times, Times::TimeOnly { .. });
    let layout = Layout {
        format: Format::NvidiaSmiDmon,
        quantity: schema.vcol.quantity(),
        // dmon's pwr is NVML power usage: a 1 s average on Ampere and newer, instantaneous before.
        power_semantics: "unknown",
        naive_time: cfg.tz.is_none(),
        tz: cfg.tz.clone(),
        time_column,
        value_column: schema.names[schema.value].clone(),
    };
    let mut info = FileInfo {
        time_column: layout.time_column.clone(),
        value_column: layout.value_column.clone(),
        ..info
    };
    if time_only {
        info.warnings.push(
            "the log has times of day but no dates (dmon -o T): rows were placed on 1970-01-01, a day added at each midnight wrap; durations are exact, absolute times are not".into(),
        );
    }
    Ok(Box::new(DmonReader {
        lines,
        schema,
        pending_names: None,
        held,
        clock,
        cfg: cfg.clone(),
        day: 0,
        last_tod: None,
        layout,
        info,
        progress,
    }))
}

impl PowerReader for DmonReader {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn info(&self) -> &FileInfo {
        &self.info
    }

    fn read_rows(&mut self, sink: &mut dyn RowSink, on_chunk: OnChunk<'_>) -> Result<()> {
        let place = &placer(&self.info.path, &self.layout);
        let mut last_reported = u64::MAX;
        self.progress.report(&mut last_reported, on_chunk)?;
        let mut ids: Vec<(Vec<u8>, usize)> = Vec::new();
        if let Some((bytes, number, offset, terminated)) = self.held.take() {
            self.row(&bytes, number, offset, terminated, sink, &mut ids)
                .map_err(place)?;
        }
        while let Some(l) = self.lines.next_line()? {
            let (number, offset, terminated) = (l.number, l.offset, l.terminated);
            // The line borrows the reader; rows are short, so copy it.
            let bytes = l.bytes.to_vec();
            self.info.n_lines = number;
            self.row(&bytes, number, offset, terminated, sink, &mut ids)
                .map_err(place)?;
            if number % 1024 == 0 {
                self.progress.report(&mut last_reported, on_chunk)?;
            }
        }
        if let Some((_, line)) = self.pending_names.take() {
            self.info.warnings.push(format!(
                "line {line}: a header line without its units line at the end of the file"
            ));
        }
        on_chunk(self.progress.get())?;
        Ok(())
    }
}

impl DmonReader {
    /// One line: a header line, or a row pushed into the sink.
    fn row(
        &mut self,
        line: &[u8],
        number: u64,
        offset: u64,
        terminated: bool,
        sink: &mut dyn RowSink,
        ids: &mut Vec<(Vec<u8>, usize)>,
    ) -> Result<()> {
        let path = self.info.path.clone();
        self.info.n_lines = self.info.n_lines.max(number);
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        if let Some(rest) = line.strip_prefix(b"#") {
            check_utf8(line, &path, number, offset)?;
            let w = words(rest);
            match self.pending_names.take() {
                Some((names, at)) if !w.iter().any(|t| t == "gpu") => {
                    self.switch(names, Some(w), at)?;
                }
                _ => self.pending_names = Some((w, number)),
            }
            return Ok(());
        }
        if let Some((names, at)) = self.pending_names.take() {
            self.switch(names, None, at)?;
        }
        let s = &self.schema;
        let toks: Vec<(usize, &[u8])> = tokens(line).collect();
        if toks.len() != s.names.len() {
            if !terminated {
                return self.cut(number);
            }
            check_utf8(line, &path, number, offset)?;
            return Err(Error::UnequalLengths {
                at: Location {
                    path: Some(path),
                    line: Some(number),
                    byte_offset: Some(offset),
                    ..Location::default()
                },
                expected: s.names.len(),
                found: toks.len(),
                hint: "dmon rows hold one value per header column; was the line cut short?".into(),
            });
        }
        let at = |col: usize| Location {
            path: Some(path.clone()),
            line: Some(number),
            column: Some(s.names[col].clone()),
            column_index: Some(col as u32),
            byte_offset: Some(offset + toks[col].0 as u64),
            ..Location::default()
        };
        let text = |col: usize| String::from_utf8_lossy(toks[col].1).into_owned();
        let t = match s.times {
            Times::DateTime { date, time } => {
                match self.clock.parse_date_time(toks[date].1, toks[time].1) {
                    Ok(t) => t,
                    Err(_) if !terminated => return self.cut(number),
                    Err(e) => {
                        let bad = match crate::read::civil::parse_date(toks[date].1) {
                            Err(_) => date,
                            Ok(_) => time,
                        };
                        return Err(time_error(e, at(bad), text(bad), &self.clock));
                    }
                }
            }
            Times::TimeOnly { time } => match parse_time_of_day(toks[time].1) {
                Ok(tod) => {
                    // Past midnight the time of day wraps; a step back of 12 h or more is a new day.
                    if self.last_tod.is_some_and(|p| tod < p - NS_PER_DAY / 2) {
                        self.day += 1;
                    }
                    self.last_tod = Some(tod);
                    self.day * NS_PER_DAY + tod
                }
                Err(_) if !terminated => return self.cut(number),
                Err(e) => return Err(time_error(e, at(time), text(time), &self.clock)),
            },
        };
        let vf = toks[s.value].1;
        let v = if vf == b"-" {
            f64::NAN
        } else {
            match s.vcol.parse(vf) {
                Ok((v, converted)) => {
                    self.info.n_unit_normalized += converted as u64;
                    v
                }
                Err(_) if !terminated => return self.cut(number),
                Err(e) => {
                    check_utf8(line, &path, number, offset)?;
                    return Err(Error::BadValue {
                        at: at(s.value),
                        value: text(s.value),
                        reason: e.reason,
                        hint: "dmon prints power as an integer number of W, or '-' when missing"
                            .into(),
                    });
                }
            }
        };
        let name = toks[s.channel].1;
        let id = match ids.iter().find(|(n, _)| n == name) {
            Some((_, id)) => *id,
            None => {
                let id = sink.channel_id(name);
                ids.push((name.to_vec(), id));
                id
            }
        };
        sink.push(id, t, v, number)?;
        if !terminated {
            self.info.unterminated_final_line = true;
            self.info.warnings.push(format!(
                "line {number}: the last line has no line terminator; it was complete and is kept"
            ));
        }
        Ok(())
    }

    /// The last line, unterminated and incomplete: dropped with a warning.
    fn cut(&mut self, number: u64) -> Result<()> {
        self.info.truncated_tail = true;
        self.info.warnings.push(format!(
            "line {number}: the last line is incomplete and has no line terminator (file still being written?); it was dropped"
        ));
        Ok(())
    }

    /// A new header pair mid-file: read the columns again.
    fn switch(&mut self, names: Vec<String>, units: Option<Vec<String>>, line: u64) -> Result<()> {
        let next = Schema::build(names, units, line, &self.cfg, &self.info.path)?;
        if std::mem::discriminant(&next.times) != std::mem::discriminant(&self.schema.times) {
            return Err(Error::Schema {
                at: Location {
                    path: Some(self.info.path.clone()),
                    line: Some(line),
                    ..Location::default()
                },
                expected: format!(
                    "the time columns of the first header (line {})",
                    self.schema.line
                ),
                found: format!("columns [{}]", next.names.join(", ")),
                hint: "the log mixes dmon runs with different -o options; split it".into(),
            });
        }
        self.schema = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::test_util::*;

    const F: Option<Format> = Some(Format::NvidiaSmiDmon);
    const DT: &str = "#Date       Time        gpu    pwr  gtemp  mtemp     sm    mem\n\
#YYYYMMDD   HH:MM:SS    Idx      W      C      C      %      %\n \
20240104   13:54:35      0    200     43      -     95      0\n \
20240104   13:54:35      1    100     43      -     95      0\n \
20240104   13:54:36      0    200     43      -     95      0\n \
20240104   13:54:36      1      -     43      -     95      0\n \
20240104   13:54:37      0    300     43      -     95      0\n \
20240104   13:54:37      1    100     43      -     95      0\n";

    fn ok(
        name: &str,
        body: &str,
        c: &ReadConfig,
    ) -> (crate::read::FileIntegration, crate::read::Collector) {
        read_ok("dmon", name, body, F, c)
    }

    fn err(name: &str, body: &str, c: &ReadConfig) -> Error {
        read_err("dmon", name, body, F, c)
    }

    #[test]
    fn date_time_rows_by_gpu() {
        assert!(sniff(DT.as_bytes()));
        assert!(sniff(
            b"# gpu   pwr gtemp mtemp    sm   mem   enc   dec  mclk  pclk\n"
        ));
        assert!(!sniff(
            b"# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).\n"
        ));
        assert_eq!(
            crate::read::format::sniff(DT.as_bytes()),
            Some(Format::NvidiaSmiDmon)
        );
        let (fi, kept) = ok("dt.txt", DT, &cfg(1 << 20));
        assert_eq!(fi.channels.len(), 2);
        assert_eq!(fi.channels[0].1.energy_j(), 450.0);
        assert_eq!(fi.channels[1].1.energy_j(), 200.0);
        assert_eq!(fi.channels[1].1.counts.n_nonfinite, 1);
        assert_eq!(kept.channels[0].t_ns[0], 1_704_376_475_000_000_000);
        assert_eq!(fi.layout.time_column, "Date Time");
        assert!(fi.layout.naive_time);
        let mut c = cfg(1 << 20);
        c.tz = Some("Asia/Tokyo".into());
        let (_, kept) = ok("dt.txt", DT, &c);
        assert_eq!(
            kept.channels[0].t_ns[0],
            1_704_376_475_000_000_000 - 9 * 3_600_000_000_000
        );
    }

    #[test]
    fn headers_are_reread_and_columns_found_by_name() {
        let body = format!(
            "{DT}#Date       Time        gpu     sm    pwr\n#YYYYMMDD   HH:MM:SS    Idx      %      W\n 20240104   13:54:38      0     1    300\n"
        );
        let (fi, _) = ok("reread.txt", &body, &cfg(1 << 20));
        assert_eq!(fi.channels[0].1.energy_j(), 750.0);
        let e = err(
            "mismatch.txt",
            &format!("{DT}#Date       Time        gpu     sm    pwr\n#YYYYMMDD   HH:MM:SS      %      W\n"),
            &cfg(1 << 20),
        );
        assert_eq!(e.code(), "schema");
    }

    #[test]
    fn time_only_and_no_time() {
        let body = "#Time        gpu    pwr\n#HH:MM:SS    Idx      W\n23:59:59      0    100\n00:00:00      0    100\n00:00:01      0    100\n";
        let (fi, _) = ok("t.txt", body, &cfg(1 << 20));
        assert_eq!(fi.channels[0].1.energy_j(), 200.0);
        assert_eq!(fi.info.warnings.len(), 1);
        let mut c = cfg(1 << 20);
        c.tz = Some("Europe/Berlin".into());
        assert_eq!(err("t.txt", body, &c).code(), "schema");
        let e = err(
            "plain.txt",
            "# gpu   pwr gtemp\n# Idx     W     C\n    0   218    43\n",
            &cfg(1 << 20),
        );
        assert_eq!(e.code(), "schema");
        assert!(e.hint().unwrap_or_default().contains("-o DT"), "{e}");
    }

    #[test]
    fn errors_and_tails() {
        let c = cfg(1 << 20);
        let head = "#Date       Time        gpu    pwr\n#YYYYMMDD   HH:MM:SS    Idx      W\n 20240104   13:54:35      0    200\n 20240104   13:54:36      0    200\n";
        let e = err(
            "bad.txt",
            &format!("{head} 20240104   13:54:37      0    2x0\n"),
            &c,
        );
        assert_eq!(e.code(), "bad_value");
        let at = e.location().expect("located");
        assert_eq!(
            (at.line, at.column.as_deref(), at.column_index),
            (Some(5), Some("pwr"), Some(3))
        );
        assert_eq!(e.value().as_deref(), Some("2x0"));
        let e = err(
            "short.txt",
            &format!("{head} 20240104   13:54:37      0\n"),
            &c,
        );
        assert_eq!(e.code(), "unequal_lengths");
        let e = err(
            "date.txt",
            &format!("{head} 20241304   13:54:37      0    1\n"),
            &c,
        );
        assert_eq!(
            (
                e.code(),
                e.location().and_then(|l| l.column.clone()).as_deref()
            ),
            ("bad_value", Some("Date"))
        );
        let e = err(
            "unsorted.txt",
            &format!("{head} 20240104   13:54:30      0    1\n"),
            &c,
        );
        assert_eq!(
            (e.code(), e.location().and_then(|l| l.line)),
            ("unsorted_timestamps", Some(5))
        );
        assert_eq!(err("empty.txt", "", &c).code(), "empty_input");
        assert_eq!(
            err(
                "header.txt",
                "#Date Time gpu pwr\n#YYYYMMDD HH:MM:SS Idx W\n",
                &c
            )
            .code(),
            "insufficient_samples"
        );
        assert_eq!(
            err(
                "nopwr.txt",
                "#Date Time gpu sm\n#YYYYMMDD HH:MM:SS Idx %\n 20240104 13:54:35 0 1\n",
                &c
            )
            .code(),
            "schema"
        );
        let (fi, _) = ok("cut.txt", &format!("{head} 20240104   13:54:37      0"), &c);
        assert!(fi.info.truncated_tail);
        assert_eq!(fi.channels[0].1.energy_j(), 200.0);
        let (fi, _) = ok(
            "kept.txt",
            &format!("{head} 20240104   13:54:37      0    200"),
            &c,
        );
        assert!(fi.info.unterminated_final_line);
        assert_eq!(fi.channels[0].1.energy_j(), 400.0);
        let mut z = c.clone();
        z.tz = Some("America/New_York".into());
        let e = err("fold.txt", "#Date Time gpu pwr\n#YYYYMMDD HH:MM:SS Idx W\n 20241103 00:59:59 0 1\n 20241103 01:00:00 0 1\n", &z);
        assert_eq!(
            (e.code(), e.location().and_then(|l| l.line)),
            ("ambiguous_local_time", Some(4))
        );
    }
}
