//! Linux RAPL (powercap) energy logs: readings of
//! `/sys/class/powercap/intel-rapl:N[:M]/energy_uj`, a µJ counter that wraps
//! at `max_energy_range_uj`.
//!
//! The layout is the one a polling loop writes, one reading per line:
//!
//! ```text
//! # max_energy_range_uj=262143328850
//! time_s,domain,energy_uj
//! 1717000000.000,package-0,123456789
//! 1717000000.000,dram,2345678
//! ```
//!
//! - time: `timestamp_ns` (integer ns) or `time_s` (decimal seconds, read exactly);
//! - `energy_uj`: the counter as read (µJ; kept raw, so differences are exact);
//! - `domain` (the zone's `name`: `package-0`, `dram`, `core`, `psys`) and/or
//!   `zone` (`intel-rapl:0:0`) name the channel: `zone/domain` when both are
//!   given (two sockets each have a `dram`), else whichever is there, else `0`;
//! - the wrap modulus: a `max_energy_range_uj` column (per row, so per domain),
//!   or a `# max_energy_range_uj=N` line before the header (for every channel).
//!
//! Other columns and `#` lines are ignored; empty, `NA` or `[N/A]` readings
//! are missing.
//!
//! **Wraps.** The modulus differs between domains, which one layout-wide
//! modulus cannot express, so wraps are unwrapped here, per channel, and
//! counted in a warning: a decrease whose wrapped difference
//! `max − previous + current` is at most 2 kW × Δt (no RAPL domain draws
//! more) is a wrap. Any other decrease goes to the counter rule: a drop to
//! near zero is a reset (a reboot; counted, lower bound), anything else an
//! error. Without a modulus every decrease is an `AmbiguousCounterDecrease`:
//! RAPL counters wrap every few minutes to hours, and the generic reset rule
//! would silently drop up to a whole range of energy per wrap. At most one
//! wrap between two readings can be seen, and a reboot during a pause longer
//! than range / 2 kW can read as a wrap: poll faster than the counter wraps
//! (`max_energy_range_uj` / peak power: about 22 min for 262 kJ at 200 W).
//!
//! CodeCarbon's `compare_cpu_load_and_RAPL-*.csv` profiling tables are not
//! RAPL logs: each row is one ~30 s stress task's CPU energy in kWh as
//! CodeCarbon computed it, stamped by a thread 15 s into the task, so the
//! interval a row covers is not in the file. They are refused with a hint.

use std::collections::HashMap;
use std::io::Read;

use crate::error::{Error, Location, Result};
use crate::read::codecarbon::split_quoted;
use crate::read::fields::{is_null_token, parse_f64, trim_field};
use crate::read::format::Format;
use crate::read::lines::LineReader;
use crate::read::prometheus_text::{cut_tail, kept_tail};
use crate::read::source::{Progress, Source};
use crate::read::{placer, FileInfo, Layout, OnChunk, PowerReader, Quantity, ReadConfig, RowSink};
use crate::time::{parse_decimal_seconds, parse_integer_ns, DecimalError};

/// Joules per counter unit (µJ).
const UNIT_J: f64 = 1e-6;
/// The plausibility bound for a wrap: more than any RAPL domain (a package peaks at ~0.5 kW).
const WRAP_MAX_POWER_W: f64 = 2_000.0;
const MAX_COMMENT: &str = "max_energy_range_uj";

/// Whether the first non-comment line is a RAPL log header.
pub fn sniff(head: &[u8]) -> bool {
    let Some(header) = head
        .split(|&b| b == b'\n' || b == b'\r')
        .find(|l| !l.trim_ascii().is_empty() && !l.trim_ascii().starts_with(b"#"))
    else {
        return false;
    };
    let names: Vec<&[u8]> = header.split(|&b| b == b',').map(trim_field).collect();
    let has = |n: &[u8]| names.contains(&n);
    (has(b"timestamp_ns") || has(b"time_s")) && has(b"energy_uj")
}

#[derive(Clone, Copy, PartialEq)]
enum TimeKind {
    Nanoseconds,
    Seconds,
}

struct Header {
    names: Vec<String>,
    time: usize,
    time_kind: TimeKind,
    energy: usize,
    domain: Option<usize>,
    zone: Option<usize>,
    max: Option<usize>,
}

/// One channel's counter state: the modulus and the unwrapping offset.
struct Chan {
    id: usize,
    name: String,
    max: Option<f64>,
    last_raw: f64,
    last_t: i64,
    offset: f64,
    wraps: u64,
}

