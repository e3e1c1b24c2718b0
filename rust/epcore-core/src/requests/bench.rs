//! vLLM `vllm bench serve --save-result --save-detailed` JSON and SGLang
//! `python -m sglang.bench_serving --output-details` JSONL.
//!
//! Both write one object per benchmark run with parallel per-request arrays:
//! `input_lens`, `output_lens`, `ttfts` (s), `itls` (a list of inter-token
//! latencies per request, s) and `errors` (`""` for success); some vLLM
//! versions add `start_times`. vLLM writes one run per file (a single JSON
//! document, possibly indented); SGLang appends one run per line. Every run in
//! the file is read, in order.
//!
//! Per request:
//! - `first_token = start + ttft`; a ttft of exactly 0 is how both writers say
//!   "no token arrived", so it gives no first token, as does a failed request;
//! - `end = start + ttft + Σ itls` (the arrival of the last chunk; the writers'
//!   own `latency` is the same sum, so a failed request, which has neither,
//!   gets `end = start`);
//! - `ok` is false when the request's `errors` entry is a non-empty string.
//!
//! Start times, the part these files lack:
//! - `start_times` that are epoch seconds (years 2000-2100) are used as they are;
//! - `start_times` below that are `time.perf_counter()` readings, seconds from
//!   an unknown origin: they need `anchor_ns`, the wall-clock time (ns since
//!   the epoch) at which the earliest request was sent; each start is then
//!   `anchor_ns + (t - min t)`, the minimum taken over the whole file;
//! - without `start_times`, the caller gives every start in `start_ns` (one
//!   per request, in file order); otherwise this is a schema error that says so.
//!
//! `start_ns` may also replace `start_times` of either kind. Request ids are the
//! 0-based position in the run (`"17"`), or `"run:position"` (`"1:17"`) when
//! the file holds several runs; `line` is the line where the run starts. The
//! model is the run's `model_id` when present. Token counts are labelled
//! `unknown`: vLLM counts the server's `usage` when it is sent and re-tokenizes
//! the text when not, SGLang falls back to the requested length; the file does
//! not say which happened.

use std::io::Read;

use serde_json::value::RawValue;

use crate::error::{Error, Location, Result};
use crate::read::source::{from_io, Source};
use crate::read::OnChunk;
use crate::requests::json::{self, array, duration_ns, object, time_ns, tokens, Key, Obj, Text};
use crate::requests::table::{
    Field, Request, TableBuilder, TokenSource, EPOCH_2000_NS, EPOCH_2100_NS,
};
use crate::requests::{RequestInfo, RequestOptions};

const DETAILS_HINT: &str = "per-request arrays are written by `vllm bench serve --save-result --save-detailed` and `sglang.bench_serving --output-details`";

/// One request of a run, before its start time is known.
struct Item<'a> {
    input: i64,
    output: i64,
    /// Time to first token, when a token arrived.
    ttft_ns: Option<i64>,
    /// ttft + Σ itls: from start to the last chunk.
    span_ns: i64,
    ok: bool,
    /// `start_times[i]` in ns (of whatever origin), and the raw value for errors.
    start: Option<(i64, &'a RawValue)>,
    ttft_raw: &'a RawValue,
}

struct Run<'a> {
    raw: &'a RawValue,
    line: u64,
    model: Option<String>,
    items: Vec<Item<'a>>,
    start_times: Option<&'a RawValue>,
}

/// Read the whole document, capped: these files are one JSON value (or a few).
fn read_document(mut src: Source, opts: &RequestOptions, on_chunk: OnChunk<'_>) -> Result<Vec<u8>> {
    let progress = src.progress();
    let cap = opts.max_document_bytes;
    let mut doc = Vec::new();
    let mut buf = vec![0u8; opts.read.chunk_bytes.clamp(1, 1 << 24)];
    loop {
        on_chunk(progress.get())?;
        let n = match src.reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(from_io(e, &src.path)),
        };
        if doc.len() as u64 + n as u64 > cap {
            return Err(Error::BadJson {
                at: Location {
                    path: Some(src.path.clone()),
                    byte_offset: Some(cap),
                    ..Location::default()
                },
                value: String::new(),
                reason: format!("JSON document larger than max_document_bytes = {cap}"),
                hint: "raise max_document_bytes if the file is genuine".into(),
            });
        }
        doc.extend_from_slice(&buf[..n]);
    }
    on_chunk(progress.get())?;
    Ok(doc)
}

