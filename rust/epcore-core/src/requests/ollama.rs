//! Ollama `/api/generate` responses, one JSON object per line, as benchmark
//! harnesses save them (e.g. `quirence-llm-energy-bench/outputs.jsonl`).
//!
//! - times: `started_utc` / `ended_utc` (RFC 3339 with offset), written by the
//!   harness around the HTTP call. A bare Ollama response has neither: then
//!   `end = created_at` (the final chunk) and `start = end - total_duration_ns`.
//! - first token: `start + (t_first_token_s - t_start_s)` when the harness
//!   recorded those client-side monotonic readings, else `start + ttft_s`, else
//!   none. Ollama's own durations do *not* give it honestly: in the real file
//!   `load_duration_ns + prompt_eval_duration_ns` is 57.8 ms where the client
//!   saw its first token after 98.2 ms (queueing, HTTP and tokenization are in
//!   neither), so `start + load + prompt_eval` would place it ~40 ms early.
//!   The wall-clock `started_utc` and the monotonic `t_start_s` are two reads
//!   taken a moment apart (in the real file the wall span is 0.36 to 0.90 ms
//!   longer than the monotonic one), which bounds the error of this first token.
//! - tokens: `prompt_eval_count` (all prompt tokens, cached ones included; the
//!   harness's `prompt_eval_cached_count` says how many were cached) and
//!   `eval_count`; `token_source` is `usage` (the server's own count).
//! - `request_id` is the record's `request_id`, else its line number.
//! - `ok` is false when `error` is set or `http_status` is not 2xx. A record
//!   with `done: false` is a streaming chunk, not a request: skipped and counted.
//! - `model` is `model`.

use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::read::source::Source;
use crate::read::OnChunk;
use crate::requests::json::{
    self, boolean, duration_ns, id_text, integer, time_ns, tokens, Key, Obj, Text,
};
use crate::requests::table::{Field, Request, TableBuilder, TokenSource};
use crate::requests::timefmt::parse_rfc3339;
use crate::requests::{RequestInfo, RequestOptions};

const HINT: &str = "an Ollama record needs started_utc and ended_utc (or created_at and total_duration_ns), prompt_eval_count and eval_count";

pub(crate) fn read(
    src: Source,
    opts: &RequestOptions,
    rows: &mut TableBuilder,
    info: &mut RequestInfo,
    on_chunk: OnChunk<'_>,
) -> Result<()> {
    json::for_each_line(src, opts, info, on_chunk, |t, o| record(t, &o, rows))
}

fn datetime(t: &Text<'_>, raw: &RawValue, key: &'static str) -> Result<i64> {
    let s = json::string(t, raw, Key::Name(key))?;
    parse_rfc3339(s.as_bytes()).map_err(|e| Error::BadValue {
        at: t.at(raw, Key::Name(key)),
        value: s,
        reason: e.reason().into(),
        hint: "write date-times as RFC 3339 with Z or an offset: 2025-06-09T23:21:26.037+02:00"
            .into(),
    })
}

fn record(t: &Text<'_>, o: &Obj<'_>, rows: &mut TableBuilder) -> Result<Option<String>> {
    let get = |name: &'static str| o.get(t, name, Key::Name(name));
    if let Some(d) = get("done")? {
        if !boolean(t, d, Key::Name("done"))? {
            return Ok(Some("done=false (stream chunk)".into()));
        }
    }
    let (id, id_raw) = match get("request_id")? {
        Some(v) => (id_text(t, v, Key::Name("request_id"))?, v),
        None => (t.line.to_string(), o.raw),
    };
    let (start, end, start_raw, end_raw, harness) = match (get("started_utc")?, get("ended_utc")?) {
        (Some(s), Some(e)) => (
            datetime(t, s, "started_utc")?,
            datetime(t, e, "ended_utc")?,
            s,
            e,
            true,
        ),
        (None, None) => {
            let end_raw = o.need(t, "created_at", Key::Name("started_utc"), HINT)?;
            let total_raw = match get("total_duration_ns")? {
                Some(v) => v,
                None => o.need(t, "total_duration", Key::Name("total_duration"), HINT)?,
            };
            let end = datetime(t, end_raw, "created_at")?;
            let total = integer(
                t,
                total_raw,
                Key::Name("total_duration"),
                "a duration in ns",
            )?;
            (end.saturating_sub(total), end, total_raw, end_raw, false)
        }
        (Some(_), None) => return Err(missing(t, o, "ended_utc")),
        (None, Some(_)) => return Err(missing(t, o, "started_utc")),
    };
    let mut first_raw = None;
    let first = if !harness {
        None
    } else if let (Some(a), Some(b)) = (get("t_start_s")?, get("t_first_token_s")?) {
        let t0 = time_ns(
            t,
            a,
            Key::Name("t_start_s"),
            9,
            "a monotonic time in seconds",
        )?;
        let t1 = time_ns(
            t,
            b,
            Key::Name("t_first_token_s"),
            9,
            "a monotonic time in seconds",
        )?;
        first_raw = Some(b);
        Some(start.saturating_add(t1.saturating_sub(t0)))
    } else if let Some(v) = get("ttft_s")? {
        first_raw = Some(v);
        Some(start.saturating_add(duration_ns(
            t,
            v,
            Key::Name("ttft_s"),
            9,
            "time to first token",
        )?))
    } else {
        None
    };
    let failed = get("error")?.is_some();
    let http_ok = match get("http_status")? {
        Some(v) => (200..300).contains(&integer(t, v, Key::Name("http_status"), "an HTTP status")?),
        None => true,
    };
    let ok = !failed && http_ok;
    let count = |name: &'static str| -> Result<i64> {
        match get(name)? {
            Some(v) => tokens(t, v, Key::Name(name)),
            None if !ok => Ok(0),
            None => Err(Error::Schema {
                at: t.at(o.raw, Key::Name(name)),
                expected: format!("a value for '{name}'"),
                found: "none".into(),
                hint: "Ollama leaves the count out of some responses (a fully cached prompt, an old version): the token count is then unknown".into(),
            }),
        }
    };
    let model = match get("model")? {
        Some(m) => Some(json::string(t, m, Key::Name("model"))?),
        None => None,
    };
    let request = Request {
        request_id: id,
        start_ns: start,
        first_token_ns: first,
        end_ns: end,
        input_tokens: count("prompt_eval_count")?,
        output_tokens: count("eval_count")?,
        model,
        ok,
        token_source: TokenSource::Usage,
        line: t.line,
    };
    let place = |f: Field| match f {
        Field::Id => t.at(id_raw, Key::Name("request_id")),
        Field::Start => t.at(
            start_raw,
            Key::Name(if harness {
                "started_utc"
            } else {
                "total_duration_ns"
            }),
        ),
        Field::End => t.at(
            end_raw,
            Key::Name(if harness { "ended_utc" } else { "created_at" }),
        ),
        Field::FirstToken => t.at(first_raw.unwrap_or(end_raw), Key::Name("t_first_token_s")),
    };
    rows.push(request, &place)?;
    Ok(None)
}

