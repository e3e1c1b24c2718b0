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

use std::io::Read;

use crate::config::{Options, Rule};
use crate::error::{Error, Location, Result};
use crate::read::csv_rows::{parse_batch, parse_row, split_fields, Fields, RowFailure, Schema};
use crate::read::fields::trim_field;
use crate::read::format::Format;
use crate::read::lines::LineReader;
use crate::read::source::{Progress, Source};
use crate::read::{place_error, FileInfo, Layout, OnChunk, PowerReader, Quantity, ReadConfig, RowSink};

/// Whether the first line looks like the canonical header.
pub fn sniff(head: &[u8]) -> bool {
    let first = head.split(|&b| b == b'\n' || b == b'\r').next().unwrap_or_default();
    let names: Vec<&[u8]> = first.split(|&b| b == b',').map(trim_field).collect();
    let has = |n: &[u8]| names.contains(&n);
    (has(b"timestamp_ns") || has(b"time_s"))
        && (has(b"power_w") || has(b"power_mw") || has(b"energy_j") || has(b"energy_mj"))
}

/// The canonical CSV, header read.
pub struct CsvReader {
    lines: LineReader<Box<dyn Read + Send>>,
    schema: Schema,
    layout: Layout,
    info: FileInfo,
    progress: Progress,
}

/// Open a canonical power CSV and read its header.
pub fn open(src: Source, cfg: &ReadConfig) -> Result<Box<dyn PowerReader>> {
    let shown = src.path.clone();
    let info = FileInfo::of(&src);
    let progress = src.progress();
    let mut lines = LineReader::new(
        src.reader,
        &shown,
        cfg.read.chunk_bytes,
        cfg.read.max_record_bytes,
    );
    let mut scratch = Options::default();
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
                break Schema::from_header(l.bytes, &shown, &mut scratch)?;
            }
        }
    };
    let quantity = match scratch.rule {
        Rule::Counter => Quantity::Counter {
            unit_j: scratch.counter_unit_j,
            modulus: None,
        },
        _ => Quantity::Power,
    };
    let layout = Layout {
        format: Format::Csv,
        quantity,
        power_semantics: "unknown",
        naive_time: false,
        tz: None,
        time_column: schema.names[schema.time].clone(),
        value_column: schema.names[schema.value].clone(),
    };
    let info = FileInfo {
        time_column: layout.time_column.clone(),
        value_column: layout.value_column.clone(),
        ..info
    };
    Ok(Box::new(CsvReader {
        lines,
        schema,
        layout,
        info,
        progress,
    }))
}

impl PowerReader for CsvReader {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn info(&self) -> &FileInfo {
        &self.info
    }

    fn read_rows(&mut self, sink: &mut dyn RowSink, on_chunk: OnChunk<'_>) -> Result<()> {
        let (schema, info, lines) = (&self.schema, &mut self.info, &mut self.lines);
        let shown = info.path.clone();
        let place = |e: Error| place_error(e, &shown, &schema.names[schema.time], &schema.names[schema.value]);
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(2);
        let max_record = lines_max(lines);
        let single = if schema.channel.is_none() {
            Some(sink.channel_id(b"0"))
        } else {
            None
        };
        let mut last_reported = u64::MAX;
        loop {
            let done = self.progress.get();
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
                final_line(&tail, first_line, schema, sink, single, info).map_err(place)?;
                break;
            }
            let pieces = parse_batch(batch.bytes, schema, max_record, threads);
            let mut line_base = first_line;
            for p in pieces {
                if let Some(id) = single {
                    sink.push_rows(id, &p.t, &p.v, line_base, &p.line)
                        .map_err(place)?;
                } else {
                    let ids: Vec<usize> = p.names.iter().map(|n| sink.channel_id(n)).collect();
                    for i in 0..p.t.len() {
                        sink.push(
                            ids[p.ch[i] as usize],
                            p.t[i],
                            p.v[i],
                            line_base + p.line[i] as u64,
                        )
                        .map_err(place)?;
                    }
                }
                if let Some((rel, at, what, bytes)) = p.failure {
                    // Rows before the bad line may hold an earlier error: surface it first.
                    sink.flush().map_err(place)?;
                    let line_no = line_base + rel;
                    let byte = offset + (p.offset + at) as u64;
                    return Err(row_error(what, &bytes, line_no, byte, schema, &shown));
                }
                line_base += p.n_lines;
            }
            lines.skip_lines(line_base - first_line);
            info.n_lines = line_base - 1;
        }
        on_chunk(self.progress.get())?;
        Ok(())
    }
}

fn lines_max<R: Read>(lines: &LineReader<R>) -> usize {
    lines.max_record_bytes()
}

/// A last line without a terminator: kept if complete (with a warning), dropped
/// if cut short (with a warning), since the file may still be being written.
fn final_line(
    line: &[u8],
    number: u64,
    schema: &Schema,
    sink: &mut dyn RowSink,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::ReadOptions;
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

    fn run(name: &str, body: &[u8], chunk: usize) -> Result<crate::read::FileIntegration> {
        let read = ReadOptions {
            chunk_bytes: chunk,
            ..ReadOptions::default()
        };
        let cfg = ReadConfig {
            read,
            ..ReadConfig::default()
        };
        crate::read::integrate_path(
            &write(name, body),
            Some(Format::Csv),
            &cfg,
            &Options::default(),
            &mut |_| Ok(()),
        )
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
