//! The canonical power CSV: `timestamp_ns,power_w` or `time_s,power_w`, optionally `channel`.
//!
//! - time: `timestamp_ns` (integer ns) or `time_s` (decimal seconds, read exactly to the ns);
//! - value: `power_w`, `power_mw` (scaled to W), or a cumulative counter `energy_j` / `energy_mj`
//!   (integrated with the counter rule);
//! - `channel`: any text naming the device; rows of several channels may interleave.
//!
//! Other columns are ignored. Fields are comma-separated, trimmed of spaces and
//! one pair of quotes; `""`, `NA`, `N/A`, `null`, `[N/A]`-style tokens and
//! `nan` are missing readings (dropped and counted, never zero). A last line
//! without a terminator is kept if complete (warning) and dropped if not
//! (warning, `truncated_tail`), since the file may still be being written.

use std::path::Path;

use crate::config::{Options, Rule};
use crate::error::{Error, Location, Result};
use crate::integrate::require_two_samples;
use crate::read::fields::{is_null_token, parse_f64, trim_field};
use crate::read::lines::LineReader;
use crate::read::source::open_text;
use crate::read::{FileInfo, FileIntegration, OnChunk, ReadOptions};
use crate::stream::StreamIntegrator;
use crate::time::{parse_decimal_seconds, parse_integer_ns, DecimalError};

#[derive(Clone, Copy, PartialEq)]
enum TimeKind {
    Nanoseconds,
    Seconds,
}

/// Where the needed columns sit in each row.
struct Schema {
    n_cols: usize,
    time: usize,
    time_kind: TimeKind,
    value: usize,
    /// Multiply parsed values by this (mW → W).
    value_scale: f64,
    channel: Option<usize>,
    names: Vec<String>,
}

const TIME_COLUMNS: [(&str, TimeKind); 2] = [
    ("timestamp_ns", TimeKind::Nanoseconds),
    ("time_s", TimeKind::Seconds),
];

