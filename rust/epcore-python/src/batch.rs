//! Batch conversion binding: numpy columns in, caller-allocated numpy outputs
//! filled in place with the GIL released. `epcore.batch` allocates (or
//! reuses) the outputs and wraps them in a `BatchResult`.

use epcore_core::economics::batch::{
    self, BatchError, Column, Columns, InvalidRow, OnInvalid, Options, Output, Quality,
};
use epcore_core::error::Error;
use numpy::{PyReadonlyArray1, PyReadwriteArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::to_pyerr;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(batch_convert, m)?)?;
    m.add_function(wrap_pyfunction!(batch_default_outputs, m)?)?;
    m.add_function(wrap_pyfunction!(batch_output_names, m)?)
}

const INPUTS: [&str; 6] = [
    "power_w",
    "tokens_per_s",
    "price_per_kwh",
    "query_tokens",
    "pue",
    "grid_g_co2_per_kwh",
];

/// A column as Python handed it: a borrowed float64 array or a float.
enum Held<'py> {
    Array(PyReadonlyArray1<'py, f64>),
    Scalar(f64),
    Absent,
}

fn hold<'py>(columns: &Bound<'py, PyDict>) -> PyResult<Vec<Held<'py>>> {
    if let Some(k) = columns.keys().iter().find_map(|k| {
        let s = k.extract::<String>().ok()?;
        (!INPUTS.contains(&s.as_str())).then_some(s)
    }) {
        return Err(to_pyerr(
            columns.py(),
            Error::InvalidArgument {
                name: "columns".into(),
                value: k,
                reason: format!("not an input; expected one of {}", INPUTS.join(", ")),
            },
        ));
    }
    INPUTS
        .iter()
        .map(|name| match columns.get_item(name)? {
            None => Ok(Held::Absent),
            Some(v) if v.is_none() => Ok(Held::Absent),
            Some(v) => match v.extract::<PyReadonlyArray1<'py, f64>>() {
                Ok(a) => Ok(Held::Array(a)),
                Err(_) => Ok(Held::Scalar(v.extract::<f64>()?)),
            },
        })
        .collect()
}

fn columns<'a>(held: &'a [Held<'_>]) -> PyResult<Columns<'a>> {
    let mut col = held.iter().map(|h| -> PyResult<Option<Column<'a>>> {
        Ok(match h {
            Held::Array(a) => Some(Column::Array(a.as_slice()?)),
            Held::Scalar(v) => Some(Column::Scalar(*v)),
            Held::Absent => None,
        })
    });
    let mut next = || col.next().transpose().map(Option::flatten);
    let power_w = next()?;
    let tokens_per_s = next()?;
    let (Some(power_w), Some(tokens_per_s)) = (power_w, tokens_per_s) else {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "power_w and tokens_per_s are required",
        ));
    };
    let mut c = Columns::new(power_w, tokens_per_s);
    if let Some(v) = next()? {
        c.price_per_kwh = v;
    }
    if let Some(v) = next()? {
        c.query_tokens = v;
    }
    if let Some(v) = next()? {
        c.pue = v;
    }
    c.grid_g_co2_per_kwh = next()?;
    Ok(c)
}

/// The output names computed when none are named, for these columns (a dict
/// of the inputs, as for `batch_convert`).
#[pyfunction]
fn batch_default_outputs(columns: &Bound<'_, PyDict>) -> PyResult<Vec<String>> {
    let held = hold(columns)?;
    let cols = self::columns(&held)?;
    Ok(batch::default_outputs(&cols)
        .iter()
        .map(Output::name)
        .collect())
}

/// Every output name, IT figures then facility figures.
#[pyfunction]
fn batch_output_names() -> Vec<String> {
    Output::all().iter().map(Output::name).collect()
}

/// Fill `outputs` (name → float64 array, one element per row) from `columns`
/// (input name → float64 array or float; `None` or absent takes the default),
/// and `valid` (bool array) with the row validity when `on_invalid="null"`.
///
/// Returns the quality dict: `n_rows`, `n_invalid`, `first_invalid` (dict of
/// `row`, `column`, `value`, `reason`, or None) and `threads`. A bad row with
/// `on_invalid="raise"` raises `ConfigError` with `index` (the row) and `column` set.
#[pyfunction]
#[pyo3(signature = (columns, outputs, valid = None, *, currency = "USD",
    allow_negative_price = false, on_invalid = "raise", threads = 0))]
#[allow(clippy::too_many_arguments)]
fn batch_convert<'py>(
    py: Python<'py>,
    columns: &Bound<'py, PyDict>,
    outputs: Vec<(String, PyReadwriteArray1<'py, f64>)>,
    valid: Option<PyReadwriteArray1<'py, bool>>,
    currency: &str,
    allow_negative_price: bool,
    on_invalid: &str,
    threads: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let held = hold(columns)?;
    let cols = self::columns(&held)?;
    let options = Options {
        currency: currency.to_owned(),
        allow_negative_price,
        on_invalid: OnInvalid::parse(on_invalid).map_err(|e| to_pyerr(py, e))?,
        // 0 is rayon's global pool, which does not survive os.fork().
        threads: crate::fork::pool_threads(threads),
    };
    let mut outputs = outputs;
    let mut valid = valid;
    let mut pairs: Vec<(Output, &mut [f64])> = Vec::with_capacity(outputs.len());
    for (name, arr) in outputs.iter_mut() {
        let o = Output::parse(name).map_err(|e| to_pyerr(py, e))?;
        pairs.push((o, arr.as_slice_mut()?));
    }
    let mask = match valid.as_mut() {
        Some(v) => Some(v.as_slice_mut()?),
        None => None,
    };
    let result = py.detach(|| {
        // No panic may cross into Python: a bug becomes a typed error instead.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            batch::convert(&cols, &mut pairs, mask, &options)
        }))
        .unwrap_or_else(|_| {
            Err(BatchError::from(Error::Internal {
                reason: "batch conversion panicked".into(),
            }))
        })
    });
    match result {
        Ok(q) => quality(py, &q),
        Err(e) => Err(raise(py, e)),
    }
}

fn raise(py: Python<'_>, e: BatchError) -> PyErr {
    let err = to_pyerr(py, e.error);
    if let Some(row) = e.row {
        // Best effort: the message already names the row and column.
        let v = err.value(py);
        let _ = v.setattr("index", row.row);
        let _ = v.setattr("column", row.column);
    }
    err
}

fn row_dict<'py>(py: Python<'py>, r: &InvalidRow) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("row", r.row)?;
    d.set_item("column", &r.column)?;
    d.set_item("value", &r.value)?;
    d.set_item("reason", &r.reason)?;
    Ok(d)
}

fn quality<'py>(py: Python<'py>, q: &Quality) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("n_rows", q.n_rows)?;
    d.set_item("n_invalid", q.n_invalid)?;
    match &q.first_invalid {
        Some(r) => d.set_item("first_invalid", row_dict(py, r)?)?,
        None => d.set_item("first_invalid", py.None())?,
    }
    d.set_item("threads", q.threads)?;
    Ok(d)
}