/// Open a RAPL log and read its header (and any `# max_energy_range_uj=` line before it).
pub fn open(src: Source, cfg: &ReadConfig) -> Result<Box<dyn PowerReader>> {
    let path = src.path.clone();
    let mut info = FileInfo::of(&src);
    let progress = src.progress();
    let mut lines = LineReader::new(
        src.reader,
        &path,
        cfg.read.chunk_bytes,
        cfg.read.max_record_bytes,
    );
    let mut file_max = None;
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
        let text = l.bytes.trim_ascii();
        if text.is_empty() {
            continue;
        }
        if let Some(c) = text.strip_prefix(b"#") {
            if let Some(v) = c.trim_ascii().strip_prefix(MAX_COMMENT.as_bytes()) {
                let v = v.trim_ascii().strip_prefix(b"=").unwrap_or(v).trim_ascii();
                file_max = Some(parse_max(v).ok_or_else(|| Error::BadValue {
                    at: Location {
                        path: Some(path.clone()),
                        line: Some(l.number),
                        column: Some(format!("# {MAX_COMMENT}")),
                        byte_offset: Some(l.offset),
                        ..Location::default()
                    },
                    value: String::from_utf8_lossy(v).into_owned(),
                    reason: "not a positive whole number of µJ".into(),
                    hint: format!("write '# {MAX_COMMENT}=<cat /sys/class/powercap/intel-rapl:0/{MAX_COMMENT}>'"),
                })?);
            }
            continue;
        }
        break parse_header(l.bytes, l.number, &path)?;
    };
    let layout = Layout {
        format: Format::Rapl,
        quantity: Quantity::Counter {
            unit_j: UNIT_J,
            modulus: None,
        },
        power_semantics: "unknown",
        naive_time: false,
        tz: None,
        time_column: header.names[header.time].clone(),
        value_column: header.names[header.energy].clone(),
    };
    info.time_column = layout.time_column.clone();
    info.value_column = layout.value_column.clone();
    Ok(Box::new(RaplReader {
        lines,
        header,
        file_max,
        layout,
        info,
        progress,
    }))
}

fn parse_max(v: &[u8]) -> Option<f64> {
    let x = parse_f64(trim_field(v))?;
    (x > 0.0 && x.is_finite() && x.fract() == 0.0).then_some(x)
}

fn parse_header(line: &[u8], number: u64, path: &str) -> Result<Header> {
    let names: Vec<String> = line
        .split(|&b| b == b',')
        .map(|f| String::from_utf8_lossy(trim_field(f)).trim().to_string())
        .collect();
    let find = |n: &str| names.iter().position(|c| c == n);
    let time = find("timestamp_ns")
        .map(|i| (i, TimeKind::Nanoseconds))
        .or_else(|| find("time_s").map(|i| (i, TimeKind::Seconds)));
    let (Some((time, time_kind)), Some(energy)) = (time, find("energy_uj")) else {
        let profiling = find("rapl_energy").is_some();
        return Err(Error::Schema {
            at: Location {
                path: Some(path.into()),
                line: Some(number),
                ..Location::default()
            },
            expected: "a time column (timestamp_ns or time_s) and energy_uj, optionally domain, zone and max_energy_range_uj".into(),
            found: format!("columns [{}]", names.join(", ")),
            hint: if profiling {
                "this is a CodeCarbon RAPL profiling table: per-task kWh stamped mid-task, not energy_uj readings, so the interval of each row is unknown; log /sys/class/powercap/*/energy_uj instead".into()
            } else {
                "log one reading per line: time_s,domain,energy_uj (from /sys/class/powercap/intel-rapl:*/energy_uj and name)".into()
            },
        });
    };
    Ok(Header {
        time,
        time_kind,
        energy,
        domain: find("domain"),
        zone: find("zone"),
        max: find(MAX_COMMENT),
        names,
    })
}

struct RaplReader {
    lines: LineReader<Box<dyn Read + Send>>,
    header: Header,
    file_max: Option<f64>,
    layout: Layout,
    info: FileInfo,
    progress: Progress,
}

/// A row that cannot be read: the column, the value, why, what to do.
struct RowError {
    column: Option<usize>,
    at: usize,
    value: String,
    reason: String,
    hint: String,
}

