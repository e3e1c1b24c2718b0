//! Serving-engine token counters (vLLM, SGLang) from Prometheus scrapes or
//! query results: parsed without the GIL, handed to Python as numpy columns,
//! the series, per-model totals and what the reader noticed.

use std::path::PathBuf;

use epcore_core::read::token_counters::{self, CounterTotal};
use epcore_core::read::{Format, ReadConfig, ReadOptions};
use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::errors::IntoPy;
use crate::files::{detached, file_info_dict, limits};

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(read_token_counters, m)?)
}

type Read<'py> = (
    Bound<'py, PyDict>,
    Vec<(String, String, &'static str)>,
    Bound<'py, PyList>,
    Bound<'py, PyDict>,
);

/// Read the token counters of a Prometheus text scrape or query-result JSON.
///
/// Returns `(columns, series, totals, info)`: `columns` holds `t_ns`,
/// `series_index`, `line` and the `prompt_tokens_total` /
/// `generation_tokens_total` arrays (NaN where a series had no sample of that
/// counter at that time); `series` is `(model, instance, advance)` per series
/// index; `totals` one dict per model; `info` what the reader noticed.
#[pyfunction]
#[pyo3(signature = (
    path, format = None, *, chunk_bytes = 1048576, max_record_bytes = 1048576,
    max_decompressed_bytes = None, max_ratio = 250.0, progress = None
))]
#[allow(clippy::too_many_arguments)]
pub fn read_token_counters<'py>(
    py: Python<'py>,
    path: PathBuf,
    format: Option<&str>,
    chunk_bytes: usize,
    max_record_bytes: usize,
    max_decompressed_bytes: Option<u64>,
    max_ratio: f64,
    progress: Option<Py<PyAny>>,
) -> PyResult<Read<'py>> {
    let format = format.map(Format::parse).transpose().py_err(py)?;
    let cfg = ReadConfig {
        read: ReadOptions {
            chunk_bytes,
            max_record_bytes,
        },
        limits: limits(max_decompressed_bytes, max_ratio),
        ..ReadConfig::default()
    };
    let tc = detached(py, progress.as_ref(), |on_chunk| {
        token_counters::read_token_counters(&path, format, &cfg, on_chunk)
    })?;
    let cols = PyDict::new(py);
    cols.set_item("t_ns", tc.t_ns.into_pyarray(py))?;
    cols.set_item("series_index", tc.series_index.into_pyarray(py))?;
    cols.set_item("line", tc.line.into_pyarray(py))?;
    cols.set_item(
        "prompt_tokens_total",
        tc.prompt_tokens_total.into_pyarray(py),
    )?;
    cols.set_item(
        "generation_tokens_total",
        tc.generation_tokens_total.into_pyarray(py),
    )?;
    let series = tc
        .series
        .into_iter()
        .map(|s| (s.model, s.instance, s.advance.name()))
        .collect();
    let totals = PyList::empty(py);
    for m in &tc.totals {
        let d = PyDict::new(py);
        d.set_item("model", &m.model)?;
        d.set_item("advance", m.advance.name())?;
        d.set_item("n_series", m.n_series)?;
        counter(&d, "prompt", &m.prompt)?;
        counter(&d, "generation", &m.generation)?;
        d.set_item("first_t_ns", m.first_t_ns)?;
        d.set_item("last_t_ns", m.last_t_ns)?;
        d.set_item("lower_bound", m.lower_bound)?;
        totals.append(d)?;
    }
    let i = &tc.info;
    let info = file_info_dict(py, i, tc.format)?;
    info.set_item("skipped", i.skipped.clone())?;
    info.set_item("warnings", i.warnings.clone())?;
    Ok((cols, series, totals, info))
}

fn counter(d: &Bound<'_, PyDict>, name: &str, c: &CounterTotal) -> PyResult<()> {
    // Token totals are whole numbers below 2^53: exact as Python ints.
    d.set_item(format!("{name}_tokens"), c.tokens.map(|t| t as i64))?;
    d.set_item(format!("{name}_n_samples"), c.n_samples)?;
    d.set_item(format!("{name}_n_resets"), c.n_resets)?;
    d.set_item(format!("{name}_n_series_short"), c.n_series_short)
}
