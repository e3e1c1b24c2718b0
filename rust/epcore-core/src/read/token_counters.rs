//! Serving-engine token counters from Prometheus scrapes (text exposition)
//! or query results (JSON): `vllm:prompt_tokens_total`,
//! `vllm:generation_tokens_total` and the `sglang:` counters of the same
//! names, as canonical `TokenCounterSample` rows (FORMATS.md §17), with the
//! tokens each model processed over the file.
//!
//! - **Advance.** vLLM counts tokens every engine iteration (`per_iteration`);
//!   SGLang counts a request's tokens when it finishes (`on_completion`), so
//!   an SGLang window must be at least a request long to be meaningful.
//! - **Series.** One series per label set: `model_name` (or `model`) names the
//!   model; `instance`, followed by any other labels (`engine="0"`, `job`),
//!   names the instance. A row holds a series' two counters at one time; a
//!   counter without a sample at that time is `NaN` there (absent, not zero).
//! - **Totals** follow Prometheus `increase` without extrapolation: the sum of
//!   differences between consecutive samples of each series, a decrease
//!   counting as a restart from zero (the new value is added). A
//!   `*_created` sample (prometheus_client's start time) that changes also
//!   marks a restart, even when the counter regrew past its old value. Tokens
//!   counted after the last sample before a restart are lost: totals across a
//!   restart are lower bounds (`lower_bound`). A series with fewer than two
//!   samples has no increase (not zero); a model with none has `None`.
//! - **Values** must be whole, non-negative numbers (`27453.0` is fine);
//!   `NaN` and `±Inf` are missing samples, counted in `skipped`. Times follow
//!   the text and JSON readers (`# scrape_time` lines for untimed scrapes).
//! - **Memory.** The samples are kept (one per series and scrape: a day of
//!   15 s scrapes of one engine is ~6,000 rows); the file is still streamed.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::error::{Error, Location, Result};
use crate::read::format::{self, Format};
use crate::read::prometheus_json::{self, SeriesHandler};
use crate::read::prometheus_text::{
    cut_tail, kept_tail, label, resolve_time, sample_labels, sample_value, Labels, Scanned, Scanner,
};
use crate::read::source::{self, Progress, Source};
use crate::read::{FileInfo, OnChunk, ReadConfig};

/// When a counter advances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advance {
    /// Every engine iteration (vLLM): tokens are counted as they are produced.
    PerIteration,
    /// When a request completes (SGLang): all of its tokens at once.
    OnCompletion,
}

impl Advance {
    pub fn name(&self) -> &'static str {
        match self {
            Advance::PerIteration => "per_iteration",
            Advance::OnCompletion => "on_completion",
        }
    }
}

/// One series of token counters.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenSeries {
    pub model: String,
    pub instance: String,
    pub advance: Advance,
}

/// The increase of one counter of one model over the file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CounterTotal {
    /// Tokens counted between the first and last samples; `None` when no
    /// series had two samples.
    pub tokens: Option<f64>,
    /// Samples used (missing ones excluded).
    pub n_samples: u64,
    pub n_resets: u64,
    /// Series of this model with fewer than two samples of this counter.
    pub n_series_short: u64,
}

/// Tokens a model processed over the file.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelTotals {
    pub model: String,
    pub advance: Advance,
    pub n_series: u64,
    pub prompt: CounterTotal,
    pub generation: CounterTotal,
    pub first_t_ns: Option<i64>,
    pub last_t_ns: Option<i64>,
    /// A restart lost tokens, or a series could not be differenced: the totals
    /// are lower bounds.
    pub lower_bound: bool,
}

/// Token counter samples of a file, as canonical rows sorted by time (then series).
#[derive(Debug, Clone)]
pub struct TokenCounters {
    pub format: Format,
    pub series: Vec<TokenSeries>,
    /// Row → index into `series`.
    pub series_index: Vec<u32>,
    pub t_ns: Vec<i64>,
    /// `NaN` where the series had no sample of this counter at this time.
    pub prompt_tokens_total: Vec<f64>,
    pub generation_tokens_total: Vec<f64>,
    /// Source line of the row's first sample.
    pub line: Vec<u64>,
    /// Per model, in order of first appearance.
    pub totals: Vec<ModelTotals>,
    pub info: FileInfo,
}