pub(crate) fn read(
    src: Source,
    opts: &RequestOptions,
    rows: &mut TableBuilder,
    info: &mut RequestInfo,
    on_chunk: OnChunk<'_>,
) -> Result<()> {
    let path = info.path.clone();
    let doc = read_document(src, opts, on_chunk)?;
    let text = std::str::from_utf8(&doc).map_err(|e| {
        let off = e.valid_up_to();
        Error::UnsupportedEncoding {
            at: Location {
                path: Some(path.clone()),
                line: Some(1 + memchr::memchr_iter(b'\n', &doc[..off]).count() as u64),
                byte_offset: Some(off as u64),
                ..Location::default()
            },
            reason: "invalid UTF-8".into(),
        }
    })?;
    let t = Text {
        path: &path,
        text,
        line: 1,
        offset: 0,
    };
    info.n_lines = text.lines().count() as u64;
    if text.trim().is_empty() {
        return Err(Error::EmptyInput {
            at: Location {
                path: Some(path.clone()),
                ..Location::default()
            },
        });
    }
    json::check_depth(&t, opts.max_json_depth)?;
    let mut runs = Vec::new();
    for value in serde_json::Deserializer::from_str(text).into_iter::<&RawValue>() {
        match value {
            Ok(raw) => runs.push(run(&t, raw)?),
            Err(e) if e.is_eof() && !runs.is_empty() => {
                info.truncated_tail = true;
                info.warnings.push(format!(
                    "line {}: the last run is incomplete (file still being written?); it was dropped",
                    e.line()
                ));
                break;
            }
            Err(e) => return Err(t.syntax(&e)),
        }
    }
    let starts = start_times(&t, &runs, opts, info)?;
    let several = runs.len() > 1;
    let mut k = 0;
    for (r, run) in runs.iter().enumerate() {
        for (i, item) in run.items.iter().enumerate() {
            let start = starts[k];
            k += 1;
            info.n_records += 1;
            // Saturating: an absurd sum lands outside 2000-2100 and is refused by the table.
            let request = Request {
                request_id: if several {
                    format!("{r}:{i}")
                } else {
                    i.to_string()
                },
                start_ns: start,
                first_token_ns: item
                    .ttft_ns
                    .filter(|_| item.ok)
                    .map(|d| start.saturating_add(d)),
                end_ns: start.saturating_add(item.span_ns),
                input_tokens: item.input,
                output_tokens: item.output,
                model: run.model.clone(),
                ok: item.ok,
                token_source: TokenSource::Unknown,
                line: run.line,
            };
            let place = |f: Field| match (f, item.start) {
                (Field::Start, Some((_, raw))) => t.at(raw, Key::Item("start_times", i)),
                (Field::Start | Field::Id, _) => t.at(run.raw, Key::Item("input_lens", i)),
                (Field::FirstToken | Field::End, _) => t.at(item.ttft_raw, Key::Item("ttfts", i)),
            };
            rows.push(request, &place)?;
        }
    }
    Ok(())
}

