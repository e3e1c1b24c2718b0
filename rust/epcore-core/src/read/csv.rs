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

use crate::config::Options;
use crate::error::{Error, Location, Result};
use crate::integrate::require_two_samples;
use crate::read::csv_rows::{parse_batch, parse_row, split_fields, Fields, RowFailure, Schema};
use crate::read::fields::trim_field;
use crate::read::lines::LineReader;
use crate::read::source::open_text;
use crate::read::{FileInfo, FileIntegration, OnChunk, ReadOptions};
use crate::stream::StreamIntegrator;

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
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(2);

    let mut sink = StreamIntegrator::new(opts)?;
    let single = if schema.channel.is_none() {
        Some(sink.channel_id(b"0"))
    } else {
        None
    };
    let mut last_reported = 0u64;
    loop {
        let done = lines.bytes_read();
        if done != last_reported {
            last_reported = done;
            on_chunk(done)?;
        }
        let Some(batch) = lines.next_batch()? else {
            break;
        };
        let (first_line, offset) = (batch.number, batch.offset);
        if !batch.terminated {
            let tail = batch.bytes.to_vec();
            lines.skip_lines(1);
            info.n_lines = first_line;
            final_line(&tail, first_line, &schema, &mut sink, single, &mut info)
                .map_err(|e| place(e, &shown, &schema))?;
            break;
        }
        let pieces = parse_batch(batch.bytes, &schema, read.max_record_bytes, threads);
        let mut line_base = first_line;
        for p in pieces {
            let ids: Vec<usize> = match single {
                Some(id) => vec![id],
                None => p.names.iter().map(|n| sink.channel_id(n)).collect(),
            };
            if let Some(id) = single {
                sink.push_rows(id, &p.t, &p.v, line_base, &p.line)
                    .map_err(|e| place(e, &shown, &schema))?;
            } else {
                for i in 0..p.t.len() {
                    sink.push(
                        ids[p.ch[i] as usize],
                        p.t[i],
                        p.v[i],
                        line_base + p.line[i] as u64,
                    )
                    .map_err(|e| place(e, &shown, &schema))?;
                }
            }
            if let Some((rel, at, what, bytes)) = p.failure {
                // Rows before the bad line may hold an earlier error: surface it first.
                sink.flush().map_err(|e| place(e, &shown, &schema))?;
                let line_no = line_base + rel;
                let byte = offset + (p.offset + at) as u64;
                return Err(row_error(what, &bytes, line_no, byte, &schema, &shown));
            }
            line_base += p.n_lines;
        }
        lines.skip_lines(line_base - first_line);
        info.n_lines = line_base - 1;
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

/// A last line without a terminator: kept if complete (with a warning), dropped
/// if cut short (with a warning), since the file may still be being written.
fn final_line(
    line: &[u8],
    number: u64,
    schema: &Schema,
    sink: &mut StreamIntegrator,
    single: Option<usize>,
    info: &mut FileInfo,
) -> Result<()> {
    if line.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(());
    }
    let mut bounds = Vec::with_capacity(schema.n_cols);
    split_fields(line, &mut bounds);
    let fields = Fields {
        line,
        bounds: &bounds,
    };
    // "123," at the very end: the writer was cut before the value.
    let cut = fields.len() != schema.n_cols || trim_field(fields.get(schema.value)).is_empty();
    let row = if cut {
        None
    } else {
        parse_row(&fields, schema).ok()
    };
    let Some((t_ns, value)) = row else {
        info.truncated_tail = true;
        info.warnings.push(format!(
            "line {number}: the last line is incomplete and has no line terminator (file still being written?); it was dropped"
        ));
        return Ok(());
    };
    let id = match (single, schema.channel) {
        (Some(id), _) => id,
        (None, Some(c)) => sink.channel_id(trim_field(fields.get(c))),
        (None, None) => 0,
    };
    sink.push(id, t_ns, value, number)?;
    info.unterminated_final_line = true;
    info.warnings.push(format!(
        "line {number}: the last line has no line terminator; it was complete and is kept"
    ));
    Ok(())
}

