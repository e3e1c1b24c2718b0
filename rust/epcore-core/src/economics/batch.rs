//! Batch conversion: the steady-state figures of millions of scenarios in one
//! fused pass.
//!
//! Every input is a column (an array, or a scalar broadcast to every row) and
//! every requested figure is written into a caller-provided buffer, so a
//! caller that converts batch after batch reuses its memory (on the VMs this
//! project runs on, page-faulting fresh outputs costs about 2×).
//!
//! Each figure is the very expression [`steady_state`](super::steady_state)
//! evaluates, in the same order (no fused multiply-add, no reassociation), so
//! every value is bitwise the scalar calculator's. Rows are independent: the
//! thread count only changes which thread writes a row, never its bits.
//!
//! Validation is exact and cheap: a row whose inputs all lie in a box where
//! no figure can overflow or underflow (see [`SAFE_MIN`]) is valid by
//! construction, and only a chunk holding a row outside the box is checked
//! row by row through `steady_state` itself, so the domain rules are the
//! calculator's to the letter.
//!
//! ```
//! use epcore_core::economics::batch::{convert, Column, Columns, Figure, Level, Options, Output};
//!
//! let power = [5600.0, 700.0];
//! let tput = [2500.0, 7000.0];
//! let cols = Columns::new(Column::Array(&power), Column::Array(&tput));
//! let mut jpt = [0.0; 2];
//! let mut cost = [0.0; 2];
//! let mut outs = [
//!     (Output::it(Figure::JoulesPerToken), &mut jpt[..]),
//!     (Output::it(Figure::CostPerMillionTokens), &mut cost[..]),
//! ];
//! let q = convert(&cols, &mut outs, None, &Options::default())?;
//! assert_eq!((q.n_rows, q.n_invalid), (2, 0));
//!
//! let bad = [2500.0, 0.0];
//! let bad_cols = Columns::new(Column::Array(&power), Column::Array(&bad));
//! let e = convert(&bad_cols, &mut outs, None, &Options::default()).unwrap_err();
//! assert_eq!(e.to_string(), "row 1: tokens_per_s = 0: must be > 0");
//! assert_eq!(e.row.map(|r| r.row), Some(1));
//!
//! convert(&cols, &mut outs, None, &Options::default())?; // the buffers are reusable
//! assert_eq!(jpt, [2.24, 0.1]);
//! # Ok::<(), epcore_core::economics::batch::BatchError>(())
//! ```

use std::fmt;

use rayon::prelude::*;

use super::distance::edit_distance;
use super::{steady_state, Inputs, J_PER_KWH, J_PER_WH};
use crate::error::Error;

const TOKENS_PER_MILLION: f64 = 1e6;

/// Rows per inner chunk: the chunk's inputs and one output stay in L1 while
/// each figure's loop runs over them.
const CHUNK: usize = 64;
/// Below this many rows a batch runs on the calling thread: handing work to
/// the pool would cost more than it saves.
const MIN_PARALLEL_ROWS: usize = 1 << 15;
/// At least this many parts per thread, and parts of at most [`PART_ROWS`] rows: on a
/// shared VM a thread can lose its core for milliseconds, and small parts let the other
/// threads take over its share (rayon steals work) instead of waiting for it.
const PARTS_PER_THREAD: usize = 4;
/// Rows per part at most (about a millisecond of work).
const PART_ROWS: usize = 1 << 16;

/// Inputs inside `[SAFE_MIN, SAFE_MAX]` (PUE in `[1, SAFE_MAX]`, price and
/// intensity within `±SAFE_MAX` as their domain allows) give finite, non-zero
/// figures by construction: the largest product, power × PUE × query tokens ×
/// price, stays below 1e120, and the smallest quotient above 1e-120. Rows
/// outside are not wrong, only checked one by one.
pub const SAFE_MIN: f64 = 1e-30;
/// Upper edge of the fast-path box; see [`SAFE_MIN`].
pub const SAFE_MAX: f64 = 1e30;

/// One input: an array with a value per row, or one value for every row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Column<'a> {
    Array(&'a [f64]),
    Scalar(f64),
}

impl Column<'_> {
    fn len(&self) -> Option<usize> {
        match self {
            Column::Array(a) => Some(a.len()),
            Column::Scalar(_) => None,
        }
    }

    fn get(&self, i: usize) -> f64 {
        match self {
            Column::Array(a) => a[i],
            Column::Scalar(v) => *v,
        }
    }
}

/// The inputs of [`steady_state`](super::steady_state), one column each.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Columns<'a> {
    pub power_w: Column<'a>,
    pub tokens_per_s: Column<'a>,
    /// In the currency of [`Options::currency`] per kWh.
    pub price_per_kwh: Column<'a>,
    pub query_tokens: Column<'a>,
    pub pue: Column<'a>,
    /// gCO2 per kWh; `None` computes no carbon figures.
    pub grid_g_co2_per_kwh: Option<Column<'a>>,
}