fn run<'a>(t: &Text<'a>, raw: &'a RawValue) -> Result<Run<'a>> {
    let o = object(t, raw, Key::Name("(run)"))?;
    let line = t.at(raw, Key::Name("")).line.unwrap_or(1);
    let arr = |name: &'static str| -> Result<Option<(Vec<&'a RawValue>, &'a RawValue)>> {
        match o.get(t, name, Key::Name(name))? {
            Some(v) => Ok(Some((array(t, v, Key::Name(name))?, v))),
            None => Ok(None),
        }
    };
    let (inputs, _) = arr("input_lens")?.ok_or_else(|| missing(t, &o, "input_lens"))?;
    let n = inputs.len();
    let same = |name: &'static str,
                a: Option<(Vec<&'a RawValue>, &'a RawValue)>|
     -> Result<Option<Vec<&'a RawValue>>> {
        match a {
            Some((v, at)) if v.len() != n => Err(Error::Schema {
                at: t.at(at, Key::Name(name)),
                expected: format!("{n} entries, as in input_lens"),
                found: format!("{} entries", v.len()),
                hint: "the per-request arrays of a run must be parallel".into(),
            }),
            Some((v, _)) => Ok(Some(v)),
            None => Ok(None),
        }
    };
    let outputs =
        same("output_lens", arr("output_lens")?)?.ok_or_else(|| missing(t, &o, "output_lens"))?;
    let ttfts = same("ttfts", arr("ttfts")?)?.ok_or_else(|| missing(t, &o, "ttfts"))?;
    let itls = same("itls", arr("itls")?)?.ok_or_else(|| missing(t, &o, "itls"))?;
    let errors = same("errors", arr("errors")?)?;
    let start_raw = o.get(t, "start_times", Key::Name("start_times"))?;
    let starts = same("start_times", arr("start_times")?)?;
    let model = match o.get(t, "model_id", Key::Name("model_id"))? {
        Some(m) => Some(json::string(t, m, Key::Name("model_id"))?),
        None => None,
    };
    let mut items = Vec::with_capacity(n);
    for i in 0..n {
        let ok = match errors.as_ref().map(|e| e[i]) {
            None => true,
            Some(e) if e.get() == "null" => true,
            Some(e) => json::string(t, e, Key::Item("errors", i))?.is_empty(),
        };
        let ttft_raw = ttfts[i];
        let ttft = if ttft_raw.get() == "null" {
            if ok {
                return Err(Error::BadValue {
                    at: t.at(ttft_raw, Key::Item("ttfts", i)),
                    value: "null".into(),
                    reason: "a successful request without a time to first token".into(),
                    hint: "ttfts are seconds from the request's start to its first token".into(),
                });
            }
            0
        } else {
            duration_ns(t, ttft_raw, Key::Item("ttfts", i), 9, "time to first token")?
        };
        let mut span = ttft;
        if itls[i].get() != "null" {
            for (j, x) in array(t, itls[i], Key::Item("itls", i))?
                .into_iter()
                .enumerate()
            {
                let d = duration_ns(t, x, Key::Item2("itls", i, j), 9, "inter-token latency")?;
                span = span.saturating_add(d);
            }
        }
        let start = match &starts {
            Some(s) => {
                let v = time_ns(
                    t,
                    s[i],
                    Key::Item("start_times", i),
                    9,
                    "a start time in seconds",
                )?;
                Some((v, s[i]))
            }
            None => None,
        };
        items.push(Item {
            input: tokens(t, inputs[i], Key::Item("input_lens", i))?,
            output: tokens(t, outputs[i], Key::Item("output_lens", i))?,
            ttft_ns: (ttft > 0).then_some(ttft),
            span_ns: span,
            ok,
            start,
            ttft_raw,
        });
    }
    Ok(Run {
        raw,
        line,
        model,
        items,
        start_times: start_raw,
    })
}

fn missing(t: &Text<'_>, o: &Obj<'_>, name: &str) -> Error {
    let summary_only = o
        .get(t, "completed", Key::Name("completed"))
        .ok()
        .flatten()
        .is_some();
    Error::Schema {
        at: t.at(o.raw, Key::Name(name)),
        expected: format!("per-request '{name}'"),
        found: if summary_only {
            "a benchmark summary without per-request details".into()
        } else {
            "none".into()
        },
        hint: DETAILS_HINT.into(),
    }
}

