//! The mergeable integration state as a Python object.

use epcore_core::partial::Partial;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::errors::IntoPy;

/// Integration state of one channel over a piece of its rows; merge adjacent pieces with `merge`.
#[pyclass(name = "Partial", module = "epcore._core", frozen)]
#[derive(Clone)]
pub struct PyPartial {
    pub inner: Partial,
}

#[pymethods]
impl PyPartial {
    /// Energy in joules of the piece.
    #[getter]
    fn energy_j(&self) -> f64 {
        self.inner.energy_j()
    }

    #[getter]
    fn method(&self) -> &'static str {
        self.inner.cfg.opts.rule.name()
    }

    #[getter]
    fn max_gap_ns(&self) -> i64 {
        self.inner.cfg.max_gap_ns
    }

    #[getter]
    fn first_t_ns(&self) -> Option<i64> {
        self.inner.first.map(|s| s.t_ns)
    }

    #[getter]
    fn last_t_ns(&self) -> Option<i64> {
        self.inner.last.map(|s| s.t_ns)
    }

    /// Value of the first accepted sample (W, or counter units), None if empty.
    #[getter]
    fn first_value(&self) -> Option<f64> {
        self.inner.first.map(|s| s.value)
    }

    /// Value of the last accepted sample, None if empty.
    #[getter]
    fn last_value(&self) -> Option<f64> {
        self.inner.last.map(|s| s.value)
    }

    #[getter]
    fn n_samples(&self) -> u64 {
        self.inner.counts.n_samples
    }

    /// Every field, options included, as a small versioned binary layout
    /// (exact: floats travel as their bits).
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.to_bytes())
    }

    /// The partial that `to_bytes` wrote; damaged bytes raise `ParseError`
    /// (code `corrupt_input`).
    #[staticmethod]
    fn from_bytes(py: Python<'_>, b: &[u8]) -> PyResult<PyPartial> {
        Ok(PyPartial {
            inner: Partial::from_bytes(b).py_err(py)?,
        })
    }

    /// Pickle as `Partial.from_bytes(self.to_bytes())`, so partials travel
    /// between processes (Dask workers) and merge there exactly.
    fn __reduce__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let from_bytes = py.get_type::<PyPartial>().getattr("from_bytes")?;
        Ok((from_bytes, (self.to_bytes(py),)))
    }

    /// The partial of this piece followed by `other`.
    fn merge(&self, py: Python<'_>, other: &PyPartial) -> PyResult<PyPartial> {
        let mut m = self.inner.clone();
        m.merge(&other.inner).py_err(py)?;
        Ok(PyPartial { inner: m })
    }

    /// Every field as plain Python values.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let p = &self.inner;
        let c = &p.counts;
        let d = PyDict::new(py);
        d.set_item("energy_j", p.energy_j())?;
        d.set_item("method", p.cfg.opts.rule.name())?;
        d.set_item("max_gap_ns", p.cfg.max_gap_ns)?;
        d.set_item("first_t_ns", p.first.map(|s| s.t_ns))?;
        d.set_item("last_t_ns", p.last.map(|s| s.t_ns))?;
        d.set_item("n_rows", c.n_rows)?;
        d.set_item("n_samples", c.n_samples)?;
        d.set_item("n_nonfinite", c.n_nonfinite)?;
        d.set_item("n_negative_clamped", c.n_negative_clamped)?;
        d.set_item("n_duplicate_identical", c.n_duplicate_identical)?;
        d.set_item("n_gaps", c.n_gaps)?;
        d.set_item("gap_ns", c.gap_ns)?;
        d.set_item("covered_ns", c.covered_ns)?;
        d.set_item("span_ns", p.span_ns())?;
        d.set_item("n_wraps", c.n_wraps)?;
        d.set_item("n_resets", c.n_resets)?;
        let has_dt = c.n_samples >= 2;
        d.set_item("min_dt_ns", has_dt.then_some(p.min_dt_ns))?;
        d.set_item("max_dt_ns", has_dt.then_some(p.max_dt_ns))?;
        let has_v = c.n_samples >= 1;
        d.set_item("min_value", has_v.then_some(p.min_value))?;
        d.set_item("max_value", has_v.then_some(p.max_value))?;
        Ok(d)
    }

    fn __eq__(&self, other: &PyPartial) -> bool {
        self.inner == other.inner
    }

    fn __repr__(&self) -> String {
        format!(
            "Partial(energy_j={}, n_samples={}, method='{}')",
            self.inner.energy_j(),
            self.inner.counts.n_samples,
            self.inner.cfg.opts.rule.name()
        )
    }
}
