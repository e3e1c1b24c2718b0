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
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use crate::config::{Options, Rule};
use crate::error::{Error, Location, Result};
pub use crate::read::csv_rows::RowEveryWay;
use crate::read::csv_rows::{
    self, cut_points, parse_piece, parse_row, split_fields, ColumnPick, Fields, Parsed, RowFailure,
    Schema, TimeKind,
};
use crate::read::fields::trim_field;
use crate::read::format::Format;
use crate::read::lines::{check_utf8, LineReader, OwnedBatch};
use crate::read::source::{Progress, Source};
use crate::read::{
    place_error, FileInfo, Layout, OnChunk, PowerReader, Quantity, ReadConfig, RowSink,
};

/// Whether the first line looks like the canonical header.
pub fn sniff(head: &[u8]) -> bool {
    let first = head
        .split(|&b| b == b'\n' || b == b'\r')
        .next()
        .unwrap_or_default();
    let names: Vec<&[u8]> = first.split(|&b| b == b',').map(trim_field).collect();
    let has = |n: &[u8]| names.contains(&n);
    (has(b"timestamp_ns") || has(b"time_s"))
        && (has(b"power_w") || has(b"power_mw") || has(b"energy_j") || has(b"energy_mj"))
}

/// For tests: one `time_s,power_w` (or, with `nanoseconds`, `timestamp_ns,power_w`)
/// row read by each of the reader's parsers. `text` is the line, its
/// terminator and whatever follows it in the file; every fast parser that
/// takes the line must read what the general one reads.
#[doc(hidden)]
pub fn row_every_way(text: &[u8], nanoseconds: bool) -> RowEveryWay {
    let kind = if nanoseconds {
        TimeKind::Nanoseconds
    } else {
        TimeKind::Seconds
    };
    csv_rows::row_every_way(text, kind)
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
                let pick = ColumnPick {
                    value: cfg.value.as_deref(),
                    channel: cfg.channel.as_deref(),
                    prefer: cfg.prefer,
                };
                break Schema::from_header(l.bytes, &shown, &mut scratch, &pick)?;
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

    /// Three threads share the work: a reader thread reads the next batch
    /// (the kernel's copy alone is a fifth of the work) while this thread and
    /// a helper parse the current one, piece by piece, whoever is free taking
    /// the next piece; this thread integrates the pieces in order as they are
    /// ready. Both other threads live as long as the file: spawning one per
    /// batch costs a fresh stack, and its page faults, every time.
    fn read_rows(&mut self, sink: &mut dyn RowSink, on_chunk: OnChunk<'_>) -> Result<()> {
        let lines = &mut self.lines;
        let first_line = lines.lines_read() + 1;
        let max_record = lines.max_record_bytes();
        let schema = &self.schema;
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        // Rendezvous: one batch read ahead at most, so memory stays at three or four chunks.
        let (batch_tx, batch_rx) = mpsc::sync_channel::<Result<Option<OwnedBatch>>>(0);
        let (spare_tx, spare_rx) = mpsc::channel::<Vec<u8>>();
        let pool = Pool::default();
        std::thread::scope(|sc| {
            sc.spawn(move || {
                let mut made = 0;
                loop {
                    let spare = match spare_rx.try_recv() {
                        Ok(b) => b,
                        Err(_) if made < 3 => {
                            made += 1;
                            Vec::new()
                        }
                        Err(_) => match spare_rx.recv() {
                            Ok(b) => b,
                            Err(_) => break,
                        },
                    };
                    let next = lines.next_batch_owned(spare);
                    let more = matches!(&next, Ok(Some(b)) if b.terminated);
                    // Also stops when the consumer has returned (an error).
                    if batch_tx.send(next).is_err() || !more {
                        break;
                    }
                }
            });
            let helper = (threads >= 2).then(|| {
                let (job_tx, job_rx) = mpsc::channel::<Arc<Work>>();
                let (done_tx, done_rx) = mpsc::channel::<(usize, Parsed)>();
                let pool = &pool;
                sc.spawn(move || {
                    for work in job_rx {
                        while let Some(i) = work.take() {
                            let p = work.parse(i, pool.get(), schema, max_record);
                            if done_tx.send((i, p)).is_err() {
                                return;
                            }
                        }
                    }
                });
                Helper {
                    jobs: job_tx,
                    done: done_rx,
                }
            });
            let batches = Batches {
                rx: batch_rx,
                spare: spare_tx,
                first_line,
            };
            consume(
                batches,
                helper.as_ref(),
                &pool,
                schema,
                &mut self.info,
                &self.progress,
                max_record,
                sink,
                on_chunk,
            )
        })
    }
}

/// Batches from the reader thread, and the way back for their buffers.
struct Batches {
    rx: mpsc::Receiver<Result<Option<OwnedBatch>>>,
    spare: mpsc::Sender<Vec<u8>>,
    /// Line number of the first line of the first batch.
    first_line: u64,
}