impl<'a> Columns<'a> {
    /// Power and throughput, with the calculator's defaults for the rest
    /// (0.08 per kWh, 500-token queries, PUE 1, no grid intensity).
    pub fn new(power_w: Column<'a>, tokens_per_s: Column<'a>) -> Self {
        let d = Inputs::new(1.0, 1.0);
        Columns {
            power_w,
            tokens_per_s,
            price_per_kwh: Column::Scalar(d.price_per_kwh),
            query_tokens: Column::Scalar(d.query_tokens),
            pue: Column::Scalar(d.pue),
            grid_g_co2_per_kwh: d.grid_g_co2_per_kwh.map(Column::Scalar),
        }
    }

    fn named(&self) -> [(&'static str, Option<Column<'a>>); 6] {
        [
            ("power_w", Some(self.power_w)),
            ("tokens_per_s", Some(self.tokens_per_s)),
            ("price_per_kwh", Some(self.price_per_kwh)),
            ("query_tokens", Some(self.query_tokens)),
            ("pue", Some(self.pue)),
            ("grid_g_co2_per_kwh", self.grid_g_co2_per_kwh),
        ]
    }

    /// Rows in the batch: the common length of the array columns, 1 when every column is a scalar.
    pub fn rows(&self) -> Result<usize, Error> {
        let mut n: Option<(&str, usize)> = None;
        for (name, col) in self.named() {
            let Some(len) = col.and_then(|c| c.len()) else {
                continue;
            };
            match n {
                None => n = Some((name, len)),
                Some((first, m)) if m != len => {
                    return Err(Error::LengthMismatch {
                        what: format!("{name} against {first}"),
                        expected: m,
                        found: len,
                    })
                }
                Some(_) => {}
            }
        }
        Ok(n.map_or(1, |(_, len)| len))
    }

    /// Facility figures are worth their own columns when the PUE varies or exceeds 1.
    fn has_facility(&self) -> bool {
        match self.pue {
            Column::Array(_) => true,
            Column::Scalar(v) => v > 1.0,
        }
    }
}

/// The figures of [`Figures`](super::Figures), by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Figure {
    JoulesPerToken,
    WhPerToken,
    KwhPerMillionTokens,
    CostPerMillionTokens,
    WhPerQuery,
    CostPerQuery,
    QueriesPerKwh,
    TokensPerKwh,
    GCo2PerQuery,
    GCo2PerMillionTokens,
}

impl Figure {
    /// In the order of [`Figures`](super::Figures).
    pub const ALL: [Figure; 10] = [
        Figure::JoulesPerToken,
        Figure::WhPerToken,
        Figure::KwhPerMillionTokens,
        Figure::CostPerMillionTokens,
        Figure::WhPerQuery,
        Figure::CostPerQuery,
        Figure::QueriesPerKwh,
        Figure::TokensPerKwh,
        Figure::GCo2PerQuery,
        Figure::GCo2PerMillionTokens,
    ];

    /// The field name in [`Figures`](super::Figures).
    pub fn name(self) -> &'static str {
        match self {
            Figure::JoulesPerToken => "joules_per_token",
            Figure::WhPerToken => "wh_per_token",
            Figure::KwhPerMillionTokens => "kwh_per_million_tokens",
            Figure::CostPerMillionTokens => "cost_per_million_tokens",
            Figure::WhPerQuery => "wh_per_query",
            Figure::CostPerQuery => "cost_per_query",
            Figure::QueriesPerKwh => "queries_per_kwh",
            Figure::TokensPerKwh => "tokens_per_kwh",
            Figure::GCo2PerQuery => "g_co2_per_query",
            Figure::GCo2PerMillionTokens => "g_co2_per_million_tokens",
        }
    }

    /// Carbon figures need a grid intensity.
    pub fn is_carbon(self) -> bool {
        matches!(self, Figure::GCo2PerQuery | Figure::GCo2PerMillionTokens)
    }
}

/// IT figures use the measured power; facility figures the power × PUE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    It,
    Facility,
}

/// One output column: a figure at a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Output {
    pub figure: Figure,
    pub level: Level,
}

/// Prefix of the facility-level column names.
pub const FACILITY_PREFIX: &str = "facility_";

impl Output {
    pub fn it(figure: Figure) -> Self {
        Output {
            figure,
            level: Level::It,
        }
    }

    pub fn facility(figure: Figure) -> Self {
        Output {
            figure,
            level: Level::Facility,
        }
    }

    /// `joules_per_token`, or `facility_joules_per_token` at the facility level.
    pub fn name(&self) -> String {
        match self.level {
            Level::It => self.figure.name().to_owned(),
            Level::Facility => format!("{FACILITY_PREFIX}{}", self.figure.name()),
        }
    }

    /// Every column name, IT then facility.
    pub fn all() -> Vec<Output> {
        let it = Figure::ALL.iter().map(|&f| Output::it(f));
        it.chain(Figure::ALL.iter().map(|&f| Output::facility(f)))
            .collect()
    }

