//! The canonical requests table (FORMATS.md §17) and the checks every row passes.
//!
//! Every reader builds rows through a [`TableBuilder`], so the rules hold for
//! all formats alike:
//!
//! - token counts are non-negative integers (the readers refuse anything else);
//! - start and end lie between 2000-01-01 and 2100-01-01 UTC: a time outside is
//!   a unit or clock mistake (milliseconds read as seconds, relative seconds),
//!   never a real request;
//! - `start <= end`, and a first token lies in `[start, end]`;
//! - a request id seen twice is an error, unless the second row repeats the
//!   first exactly (every column but the line): then it is dropped and counted,
//!   since re-running an exporter over the same records must not double the tokens.

use std::collections::HashMap;

use crate::error::{Error, Location, Result};

/// 2000-01-01T00:00:00Z in ns: no request log predates it.
pub const EPOCH_2000_NS: i64 = 946_684_800_000_000_000;
/// 2100-01-01T00:00:00Z in ns.
pub const EPOCH_2100_NS: i64 = 4_102_444_800_000_000_000;

/// Where a row's output token count came from (FORMATS.md §11: counts differ by source).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TokenSource {
    /// The server's own count (`usage.completion_tokens`, Ollama `eval_count`).
    Usage,
    /// Streamed chunks counted by the client.
    StreamChunks,
    /// The text re-tokenized by the client.
    Retokenized,
    /// The file does not say.
    #[default]
    Unknown,
}

impl TokenSource {
    pub const ALL: [TokenSource; 4] = [
        TokenSource::Usage,
        TokenSource::StreamChunks,
        TokenSource::Retokenized,
        TokenSource::Unknown,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            TokenSource::Usage => "usage",
            TokenSource::StreamChunks => "stream_chunks",
            TokenSource::Retokenized => "retokenized",
            TokenSource::Unknown => "unknown",
        }
    }

    /// The source named `s`, as [`name`](Self::name) spells it.
    ///
    /// ```
    /// use epcore_core::requests::TokenSource;
    /// assert_eq!(TokenSource::parse("usage")?, TokenSource::Usage);
    /// assert!(TokenSource::parse("guess").is_err());
    /// # Ok::<(), epcore_core::Error>(())
    /// ```
    pub fn parse(s: &str) -> Result<TokenSource> {
        TokenSource::ALL
            .iter()
            .copied()
            .find(|t| t.name() == s)
            .ok_or_else(|| Error::InvalidArgument {
                name: "token_source".into(),
                value: s.into(),
                reason: "expected one of: usage, stream_chunks, retokenized, unknown".into(),
            })
    }
}

/// One request, as a reader found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub request_id: String,
    pub start_ns: i64,
    pub first_token_ns: Option<i64>,
    pub end_ns: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub model: Option<String>,
    pub ok: bool,
    pub token_source: TokenSource,
    /// 1-based line of the record in the (decompressed) file.
    pub line: u64,
}

/// Which value of a row an error is about, so a reader can name its own column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Id,
    Start,
    FirstToken,
    End,
}

/// The requests of one file, column by column.
///
/// ```
/// use epcore_core::requests::{read_requests, RequestOptions};
/// let dir = std::env::temp_dir().join(format!("epcore-doc-table-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let p = dir.join("r.csv");
/// std::fs::write(&p, "request_id,start_ns,end_ns,input_tokens,output_tokens,ok\n\
///                     a,1750000000000000000,1750000000000000009,10,2,false\n")?;
/// let t = read_requests(&p, None, &RequestOptions::default(), &mut |_| Ok(()))?.table;
/// assert_eq!(t.len(), 1);
/// let r = t.row(0);
/// assert_eq!((r.end_ns - r.start_ns, r.ok, r.first_token_ns), (9, false, None));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestTable {
    pub request_id: Vec<String>,
    pub start_ns: Vec<i64>,
    pub first_token_ns: Vec<Option<i64>>,
    pub end_ns: Vec<i64>,
    pub input_tokens: Vec<i64>,
    pub output_tokens: Vec<i64>,
    pub model: Vec<Option<String>>,
    pub ok: Vec<bool>,
    pub token_source: Vec<TokenSource>,
    pub line: Vec<u64>,
}

impl RequestTable {
    pub fn len(&self) -> usize {
        self.request_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.request_id.is_empty()
    }

    /// Row `i` as a [`Request`].
    pub fn row(&self, i: usize) -> Request {
        Request {
            request_id: self.request_id[i].clone(),
            start_ns: self.start_ns[i],
            first_token_ns: self.first_token_ns[i],
            end_ns: self.end_ns[i],
            input_tokens: self.input_tokens[i],
            output_tokens: self.output_tokens[i],
            model: self.model[i].clone(),
            ok: self.ok[i],
            token_source: self.token_source[i],
            line: self.line[i],
        }
    }

    fn push(&mut self, r: Request) {
        self.request_id.push(r.request_id);
        self.start_ns.push(r.start_ns);
        self.first_token_ns.push(r.first_token_ns);
        self.end_ns.push(r.end_ns);
        self.input_tokens.push(r.input_tokens);
        self.output_tokens.push(r.output_tokens);
        self.model.push(r.model);
        self.ok.push(r.ok);
        self.token_source.push(r.token_source);
        self.line.push(r.line);
    }