/// A batch cut into pieces that the parsing threads take in turn.
struct Work {
    batch: OwnedBatch,
    /// Piece `i` is `batch.bytes()[cuts[i]..cuts[i + 1]]`.
    cuts: Vec<usize>,
    next: AtomicUsize,
    /// Where the buffer goes once parsed: back to the reader thread.
    back: mpsc::Sender<Vec<u8>>,
}

impl Drop for Work {
    /// Whichever thread lets go last hands the buffer back, so the reader
    /// never waits for a buffer that a finished batch still holds.
    fn drop(&mut self) {
        // The reader may be gone already (end of file); the buffer is then just dropped.
        let _ = self.back.send(std::mem::take(&mut self.batch.buf));
    }
}

impl Work {
    fn pieces(&self) -> usize {
        self.cuts.len() - 1
    }

    /// The next piece nobody has taken.
    fn take(&self) -> Option<usize> {
        // Pieces are disjoint and results travel by channel: a plain counter suffices.
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        (i < self.pieces()).then_some(i)
    }

    fn parse(&self, i: usize, into: Parsed, schema: &Schema, max_record: usize) -> Parsed {
        let (a, b) = (self.cuts[i], self.cuts[i + 1]);
        parse_piece(into, &self.batch.bytes()[a..b], a, schema, max_record)
    }
}

/// The helper thread: batches in, parsed pieces out.
struct Helper {
    jobs: mpsc::Sender<Arc<Work>>,
    done: mpsc::Receiver<(usize, Parsed)>,
}

/// Integrated pieces, kept for their buffers.
#[derive(Default)]
struct Pool(Mutex<Vec<Parsed>>);

impl Pool {
    fn get(&self) -> Parsed {
        self.0
            .lock()
            .ok()
            .and_then(|mut v| v.pop())
            .unwrap_or_else(Parsed::new)
    }

    fn put(&self, p: Parsed) {
        if let Ok(mut v) = self.0.lock() {
            v.push(p);
        }
    }
}