impl RaplReader {
    fn error(&self, e: RowError, number: u64, offset: u64) -> Error {
        let at = Location {
            path: Some(self.info.path.clone()),
            line: Some(number),
            column: e.column.map(|c| self.header.names[c].clone()),
            column_index: e.column.map(|c| c as u32),
            byte_offset: Some(offset + e.at as u64),
            ..Location::default()
        };
        if e.column.is_none() {
            return Error::UnequalLengths {
                at,
                expected: self.header.names.len(),
                found: e.at,
                hint: e.hint,
            };
        }
        Error::BadValue {
            at,
            value: e.value,
            reason: e.reason,
            hint: e.hint,
        }
    }
}

/// Time, channel name, reading and modulus of one row.
type Row = (i64, String, f64, Option<f64>);

fn parse_row(h: &Header, line: &[u8]) -> std::result::Result<Row, RowError> {
    let fields = split_quoted(line).map_err(|at| RowError {
        column: Some(0),
        at,
        value: String::new(),
        reason: "a quoted field is never closed".into(),
        hint: "quotes must pair up within the line".into(),
    })?;
    if fields.len() != h.names.len() {
        return Err(RowError {
            column: None,
            at: fields.len(),
            value: String::new(),
            reason: String::new(),
            hint: if fields.len() > h.names.len() {
                "more fields than the header: a decimal comma?".into()
            } else {
                "a missing field; is the row cut short?".into()
            },
        });
    }
    let get = |i: usize| trim_field(&fields[i].0);
    let bad = |i: usize, reason: &str, hint: &str| RowError {
        column: Some(i),
        at: fields[i].1,
        value: String::from_utf8_lossy(get(i)).into_owned(),
        reason: reason.into(),
        hint: hint.into(),
    };
    let tf = get(h.time);
    let t = match h.time_kind {
        TimeKind::Nanoseconds => parse_integer_ns(tf),
        TimeKind::Seconds => parse_decimal_seconds(tf),
    }
    .map_err(|e| {
        let reason = match e {
            DecimalError::Syntax => "not a time",
            DecimalError::TooPrecise => "more than 9 decimals: finer than a nanosecond",
            DecimalError::Overflow => "outside the int64 nanosecond range (years 1677-2262)",
        };
        bad(
            h.time,
            reason,
            "timestamp_ns holds integer ns since 1970; time_s decimal seconds (date +%s.%N)",
        )
    })?;
    let ef = get(h.energy);
    let energy = if is_null_token(ef) {
        f64::NAN
    } else {
        parse_f64(ef).filter(|x| x.is_finite()).ok_or_else(|| {
            bad(
                h.energy,
                "not a number",
                "energy_uj holds the counter as read, in µJ",
            )
        })?
    };
    let max = match h.max {
        Some(i) if !is_null_token(get(i)) => Some(parse_max(get(i)).ok_or_else(|| {
            bad(
                i,
                "not a positive whole number of µJ",
                "max_energy_range_uj is read from the same powercap zone",
            )
        })?),
        _ => None,
    };
    let text = |i: Option<usize>| i.map(|i| String::from_utf8_lossy(get(i)).into_owned());
    let name = match (text(h.zone), text(h.domain)) {
        (Some(z), Some(d)) => format!("{z}/{d}"),
        (Some(x), None) | (None, Some(x)) => x,
        (None, None) => "0".into(),
    };
    Ok((t, name, energy, max))
}

impl PowerReader for RaplReader {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn info(&self) -> &FileInfo {
        &self.info
    }