    /// The output a column name stands for; an unknown name lists the closest ones.
    ///
    /// ```
    /// use epcore_core::economics::batch::{Figure, Output};
    /// assert_eq!(Output::parse("facility_wh_per_query")?, Output::facility(Figure::WhPerQuery));
    /// let e = Output::parse("joule_per_token").unwrap_err();
    /// assert_eq!(e.hint().as_deref(), Some("did you mean joules_per_token?"));
    /// # Ok::<(), epcore_core::Error>(())
    /// ```
    pub fn parse(name: &str) -> Result<Output, Error> {
        let all = Output::all();
        if let Some(o) = all.iter().find(|o| o.name() == name) {
            return Ok(*o);
        }
        let mut near: Vec<(usize, String)> = all
            .iter()
            .map(|o| (edit_distance(name, &o.name(), false), o.name()))
            .filter(|(d, _)| *d <= 3)
            .collect();
        near.sort();
        Err(Error::UnknownCode {
            kind: "batch output".into(),
            value: name.into(),
            suggestions: near.into_iter().take(3).map(|(_, n)| n).collect(),
        })
    }
}

/// The outputs computed when the caller names none: the IT figures, carbon
/// when a grid intensity is given, and the facility figures when the PUE
/// varies or exceeds 1.
pub fn default_outputs(columns: &Columns) -> Vec<Output> {
    let carbon = columns.grid_g_co2_per_kwh.is_some();
    let figures: Vec<Figure> = Figure::ALL
        .iter()
        .copied()
        .filter(|f| carbon || !f.is_carbon())
        .collect();
    let mut out: Vec<Output> = figures.iter().map(|&f| Output::it(f)).collect();
    if columns.has_facility() {
        out.extend(figures.iter().map(|&f| Output::facility(f)));
    }
    out
}

/// What a row outside the domain does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnInvalid {
    /// The first bad row (in row order) is an error.
    #[default]
    Raise,
    /// Bad rows get NaN in every output and `false` in the validity mask, and are counted.
    Null,
}

impl OnInvalid {
    /// `"raise"` or `"null"`.
    pub fn parse(s: &str) -> Result<Self, Error> {
        match s {
            "raise" => Ok(OnInvalid::Raise),
            "null" => Ok(OnInvalid::Null),
            other => Err(Error::InvalidArgument {
                name: "on_invalid".into(),
                value: other.into(),
                reason: "expected raise or null".into(),
            }),
        }
    }
}

/// Everything but the columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// ISO 4217 code of the prices (and so of every cost figure).
    pub currency: String,
    /// Accept negative prices (wholesale markets do clear below zero).
    pub allow_negative_price: bool,
    pub on_invalid: OnInvalid,
    /// 0: every core (rayon's global pool); 1: the calling thread only.
    pub threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            currency: Inputs::new(1.0, 1.0).currency,
            allow_negative_price: false,
            on_invalid: OnInvalid::Raise,
            threads: 0,
        }
    }
}

/// A row outside the calculator's domain: which row, which input, its value and why.
#[derive(Debug, Clone, PartialEq)]
pub struct InvalidRow {
    pub row: usize,
    /// The input named by the calculator's error (`power_w / tokens_per_s` for an overflow).
    pub column: String,
    pub value: String,
    pub reason: String,
}

impl InvalidRow {
    fn from_error(row: usize, e: Error) -> Self {
        match e {
            Error::InvalidArgument {
                name,
                value,
                reason,
            } => InvalidRow {
                row,
                column: name,
                value,
                reason,
            },
            other => InvalidRow {
                row,
                column: String::new(),
                value: other.value().unwrap_or_default(),
                reason: other.to_string(),
            },
        }
    }

    /// `row 12: tokens_per_s = 0: must be > 0`, as an [`Error::InvalidArgument`].
    pub fn to_error(&self) -> Error {
        Error::InvalidArgument {
            name: format!("row {}: {}", self.row, self.column),
            value: self.value.clone(),
            reason: self.reason.clone(),
        }
    }
}

/// A failed batch: the error, and the bad row when one is to blame.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchError {
    pub error: Error,
    pub row: Option<InvalidRow>,
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for BatchError {}

impl From<Error> for BatchError {
    fn from(error: Error) -> Self {
        BatchError { error, row: None }
    }
}

impl From<BatchError> for Error {
    fn from(e: BatchError) -> Self {
        e.error
    }
}

/// How the batch went.
#[derive(Debug, Clone, PartialEq)]
pub struct Quality {
    pub n_rows: usize,
    /// Rows set to NaN and masked (always 0 with [`OnInvalid::Raise`]).
    pub n_invalid: usize,
    /// The first bad row in row order, if any.
    pub first_invalid: Option<InvalidRow>,
    /// Threads the batch ran on.
    pub threads: usize,
}

