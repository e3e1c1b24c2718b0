//! Integration options as a Python object, so functions take one argument, not twelve.

use epcore_core::config::{Options, Rule};
use pyo3::prelude::*;

use crate::errors::IntoPy;

/// How to integrate a channel. Built by `epcore` from keyword arguments.
#[pyclass(name = "Options", module = "epcore._core", frozen, from_py_object)]
#[derive(Clone)]
pub struct PyOptions {
    pub inner: Options,
}

#[pymethods]
impl PyOptions {
    #[new]
    #[pyo3(signature = (*, rule = "trapezoid", max_gap_ns = None, strict = false,
        negative_tolerance_w = 1.0, max_power_w = 100_000.0, counter_unit_j = 1.0,
        counter_modulus = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        rule: &str,
        max_gap_ns: Option<i64>,
        strict: bool,
        negative_tolerance_w: f64,
        max_power_w: f64,
        counter_unit_j: f64,
        counter_modulus: Option<f64>,
    ) -> PyResult<Self> {
        let inner = Options {
            rule: Rule::parse(rule).py_err(py)?,
            max_gap_ns,
            strict,
            negative_tolerance_w,
            max_power_w,
            counter_unit_j,
            counter_modulus,
        };
        inner.validate().py_err(py)?;
        Ok(PyOptions { inner })
    }

    #[getter]
    fn rule(&self) -> &'static str {
        self.inner.rule.name()
    }

    #[getter]
    fn max_gap_ns(&self) -> Option<i64> {
        self.inner.max_gap_ns
    }

    #[getter]
    fn strict(&self) -> bool {
        self.inner.strict
    }

    /// A copy of these options for a cumulative counter of `unit_j` joules per unit.
    #[pyo3(signature = (unit_j, modulus = None))]
    fn for_counter(&self, py: Python<'_>, unit_j: f64, modulus: Option<f64>) -> PyResult<Self> {
        let inner = Options {
            rule: Rule::Counter,
            counter_unit_j: unit_j,
            counter_modulus: modulus.or(self.inner.counter_modulus),
            ..self.inner
        };
        inner.validate().py_err(py)?;
        Ok(PyOptions { inner })
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }
}
