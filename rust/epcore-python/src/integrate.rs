//! In-memory integration of numpy arrays, with the GIL released.

use epcore_core::{integrate, time, window};
use numpy::{PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

use crate::errors::IntoPy;
use crate::options::PyOptions;
use crate::partial::PyPartial;

type WindowArrays<'py> = (
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<u64>>,
);

/// Integrate one channel: `t_ns` int64 nanoseconds, `values` float64 (W, or counter units).
#[pyfunction]
#[pyo3(signature = (t_ns, values, options, threads = 0))]
pub fn integrate_channel(
    py: Python<'_>,
    t_ns: PyReadonlyArray1<'_, i64>,
    values: PyReadonlyArray1<'_, f64>,
    options: &PyOptions,
    threads: usize,
) -> PyResult<PyPartial> {
    let t = t_ns.as_slice()?;
    let v = values.as_slice()?;
    let opts = options.inner;
    let p = py
        .detach(|| integrate::integrate_channel(&opts, t, v, threads))
        .py_err(py)?;
    Ok(PyPartial { inner: p })
}

/// The mergeable state of a piece of one channel (any number of rows).
#[pyfunction]
#[pyo3(signature = (t_ns, values, options, threads = 0))]
pub fn partial_channel(
    py: Python<'_>,
    t_ns: PyReadonlyArray1<'_, i64>,
    values: PyReadonlyArray1<'_, f64>,
    options: &PyOptions,
    threads: usize,
) -> PyResult<PyPartial> {
    let t = t_ns.as_slice()?;
    let v = values.as_slice()?;
    let opts = options.inner;
    let p = py
        .detach(|| integrate::partial_channel(&opts, t, v, threads))
        .py_err(py)?;
    Ok(PyPartial { inner: p })
}

/// Integrate one channel and the energy, covered ns and gap count of each `(start_ns, end_ns)` row of `windows`.
#[pyfunction]
#[pyo3(signature = (t_ns, values, windows, options, threads = 0))]
pub fn integrate_windows<'py>(
    py: Python<'py>,
    t_ns: PyReadonlyArray1<'py, i64>,
    values: PyReadonlyArray1<'py, f64>,
    windows: PyReadonlyArray2<'py, i64>,
    options: &PyOptions,
    threads: usize,
) -> PyResult<(PyPartial, WindowArrays<'py>)> {
    let t = t_ns.as_slice()?;
    let v = values.as_slice()?;
    let w = windows.as_array();
    if w.ncols() != 2 {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "windows must have shape (n, 2)",
        ));
    }
    let pairs: Vec<(i64, i64)> = w.rows().into_iter().map(|r| (r[0], r[1])).collect();
    let opts = options.inner;
    let (p, we) = py
        .detach(|| window::integrate_windows(&opts, t, v, &pairs, threads))
        .py_err(py)?;
    let arrays = (
        PyArray1::from_vec(py, we.energy_j),
        PyArray1::from_vec(py, we.covered_ns),
        PyArray1::from_vec(py, we.n_gaps),
    );
    Ok((PyPartial { inner: p }, arrays))
}

/// Float seconds to int64 nanoseconds (rounded), refusing NaN, inf and overflow.
#[pyfunction]
pub fn seconds_to_ns<'py>(
    py: Python<'py>,
    seconds: PyReadonlyArray1<'py, f64>,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let s = seconds.as_slice()?;
    let ns = py.detach(|| time::seconds_to_ns(s)).py_err(py)?;
    Ok(PyArray1::from_vec(py, ns))
}