/// Compute `outputs` for every row of `columns`.
///
/// Every output buffer and `valid` (the validity mask, wanted with
/// [`OnInvalid::Null`]) must hold one element per row. With
/// [`OnInvalid::Raise`], the first bad row in row order is the error and the
/// buffers' contents are unspecified; with [`OnInvalid::Null`], bad rows are
/// NaN in every output and `false` in `valid`. A scalar input outside its
/// domain is an error in either mode (it would spoil every row). The result
/// does not depend on `options.threads`.
pub fn convert(
    columns: &Columns,
    outputs: &mut [(Output, &mut [f64])],
    valid: Option<&mut [bool]>,
    options: &Options,
) -> Result<Quality, BatchError> {
    let n = columns.rows()?;
    let plan = Plan::new(columns, outputs, valid.as_deref(), options, n)?;
    let threads = match options.threads {
        0 => rayon::current_num_threads(),
        t => t,
    };
    let threads = if n < MIN_PARALLEL_ROWS { 1 } else { threads };
    let parts = split(outputs, valid, n, threads);
    let results: Vec<PartResult> = if threads <= 1 {
        parts.into_iter().map(|p| plan.run(p)).collect()
    } else if options.threads == 0 {
        parts.into_par_iter().map(|p| plan.run(p)).collect()
    } else {
        match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
            Ok(pool) => pool.install(|| parts.into_par_iter().map(|p| plan.run(p)).collect()),
            // No threads to be had: the same rows, on this one.
            Err(_) => parts.into_iter().map(|p| plan.run(p)).collect(),
        }
    };
    let mut q = Quality {
        n_rows: n,
        n_invalid: 0,
        first_invalid: None,
        threads,
    };
    // Parts are in row order, so the first part with a bad row holds the first bad row.
    for r in results {
        q.n_invalid += r.n_invalid;
        if q.first_invalid.is_none() {
            q.first_invalid = r.first_invalid;
        }
    }
    if options.on_invalid == OnInvalid::Raise {
        if let Some(row) = q.first_invalid.take() {
            return Err(BatchError {
                error: row.to_error(),
                row: Some(row),
            });
        }
        q.n_invalid = 0;
    }
    Ok(q)
}

/// A contiguous run of rows and the matching pieces of every buffer.
struct Part<'o> {
    lo: usize,
    len: usize,
    outs: Vec<&'o mut [f64]>,
    valid: Option<&'o mut [bool]>,
}

#[derive(Default)]
struct PartResult {
    n_invalid: usize,
    first_invalid: Option<InvalidRow>,
}

fn split<'o>(
    outputs: &'o mut [(Output, &mut [f64])],
    valid: Option<&'o mut [bool]>,
    n: usize,
    threads: usize,
) -> Vec<Part<'o>> {
    let n_parts = if threads <= 1 {
        1
    } else {
        (threads * PARTS_PER_THREAD).max(n.div_ceil(PART_ROWS))
    };
    // Whole chunks per part, so a part's chunks line up with a 1-thread run's (not that the
    // bits depend on it: every row is computed on its own).
    let per = n.div_ceil(n_parts).div_ceil(CHUNK).max(1) * CHUNK;
    let mut rest: Vec<&'o mut [f64]> = outputs.iter_mut().map(|(_, s)| &mut **s).collect();
    let mut rest_valid = valid;
    let mut parts = Vec::with_capacity(n_parts);
    let mut lo = 0;
    loop {
        let len = per.min(n - lo);
        let mut outs = Vec::with_capacity(rest.len());
        for s in rest.iter_mut() {
            let (mine, tail) = std::mem::take(s).split_at_mut(len);
            outs.push(mine);
            *s = tail;
        }
        let valid = rest_valid.take().map(|v| {
            let (mine, tail) = v.split_at_mut(len);
            rest_valid = Some(tail);
            mine
        });
        parts.push(Part {
            lo,
            len,
            outs,
            valid,
        });
        lo += len;
        if lo >= n {
            return parts;
        }
    }
}

/// What every part needs, checked once up front.
struct Plan<'a> {
    cols: Columns<'a>,
    outputs: Vec<Output>,
    template: Inputs,
    on_invalid: OnInvalid,
    /// Low edge of the fast-path box for prices (0, or -SAFE_MAX when negatives are allowed).
    price_lo: f64,
    facility: bool,
}