/// Which counter a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Prompt = 0,
    Generation = 1,
    PromptCreated = 2,
    GenerationCreated = 3,
}

/// The engine and counter a metric name stands for.
fn token_metric(name: &str) -> Option<(Advance, Kind)> {
    let (advance, rest) = if let Some(r) = name.strip_prefix("vllm:") {
        (Advance::PerIteration, r)
    } else if let Some(r) = name.strip_prefix("sglang:") {
        (Advance::OnCompletion, r)
    } else {
        return None;
    };
    let kind = match rest {
        "prompt_tokens_total" => Kind::Prompt,
        "generation_tokens_total" => Kind::Generation,
        "prompt_tokens_created" => Kind::PromptCreated,
        "generation_tokens_created" => Kind::GenerationCreated,
        _ => return None,
    };
    Some((advance, kind))
}

#[derive(Debug, Clone, Copy)]
struct Point {
    t_ns: i64,
    kind: Kind,
    value: f64,
    line: u64,
}

/// Everything read, before rows and totals are assembled.
#[derive(Default)]
struct Collected {
    series: Vec<TokenSeries>,
    index: HashMap<(String, String, u8), usize>,
    points: Vec<Vec<Point>>,
    /// Metric names seen that were not token counters (for the error when none were).
    other_names: Vec<String>,
    nameless: bool,
}

impl Collected {
    fn series_of(&mut self, labels: &Labels, advance: Advance) -> usize {
        let model = label(labels, "model_name")
            .or_else(|| label(labels, "model"))
            .unwrap_or_default()
            .to_string();
        let mut instance = label(labels, "instance").unwrap_or_default().to_string();
        let mut rest: Vec<&(String, String)> = labels
            .iter()
            .filter(|(k, _)| {
                !matches!(k.as_str(), "__name__" | "model_name" | "model" | "instance")
            })
            .collect();
        if !rest.is_empty() {
            rest.sort();
            let extra: Vec<String> = rest.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
            instance.push_str(&format!("{{{}}}", extra.join(",")));
        }
        let key = (model, instance, advance as u8);
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let i = self.series.len();
        self.series.push(TokenSeries {
            model: key.0.clone(),
            instance: key.1.clone(),
            advance,
        });
        self.points.push(Vec::new());
        self.index.insert(key, i);
        i
    }

    fn note_other(&mut self, name: &str) {
        if self.other_names.len() < 12 && !self.other_names.iter().any(|n| n == name) {
            self.other_names.push(name.to_string());
        }
    }
}

/// Read the token counters of a Prometheus text or JSON file; `format=None` sniffs it.
pub fn read_token_counters(
    path: &Path,
    format: Option<Format>,
    cfg: &ReadConfig,
    on_chunk: OnChunk<'_>,
) -> Result<TokenCounters> {
    read_token_counters_from(source::open_text(path, &cfg.limits)?, format, cfg, on_chunk)
}