/// Parse and integrate the batches in order.
#[allow(clippy::too_many_arguments)]
fn consume(
    batches: Batches,
    helper: Option<&Helper>,
    pool: &Pool,
    schema: &Schema,
    info: &mut FileInfo,
    progress: &Progress,
    max_record: usize,
    sink: &mut dyn RowSink,
    on_chunk: OnChunk<'_>,
) -> Result<()> {
    let shown = info.path.clone();
    let place = |e: Error| {
        place_error(
            e,
            &shown,
            &schema.names[schema.time],
            &schema.names[schema.value],
        )
    };
    let single = if schema.channel.is_none() {
        Some(sink.channel_id(b"0"))
    } else {
        None
    };
    let mut last_reported = u64::MAX;
    let mut identity: Vec<u32> = Vec::new();
    let mut line_base = batches.first_line;
    let mut ready: Vec<Option<Parsed>> = Vec::new();
    loop {
        progress.report(&mut last_reported, on_chunk)?;
        let batch = match batches.rx.recv() {
            Ok(Ok(Some(b))) => b,
            Ok(Ok(None)) | Err(_) => break,
            Ok(Err(mut e)) => {
                // The reader thread does not count lines; this one does.
                if let Error::RecordTooLong { at, .. } = &mut e {
                    at.line = Some(line_base);
                }
                return Err(e);
            }
        };
        let offset = batch.offset;
        if !batch.terminated {
            info.n_lines = line_base;
            final_line(batch.bytes(), line_base, schema, sink, single, info).map_err(place)?;
            break;
        }
        let cuts = cut_points(batch.bytes());
        let work = Arc::new(Work {
            batch,
            cuts,
            next: AtomicUsize::new(0),
            back: batches.spare.clone(),
        });
        let n = work.pieces();
        let helper = helper.filter(|h| n > 1 && h.jobs.send(Arc::clone(&work)).is_ok());
        ready.clear();
        ready.resize_with(n, || None);
        let mut next = 0;
        while next < n {
            let Some(p) = ready[next].take() else {
                // Not parsed yet: collect what the helper has done, else parse
                // a piece here, else wait for the helper's.
                if let Some(h) = helper {
                    while let Ok((i, p)) = h.done.try_recv() {
                        ready[i] = Some(p);
                    }
                    if ready[next].is_some() {
                        continue;
                    }
                }
                if let Some(i) = work.take() {
                    ready[i] = Some(work.parse(i, pool.get(), schema, max_record));
                    continue;
                }
                // Only the helper can deliver this piece; should it be gone, parse it here.
                ready[next] = match helper.map(|h| h.done.recv()) {
                    Some(Ok((i, p))) if i == next => Some(p),
                    Some(Ok((i, p))) => {
                        ready[i] = Some(p);
                        continue;
                    }
                    _ => Some(work.parse(next, pool.get(), schema, max_record)),
                };
                continue;
            };
            next += 1;
            if let Some(id) = single {
                push_single(sink, id, &p, line_base, &mut identity).map_err(place)?;
            } else {
                let ids: Vec<usize> = p.names.iter().map(|n| sink.channel_id(n)).collect();
                for i in 0..p.t.len() {
                    sink.push(
                        ids[p.ch[i] as usize],
                        p.t[i],
                        p.v[i],
                        line_base + p.line_of(i) as u64,
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
            pool.put(p);
        }
        info.n_lines = line_base - 1;
    }
    on_chunk(progress.get())?;
    Ok(())
}

/// Rows handed to the sink per call: bounds the scratch of line numbers.
const PUSH_ROWS: usize = 1 << 16;

/// The rows of a one-channel piece. A clean piece (row i on line i) passes a
/// shared `0, 1, 2, ...` as its relative lines, so the parser keeps no line per row.
fn push_single(
    sink: &mut dyn RowSink,
    id: usize,
    p: &Parsed,
    line_base: u64,
    identity: &mut Vec<u32>,
) -> Result<()> {
    let mut rel = Vec::new();
    for lo in (0..p.t.len()).step_by(PUSH_ROWS) {
        let hi = (lo + PUSH_ROWS).min(p.t.len());
        let (t, v) = (&p.t[lo..hi], &p.v[lo..hi]);
        if p.lines_are_rows() {
            if identity.len() < hi - lo {
                identity.clear();
                identity.extend(0..PUSH_ROWS as u32);
            }
            sink.push_rows(id, t, v, line_base + lo as u64, &identity[..hi - lo])?;
        } else {
            rel.clear();
            rel.extend((lo..hi).map(|i| p.line_of(i)));
            sink.push_rows(id, t, v, line_base, &rel)?;
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::test_util::{cfg, integrate, write};
    use crate::read::{Prefer, ReadConfig, ReadOptions};

    fn run(name: &str, body: &[u8], chunk: usize) -> Result<crate::read::FileIntegration> {
        run_limited(name, body, chunk, ReadOptions::default().max_record_bytes)
    }

    fn run_limited(
        name: &str,
        body: &[u8],
        chunk: usize,
        max_record_bytes: usize,
    ) -> Result<crate::read::FileIntegration> {
        let mut c = cfg(chunk);
        c.read.max_record_bytes = max_record_bytes;
        let p = write("csv-test", name, body);
        integrate(&p, Some(Format::Csv), &c, &Options::default())
    }

    #[test]
    fn value_prefer_and_channel_pick_the_columns() {
        // A live recording keeps power and the energy counter side by side.
        let body = b"timestamp_ns,gpu,power_w,energy_j\n0,a,100,0\n1000000000,a,100,101\n2000000000,a,100,202\n";
        let p = write("csv-test", "both.csv", body);
        let read = |f: &dyn Fn(&mut ReadConfig)| {
            let mut c = cfg(1 << 20);
            f(&mut c);
            integrate(&p, Some(Format::Csv), &c, &Options::default())
        };
        let power = read(&|_| {}).expect("power");
        assert_eq!(power.channels[0].1.energy_j(), 200.0);
        let counter = read(&|c| c.prefer = Some(Prefer::Energy)).expect("counter");
        assert_eq!(counter.channels[0].1.energy_j(), 202.0);
        let named = read(&|c| c.value = Some("energy_j".into())).expect("value");
        assert_eq!(named.channels[0].1.energy_j(), 202.0);
        let by_gpu = read(&|c| c.channel = Some("gpu".into())).expect("channel");
        assert_eq!(by_gpu.channels[0].0, "a");
        let e = read(&|c| c.channel = Some("uuid".into())).expect_err("no such column");
        assert!(e.to_string().contains("uuid"), "{e}");
        let e = read(&|c| c.value = Some("watts".into())).expect_err("no such column");
        assert!(e.to_string().contains("watts"), "{e}");
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
    fn long_records_are_refused_with_their_line_at_any_chunk_size() {
        // A long line that ends: found by the parser, past the fast path's reach.
        let body = b"time_s,power_w\n0,1\n1717000000.000035,70.69\n2,1\n";
        for chunk in [1 << 20, 7, 1] {
            let e = run_limited("j.csv", body, chunk, 20).expect_err("the test input is invalid");
            assert_eq!(e.code(), "record_too_long");
            assert_eq!(e.location().and_then(|l| l.line), Some(3), "chunk {chunk}");
            assert_eq!(e.location().and_then(|l| l.byte_offset), Some(19));
        }
        // One with no end in sight: found by the reader thread, numbered here.
        let mut body = b"time_s,power_w\n0,1\n1,1\n".to_vec();
        body.extend([b'7'; 200]);
        for chunk in [1 << 20, 16, 1] {
            let e = run_limited("k.csv", &body, chunk, 50).expect_err("the test input is invalid");
            assert_eq!(e.code(), "record_too_long");
            assert_eq!(e.location().and_then(|l| l.line), Some(4), "chunk {chunk}");
            assert_eq!(e.location().and_then(|l| l.byte_offset), Some(23));
        }
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
