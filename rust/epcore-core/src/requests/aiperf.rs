//! NVIDIA AIPerf `profile_export.jsonl`: one record per request, epoch ns.
//!
//! ```json
//! {"metadata": {"x_request_id": "…", "request_start_ns": 1759813207532900363,
//!   "request_end_ns": 1759813207838764604, "benchmark_phase": "profiling", "was_cancelled": false},
//!  "metrics": {"input_sequence_length": {"value": 550, "unit": "tokens"},
//!   "time_to_first_token": {"value": 255.9, "unit": "ms"},
//!   "output_sequence_length": {"value": 9, "unit": "tokens"}}, "error": null}
//! ```
//!
//! - read line by line in constant memory (plus the table);
//! - only `benchmark_phase == "profiling"` is kept by default (others, e.g.
//!   `warmup`, are counted as skipped); a record without a phase is kept;
//! - `request_id` is `metadata.x_request_id`, else `session_num`;
//! - start and end are `request_start_ns` / `request_end_ns` (a cancelled
//!   record without an end uses `cancellation_time_ns`);
//! - first token = start + `time_to_first_token` in its `unit` (`ns`, `us`,
//!   `ms`, `s`), rounded to the ns from the exact decimal; none without it
//!   (non-streaming runs);
//! - tokens: `input_sequence_length` and `output_sequence_length` (else
//!   `output_token_count`); a failed record has only `error_isl`, and counts 0
//!   output tokens when it reports none;
//! - `ok` is false when `error` is set or `was_cancelled` is true;
//! - `token_source` is `unknown`: AIPerf counts tokens with its own tokenizer
//!   unless run with `--use-server-token-count`, and the record does not say which.
//!
//! A key repeated within one object is an error (AIPerf's own documentation
//! shows a record with `time_to_first_token` twice, 255.9 and 4.9 ms: which one
//! is meant cannot be known).

use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::read::source::Source;
use crate::read::OnChunk;
use crate::requests::json::{
    self, boolean, duration_ns, id_text, integer, object, tokens, Key, Obj, Text,
};
use crate::requests::table::{Field, Request, TableBuilder, TokenSource};
use crate::requests::{RequestInfo, RequestOptions};

const HINT: &str = "an AIPerf profile_export.jsonl record has metadata.request_start_ns, metadata.request_end_ns and metrics";

pub(crate) fn read(
    src: Source,
    opts: &RequestOptions,
    rows: &mut TableBuilder,
    info: &mut RequestInfo,
    on_chunk: OnChunk<'_>,
) -> Result<()> {
    json::for_each_line(src, opts, info, on_chunk, |t, o| record(t, &o, opts, rows))
}

/// A metric's `value` and `unit`.
fn metric<'a>(
    t: &Text<'a>,
    metrics: Option<&Obj<'a>>,
    name: &'static str,
    path: &'static str,
) -> Result<Option<(&'a RawValue, Option<&'a RawValue>)>> {
    let Some(m) = metrics else {
        return Ok(None);
    };
    let base = path.strip_suffix(".value").unwrap_or(path);
    let Some(raw) = m.get(t, name, Key::Name(base))? else {
        return Ok(None);
    };
    let o = object(t, raw, Key::Name(base))?;
    match o.get(t, "value", Key::Name(path))? {
        Some(v) => Ok(Some((v, o.get(t, "unit", Key::Name(path))?))),
        None => Ok(None),
    }
}

fn unit_scale(
    t: &Text<'_>,
    unit: Option<&RawValue>,
    value: &RawValue,
    key: &'static str,
) -> Result<i64> {
    let Some(u) = unit else {
        return Err(Error::BadValue {
            at: t.at(value, Key::Name(key)),
            value: value.get().to_string(),
            reason: "a time without a unit".into(),
            hint: "AIPerf metrics carry a unit (ms); epcore never guesses one".into(),
        });
    };
    let name = json::string(t, u, Key::Name(key))?;
    Ok(match name.as_str() {
        "ns" => 0,
        "us" | "µs" | "μs" => 3,
        "ms" => 6,
        "s" | "sec" => 9,
        _ => {
            return Err(Error::BadValue {
                at: t.at(u, Key::Name(key)),
                value: name,
                reason: "unknown time unit".into(),
                hint: "expected ns, us, ms or s".into(),
            })
        }
    })
}