/// The error for the first bad line of a batch.
fn row_error(
    what: RowFailure,
    bytes: &[u8],
    line: u64,
    byte: u64,
    s: &Schema,
    path: &str,
) -> Error {
    let at = Location {
        path: Some(path.into()),
        line: Some(line),
        byte_offset: Some(byte),
        ..Location::default()
    };
    match what {
        RowFailure::TooLong => Error::RecordTooLong {
            at,
            limit: bytes.len().max(1),
        },
        RowFailure::Count { found } => Error::UnequalLengths {
            at,
            expected: s.n_cols,
            found,
            hint: if found > s.n_cols {
                "a decimal comma or a quoted comma? epcore reads ',' separated fields with '.' decimals".into()
            } else {
                "a missing field; is the row cut short?".into()
            },
        },
        RowFailure::Field(fe) => {
            if let Err(e) = check_utf8(bytes, path, line, byte) {
                return e;
            }
            let mut bounds = Vec::with_capacity(s.n_cols);
            split_fields(bytes, &mut bounds);
            let (a, b) = bounds.get(fe.column).copied().unwrap_or((0, 0));
            Error::BadValue {
                at: Location {
                    column: Some(s.names[fe.column].clone()),
                    column_index: Some(fe.column as u32),
                    byte_offset: Some(byte + a as u64),
                    ..at
                },
                value: String::from_utf8_lossy(trim_field(&bytes[a..b])).into_owned(),
                reason: fe.reason,
                hint: fe.hint,
            }
        }
    }
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
        std::fs::create_dir_all(&dir).expect("the test input is valid");
        let p = dir.join(name);
        std::fs::File::create(&p)
            .expect("the test input is valid")
            .write_all(body)
            .expect("the test input is valid");
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
        let want = run("a.csv", body, 1 << 20).expect("the test input is valid");
        assert!(want.info.had_bom);
        assert_eq!(want.channels.len(), 2);
        assert_eq!(want.channels[0].1.energy_j(), 100.0);
        assert_eq!(want.channels[1].1.energy_j(), 100.0);
        assert_eq!(want.channels[1].1.counts.n_nonfinite, 1);
        for chunk in [1, 3, 7, 64] {
            let got = run("a.csv", body, chunk).expect("the test input is valid");
            assert_eq!(got.channels, want.channels);
        }
    }

    #[test]
    fn errors_carry_file_line_column_and_value() {
        let e = run("b.csv", b"timestamp_ns,power_w\n0,1\n1000,1O3.5\n", 1 << 20)
            .expect_err("the test input is invalid");
        let s = e.to_string();
        assert!(s.contains("b.csv:3: column power_w"), "{s}");
        assert_eq!(e.value().as_deref(), Some("1O3.5"));
        let e = run(
            "c.csv",
            b"timestamp_ns,power_w\n0,1\n2000,1\n1000,1\n",
            1 << 20,
        )
        .expect_err("the test input is invalid");
        assert_eq!(e.code(), "unsorted_timestamps");
        assert_eq!(e.location().and_then(|l| l.line), Some(4));
        let e = run("d.csv", b"t,p\n0,1\n", 1 << 20).expect_err("the test input is invalid");
        assert_eq!(e.code(), "schema");
        assert_eq!(
            run("e.csv", b"", 1 << 20)
                .expect_err("the test input is invalid")
                .code(),
            "empty_input"
        );
        assert_eq!(
            run("f.csv", b"time_s,power_w\n", 1 << 20)
                .expect_err("the test input is invalid")
                .code(),
            "insufficient_samples"
        );
    }

    #[test]
    fn partial_last_line_is_dropped_complete_one_kept() {
        let r = run("g.csv", b"time_s,power_w\n0,10\n1,10\n2,1", 1 << 20)
            .expect("the test input is valid");
        assert!(r.info.unterminated_final_line);
        assert_eq!(r.channels[0].1.energy_j(), 15.5);
        let r = run("h.csv", b"time_s,power_w\n0,10\n1,10\n2,", 1 << 20)
            .expect("the test input is valid");
        assert!(r.info.truncated_tail);
        let r = run("i.csv", b"time_s,power_w\n0,10\n1,10\n2", 1 << 20)
            .expect("the test input is valid");
        assert!(r.info.truncated_tail);
        assert_eq!(r.channels[0].1.energy_j(), 10.0);
    }
}