/// [`read_token_counters`] of an opened source (a file, or bytes through
/// [`source::open_bytes`]).
pub fn read_token_counters_from(
    src: source::Source,
    format: Option<Format>,
    cfg: &ReadConfig,
    on_chunk: OnChunk<'_>,
) -> Result<TokenCounters> {
    let format = match format {
        Some(f @ (Format::PrometheusText | Format::PrometheusJson)) => f,
        Some(other) => {
            return Err(Error::InvalidArgument {
                name: "format".into(),
                value: other.name().into(),
                reason: "token counters are read from 'prometheus' or 'prometheus-json' files".into(),
            })
        }
        None => match format::sniff(&src.head) {
            Some(f @ (Format::PrometheusText | Format::PrometheusJson)) => f,
            _ => {
                return Err(Error::UnrecognizedFormat {
                    at: Location {
                        path: Some(src.path.clone()),
                        line: Some(1),
                        ..Location::default()
                    },
                    reason: "neither a Prometheus text scrape nor a Prometheus query result".into(),
                    hint: "token counters come from vLLM/SGLang /metrics scrapes or Prometheus query JSON; name the format ('prometheus' or 'prometheus-json') if it was guessed wrong".into(),
                })
            }
        },
    };
    if src.head.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::EmptyInput {
            at: Location {
                path: Some(src.path.clone()),
                ..Location::default()
            },
        });
    }
    let mut info = FileInfo::of(&src);
    info.time_column = "timestamp".into();
    info.value_column = "prompt_tokens_total,generation_tokens_total".into();
    let mut c = Collected::default();
    match format {
        Format::PrometheusText => read_text(src, cfg, &mut info, &mut c, on_chunk)?,
        _ => read_json(src, cfg, &mut info, &mut c, on_chunk)?,
    }
    assemble(format, c, info)
}

fn read_text(
    src: Source,
    cfg: &ReadConfig,
    info: &mut FileInfo,
    c: &mut Collected,
    on_chunk: OnChunk<'_>,
) -> Result<()> {
    let mut scanner = Scanner::new(src, cfg, None);
    let path = scanner.path().to_string();
    let others = std::cell::RefCell::new(Vec::<String>::new());
    let want = |name: &str| {
        let hit = token_metric(name).is_some();
        if !hit {
            let mut o = others.borrow_mut();
            if o.len() < 12 && !o.iter().any(|n| n == name) {
                o.push(name.to_string());
            }
        }
        hit
    };
    let mut cache: HashMap<Vec<u8>, Labels> = HashMap::new();
    let mut last: HashMap<(usize, u8), f64> = HashMap::new();
    let mut f = |info: &mut FileInfo, s: Scanned<'_>| -> Result<()> {
        let Some((advance, kind)) = token_metric(&s.name) else {
            return Ok(());
        };
        let labels = match cache.get(s.sample.labels) {
            Some(l) => l.clone(),
            None => match sample_labels(&s) {
                Ok(l) => {
                    cache.insert(s.sample.labels.to_vec(), l.clone());
                    l
                }
                Err(_) if !s.terminated => {
                    cut_tail(info, s.number);
                    return Ok(());
                }
                Err(e) => return Err(e.into_error(&path, &s)),
            },
        };
        let parsed = resolve_time(&s, &path)?.and_then(|t| sample_value(&s).map(|v| (t, v)));
        let (t, v) = match parsed {
            Ok(tv) => tv,
            Err(_) if !s.terminated => {
                cut_tail(info, s.number);
                return Ok(());
            }
            Err(e) => return Err(e.into_error(&path, &s)),
        };
        let i = c.series_of(&labels, advance);
        if !s.terminated {
            let prev = last.get(&(i, kind as u8)).copied().unwrap_or(f64::NAN);
            if v < prev && matches!(kind, Kind::Prompt | Kind::Generation) {
                cut_tail(info, s.number);
                return Ok(());
            }
            kept_tail(info, s.number);
        }
        let at = || Location {
            path: Some(path.clone()),
            line: Some(s.number),
            column: Some(s.name.to_string()),
            byte_offset: Some(s.offset + s.sample.value_at as u64),
            ..Location::default()
        };
        if let Some(v) = checked(v, kind, at, info)? {
            last.insert((i, kind as u8), v);
            c.points[i].push(Point {
                t_ns: t,
                kind,
                value: v,
                line: s.number,
            });
        }
        Ok(())
    };
    scanner.scan(info, on_chunk, &want, &mut f)?;
    for n in others.into_inner() {
        c.note_other(&n);
    }
    Ok(())
}