impl<'a> Plan<'a> {
    fn new(
        cols: &Columns<'a>,
        outputs: &[(Output, &mut [f64])],
        valid: Option<&[bool]>,
        options: &Options,
        n: usize,
    ) -> Result<Self, Error> {
        for (o, buf) in outputs {
            if buf.len() != n {
                return Err(Error::LengthMismatch {
                    what: format!("output buffer {}", o.name()),
                    expected: n,
                    found: buf.len(),
                });
            }
            if o.figure.is_carbon() && cols.grid_g_co2_per_kwh.is_none() {
                return Err(Error::InvalidArgument {
                    name: "outputs".into(),
                    value: o.name(),
                    reason: "a carbon figure needs grid_g_co2_per_kwh".into(),
                });
            }
        }
        for (i, (o, _)) in outputs.iter().enumerate() {
            if outputs[..i].iter().any(|(p, _)| p == o) {
                return Err(Error::InvalidArgument {
                    name: "outputs".into(),
                    value: o.name(),
                    reason: "asked for twice".into(),
                });
            }
        }
        match valid {
            Some(v) if v.len() != n => {
                return Err(Error::LengthMismatch {
                    what: "validity mask".into(),
                    expected: n,
                    found: v.len(),
                })
            }
            None if options.on_invalid == OnInvalid::Null => {
                return Err(Error::InvalidArgument {
                    name: "valid".into(),
                    value: "None".into(),
                    reason: "on_invalid=null needs a validity mask buffer".into(),
                })
            }
            _ => {}
        }
        let mut template = Inputs::new(1.0, 1.0);
        template.currency = options.currency.clone();
        template.allow_negative_price = options.allow_negative_price;
        // Each scalar alone, through the calculator's own checks (the currency too).
        let mut probe = template.clone();
        let scalar = |c: Column, default: f64| match c {
            Column::Scalar(v) => v,
            Column::Array(_) => default,
        };
        probe.power_w = scalar(cols.power_w, 1.0);
        probe.tokens_per_s = scalar(cols.tokens_per_s, 1.0);
        probe.price_per_kwh = scalar(cols.price_per_kwh, 0.0);
        probe.query_tokens = scalar(cols.query_tokens, 1.0);
        probe.pue = scalar(cols.pue, 1.0);
        probe.grid_g_co2_per_kwh = cols.grid_g_co2_per_kwh.map(|g| scalar(g, 0.0));
        probe.validate()?;
        let price_lo = if options.allow_negative_price {
            -SAFE_MAX
        } else {
            0.0
        };
        Ok(Plan {
            cols: *cols,
            outputs: outputs.iter().map(|(o, _)| *o).collect(),
            template,
            on_invalid: options.on_invalid,
            price_lo,
            facility: outputs.iter().any(|(o, _)| o.level == Level::Facility),
        })
    }

    fn run(&self, mut part: Part) -> PartResult {
        let len = part.len;
        let mut scratch = Scratch::new(&self.cols);
        let mut result = PartResult::default();
        let mut a = 0;
        while a < len {
            let b = (a + CHUNK).min(len);
            // A full chunk's length is a constant once inlined: the figure loops unroll
            // completely, with no remainder handling (short chunks of 32 rows keep every
            // input and output stream moving together, as one fused loop would).
            let ok = if b - a == CHUNK {
                self.chunk(&mut scratch, &mut part, a, CHUNK)
            } else {
                self.chunk(&mut scratch, &mut part, a, b - a)
            };
            if let Some(v) = part.valid.as_deref_mut() {
                v[a..b].fill(true);
            }
            if !ok && self.check_rows(&mut part, a, b, &mut result) {
                return result;
            }
            a = b;
        }
        result
    }

    /// Compute every output for the `n` rows from `a` of the part; true when every row is in the box.
    #[inline(always)]
    fn chunk(&self, s: &mut Scratch, part: &mut Part, a: usize, n: usize) -> bool {
        let (lo, b) = (part.lo + a, a + n);
        let c = &self.cols;
        let p = slice(&c.power_w, lo, n, &s.power_w);
        let t = slice(&c.tokens_per_s, lo, n, &s.tokens_per_s);
        let price = slice(&c.price_per_kwh, lo, n, &s.price_per_kwh);
        let q = slice(&c.query_tokens, lo, n, &s.query_tokens);
        let pue = slice(&c.pue, lo, n, &s.pue);
        let g = c
            .grid_g_co2_per_kwh
            .as_ref()
            .map(|g| slice(g, lo, n, &s.grid));
        // One loop over every input at once: it pulls all of the chunk's input streams from
        // memory together (six misses in flight, not one), and the figure loops below then
        // read them from cache.
        let g_or_zero = g.unwrap_or(&s.zeros[..n]);
        let ok = in_box(&[p, t, price, q, pue, g_or_zero], self.price_lo);
        if self.facility {
            let pf = &mut s.facility_power[..n];
            for i in 0..n {
                // steady_state's `power_w * overhead`.
                pf[i] = p[i] * pue[i];
            }
        }
        let pf = &s.facility_power[..n];
        for (o, buf) in self.outputs.iter().zip(part.outs.iter_mut()) {
            let power = match o.level {
                Level::It => p,
                Level::Facility => pf,
            };
            let x = Rows {
                p: power,
                t,
                price,
                q,
                g: g.unwrap_or(t),
            };
            figure(o.figure, &mut buf[a..b], &x);
        }
        ok
    }