/// Every request's start, in file order; see the module docs for the rules.
fn start_times(
    t: &Text<'_>,
    runs: &[Run<'_>],
    opts: &RequestOptions,
    info: &mut RequestInfo,
) -> Result<Vec<i64>> {
    let total: usize = runs.iter().map(|r| r.items.len()).sum();
    if let Some(user) = &opts.start_ns {
        if user.len() != total {
            return Err(Error::LengthMismatch {
                what: "start_ns (one start per request in the file)".into(),
                expected: total,
                found: user.len(),
            });
        }
        info.timing = "start_ns".into();
        return Ok(user.clone());
    }
    if let Some(run) = runs.iter().find(|r| r.start_times.is_none()) {
        let hint = if opts.anchor_ns.is_some() {
            "anchor_ns places relative start_times, and this file has none: pass start_ns=[...] instead (one epoch-ns start per request, in file order)"
        } else {
            "these files record latencies, not when each request was sent: pass start_ns=[...] (one epoch-ns start per request, in file order, e.g. from the client's log), or use a log with absolute times (AIPerf profile_export.jsonl)"
        };
        return Err(Error::Schema {
            at: t.at(run.raw, Key::Name("start_times")),
            expected: "per-request start times".into(),
            found: "none in the file".into(),
            hint: hint.into(),
        });
    }
    let values = || {
        runs.iter().flat_map(|r| {
            r.items
                .iter()
                .enumerate()
                .filter_map(|(i, it)| it.start.map(|s| (i, s)))
        })
    };
    let epoch = |v: i64| (EPOCH_2000_NS..EPOCH_2100_NS).contains(&v);
    let Some((_, (first, _))) = values().next() else {
        return Ok(Vec::new());
    };
    let absolute = epoch(first);
    for (i, (v, raw)) in values() {
        let reason = if v >= EPOCH_2100_NS {
            Some("a start time past 2100: not epoch seconds")
        } else if epoch(v) != absolute {
            Some("start_times mix epoch seconds and relative (perf_counter) seconds")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(Error::BadValue {
                at: t.at(raw, Key::Item("start_times", i)),
                value: raw.get().to_string(),
                reason: reason.into(),
                hint: "start_times are either all epoch seconds or all from one perf_counter clock"
                    .into(),
            });
        }
    }
    if absolute {
        if let Some(a) = opts.anchor_ns {
            return Err(Error::InvalidArgument {
                name: "anchor_ns".into(),
                value: a.to_string(),
                reason: "the file's start_times are already epoch seconds; drop anchor_ns".into(),
            });
        }
        return Ok(values().map(|(_, (v, _))| v).collect());
    }
    let min = values().map(|(_, (v, _))| v).min().unwrap_or(first);
    let Some(anchor) = opts.anchor_ns else {
        let at = runs
            .iter()
            .find_map(|r| r.start_times)
            .map(|raw| t.at(raw, Key::Name("start_times")))
            .unwrap_or_else(|| t.at_start(Some(Key::Name("start_times"))));
        return Err(Error::Schema {
            at,
            expected: "start_times as epoch seconds, or anchor_ns".into(),
            found: format!(
                "start_times from an unknown origin (perf_counter seconds, earliest {})",
                seconds_text(min)
            ),
            hint: "pass anchor_ns = the wall-clock time (ns since the epoch) at which the first request was sent; the file's \"date\" is when results were saved, not a start".into(),
        });
    };
    info.timing = "anchor_ns".into();
    Ok(values()
        .map(|(_, (v, _))| anchor.saturating_add(v.saturating_sub(min)))
        .collect())
}

fn seconds_text(ns: i64) -> String {
    format!(
        "{}.{:09} s",
        ns.div_euclid(1_000_000_000),
        ns.rem_euclid(1_000_000_000)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::test_util::write;
    use crate::requests::{read_requests, RequestFormat, RequestLog};

    fn read_with(body: &str, opts: &RequestOptions) -> Result<RequestLog> {
        let p = write(
            "requests",
            &format!("b{}.json", body.len()),
            body.as_bytes(),
        );
        read_requests(&p, None, opts, &mut |_| Ok(()))
    }

    const T0: i64 = 1_750_000_000_000_000_000;

    const RUN: &str = r#"{"date": "20250615-150640", "backend": "vllm", "model_id": "m", "completed": 2, "input_lens": [10, 20, 5], "output_lens": [3, 1, 0], "ttfts": [0.25, 0.5, 0.0], "itls": [[0.125, 0.125], [], []], "start_times": [5171.5, 5172.0, 5172.25], "errors": ["", "", "timeout"]}"#;

    #[test]
    fn relative_start_times_need_an_anchor() {
        let e = read_with(RUN, &RequestOptions::default()).expect_err("no anchor");
        assert_eq!(e.code(), "schema");
        assert!(e.hint().unwrap_or_default().contains("anchor_ns"), "{e}");
        let opts = RequestOptions {
            anchor_ns: Some(T0),
            ..RequestOptions::default()
        };
        let log = read_with(RUN, &opts).expect("anchored");
        let t = &log.table;
        assert_eq!(log.info.format, "vllm");
        assert_eq!(log.info.timing, "anchor_ns");
        assert_eq!(t.request_id, vec!["0", "1", "2"]);
        assert_eq!(t.start_ns, vec![T0, T0 + 500_000_000, T0 + 750_000_000]);
        assert_eq!(
            t.first_token_ns,
            vec![Some(T0 + 250_000_000), Some(T0 + 1_000_000_000), None]
        );
        assert_eq!(
            t.end_ns,
            vec![T0 + 500_000_000, T0 + 1_000_000_000, T0 + 750_000_000]
        );
        assert_eq!(t.ok, vec![true, true, false]);
        assert_eq!(t.model[0].as_deref(), Some("m"));
    }

    #[test]
    fn without_start_times_the_caller_gives_them() {
        let run = r#"{"backend": "sglang", "total_output_tokens_retokenized": 4, "input_lens": [1, 2], "output_lens": [3, 4], "ttfts": [0.1, 0.2], "itls": [[0.1, 0.1], [0.1, 0.1, 0.1]], "errors": ["", ""]}"#;
        let two = format!("{run}\n{run}\n");
        let e = read_with(&two, &RequestOptions::default()).expect_err("no starts");
        assert_eq!(e.code(), "schema");
        assert!(e.hint().unwrap_or_default().contains("start_ns"), "{e}");
        let opts = RequestOptions {
            start_ns: Some(vec![T0, T0 + 1, T0 + 2, T0 + 3]),
            ..RequestOptions::default()
        };
        let log = read_with(&two, &opts).expect("given starts");
        assert_eq!(log.info.format, "sglang");
        assert_eq!(log.table.request_id, vec!["0:0", "0:1", "1:0", "1:1"]);
        assert_eq!(log.table.end_ns[1], T0 + 1 + 500_000_000);
        let short = RequestOptions {
            start_ns: Some(vec![T0]),
            ..RequestOptions::default()
        };
        assert_eq!(
            read_with(&two, &short).expect_err("length").code(),
            "length_mismatch"
        );
        // A run cut short at the end of an appended file is dropped.
        let cut = format!("{run}\n{}", &run[..40]);
        let one = RequestOptions {
            start_ns: Some(vec![T0, T0]),
            ..RequestOptions::default()
        };
        let log = read_with(&cut, &one).expect("tail dropped");
        assert!(log.info.truncated_tail);
    }

    #[test]
    fn epoch_start_times_and_bad_values() {
        let run = RUN.replace(
            "5171.5, 5172.0, 5172.25",
            "1750000000, 1750000000.5, 1750000000.75",
        );
        let log = read_with(&run, &RequestOptions::default()).expect("epoch");
        assert_eq!(log.table.start_ns[1], T0 + 500_000_000);
        let mixed = RUN.replace("5171.5, 5172.0", "1750000000, 5172.0");
        let e = read_with(&mixed, &RequestOptions::default()).expect_err("mixed");
        assert_eq!(
            e.location().and_then(|l| l.column.clone()).as_deref(),
            Some("start_times[1]")
        );
        let neg = RUN.replace("[0.125, 0.125]", "[0.125, -0.125]");
        let e = read_with(
            &neg,
            &RequestOptions {
                anchor_ns: Some(T0),
                ..RequestOptions::default()
            },
        )
        .expect_err("negative itl");
        assert_eq!(
            e.location().and_then(|l| l.column.clone()).as_deref(),
            Some("itls[0][1]")
        );
        let short = RUN.replace("[3, 1, 0]", "[3, 1]");
        assert_eq!(
            read_with(&short, &RequestOptions::default())
                .expect_err("lengths")
                .code(),
            "schema"
        );
        let summary = r#"{"backend": "vllm", "completed": 2, "total_output_tokens": 5, "request_throughput": 1.0}"#;
        let e = read_with(summary, &RequestOptions::default()).expect_err("no details");
        assert!(
            e.hint().unwrap_or_default().contains("--save-detailed"),
            "{e}"
        );
        let e = read_with(&RUN[..100], &RequestOptions::default()).expect_err("cut");
        assert_eq!(e.code(), "bad_json");
        let p = write("requests", "fmt.json", RUN.as_bytes());
        let e = read_requests(
            &p,
            Some(RequestFormat::Aiperf),
            &RequestOptions::default(),
            &mut |_| Ok(()),
        )
        .expect_err("wrong format");
        assert_eq!(e.code(), "schema");
    }

    #[test]
    fn document_size_is_capped() {
        let opts = RequestOptions {
            max_document_bytes: 64,
            ..RequestOptions::default()
        };
        let e = read_with(RUN, &opts).expect_err("too big");
        assert_eq!(e.code(), "bad_json");
        assert!(e.reason().contains("max_document_bytes"), "{e}");
    }
}
