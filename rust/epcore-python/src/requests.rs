//! Request and benchmark logs: parsed without the GIL, handed to Python as
//! numpy columns and a dict of what the reader noticed.

use std::path::PathBuf;

use epcore_core::read::ReadOptions;
use epcore_core::requests::{self, RequestFormat, RequestOptions, TokenSource};
use numpy::{IntoPyArray, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::IntoPy;
use crate::files::{detached, head, limits};

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(read_requests, m)?)?;
    m.add_function(wrap_pyfunction!(sniff_requests, m)?)
}

/// Read a request log into the canonical requests table.
///
/// Returns `(columns, info)`: `columns` holds `request_id` (list of str),
/// `start_ns`, `first_token_ns` (0 where `has_first_token` is false), `end_ns`,
/// `input_tokens`, `output_tokens` (int64 arrays), `has_first_token`, `ok`
/// (bool arrays), `model` (list of str or None), `token_source` (list of str)
/// and `line` (uint64 array).
#[pyfunction]
#[pyo3(signature = (
    path, format = None, *, anchor_ns = None, start_ns = None, phase = Some("profiling".to_owned()),
    token_source = None, chunk_bytes = 1048576, max_record_bytes = 1048576,
    max_document_bytes = 268435456, max_json_depth = 64, max_decompressed_bytes = None,
    max_ratio = 250.0, progress = None
))]
#[allow(clippy::too_many_arguments)]
pub fn read_requests<'py>(
    py: Python<'py>,
    path: PathBuf,
    format: Option<&str>,
    anchor_ns: Option<i64>,
    start_ns: Option<PyReadonlyArray1<'py, i64>>,
    phase: Option<String>,
    token_source: Option<&str>,
    chunk_bytes: usize,
    max_record_bytes: usize,
    max_document_bytes: u64,
    max_json_depth: usize,
    max_decompressed_bytes: Option<u64>,
    max_ratio: f64,
    progress: Option<Py<PyAny>>,
) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyDict>)> {
    let format = format.map(RequestFormat::parse).transpose().py_err(py)?;
    let opts = RequestOptions {
        read: ReadOptions {
            chunk_bytes,
            max_record_bytes,
        },
        limits: limits(max_decompressed_bytes, max_ratio),
        anchor_ns,
        start_ns: start_ns.map(|a| a.as_array().to_vec()),
        phase,
        token_source: token_source
            .map(TokenSource::parse)
            .transpose()
            .py_err(py)?,
        max_document_bytes,
        max_json_depth,
    };
    let log = detached(py, progress.as_ref(), |on_chunk| {
        requests::read_requests(&path, format, &opts, on_chunk)
    })?;
    let t = log.table;
    let cols = PyDict::new(py);
    let has_first: Vec<bool> = t.first_token_ns.iter().map(Option::is_some).collect();
    let first: Vec<i64> = t.first_token_ns.iter().map(|f| f.unwrap_or(0)).collect();
    let sources: Vec<&str> = t.token_source.iter().map(TokenSource::name).collect();
    cols.set_item("request_id", t.request_id)?;
    cols.set_item("start_ns", t.start_ns.into_pyarray(py))?;
    cols.set_item("first_token_ns", first.into_pyarray(py))?;
    cols.set_item("has_first_token", has_first.into_pyarray(py))?;
    cols.set_item("end_ns", t.end_ns.into_pyarray(py))?;
    cols.set_item("input_tokens", t.input_tokens.into_pyarray(py))?;
    cols.set_item("output_tokens", t.output_tokens.into_pyarray(py))?;
    cols.set_item("model", t.model)?;
    cols.set_item("ok", t.ok.into_pyarray(py))?;
    cols.set_item("token_source", sources)?;
    cols.set_item("line", t.line.into_pyarray(py))?;
    let i = &log.info;
    let info = PyDict::new(py);
    info.set_item("path", &i.path)?;
    info.set_item("format", &i.format)?;
    info.set_item("size_bytes", i.size_bytes)?;
    info.set_item("compression", i.compression.clone())?;
    info.set_item("had_bom", i.had_bom)?;
    info.set_item("n_lines", i.n_lines)?;
    info.set_item("n_records", i.n_records)?;
    info.set_item("unterminated_final_line", i.unterminated_final_line)?;
    info.set_item("truncated_tail", i.truncated_tail)?;
    info.set_item("skipped", i.skipped.clone())?;
    info.set_item("n_duplicate_identical", i.n_duplicate_identical)?;
    info.set_item("timing", &i.timing)?;
    info.set_item("warnings", i.warnings.clone())?;
    Ok((cols, info))
}

/// The request-log format a file's content shows (after decompression), or None.
#[pyfunction]
#[pyo3(signature = (path, max_decompressed_bytes = None, max_ratio = 250.0))]
pub fn sniff_requests(
    py: Python<'_>,
    path: PathBuf,
    max_decompressed_bytes: Option<u64>,
    max_ratio: f64,
) -> PyResult<Option<&'static str>> {
    let head = head(py, &path, max_decompressed_bytes, max_ratio)?;
    Ok(requests::sniff_requests(&head).map(|f| f.name()))
}