/// A counter value as read: `None` for a missing one (counted), an error for
/// a negative or fractional token count.
fn checked(
    v: f64,
    kind: Kind,
    at: impl Fn() -> Location,
    info: &mut FileInfo,
) -> Result<Option<f64>> {
    if !v.is_finite() {
        info.skip("missing values (NaN or Inf)");
        return Ok(None);
    }
    // Above 2^53 whole numbers are no longer exact in f64: no real counter gets there.
    if matches!(kind, Kind::Prompt | Kind::Generation)
        && (v < 0.0 || v.fract() != 0.0 || v > 9_007_199_254_740_992.0)
    {
        return Err(Error::BadValue {
            at: at(),
            value: v.to_string(),
            reason: "a token counter must be a whole number from 0 to 2^53".into(),
            hint: "read the raw counters (vllm:generation_tokens_total), not rate() or increase() of them".into(),
        });
    }
    Ok(Some(v))
}

struct TokenHandler<'a> {
    c: &'a mut Collected,
    info: &'a mut FileInfo,
    on_chunk: OnChunk<'a>,
    progress: Progress,
    reported: u64,
    /// Handle → (series, counter).
    handles: Vec<(usize, Kind)>,
}

impl SeriesHandler for TokenHandler<'_> {
    fn series(&mut self, labels: &Labels, _at: &Location) -> Result<Option<usize>> {
        let Some(name) = label(labels, "__name__") else {
            self.c.nameless = true;
            return Ok(None);
        };
        let Some((advance, kind)) = token_metric(name) else {
            let name = name.to_string();
            self.c.note_other(&name);
            return Ok(None);
        };
        let i = self.c.series_of(labels, advance);
        self.handles.push((i, kind));
        Ok(Some(self.handles.len() - 1))
    }

    fn point(&mut self, handle: usize, t_ns: i64, value: f64, line: u64) -> Result<()> {
        let Some(&(i, kind)) = self.handles.get(handle) else {
            return Ok(());
        };
        let path = self.info.path.clone();
        let at = || Location {
            path: Some(path.clone()),
            line: Some(line),
            column: Some(format!("{kind:?}")),
            ..Location::default()
        };
        if let Some(v) = checked(value, kind, at, self.info)? {
            self.c.points[i].push(Point {
                t_ns,
                kind,
                value: v,
                line,
            });
        }
        Ok(())
    }

    fn skipped(&mut self, why: &str) {
        self.info.skip(why);
    }

    fn tick(&mut self) -> Result<()> {
        self.progress.report(&mut self.reported, self.on_chunk)?;
        Ok(())
    }
}

fn read_json(
    src: Source,
    cfg: &ReadConfig,
    info: &mut FileInfo,
    c: &mut Collected,
    on_chunk: OnChunk<'_>,
) -> Result<()> {
    let path = src.path.clone();
    let progress = src.progress();
    on_chunk(progress.get())?;
    let mut h = TokenHandler {
        c,
        info,
        on_chunk,
        progress: progress.clone(),
        reported: u64::MAX,
        handles: Vec::new(),
    };
    let summary = prometheus_json::walk(
        src.reader,
        &path,
        prometheus_json::document_cap(cfg),
        &mut h,
    )?;
    (h.on_chunk)(progress.get())?;
    h.info.warnings.extend(summary.warnings);
    Ok(())
}