fn missing(t: &Text<'_>, o: &Obj<'_>, name: &str) -> Error {
    Error::Schema {
        at: t.at(o.raw, Key::Name(name)),
        expected: format!("a value for '{name}'"),
        found: "none".into(),
        hint: HINT.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::test_util::write;
    use crate::requests::{read_requests, RequestLog, RequestOptions};

    const REC: &str = r#"{"done": true, "ended_utc": "2026-09-29T11:19:31.642518+00:00", "eval_count": 84, "http_status": 200, "load_duration_ns": 1021900, "model": "qwen3:4b", "prompt_eval_count": 280, "prompt_eval_duration_ns": 56825000, "request_id": "req-1", "started_utc": "2026-09-29T11:19:30.527891+00:00", "t_first_token_s": 5171.5158168, "t_start_s": 5171.4175998, "ttft_s": 0.09821699999974953}"#;

    fn read(body: &str) -> Result<RequestLog> {
        let p = write(
            "requests",
            &format!("o{}.jsonl", body.len()),
            body.as_bytes(),
        );
        read_requests(&p, None, &RequestOptions::default(), &mut |_| Ok(()))
    }

    #[test]
    fn harness_records() {
        let log = read(&format!("{REC}\n")).expect("valid");
        let t = &log.table;
        assert_eq!(log.info.format, "ollama");
        assert_eq!(t.start_ns, vec![1_790_680_770_527_891_000]);
        assert_eq!(
            t.first_token_ns,
            vec![Some(1_790_680_770_527_891_000 + 98_217_000)]
        );
        assert_eq!(t.end_ns, vec![1_790_680_771_642_518_000]);
        assert_eq!((t.input_tokens[0], t.output_tokens[0]), (280, 84));
        assert_eq!(t.token_source, vec![TokenSource::Usage]);
        assert_eq!(t.model[0].as_deref(), Some("qwen3:4b"));
    }

    #[test]
    fn bare_responses_chunks_and_errors() {
        let bare = r#"{"model":"llama3","created_at":"2023-08-04T19:22:45.499127Z","response":"","done":true,"total_duration":5043500667,"prompt_eval_count":26,"eval_count":290}"#;
        let chunk = r#"{"model":"llama3","created_at":"2023-08-04T19:22:45.1Z","response":"The","done":false}"#;
        let log = read(&format!("{chunk}\n{bare}\n")).expect("valid");
        let t = &log.table;
        assert_eq!(t.request_id, vec!["2"]);
        assert_eq!(t.end_ns[0] - t.start_ns[0], 5_043_500_667);
        assert_eq!(t.first_token_ns, vec![None]);
        assert_eq!(
            log.info.skipped,
            vec![("done=false (stream chunk)".to_string(), 1)]
        );
        let naive = REC.replace("+00:00\", \"eval_count", "\", \"eval_count");
        let e = read(&naive).expect_err("naive");
        assert_eq!(
            e.location().and_then(|l| l.column.clone()).as_deref(),
            Some("ended_utc")
        );
        let e =
            read(&REC.replace("\"eval_count\": 84", "\"eval_count\": 84.5")).expect_err("fraction");
        assert_eq!(e.value().as_deref(), Some("84.5"));
        let e = read(&REC.replace("\"prompt_eval_count\": 280, ", "")).expect_err("missing");
        assert_eq!(e.code(), "schema");
        let failed = REC
            .replace("\"http_status\": 200", "\"http_status\": 500")
            .replace("\"prompt_eval_count\": 280, ", "");
        let log = read(&failed).expect("a failed request");
        assert_eq!((log.table.ok[0], log.table.input_tokens[0]), (false, 0));
        let swapped = REC.replace("11:19:31.642518", "11:19:29.642518");
        assert_eq!(
            read(&swapped).expect_err("backwards").code(),
            "invalid_window"
        );
        let dup = format!(
            "{REC}\n{}\n",
            REC.replace("\"eval_count\": 84", "\"eval_count\": 85")
        );
        let e = read(&dup).expect_err("duplicate");
        assert_eq!(
            (e.code(), e.location().and_then(|l| l.line)),
            ("duplicate_request_id", Some(2))
        );
    }
}