impl Schema {
    /// Read the header; also adapts `opts` when the value column is a counter.
    fn from_header(line: &[u8], path: &str, opts: &mut Options) -> Result<Schema> {
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
struct FieldError {
    column: usize,
    reason: String,
    hint: String,
}

/// Integrate a canonical power CSV in constant memory.
pub fn integrate_csv(
    path: &Path,
    opts: &Options,
    read: &ReadOptions,
    on_chunk: OnChunk<'_>,
) -> Result<FileIntegration> {
    opts.validate()?;
    let src = open_text(path)?;
    let shown = src.path.clone();
    let mut info = FileInfo {
        path: shown.clone(),
        size_bytes: src.size_bytes,
        had_bom: src.had_bom,
        ..FileInfo::default()
    };
    let mut lines = LineReader::new(src.reader, &shown, read.chunk_bytes, read.max_record_bytes);

    let mut opts = *opts;
    let schema = loop {
        match lines.next_line()? {
            None => {
                return Err(Error::EmptyInput {
                    at: Location {
                        path: Some(shown.clone()),
                        ..Location::default()
                    },
                })
            }
            Some(l) if l.bytes.iter().all(|b| b.is_ascii_whitespace()) => continue,
            Some(l) => {
                check_utf8(l.bytes, &shown, l.number, l.offset)?;
                break Schema::from_header(l.bytes, &shown, &mut opts)?;
            }
        }
    };
    info.time_column = schema.names[schema.time].clone();
    info.value_column = schema.names[schema.value].clone();

    let mut sink = StreamIntegrator::new(opts)?;
    let single = if schema.channel.is_none() {
        Some(sink.channel_id(b"0"))
    } else {
        None
    };
    let mut last_reported = 0u64;
    // Field bounds are kept as offsets so the buffer is not borrowed across lines.
    let mut bounds: Vec<(usize, usize)> = Vec::with_capacity(schema.n_cols);

    loop {
        let done = lines.bytes_read();
        if done != last_reported {
            last_reported = done;
            on_chunk(done)?;
        }
        let Some(line) = lines.next_line()? else {
            break;
        };
        info.n_lines = line.number;
        if line.bytes.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        split_fields(line.bytes, &mut bounds);
        let fields = Fields {
            line: line.bytes,
            bounds: &bounds,
        };
        if fields.len() != schema.n_cols {
            if !line.terminated {
                note_truncated(&mut info, line.number);
                break;
            }
            sink.flush().map_err(|e| place(e, &shown, &schema))?;
            return Err(Error::UnequalLengths {
                at: Location {
                    path: Some(shown.clone()),
                    line: Some(line.number),
                    byte_offset: Some(line.offset),
                    ..Location::default()
                },
                expected: schema.n_cols,
                found: fields.len(),
                hint: if fields.len() > schema.n_cols {
                    "a decimal comma or a quoted comma? epcore reads ',' separated fields with '.' decimals".into()
                } else {
                    "a missing field; is the row cut short?".into()
                },
            });
        }
        if !line.terminated && trim_field(fields.get(schema.value)).is_empty() {
            // "123," at the very end: the writer was cut before the value.
            note_truncated(&mut info, line.number);
            break;
        }
        let parsed = parse_row(&fields, &schema);
        let (t_ns, value) = match parsed {
            Ok(x) => x,
            Err(fe) => {
                if !line.terminated {
                    note_truncated(&mut info, line.number);
                    break;
                }
                sink.flush().map_err(|e| place(e, &shown, &schema))?;
                check_utf8(line.bytes, &shown, line.number, line.offset)?;
                let raw = fields.get(fe.column);
                let col_offset = bounds[fe.column].0;
                return Err(Error::BadValue {
                    at: Location {
                        path: Some(shown.clone()),
                        line: Some(line.number),
                        column: Some(schema.names[fe.column].clone()),
                        column_index: Some(fe.column as u32),
                        byte_offset: Some(line.offset + col_offset as u64),
                        ..Location::default()
                    },
                    value: String::from_utf8_lossy(trim_field(raw)).into_owned(),
                    reason: fe.reason,
                    hint: fe.hint,
                });
            }
        };
        let id = match (single, schema.channel) {
            (Some(id), _) => id,
            (None, Some(c)) => sink.channel_id(trim_field(fields.get(c))),
            (None, None) => 0,
        };
        sink.push(id, t_ns, value, line.number)
            .map_err(|e| place(e, &shown, &schema))?;
        if !line.terminated {
            info.unterminated_final_line = true;
            info.warnings.push(format!(
                "line {}: the last line has no line terminator; it was complete and is kept",
                line.number
            ));
        }
    }
    on_chunk(lines.bytes_read())?;
    let channels = sink.finish().map_err(|e| place(e, &shown, &schema))?;
    if channels.is_empty() {
        return Err(Error::InsufficientSamples {
            at: Location {
                path: Some(shown.clone()),
                ..Location::default()
            },
            found: 0,
            needed: 2,
        });
    }
    for (name, p) in &channels {
        require_two_samples(p).map_err(|mut e| {
            if let Some(at) = e.location_mut() {
                at.path = Some(shown.clone());
                at.channel = schema.channel.map(|_| name.clone());
            }
            e
        })?;
    }
    Ok(FileIntegration { channels, info })
}

fn note_truncated(info: &mut FileInfo, line: u64) {
    info.truncated_tail = true;
    info.warnings.push(format!(
        "line {line}: the last line is incomplete and has no line terminator (file still being written?); it was dropped"
    ));
}

/// The fields of one line, as offsets into it.
struct Fields<'a> {
    line: &'a [u8],
    bounds: &'a [(usize, usize)],
}

impl<'a> Fields<'a> {
    fn len(&self) -> usize {
        self.bounds.len()
    }

    fn get(&self, i: usize) -> &'a [u8] {
        let (a, b) = self.bounds[i];
        &self.line[a..b]
    }
}

fn split_fields(line: &[u8], out: &mut Vec<(usize, usize)>) {
    out.clear();
    let mut start = 0;
    for i in memchr::memchr_iter(b',', line) {
        out.push((start, i));
        start = i + 1;
    }
    out.push((start, line.len()));
}

