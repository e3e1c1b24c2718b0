//! Integration options as a Python object, so functions take one argument, not twelve.

use epcore_core::config::{Options, Rule};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

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

    #[getter]
    fn negative_tolerance_w(&self) -> f64 {
        self.inner.negative_tolerance_w
    }

    #[getter]
    fn max_power_w(&self) -> f64 {
        self.inner.max_power_w
    }

    #[getter]
    fn counter_unit_j(&self) -> f64 {
        self.inner.counter_unit_j
    }

    #[getter]
    fn counter_modulus(&self) -> Option<f64> {
        self.inner.counter_modulus
    }

    /// The constructor's keyword arguments that rebuild these options.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let o = &self.inner;
        let d = PyDict::new(py);
        d.set_item("rule", o.rule.name())?;
        d.set_item("max_gap_ns", o.max_gap_ns)?;
        d.set_item("strict", o.strict)?;
        d.set_item("negative_tolerance_w", o.negative_tolerance_w)?;
        d.set_item("max_power_w", o.max_power_w)?;
        d.set_item("counter_unit_j", o.counter_unit_j)?;
        d.set_item("counter_modulus", o.counter_modulus)?;
        Ok(d)
    }

    /// Pickle through the constructor: `copyreg.__newobj_ex__(Options, (), kwargs)`
    /// (the constructor takes keywords only), so unpickling validates again.
    fn __reduce__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let newobj_ex = py.import("copyreg")?.getattr("__newobj_ex__")?;
        let cls = py.get_type::<PyOptions>();
        let args = PyTuple::new(
            py,
            [
                cls.into_any(),
                PyTuple::empty(py).into_any(),
                self.to_dict(py)?.into_any(),
            ],
        )?;
        Ok((newobj_ex, args))
    }

    fn __eq__(&self, other: &PyOptions) -> bool {
        self.inner == other.inner
    }

    /// Consistent with `__eq__`: -0.0 and 0.0 hash alike (options hold no NaN).
    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let o = &self.inner;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        o.rule.name().hash(&mut h);
        o.max_gap_ns.hash(&mut h);
        o.strict.hash(&mut h);
        for x in [o.negative_tolerance_w, o.max_power_w, o.counter_unit_j] {
            (x + 0.0).to_bits().hash(&mut h);
        }
        o.counter_modulus.map(|m| (m + 0.0).to_bits()).hash(&mut h);
        h.finish()
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