fn record(
    t: &Text<'_>,
    o: &Obj<'_>,
    opts: &RequestOptions,
    rows: &mut TableBuilder,
) -> Result<Option<String>> {
    let meta_raw = o.need(t, "metadata", Key::Name("metadata"), HINT)?;
    let meta = object(t, meta_raw, Key::Name("metadata"))?;
    if let Some(want) = &opts.phase {
        if let Some(p) = meta.get(t, "benchmark_phase", Key::Name("metadata.benchmark_phase"))? {
            let phase = json::string(t, p, Key::Name("metadata.benchmark_phase"))?;
            if &phase != want {
                return Ok(Some(format!("benchmark_phase={phase}")));
            }
        }
    }
    let (id, id_raw) = match meta.get(t, "x_request_id", Key::Name("metadata.x_request_id"))? {
        Some(v) => (id_text(t, v, Key::Name("metadata.x_request_id"))?, v),
        None => {
            let v = meta.need(t, "session_num", Key::Name("metadata.x_request_id"), HINT)?;
            (id_text(t, v, Key::Name("metadata.session_num"))?, v)
        }
    };
    let start_raw = meta.need(
        t,
        "request_start_ns",
        Key::Name("metadata.request_start_ns"),
        HINT,
    )?;
    let start = integer(
        t,
        start_raw,
        Key::Name("metadata.request_start_ns"),
        "a time in ns",
    )?;
    let end_raw = match meta.get(t, "request_end_ns", Key::Name("metadata.request_end_ns"))? {
        Some(v) => v,
        None => match meta.get(
            t,
            "cancellation_time_ns",
            Key::Name("metadata.cancellation_time_ns"),
        )? {
            Some(v) => v,
            None => meta.need(
                t,
                "request_end_ns",
                Key::Name("metadata.request_end_ns"),
                HINT,
            )?,
        },
    };
    let end = integer(
        t,
        end_raw,
        Key::Name("metadata.request_end_ns"),
        "a time in ns",
    )?;
    let cancelled = match meta.get(t, "was_cancelled", Key::Name("metadata.was_cancelled"))? {
        Some(v) => boolean(t, v, Key::Name("metadata.was_cancelled"))?,
        None => false,
    };
    let failed = o.get(t, "error", Key::Name("error"))?.is_some();
    let ok = !cancelled && !failed;
    let metrics = match o.get(t, "metrics", Key::Name("metrics"))? {
        Some(v) => Some(object(t, v, Key::Name("metrics"))?),
        None => None,
    };
    let m = metrics.as_ref();
    let count = |names: &[(&'static str, &'static str)]| -> Result<Option<i64>> {
        for &(name, path) in names {
            if let Some((v, _)) = metric(t, m, name, path)? {
                return Ok(Some(tokens(t, v, Key::Name(path))?));
            }
        }
        Ok(None)
    };
    let need = |n: Option<i64>, path: &str| -> Result<i64> {
        match n {
            Some(n) => Ok(n),
            None if !ok => Ok(0),
            None => Err(Error::Schema {
                at: t.at(m.map_or(o.raw, |m| m.raw), Key::Name(path)),
                expected: format!("a value for '{path}'"),
                found: "none".into(),
                hint: HINT.into(),
            }),
        }
    };
    let input = need(
        count(&[
            (
                "input_sequence_length",
                "metrics.input_sequence_length.value",
            ),
            ("error_isl", "metrics.error_isl.value"),
        ])?,
        "metrics.input_sequence_length.value",
    )?;
    let output = need(
        count(&[
            (
                "output_sequence_length",
                "metrics.output_sequence_length.value",
            ),
            ("output_token_count", "metrics.output_token_count.value"),
        ])?,
        "metrics.output_sequence_length.value",
    )?;
    const TTFT: &str = "metrics.time_to_first_token.value";
    let (first, first_raw) = match metric(t, m, "time_to_first_token", TTFT)? {
        Some((v, unit)) => {
            let scale = unit_scale(t, unit, v, "metrics.time_to_first_token.unit")?;
            let d = duration_ns(t, v, Key::Name(TTFT), scale, "time to first token")?;
            (Some(start.saturating_add(d)), Some(v))
        }
        None => (None, None),
    };
    let request = Request {
        request_id: id,
        start_ns: start,
        first_token_ns: first,
        end_ns: end,
        input_tokens: input,
        output_tokens: output,
        model: None,
        ok,
        token_source: TokenSource::Unknown,
        line: t.line,
    };
    let place = |f: Field| match f {
        Field::Id => t.at(id_raw, Key::Name("metadata.x_request_id")),
        Field::Start => t.at(start_raw, Key::Name("metadata.request_start_ns")),
        Field::End => t.at(end_raw, Key::Name("metadata.request_end_ns")),
        Field::FirstToken => t.at(first_raw.unwrap_or(end_raw), Key::Name(TTFT)),
    };
    rows.push(request, &place)?;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::test_util::write;
    use crate::requests::{read_requests, RequestLog};

    const OK: &str = r#"{"metadata":{"session_num":45,"x_request_id":"r45","request_start_ns":1759813207532900363,"request_ack_ns":1759813207650730976,"request_end_ns":1759813207838764604,"benchmark_phase":"profiling","was_cancelled":false},"metrics":{"input_sequence_length":{"value":550,"unit":"tokens"},"time_to_first_token":{"value":255.88656799999998,"unit":"ms"},"output_sequence_length":{"value":9,"unit":"tokens"},"inter_chunk_latency":{"value":[4.9,5.3],"unit":"ms"}},"error":null}"#;
    const FAILED: &str = r#"{"metadata":{"session_num":80,"x_request_id":"r80","request_start_ns":1759879161119147826,"request_ack_ns":null,"request_end_ns":1759879161119772754,"benchmark_phase":"profiling","was_cancelled":true,"cancellation_time_ns":1759879161119772754},"metrics":{"error_isl":{"value":550,"unit":"tokens"}},"error":{"code":499,"type":"RequestCancellationError","message":"Request was cancelled after 0.000 seconds"}}"#;

    fn read(body: &str, opts: &RequestOptions) -> Result<RequestLog> {
        let p = write(
            "requests",
            &format!("a{}.jsonl", body.len()),
            body.as_bytes(),
        );
        read_requests(&p, None, opts, &mut |_| Ok(()))
    }

    #[test]
    fn documented_records() {
        let warm = OK
            .replace("\"profiling\"", "\"warmup\"")
            .replace("r45", "w1");
        let body = format!("{warm}\n{OK}\n\n{FAILED}\n");
        let log = read(&body, &RequestOptions::default()).expect("valid");
        let t = &log.table;
        assert_eq!(log.info.format, "aiperf");
        assert_eq!(t.request_id, vec!["r45", "r80"]);
        assert_eq!(
            t.first_token_ns[0],
            Some(1_759_813_207_532_900_363 + 255_886_568)
        );
        assert_eq!(
            (t.input_tokens.clone(), t.output_tokens.clone()),
            (vec![550, 550], vec![9, 0])
        );
        assert_eq!(t.ok, vec![true, false]);
        assert_eq!(t.first_token_ns[1], None);
        assert_eq!(t.line, vec![2, 4]);
        assert_eq!(
            log.info.skipped,
            vec![("benchmark_phase=warmup".to_string(), 1)]
        );
        let all = RequestOptions {
            phase: None,
            ..RequestOptions::default()
        };
        assert_eq!(read(&body, &all).expect("every phase").table.len(), 3);
        let only = read(&format!("{warm}\n"), &RequestOptions::default()).expect_err("all skipped");
        assert_eq!(only.code(), "schema");
    }

    #[test]
    fn bad_records_are_located() {
        let twice = OK.replace(
            r#""output_sequence_length""#,
            r#""time_to_first_token":{"value":4.9,"unit":"ms"},"output_sequence_length""#,
        );
        let e = read(&format!("{OK}\n{twice}\n"), &RequestOptions::default()).expect_err("dup key");
        assert_eq!(e.code(), "bad_json");
        assert_eq!(e.location().and_then(|l| l.line), Some(2));
        let neg = OK.replace(r#"{"value":9,"#, r#"{"value":-9,"#);
        let e = read(&neg, &RequestOptions::default()).expect_err("negative");
        assert_eq!(
            e.location().and_then(|l| l.column.clone()).as_deref(),
            Some("metrics.output_sequence_length.value")
        );
        let late = OK.replace("255.88656799999998", "9999");
        assert_eq!(
            read(&late, &RequestOptions::default())
                .expect_err("late")
                .code(),
            "invalid_window"
        );
        let unit = OK.replace(r#""unit":"ms""#, r#""unit":"fortnights""#);
        assert_eq!(
            read(&unit, &RequestOptions::default())
                .expect_err("unit")
                .value()
                .as_deref(),
            Some("fortnights")
        );
        let no_start = OK.replace(r#""request_start_ns":1759813207532900363,"#, "");
        assert_eq!(
            read(&no_start, &RequestOptions::default())
                .expect_err("missing")
                .code(),
            "schema"
        );
        let e = read(
            &format!("{OK}\n{{\"metadata\": oops}}\n"),
            &RequestOptions::default(),
        )
        .expect_err("json");
        assert_eq!(
            (e.code(), e.location().and_then(|l| l.line)),
            ("bad_json", Some(2))
        );
        let log = read(
            &format!("{OK}\n{}", &FAILED[..50]),
            &RequestOptions::default(),
        )
        .expect("cut tail");
        assert!(log.info.truncated_tail);
        let again =
            read(&format!("{OK}\n{OK}\n"), &RequestOptions::default()).expect("exact repeat");
        assert_eq!(again.info.n_duplicate_identical, 1);
        let e =
            read(&format!("{OK}\n[1, 2]\n"), &RequestOptions::default()).expect_err("array line");
        assert_eq!(e.code(), "schema");
    }
}