    fn read_rows(&mut self, sink: &mut dyn RowSink, on_chunk: OnChunk<'_>) -> Result<()> {
        let mut chans: Vec<Chan> = Vec::new();
        let mut by_name: HashMap<String, usize> = HashMap::new();
        let path = self.info.path.clone();
        let place = &placer(&path, &self.layout);
        let mut reported = u64::MAX;
        loop {
            self.progress.report(&mut reported, on_chunk)?;
            let Some(l) = self.lines.next_line()? else {
                break;
            };
            let (number, offset, terminated) = (l.number, l.offset, l.terminated);
            self.info.n_lines = number;
            let text = l.bytes.trim_ascii();
            if text.is_empty() || text.starts_with(b"#") {
                continue;
            }
            let row = parse_row(&self.header, l.bytes);
            let (t, name, raw, row_max) = match row {
                Ok(r) => r,
                Err(_) if !terminated => {
                    cut_tail(&mut self.info, number);
                    continue;
                }
                Err(e) => return Err(self.error(e, number, offset)),
            };
            let k = match by_name.get(&name) {
                Some(&k) => k,
                None => {
                    let id = sink.channel_id(name.as_bytes());
                    chans.push(Chan {
                        id,
                        name: name.clone(),
                        max: None,
                        last_raw: f64::NAN,
                        last_t: 0,
                        offset: 0.0,
                        wraps: 0,
                    });
                    by_name.insert(name, chans.len() - 1);
                    chans.len() - 1
                }
            };
            let several = chans.len() > 1;
            let c = &mut chans[k];
            let max = row_max.or(self.file_max);
            let col = self.header.max.unwrap_or(self.header.energy);
            let at = || Location {
                path: Some(path.clone()),
                line: Some(number),
                column: Some(self.header.names[col].clone()),
                byte_offset: Some(offset),
                ..Location::default()
            };
            match (c.max, max) {
                (Some(a), Some(b)) if a != b => {
                    return Err(Error::BadValue {
                        at: at(),
                        value: b.to_string(),
                        reason: format!("{MAX_COMMENT} of channel {} changed from {a}", c.name),
                        hint: "two zones in one channel? add a zone column (intel-rapl:0, intel-rapl:1:0...)".into(),
                    })
                }
                (None, Some(b)) => c.max = Some(b),
                _ => {}
            }
            if let Some(m) = c.max {
                if raw > m {
                    return Err(Error::BadValue {
                        at: Location {
                            column: Some(self.header.names[self.header.energy].clone()),
                            ..at()
                        },
                        value: raw.to_string(),
                        reason: format!("energy_uj is above {MAX_COMMENT} = {m}"),
                        hint: "is the modulus from the same zone as the reading?".into(),
                    });
                }
            }
            if !terminated {
                // A cut number reads low; at the end of a growing file a drop is a cut, not a wrap.
                if raw < c.last_raw {
                    cut_tail(&mut self.info, number);
                    continue;
                }
                kept_tail(&mut self.info, number);
            }
            if raw.is_finite() {
                if raw < c.last_raw && c.max.is_none() {
                    return Err(Error::AmbiguousCounterDecrease {
                        at: Location {
                            column: Some(self.header.names[self.header.energy].clone()),
                            channel: several.then(|| c.name.clone()),
                            ..at()
                        },
                        previous: c.last_raw,
                        value: raw,
                        hint: format!("a RAPL counter wraps at its {MAX_COMMENT}: add that column, or a '# {MAX_COMMENT}=N' line before the header (cat /sys/class/powercap/intel-rapl:0/{MAX_COMMENT})"),
                    });
                }
                if raw < c.last_raw {
                    let wrapped = c.max.map(|m| m - c.last_raw + raw);
                    let dt_s = t.saturating_sub(c.last_t) as f64 * 1e-9;
                    let budget = WRAP_MAX_POWER_W * dt_s / UNIT_J;
                    match wrapped {
                        Some(w) if w >= 0.0 && w <= budget => {
                            c.offset += c.max.unwrap_or(0.0);
                            c.wraps += 1;
                        }
                        // Not a wrap: the raw drop goes to the counter rule (reset or error).
                        _ => c.offset = 0.0,
                    }
                }
                c.last_raw = raw;
                c.last_t = t;
            }
            let id = c.id;
            let value = c.offset + raw;
            sink.push(id, t, value, number).map_err(place)?;
        }
        sink.flush().map_err(place)?;
        for c in &chans {
            if c.wraps > 0 {
                self.info.warnings.push(format!(
                    "channel {}: {} wrap(s) of energy_uj at {MAX_COMMENT} = {} unwrapped",
                    c.name,
                    c.wraps,
                    c.max.unwrap_or(0.0)
                ));
            }
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

    fn run_opts(name: &str, body: &str, chunk: usize, opts: &Options) -> Result<FileIntegration> {
        integrate(
            &write("rapl-test", name, body.as_bytes()),
            None,
            &cfg(chunk),
            opts,
        )
    }

    fn run(name: &str, body: &str, chunk: usize) -> Result<FileIntegration> {
        run_opts(name, body, chunk, &Options::default())
    }

    const TWO_DOMAINS: &str = "time_s,domain,energy_uj,max_energy_range_uj\n\
1717000000.0,package-0,262143000000,262143328850\n\
1717000000.0,dram,65712000000,65712999613\n\
1717000001.0,package-0,100000000,262143328850\n\
1717000001.0,dram,999613,65712999613\n\
1717000002.0,package-0,150000000,262143328850\n\
1717000002.0,dram,1999613,65712999613\n";

    #[test]
    fn wraps_are_unwrapped_per_domain_at_any_chunk_size() {
        let want = run("a.csv", TWO_DOMAINS, 1 << 20).expect("valid");
        assert_eq!(want.layout.format, Format::Rapl);
        let names: Vec<&str> = want.channels.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["package-0", "dram"]);
        // package: (262143328850 − 262143000000 + 100000000) + 50000000 µJ
        assert_eq!(want.channels[0].1.energy_j(), 150.32885);
        // dram: (65712999613 − 65712000000 + 999613) + 1000000 µJ
        assert_eq!(want.channels[1].1.energy_j(), 2.999226);
        assert_eq!(want.info.warnings.len(), 2);
        for chunk in [1, 7, 4096] {
            assert_eq!(
                run("a.csv", TWO_DOMAINS, chunk).expect("valid").channels,
                want.channels
            );
        }
    }

    #[test]
    fn a_comment_gives_the_modulus_and_its_absence_is_explained() {
        let body =
            "# max_energy_range_uj=1000000\n# written by a shell loop\ntimestamp_ns,energy_uj\n\
1717000000000000000,900000\n1717000000500000000,100000\n1717000001000000000,300000\n";
        let r = run("b.csv", body, 1 << 20).expect("valid");
        assert_eq!(r.channels[0].0, "0");
        assert!((r.channels[0].1.energy_j() - 0.4).abs() < 1e-15);
        let no_max = body.replacen("# max_energy_range_uj=1000000\n", "", 1);
        let e = run("c.csv", &no_max, 1 << 20).expect_err("ambiguous");
        assert_eq!(e.code(), "ambiguous_counter_decrease");
        assert!(e.hint().unwrap_or_default().contains("max_energy_range_uj"));
        assert_eq!(e.location().and_then(|l| l.line), Some(4));
        // A reboot: the counter restarts near zero, too far down for a wrap at 2 kW.
        let reboot = "time_s,domain,energy_uj,max_energy_range_uj\n1717000000,package-0,5000000000,262143328850\n1717000100,package-0,1000,262143328850\n";
        let r = run("d.csv", reboot, 1 << 20).expect("valid");
        assert_eq!(r.channels[0].1.counts.n_resets, 1);
    }

    #[test]
    fn bad_rows_are_typed_and_cut_tails_dropped() {
        let code = |name: &str, body: &str| {
            let e = run(name, body, 1 << 20).expect_err("invalid");
            (e.code(), e.location().and_then(|l| l.line), e.value())
        };
        assert_eq!(code("e1.csv", ""), ("empty_input", None, None));
        assert_eq!(
            code(
                "e2.csv",
                "time_s,energy_uj\n1717000000,12x\n1717000001,13\n"
            ),
            ("bad_value", Some(2), Some("12x".into()))
        );
        assert_eq!(
            code(
                "e3.csv",
                "time_s,energy_uj\n1717000000,1,2\n1717000001,13\n"
            )
            .0,
            "unequal_lengths"
        );
        assert_eq!(
            code(
                "e4.csv",
                "time_s,domain,energy_uj,max_energy_range_uj\n1717000000,p,5,4\n"
            )
            .0,
            "bad_value"
        );
        assert_eq!(
            code("e5.csv", "# max_energy_range_uj=lots\ntime_s,energy_uj\n").0,
            "bad_value"
        );
        assert_eq!(
            code("e6.csv", "time_s,energy_uj\n1717000000,5\n").0,
            "insufficient_samples"
        );
        let cfg = ReadConfig::default();
        let src = crate::read::source::open_text(
            &write(
                "rapl-test",
                "e7.csv",
                b"task_name,timestamp,rapl_energy,duration\nx,1736870539.36,0.0001,30.5\n",
            ),
            &cfg.limits,
        )
        .expect("valid");
        let e = open(src, &cfg).err().expect("not a RAPL log");
        assert_eq!(e.code(), "schema");
        assert!(e.hint().unwrap_or_default().contains("CodeCarbon"));
        let tail = "time_s,energy_uj\n1717000000,1000000\n1717000001,2000000\n1717000002,30";
        let r = run("t.csv", tail, 1 << 20).expect("valid");
        assert!(r.info.truncated_tail);
        assert_eq!(r.channels[0].1.energy_j(), 1.0);
        let r = run("u.csv", &format!("{tail}00000"), 1 << 20).expect("valid");
        assert!(r.info.unterminated_final_line);
        assert_eq!(r.channels[0].1.energy_j(), 2.0);
        assert!(sniff(b"# max_energy_range_uj=1\ntime_s,domain,energy_uj\n"));
        assert!(!sniff(b"time_s,energy_j\n"));
    }
}