fn parse_row(fields: &Fields<'_>, s: &Schema) -> std::result::Result<(i64, f64), FieldError> {
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

/// Invalid UTF-8 gets its own error with the byte offset, rather than a confusing parse error.
fn check_utf8(bytes: &[u8], path: &str, line: u64, offset: u64) -> Result<()> {
    match std::str::from_utf8(bytes) {
        Ok(_) => Ok(()),
        Err(e) => Err(Error::UnsupportedEncoding {
            at: Location {
                path: Some(path.into()),
                line: Some(line),
                byte_offset: Some(offset + e.valid_up_to() as u64),
                ..Location::default()
            },
            reason: "invalid UTF-8".into(),
        }),
    }
}

/// Add the file and column to an integrator error.
fn place(mut e: Error, path: &str, s: &Schema) -> Error {
    let col = match e.code() {
        "unsorted_timestamps" | "conflicting_duplicate" | "timestamp_overflow" => Some(s.time),
        "non_finite"
        | "negative_power"
        | "implausible_power"
        | "ambiguous_counter_decrease"
        | "bad_value" => Some(s.value),
        _ => None,
    };
    if let Some(at) = e.location_mut() {
        at.path = Some(path.into());
        if let Some(c) = col {
            at.column = Some(s.names[c].clone());
            at.column_index = Some(c as u32);
        }
        // In a file the line is the useful coordinate; the channel row index is not.
        if at.line.is_some() {
            at.index = None;
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(name: &str, body: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("epcore-csv-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::File::create(&p).unwrap().write_all(body).unwrap();
        p
    }

    fn run(name: &str, body: &[u8], chunk: usize) -> Result<FileIntegration> {
        let read = ReadOptions {
            chunk_bytes: chunk,
            ..ReadOptions::default()
        };
        integrate_csv(&write(name, body), &Options::default(), &read, &mut |_| {
            Ok(())
        })
    }

    #[test]
    fn reads_seconds_and_channels_at_any_chunk_size() {
        let body = b"\xEF\xBB\xBFtime_s,channel,power_w\r\n0.0,a,100\r\n0.0,b,50\r\n1.0,a,100\r\n1.0,b,[N/A]\r\n2,b,50\r\n";
        let want = run("a.csv", body, 1 << 20).unwrap();
        assert!(want.info.had_bom);
        assert_eq!(want.channels.len(), 2);
        assert_eq!(want.channels[0].1.energy_j(), 100.0);
        assert_eq!(want.channels[1].1.energy_j(), 100.0);
        assert_eq!(want.channels[1].1.counts.n_nonfinite, 1);
        for chunk in [1, 3, 7, 64] {
            let got = run("a.csv", body, chunk).unwrap();
            assert_eq!(got.channels, want.channels);
        }
    }

    #[test]
    fn errors_carry_file_line_column_and_value() {
        let e = run("b.csv", b"timestamp_ns,power_w\n0,1\n1000,1O3.5\n", 1 << 20).unwrap_err();
        let s = e.to_string();
        assert!(s.contains("b.csv:3: column power_w"), "{s}");
        assert_eq!(e.value().as_deref(), Some("1O3.5"));
        let e = run(
            "c.csv",
            b"timestamp_ns,power_w\n0,1\n2000,1\n1000,1\n",
            1 << 20,
        )
        .unwrap_err();
        assert_eq!(e.code(), "unsorted_timestamps");
        assert_eq!(e.location().and_then(|l| l.line), Some(4));
        let e = run("d.csv", b"t,p\n0,1\n", 1 << 20).unwrap_err();
        assert_eq!(e.code(), "schema");
        assert_eq!(
            run("e.csv", b"", 1 << 20).unwrap_err().code(),
            "empty_input"
        );
        assert_eq!(
            run("f.csv", b"time_s,power_w\n", 1 << 20)
                .unwrap_err()
                .code(),
            "insufficient_samples"
        );
    }

    #[test]
    fn partial_last_line_is_dropped_complete_one_kept() {
        let r = run("g.csv", b"time_s,power_w\n0,10\n1,10\n2,1", 1 << 20).unwrap();
        assert!(r.info.unterminated_final_line);
        assert_eq!(r.channels[0].1.energy_j(), 15.5);
        let r = run("h.csv", b"time_s,power_w\n0,10\n1,10\n2,", 1 << 20).unwrap();
        assert!(r.info.truncated_tail);
        let r = run("i.csv", b"time_s,power_w\n0,10\n1,10\n2", 1 << 20).unwrap();
        assert!(r.info.truncated_tail);
        assert_eq!(r.channels[0].1.energy_j(), 10.0);
    }
}