    /// Rows `a..b` left the box: ask the calculator about each. True to stop the part.
    fn check_rows(&self, part: &mut Part, a: usize, b: usize, result: &mut PartResult) -> bool {
        let c = &self.cols;
        let mut x = self.template.clone();
        for r in a..b {
            let i = part.lo + r;
            x.power_w = c.power_w.get(i);
            x.tokens_per_s = c.tokens_per_s.get(i);
            x.price_per_kwh = c.price_per_kwh.get(i);
            x.query_tokens = c.query_tokens.get(i);
            x.pue = c.pue.get(i);
            x.grid_g_co2_per_kwh = c.grid_g_co2_per_kwh.map(|g| g.get(i));
            let Err(e) = steady_state(&x) else {
                continue;
            };
            result.n_invalid += 1;
            if result.first_invalid.is_none() {
                result.first_invalid = Some(InvalidRow::from_error(i, e));
            }
            match self.on_invalid {
                OnInvalid::Raise => return true,
                OnInvalid::Null => {
                    for buf in part.outs.iter_mut() {
                        buf[r] = f64::NAN;
                    }
                    if let Some(v) = part.valid.as_deref_mut() {
                        v[r] = false;
                    }
                }
            }
        }
        false
    }
}

/// One chunk's worth of each scalar, so every figure loop reads plain slices.
struct Scratch {
    power_w: Vec<f64>,
    tokens_per_s: Vec<f64>,
    price_per_kwh: Vec<f64>,
    query_tokens: Vec<f64>,
    pue: Vec<f64>,
    grid: Vec<f64>,
    /// Stands in for the intensity when there is none (0 is in the box).
    zeros: Vec<f64>,
    facility_power: Vec<f64>,
}

impl Scratch {
    fn new(c: &Columns) -> Self {
        let fill = |col: &Column| match col {
            Column::Scalar(v) => vec![*v; CHUNK],
            Column::Array(_) => Vec::new(),
        };
        Scratch {
            power_w: fill(&c.power_w),
            tokens_per_s: fill(&c.tokens_per_s),
            price_per_kwh: fill(&c.price_per_kwh),
            query_tokens: fill(&c.query_tokens),
            pue: fill(&c.pue),
            grid: c.grid_g_co2_per_kwh.as_ref().map_or(Vec::new(), fill),
            zeros: vec![0.0; CHUNK],
            facility_power: vec![0.0; CHUNK],
        }
    }
}

#[inline(always)]
fn slice<'s>(col: &Column<'s>, lo: usize, n: usize, filled: &'s [f64]) -> &'s [f64] {
    match col {
        Column::Array(a) => &a[lo..lo + n],
        Column::Scalar(_) => &filled[..n],
    }
}

/// Whether every row's inputs lie in the fast-path box (NaN never does); `x` holds the
/// chunk's power, throughput, price, query tokens, PUE and intensity, in that order.
#[inline(always)]
fn in_box(x: &[&[f64]; 6], price_lo: f64) -> bool {
    let n = x[0].len();
    let (p, t, c, q, e, g) = (
        &x[0][..n],
        &x[1][..n],
        &x[2][..n],
        &x[3][..n],
        &x[4][..n],
        &x[5][..n],
    );
    let within = |v: f64, lo: f64| (v >= lo) & (v <= SAFE_MAX);
    // A bitwise AND over every row, not a short-circuiting `all`, so it vectorizes (and no
    // integer count, whose overflow checks the release profile keeps would stop that).
    (0..n).fold(true, |all, i| {
        all & within(p[i], SAFE_MIN)
            & within(t[i], SAFE_MIN)
            & within(c[i], price_lo)
            & within(q[i], SAFE_MIN)
            & within(e[i], 1.0)
            & within(g[i], 0.0)
    })
}

/// A chunk's inputs; `p` is the power at the output's level.
struct Rows<'r> {
    p: &'r [f64],
    t: &'r [f64],
    price: &'r [f64],
    q: &'r [f64],
    g: &'r [f64],
}