/// Check order within each counter, build the rows and the totals.
fn assemble(format: Format, c: Collected, info: FileInfo) -> Result<TokenCounters> {
    let path = info.path.clone();
    let n_points: usize = c.points.iter().map(Vec::len).sum();
    if c.series.is_empty() || n_points == 0 {
        return Err(Error::Schema {
            at: Location {
                path: Some(path),
                ..Location::default()
            },
            expected: "vllm: or sglang: prompt_tokens_total / generation_tokens_total samples".into(),
            found: if c.nameless && c.other_names.is_empty() {
                "series without __name__ (the result of an expression such as sum(...) or rate(...))".into()
            } else if c.other_names.is_empty() {
                "no token counter samples".into()
            } else {
                format!("metrics [{}]", c.other_names.join(", "))
            },
            hint: "scrape the engine's /metrics, or query the raw counters: {__name__=~\"vllm:(prompt|generation)_tokens_total\"}".into(),
        });
    }
    let mut rows: Vec<(i64, u32, f64, f64, u64)> = Vec::new();
    let mut per_series: Vec<[CounterTotal; 2]> = Vec::with_capacity(c.series.len());
    let mut spans: Vec<Option<(i64, i64)>> = Vec::with_capacity(c.series.len());
    for (i, pts) in c.points.iter().enumerate() {
        let mut by_kind: [Vec<Point>; 4] = Default::default();
        for p in pts {
            let seq = &mut by_kind[p.kind as usize];
            if let Some(prev) = seq.last() {
                if p.t_ns < prev.t_ns {
                    return Err(Error::UnsortedTimestamps {
                        at: Location {
                            path: Some(path.clone()),
                            line: Some(p.line),
                            column: Some("timestamp".into()),
                            ..Location::default()
                        },
                        previous_ns: prev.t_ns,
                        value_ns: p.t_ns,
                    });
                }
                if p.t_ns == prev.t_ns {
                    if p.value == prev.value {
                        continue;
                    }
                    return Err(Error::ConflictingDuplicate {
                        at: Location {
                            path: Some(path.clone()),
                            line: Some(p.line),
                            column: Some("timestamp".into()),
                            ..Location::default()
                        },
                        t_ns: p.t_ns,
                        first: prev.value,
                        second: p.value,
                    });
                }
            }
            seq.push(*p);
        }
        let mut at_time: BTreeMap<i64, (f64, f64, u64)> = BTreeMap::new();
        for (k, seq) in by_kind[..2].iter().enumerate() {
            for p in seq {
                let r = at_time
                    .entry(p.t_ns)
                    .or_insert((f64::NAN, f64::NAN, p.line));
                if k == 0 {
                    r.0 = p.value;
                } else {
                    r.1 = p.value;
                }
                r.2 = r.2.min(p.line);
            }
        }
        spans.push(match (at_time.keys().next(), at_time.keys().next_back()) {
            (Some(&a), Some(&b)) => Some((a, b)),
            _ => None,
        });
        for (t, (p, g, line)) in at_time {
            rows.push((t, i as u32, p, g, line));
        }
        per_series.push([
            increase(&by_kind[0], &by_kind[2]),
            increase(&by_kind[1], &by_kind[3]),
        ]);
    }
    rows.sort_by_key(|r| (r.0, r.1));
    let mut totals: Vec<ModelTotals> = Vec::new();
    for (i, s) in c.series.iter().enumerate() {
        let pos = match totals.iter().position(|m| m.model == s.model) {
            Some(p) => p,
            None => {
                totals.push(ModelTotals {
                    model: s.model.clone(),
                    advance: s.advance,
                    n_series: 0,
                    prompt: CounterTotal::default(),
                    generation: CounterTotal::default(),
                    first_t_ns: None,
                    last_t_ns: None,
                    lower_bound: false,
                });
                totals.len() - 1
            }
        };
        let m = &mut totals[pos];
        if m.advance != s.advance {
            return Err(Error::Schema {
                at: Location {
                    path: Some(path.clone()),
                    ..Location::default()
                },
                expected: "one engine per model name".into(),
                found: format!("model '{}' with both vllm: and sglang: counters", s.model),
                hint: "vLLM and SGLang advance their counters differently; read each engine's file on its own".into(),
            });
        }
        m.n_series += 1;
        for (total, part) in [&mut m.prompt, &mut m.generation]
            .into_iter()
            .zip(&per_series[i])
        {
            total.tokens = match (total.tokens, part.tokens) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
            total.n_samples += part.n_samples;
            total.n_resets += part.n_resets;
            total.n_series_short += part.n_series_short;
        }
        if let Some((a, b)) = spans[i] {
            m.first_t_ns = Some(m.first_t_ns.map_or(a, |x| x.min(a)));
            m.last_t_ns = Some(m.last_t_ns.map_or(b, |x| x.max(b)));
        }
    }
    for m in &mut totals {
        m.lower_bound = m.prompt.n_resets + m.generation.n_resets > 0
            || m.prompt.n_series_short + m.generation.n_series_short > 0;
    }
    let mut out = TokenCounters {
        format,
        series: c.series,
        series_index: Vec::with_capacity(rows.len()),
        t_ns: Vec::with_capacity(rows.len()),
        prompt_tokens_total: Vec::with_capacity(rows.len()),
        generation_tokens_total: Vec::with_capacity(rows.len()),
        line: Vec::with_capacity(rows.len()),
        totals,
        info,
    };
    for (t, i, p, g, line) in rows {
        out.t_ns.push(t);
        out.series_index.push(i);
        out.prompt_tokens_total.push(p);
        out.generation_tokens_total.push(g);
        out.line.push(line);
    }
    Ok(out)
}