    fn same_except_line(&self, i: usize, r: &Request) -> bool {
        self.start_ns[i] == r.start_ns
            && self.first_token_ns[i] == r.first_token_ns
            && self.end_ns[i] == r.end_ns
            && self.input_tokens[i] == r.input_tokens
            && self.output_tokens[i] == r.output_tokens
            && self.model[i] == r.model
            && self.ok[i] == r.ok
            && self.token_source[i] == r.token_source
    }
}

/// Collects rows, checking each; see the module docs for the rules.
#[derive(Debug, Default)]
pub(crate) struct TableBuilder {
    table: RequestTable,
    seen: HashMap<String, usize>,
    /// Exact repeats dropped, and the line of the first one.
    pub n_duplicate_identical: u64,
    pub first_duplicate_line: Option<u64>,
    /// A user override of every row's token source.
    pub token_source: Option<TokenSource>,
}

impl TableBuilder {
    pub fn new(token_source: Option<TokenSource>) -> Self {
        TableBuilder {
            token_source,
            ..TableBuilder::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Check `r` and add it; `at(field)` says where each of its values sits in the file.
    pub fn push(&mut self, mut r: Request, at: &dyn Fn(Field) -> Location) -> Result<()> {
        check_times(&r, at)?;
        if let Some(t) = self.token_source {
            r.token_source = t;
        }
        if let Some(&i) = self.seen.get(&r.request_id) {
            if self.table.same_except_line(i, &r) {
                self.n_duplicate_identical += 1;
                self.first_duplicate_line.get_or_insert(r.line);
                return Ok(());
            }
            return Err(Error::DuplicateRequestId {
                at: at(Field::Id),
                value: r.request_id,
                first_line: self.table.line[i],
            });
        }
        self.seen.insert(r.request_id.clone(), self.table.len());
        self.table.push(r);
        Ok(())
    }

    pub fn finish(self) -> RequestTable {
        self.table
    }
}

/// The window rules of one row.
pub(crate) fn check_times(r: &Request, at: &dyn Fn(Field) -> Location) -> Result<()> {
    for (field, t) in [(Field::Start, r.start_ns), (Field::End, r.end_ns)] {
        if !(EPOCH_2000_NS..EPOCH_2100_NS).contains(&t) {
            return Err(Error::BadValue {
                at: at(field),
                value: t.to_string(),
                reason: format!(
                    "time {t} ns since 1970 is not between 2000 and 2100: not an epoch time in the declared unit"
                ),
                hint: "request times are UTC since 1970-01-01: seconds in *_time columns, nanoseconds in *_ns; relative times need anchor_ns=".into(),
            });
        }
    }
    if r.end_ns < r.start_ns {
        return Err(Error::InvalidRequestWindow {
            at: at(Field::End),
            value: format!("({}, {})", r.start_ns, r.end_ns),
            reason: format!(
                "request '{}' ends before it starts ({} ns < {} ns)",
                crate::error::escape_value(&r.request_id),
                r.end_ns,
                r.start_ns
            ),
        });
    }
    if let Some(f) = r.first_token_ns {
        if f < r.start_ns || f > r.end_ns {
            return Err(Error::InvalidRequestWindow {
                at: at(Field::FirstToken),
                value: f.to_string(),
                reason: format!(
                    "request '{}' has its first token at {f} ns, outside [{}, {}]",
                    crate::error::escape_value(&r.request_id),
                    r.start_ns,
                    r.end_ns
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_750_000_000_000_000_000;

    fn req(id: &str, start: i64, first: Option<i64>, end: i64, line: u64) -> Request {
        Request {
            request_id: id.into(),
            start_ns: start,
            first_token_ns: first,
            end_ns: end,
            input_tokens: 10,
            output_tokens: 5,
            model: None,
            ok: true,
            token_source: TokenSource::Unknown,
            line,
        }
    }

    fn here(line: u64) -> impl Fn(Field) -> Location {
        move |_| Location {
            line: Some(line),
            ..Location::default()
        }
    }

    #[test]
    fn windows_are_checked() {
        let mut b = TableBuilder::new(None);
        b.push(req("a", T0, Some(T0 + 1), T0 + 2, 2), &here(2))
            .expect("valid row");
        let e = b
            .push(req("b", T0, None, T0 - 1, 3), &here(3))
            .expect_err("end before start");
        assert_eq!(e.code(), "invalid_window");
        assert_eq!(e.location().and_then(|l| l.line), Some(3));
        let e = b
            .push(req("c", T0, Some(T0 + 5), T0 + 2, 4), &here(4))
            .expect_err("first token after end");
        assert_eq!(e.code(), "invalid_window");
        let e = b
            .push(req("d", 1_000, None, 2_000, 5), &here(5))
            .expect_err("1970");
        assert_eq!(e.code(), "bad_value");
    }

    #[test]
    fn exact_repeats_are_dropped_and_others_refused() {
        let mut b = TableBuilder::new(Some(TokenSource::Usage));
        b.push(req("a", T0, None, T0 + 2, 2), &here(2))
            .expect("valid row");
        b.push(req("a", T0, None, T0 + 2, 7), &here(7))
            .expect("an exact repeat");
        assert_eq!(b.n_duplicate_identical, 1);
        assert_eq!(b.first_duplicate_line, Some(7));
        let e = b
            .push(req("a", T0, None, T0 + 3, 9), &here(9))
            .expect_err("a conflicting repeat");
        assert_eq!(e.code(), "duplicate_request_id");
        assert!(e.to_string().contains("first on line 2"), "{e}");
        let t = b.finish();
        assert_eq!(t.len(), 1);
        assert_eq!(t.token_source[0], TokenSource::Usage);
    }
}