/// One figure over a chunk: steady_state's expression, operation for operation.
#[inline(always)]
fn figure(f: Figure, d: &mut [f64], x: &Rows) {
    let n = d.len();
    let (p, t, c, q, g) = (&x.p[..n], &x.t[..n], &x.price[..n], &x.q[..n], &x.g[..n]);
    const M: f64 = TOKENS_PER_MILLION;
    match f {
        Figure::JoulesPerToken => {
            for i in 0..n {
                d[i] = p[i] / t[i];
            }
        }
        Figure::WhPerToken => {
            for i in 0..n {
                d[i] = p[i] / (t[i] * J_PER_WH);
            }
        }
        Figure::KwhPerMillionTokens => {
            for i in 0..n {
                d[i] = p[i] * M / (t[i] * J_PER_KWH);
            }
        }
        Figure::CostPerMillionTokens => {
            for i in 0..n {
                d[i] = p[i] * M * c[i] / (t[i] * J_PER_KWH);
            }
        }
        Figure::WhPerQuery => {
            for i in 0..n {
                d[i] = p[i] * q[i] / (t[i] * J_PER_WH);
            }
        }
        Figure::CostPerQuery => {
            for i in 0..n {
                d[i] = p[i] * q[i] * c[i] / (t[i] * J_PER_KWH);
            }
        }
        Figure::QueriesPerKwh => {
            for i in 0..n {
                d[i] = t[i] * J_PER_KWH / (p[i] * q[i]);
            }
        }
        Figure::TokensPerKwh => {
            for i in 0..n {
                d[i] = t[i] * J_PER_KWH / p[i];
            }
        }
        Figure::GCo2PerQuery => {
            for i in 0..n {
                d[i] = p[i] * q[i] * g[i] / (t[i] * J_PER_KWH);
            }
        }
        Figure::GCo2PerMillionTokens => {
            for i in 0..n {
                d[i] = p[i] * M * g[i] / (t[i] * J_PER_KWH);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::economics::{Figures, SteadyState};

    fn pick(f: &Figures, fig: Figure) -> Option<f64> {
        Some(match fig {
            Figure::JoulesPerToken => f.joules_per_token,
            Figure::WhPerToken => f.wh_per_token,
            Figure::KwhPerMillionTokens => f.kwh_per_million_tokens,
            Figure::CostPerMillionTokens => f.cost_per_million_tokens,
            Figure::WhPerQuery => f.wh_per_query,
            Figure::CostPerQuery => f.cost_per_query,
            Figure::QueriesPerKwh => f.queries_per_kwh,
            Figure::TokensPerKwh => f.tokens_per_kwh,
            Figure::GCo2PerQuery => return f.g_co2_per_query,
            Figure::GCo2PerMillionTokens => return f.g_co2_per_million_tokens,
        })
    }

    fn expected(r: &SteadyState, o: Output) -> f64 {
        let f = match o.level {
            Level::It => &r.it,
            Level::Facility => r.facility.as_ref().unwrap_or(&r.it),
        };
        pick(f, o.figure).expect("the test input is valid")
    }

    /// A deterministic spread of inputs, some outside the fast box but valid.
    fn data(n: usize) -> [Vec<f64>; 6] {
        let mut s = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut cols: [Vec<f64>; 6] = Default::default();
        for i in 0..n {
            let u = next();
            cols[0].push(if i % 1000 == 7 {
                1e-40
            } else {
                50.0 + 9000.0 * u
            });
            cols[1].push(10.0 + 9000.0 * next());
            cols[2].push(0.3 * next());
            cols[3].push(1.0 + 4000.0 * next());
            cols[4].push(1.0 + next());
            cols[5].push(800.0 * next());
        }
        cols
    }

    fn run(cols: &Columns, outs: &[Output], threads: usize) -> Result<Vec<Vec<f64>>, BatchError> {
        let n = cols.rows()?;
        let mut bufs: Vec<Vec<f64>> = outs.iter().map(|_| vec![0.0; n]).collect();
        let mut pairs: Vec<(Output, &mut [f64])> = outs
            .iter()
            .zip(bufs.iter_mut())
            .map(|(o, b)| (*o, b.as_mut_slice()))
            .collect();
        let opts = Options {
            threads,
            ..Options::default()
        };
        convert(cols, &mut pairs, None, &opts)?;
        Ok(bufs)
    }

    #[test]
    fn every_figure_is_bitwise_steady_state() {
        let n = 100_003;
        let d = data(n);
        let cols = Columns {
            power_w: Column::Array(&d[0]),
            tokens_per_s: Column::Array(&d[1]),
            price_per_kwh: Column::Array(&d[2]),
            query_tokens: Column::Array(&d[3]),
            pue: Column::Array(&d[4]),
            grid_g_co2_per_kwh: Some(Column::Array(&d[5])),
        };
        let outs = default_outputs(&cols);
        assert_eq!(outs.len(), 20);
        let got = run(&cols, &outs, 1).expect("the test input is valid");
        for i in (0..n).step_by(7) {
            let mut x = Inputs::new(d[0][i], d[1][i]);
            x.price_per_kwh = d[2][i];
            x.query_tokens = d[3][i];
            x.pue = d[4][i];
            x.grid_g_co2_per_kwh = Some(d[5][i]);
            let r = steady_state(&x).expect("the test input is valid");
            for (k, o) in outs.iter().enumerate() {
                assert_eq!(
                    got[k][i].to_bits(),
                    expected(&r, *o).to_bits(),
                    "{} row {i}",
                    o.name()
                );
            }
        }
        for threads in [2, 3, 8] {
            assert_eq!(
                run(&cols, &outs, threads).expect("the test input is valid"),
                got,
                "{threads} threads"
            );
        }
    }

    #[test]
    fn scalars_broadcast() {
        let p = [5600.0, 700.0, 1.0];
        let cols = Columns::new(Column::Array(&p), Column::Scalar(2500.0));
        let outs = default_outputs(&cols);
        assert_eq!(outs.len(), 8, "no carbon, no facility at PUE 1");
        let got = run(&cols, &outs, 0).expect("the test input is valid");
        assert_eq!(got[0], [2.24, 0.28, 0.0004]);
        let all_scalar = Columns::new(Column::Scalar(5600.0), Column::Scalar(2500.0));
        assert_eq!(all_scalar.rows().expect("the test input is valid"), 1);
        assert_eq!(
            run(&all_scalar, &outs, 0).expect("the test input is valid")[0],
            [2.24]
        );
    }

    #[test]
    fn first_bad_row_whatever_the_threads() {
        let n = 200_000;
        let d = data(n);
        let mut t = d[1].clone();
        t[150_001] = f64::NAN;
        t[70_000] = -3.0;
        let cols = Columns::new(Column::Array(&d[0]), Column::Array(&t));
        let outs = [Output::it(Figure::JoulesPerToken)];
        for threads in [1, 2, 5] {
            let e = run(&cols, &outs, threads).unwrap_err();
            assert_eq!(e.to_string(), "row 70000: tokens_per_s = -3: must be > 0");
            assert_eq!(e.error.code(), "invalid_argument");
            let row = e.row.expect("the test input is valid");
            assert_eq!((row.row, row.column.as_str()), (70_000, "tokens_per_s"));
        }
    }

    #[test]
    fn null_mode_masks_and_counts() {
        let p = [5600.0, 0.0, 5600.0, 1e300];
        let t = [2500.0, 2500.0, f64::INFINITY, 1e-300];
        let cols = Columns::new(Column::Array(&p), Column::Array(&t));
        let mut jpt = [0.0; 4];
        let mut valid = [true; 4];
        let opts = Options {
            on_invalid: OnInvalid::Null,
            ..Options::default()
        };
        let mut outs = [(Output::it(Figure::JoulesPerToken), &mut jpt[..])];
        let q =
            convert(&cols, &mut outs, Some(&mut valid), &opts).expect("the test input is valid");
        assert_eq!(valid, [true, false, false, false]);
        assert_eq!(jpt[0], 2.24);
        assert!(jpt[1..].iter().all(|v| v.is_nan()));
        assert_eq!(q.n_invalid, 3);
        let first = q.first_invalid.expect("the test input is valid");
        assert_eq!((first.row, first.column.as_str()), (1, "power_w"));
    }

    #[test]
    fn overflow_is_invalid_even_for_unrequested_figures() {
        // J/token is finite here, but queries per kWh is not: the row is out, as in steady_state.
        let cols = Columns::new(Column::Array(&[1e-300]), Column::Array(&[1e10]));
        let e = run(&cols, &[Output::it(Figure::JoulesPerToken)], 1).unwrap_err();
        assert!(e.error.reason().contains("double precision"), "{e}");
        assert_eq!(
            e.row.expect("the test input is valid").column,
            "power_w / tokens_per_s"
        );
    }

    #[test]
    fn bad_scalars_and_shapes_are_errors_in_every_mode() {
        let p = [1.0, 2.0];
        let mut cols = Columns::new(Column::Array(&p), Column::Scalar(1.0));
        cols.pue = Column::Scalar(0.5);
        let e = run(&cols, &[Output::it(Figure::JoulesPerToken)], 1).unwrap_err();
        assert_eq!(
            e.to_string(),
            "pue = 0.5: power usage effectiveness must be >= 1 (facility power over IT power)"
        );
        assert!(e.row.is_none());
        let short = [1.0];
        let cols = Columns::new(Column::Array(&p), Column::Array(&short));
        assert_eq!(
            run(&cols, &[], 1).unwrap_err().error.code(),
            "length_mismatch"
        );
        let cols = Columns::new(Column::Array(&p), Column::Scalar(1.0));
        let e = run(&cols, &[Output::it(Figure::GCo2PerQuery)], 1).unwrap_err();
        assert!(e.error.reason().contains("grid_g_co2_per_kwh"), "{e}");
        let opts = Options {
            currency: "usd".into(),
            ..Options::default()
        };
        let e = convert(&cols, &mut [], None, &opts).unwrap_err();
        assert!(e.to_string().starts_with("currency = "), "{e}");
    }

    #[test]
    fn names_round_trip() {
        for o in Output::all() {
            assert_eq!(
                Output::parse(&o.name()).expect("the test input is valid"),
                o
            );
        }
        let e = Output::parse("nonsense_entirely").unwrap_err();
        assert_eq!(e.code(), "unknown_code");
    }

    #[test]
    fn box_membership() {
        let one = [1.0, 1.0];
        let inside = |p: &[f64], c: &[f64], lo: f64| in_box(&[p, &one, c, &one, &one, &one], lo);
        assert!(inside(&[1.0, 2.0], &[0.0, 0.1], 0.0));
        assert!(!inside(&[1.0, f64::NAN], &[0.0, 0.1], 0.0));
        assert!(!inside(&[1.0, 1e31], &[0.0, 0.1], 0.0));
        assert!(!inside(&[1.0, 1e-31], &[0.0, 0.1], 0.0));
        assert!(!inside(&[1.0, 1.0], &[-0.5, 0.1], 0.0));
        assert!(inside(&[1.0, 1.0], &[-0.5, 0.1], -SAFE_MAX));
    }
}