/// Reset-aware increase of one counter (Prometheus `increase` without
/// extrapolation); `created` holds its `*_created` samples, if any.
fn increase(values: &[Point], created: &[Point]) -> CounterTotal {
    let created_at: HashMap<i64, f64> = created.iter().map(|p| (p.t_ns, p.value)).collect();
    let mut out = CounterTotal {
        n_samples: values.len() as u64,
        ..CounterTotal::default()
    };
    if values.len() < 2 {
        out.n_series_short = 1;
        return out;
    }
    // Integer-valued f64 below 2^53 add exactly; no compensation is needed.
    let mut sum = 0.0;
    for w in values.windows(2) {
        let (a, b) = (w[0], w[1]);
        let restarted = b.value < a.value
            || matches!(
                (created_at.get(&a.t_ns), created_at.get(&b.t_ns)),
                (Some(x), Some(y)) if x != y
            );
        if restarted {
            out.n_resets += 1;
            sum += b.value;
        } else {
            sum += b.value - a.value;
        }
    }
    out.tokens = Some(sum);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::test_util::{cfg, write};

    fn read(name: &str, body: &str, chunk: usize) -> Result<TokenCounters> {
        let p = write("tokens-test", name, body.as_bytes());
        read_token_counters(&p, None, &cfg(chunk), &mut |_| Ok(()))
    }

    fn scrape(t: &str, p: f64, g: f64, created: &str) -> String {
        format!(
            "# scrape_time {t}\n\
# HELP vllm:prompt_tokens_total Number of prefill tokens processed.\n\
# TYPE vllm:prompt_tokens_total counter\n\
vllm:prompt_tokens_total{{model_name=\"meta-llama/Llama-3.1-8B-Instruct\"}} {p:e}\n\
vllm:prompt_tokens_created{{model_name=\"meta-llama/Llama-3.1-8B-Instruct\"}} {created}\n\
vllm:generation_tokens_total{{model_name=\"meta-llama/Llama-3.1-8B-Instruct\"}} {g:.1}\n\
vllm:generation_tokens_created{{model_name=\"meta-llama/Llama-3.1-8B-Instruct\"}} {created}\n\
vllm:num_requests_running{{model_name=\"meta-llama/Llama-3.1-8B-Instruct\"}} 3.0\n"
        )
    }

    #[test]
    fn vllm_scrapes_give_rows_and_reset_aware_totals() {
        let body = [
            scrape("1717000000", 42_421_665.0, 27_453.0, "1716990000.5"),
            scrape("1717000015", 42_431_665.0, 28_453.0, "1716990000.5"),
            // The server restarted and regrew past the old prompt count: only _created shows it.
            scrape("1717000030", 42_500_000.0, 500.0, "1717000020.25"),
            scrape("1717000045", 42_500_100.0, 600.0, "1717000020.25"),
        ]
        .concat();
        let want = read("a.prom", &body, 1 << 20).expect("valid");
        assert_eq!(want.t_ns.len(), 4);
        assert_eq!(want.series.len(), 1);
        assert_eq!(want.series[0].advance, Advance::PerIteration);
        assert_eq!(want.prompt_tokens_total[0], 42_421_665.0);
        let m = &want.totals[0];
        assert_eq!(m.model, "meta-llama/Llama-3.1-8B-Instruct");
        assert_eq!(m.prompt.tokens, Some(10_000.0 + 42_500_000.0 + 100.0));
        assert_eq!(m.generation.tokens, Some(1_000.0 + 500.0 + 100.0));
        assert_eq!((m.prompt.n_resets, m.generation.n_resets), (1, 1));
        assert!(m.lower_bound);
        assert_eq!(m.last_t_ns, Some(1_717_000_045_000_000_000));
        assert_eq!(want.info.skipped, vec![("other metrics".to_string(), 4)]);
        for chunk in [1, 7, 4096] {
            let got = read("a.prom", &body, chunk).expect("valid");
            assert_eq!(got.totals, want.totals);
            assert_eq!(got.t_ns, want.t_ns);
        }
    }

    #[test]
    fn sglang_json_and_missing_counters() {
        let body = r#"{"status":"success","data":{"resultType":"matrix","result":[
{"metric":{"__name__":"sglang:generation_tokens_total","model_name":"qwen","instance":"a:30000","job":"sg"},"values":[[1717000000,"100"],[1717000010,"NaN"],[1717000020,"180"]]},
{"metric":{"__name__":"sglang:prompt_tokens_total","model_name":"qwen","instance":"a:30000","job":"sg"},"values":[[1717000000,"1000"]]},
{"metric":{"__name__":"sglang:generation_tokens_total","model_name":"qwen","instance":"b:30000","job":"sg"},"values":[[1717000000,"5"],[1717000020,"25"]]}
]}}"#;
        let r = read("b.json", body, 1 << 20).expect("valid");
        assert_eq!(r.format, Format::PrometheusJson);
        assert_eq!(r.series.len(), 2);
        assert_eq!(r.series[0].instance, "a:30000{job=\"sg\"}");
        assert_eq!(r.series[0].advance, Advance::OnCompletion);
        let m = &r.totals[0];
        assert_eq!(m.generation.tokens, Some(100.0));
        assert_eq!(m.prompt.tokens, None);
        assert_eq!(m.prompt.n_series_short, 2);
        assert!(m.lower_bound);
        assert_eq!(
            r.info.skipped,
            vec![("missing values (NaN or Inf)".to_string(), 1)]
        );
        // Row of series 0 at t0 has both counters; series 1 at t0 has no prompt sample.
        assert_eq!(r.t_ns.len(), 4);
        assert!(r.prompt_tokens_total[1].is_nan());
    }

    #[test]
    fn bad_inputs_are_typed() {
        let code = |name: &str, body: &str| read(name, body, 1 << 20).expect_err("invalid").code();
        assert_eq!(
            code("c.prom", "# scrape_time 1717000000\nnode_load1 0.5\n"),
            "schema"
        );
        assert_eq!(
            code(
                "d.prom",
                "# scrape_time 1717000000\nvllm:prompt_tokens_total{model_name=\"m\"} 12.5\n"
            ),
            "bad_value"
        );
        assert_eq!(
            code("e.prom", "vllm:prompt_tokens_total{model_name=\"m\"} 12\n"),
            "schema"
        );
        assert_eq!(
            code("f.csv", "time_s,power_w\n0,1\n"),
            "unrecognized_format"
        );
        assert_eq!(code("g.prom", ""), "unrecognized_format");
        let dup =
            "vllm:prompt_tokens_total 1 1717000000000\nvllm:prompt_tokens_total 2 1717000000000\n";
        assert_eq!(code("h.prom", dup), "conflicting_duplicate");
        let mixed = "vllm:prompt_tokens_total{model_name=\"m\"} 1 1717000000000\nsglang:prompt_tokens_total{model_name=\"m\"} 2 1717000000000\n";
        assert_eq!(code("i.prom", mixed), "schema");
        let sum = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1717000000,"5"]}]}}"#;
        assert_eq!(code("j.json", sum), "schema");
    }
}
