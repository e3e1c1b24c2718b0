//! Grid-intensity table and time-varying intensity and price series:
//! arrays and plain dicts across, `epcore.carbon` builds the typed results.

use std::path::PathBuf;

use epcore_core::attribute::Channel;
use epcore_core::economics::grid::{self, GridIntensity};
use epcore_core::economics::series::read::{read_series as read_core, Basis, SeriesReadOptions};
use epcore_core::economics::series::{
    integrate_constant as constant_core, integrate_series as integrate_core, Quantity, Series,
    SeriesIntegral, SeriesMeta, SeriesOptions,
};
use epcore_core::error::Error;
use numpy::{IntoPyArray, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::IntoPy;
use crate::files::detached;
use crate::options::PyOptions;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(grid_intensity, m)?)?;
    m.add_function(wrap_pyfunction!(grid_regions, m)?)?;
    m.add_function(wrap_pyfunction!(read_series, m)?)?;
    m.add_function(wrap_pyfunction!(series_from_labels, m)?)?;
    m.add_function(wrap_pyfunction!(integrate_series, m)?)?;
    m.add_function(wrap_pyfunction!(integrate_constant, m)?)?;
    Ok(())
}

type ChannelArrays<'py> = (
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, f64>,
    PyOptions,
);

fn quantity(name: &str) -> Result<Quantity, Error> {
    match name {
        "intensity" => Ok(Quantity::Intensity),
        "price" => Ok(Quantity::Price),
        other => Err(Error::InvalidArgument {
            name: "quantity".into(),
            value: other.into(),
            reason: "expected intensity or price".into(),
        }),
    }
}

fn row_dict<'py>(py: Python<'py>, r: &GridIntensity) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("code", &r.code)?;
    d.set_item("alias", &r.alias)?;
    d.set_item("kind", &r.kind)?;
    d.set_item("name", &r.name)?;
    d.set_item("g_co2_per_kwh", r.g_co2_per_kwh)?;
    d.set_item("year", r.year)?;
    d.set_item("source", &r.source)?;
    d.set_item("licence", &r.licence)?;
    d.set_item("url", &r.url)?;
    Ok(d)
}

/// The shipped grid-intensity row of `code` (ISO2, ISO3, `gcp:<region>`, `US-CA`, `SE-SE1`…).
#[pyfunction]
pub fn grid_intensity<'py>(py: Python<'py>, code: &str) -> PyResult<Bound<'py, PyDict>> {
    let r = grid::grid_intensity(code).py_err(py)?;
    row_dict(py, &r)
}

/// Every row of the shipped grid-intensity table.
#[pyfunction]
pub fn grid_regions(py: Python<'_>) -> PyResult<Vec<Bound<'_, PyDict>>> {
    let rows = grid::grid_regions().py_err(py)?;
    rows.iter().map(|r| row_dict(py, r)).collect()
}

fn meta_dict<'py>(py: Python<'py>, m: &SeriesMeta) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("quantity", m.quantity.name())?;
    d.set_item("unit", m.quantity.unit())?;
    d.set_item("currency", &m.currency)?;
    d.set_item("layout", &m.layout)?;
    d.set_item("basis", &m.basis)?;
    d.set_item("method", &m.method)?;
    d.set_item("zone", &m.zone)?;
    d.set_item("path", &m.path)?;
    d.set_item("column", &m.column)?;
    d.set_item("converted_from", &m.converted_from)?;
    d.set_item("n_rows", m.n_rows)?;
    d.set_item("n_missing", m.n_missing)?;
    d.set_item("n_estimated", m.n_estimated)?;
    d.set_item("unit_assumed", m.unit_assumed)?;
    Ok(d)
}

fn series_dict(py: Python<'_>, s: Series) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("meta", meta_dict(py, &s.meta)?)?;
    d.set_item("start_ns", s.start_ns.into_pyarray(py))?;
    d.set_item("end_ns", s.end_ns.into_pyarray(py))?;
    d.set_item("value", s.value.into_pyarray(py))?;
    Ok(d)
}

/// Read an intensity or price series file: `{start_ns, end_ns, value, meta}`.
#[pyfunction]
#[pyo3(signature = (path, quantity, basis = "lifecycle", currency = None, allow_negative = false))]
pub fn read_series<'py>(
    py: Python<'py>,
    path: PathBuf,
    quantity: &str,
    basis: &str,
    currency: Option<String>,
    allow_negative: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let q = self::quantity(quantity).py_err(py)?;
    let opts = SeriesReadOptions {
        quantity: q,
        basis: Basis::parse(basis).py_err(py)?,
        currency,
        allow_negative,
    };
    let s = detached(py, None, |_| read_core(&path, &opts))?;
    series_dict(py, s)
}

/// Interval-start labels to intervals (NaN values leave holes): `{start_ns, end_ns, value, meta}`.
#[pyfunction]
#[pyo3(signature = (t_ns, values, quantity))]
pub fn series_from_labels<'py>(
    py: Python<'py>,
    t_ns: PyReadonlyArray1<'py, i64>,
    values: PyReadonlyArray1<'py, f64>,
    quantity: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let q = self::quantity(quantity).py_err(py)?;
    let v: Vec<Option<f64>> = values
        .as_slice()?
        .iter()
        .map(|&x| (!x.is_nan()).then_some(x))
        .collect();
    let s = Series::from_labels(t_ns.as_slice()?, &v, SeriesMeta::new(q)).py_err(py)?;
    series_dict(py, s)
}

fn integral_dict(py: Python<'_>, r: SeriesIntegral) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in [
        ("energy_j", r.energy_j),
        ("covered_energy_j", r.covered_energy_j),
        ("outside_energy_j", r.outside_energy_j),
        ("coverage", r.coverage),
        ("pue", r.pue),
        ("total", r.total),
        ("it_total", r.it_total),
    ] {
        d.set_item(k, v)?;
    }
    for (k, v) in [
        ("weighted_mean", r.weighted_mean),
        ("time_mean", r.time_mean),
        ("naive_total", r.naive_total),
        ("difference", r.difference),
        ("difference_pct", r.difference_pct),
    ] {
        d.set_item(k, v)?;
    }
    for (k, v) in [
        ("trace_ns", r.trace_ns),
        ("covered_ns", r.covered_ns),
        ("trace_start_ns", r.trace_start_ns),
        ("trace_end_ns", r.trace_end_ns),
    ] {
        d.set_item(k, v)?;
    }
    d.set_item("n_intervals_used", r.n_intervals_used)?;
    d.set_item("interval_energy_j", r.interval_energy_j.into_pyarray(py))?;
    Ok(d)
}

/// One channel's borrowed samples and its integration options.
type ChannelSlices<'a> = (&'a [i64], &'a [f64], PyOptions);

fn slices<'a>(channels: &'a [ChannelArrays<'_>]) -> PyResult<Vec<ChannelSlices<'a>>> {
    channels
        .iter()
        .map(|(t, v, o)| Ok((t.as_slice()?, v.as_slice()?, o.clone())))
        .collect()
}

/// Integrate a series (`start_ns`, `end_ns`, `value`) against trace channels
/// (`(t_ns, values, options)` each). Returns the totals as a dict.
#[pyfunction]
#[pyo3(signature = (channels, start_ns, end_ns, value, quantity, *, pue = 1.0, allow_partial = false, threads = 0))]
#[allow(clippy::too_many_arguments)]
pub fn integrate_series<'py>(
    py: Python<'py>,
    channels: Vec<ChannelArrays<'py>>,
    start_ns: PyReadonlyArray1<'py, i64>,
    end_ns: PyReadonlyArray1<'py, i64>,
    value: PyReadonlyArray1<'py, f64>,
    quantity: &str,
    pue: f64,
    allow_partial: bool,
    threads: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let q = self::quantity(quantity).py_err(py)?;
    let series = Series::from_intervals(
        start_ns.as_slice()?.to_vec(),
        end_ns.as_slice()?.to_vec(),
        value.as_slice()?.to_vec(),
        SeriesMeta::new(q),
    )
    .py_err(py)?;
    let opts = SeriesOptions {
        pue,
        allow_partial,
        threads,
    };
    let sl = slices(&channels)?;
    let r = detached(py, None, |_| {
        let chans: Vec<Channel> = sl
            .iter()
            .map(|(t, v, o)| Channel {
                t_ns: t,
                values: v,
                options: &o.inner,
            })
            .collect();
        integrate_core(&chans, &series, &opts)
    })?;
    integral_dict(py, r)
}

/// A constant value over the whole trace, with the same result shape as [`integrate_series`].
#[pyfunction]
#[pyo3(signature = (channels, value, quantity, *, pue = 1.0, threads = 0))]
pub fn integrate_constant<'py>(
    py: Python<'py>,
    channels: Vec<ChannelArrays<'py>>,
    value: f64,
    quantity: &str,
    pue: f64,
    threads: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let q = self::quantity(quantity).py_err(py)?;
    let opts = SeriesOptions {
        pue,
        allow_partial: false,
        threads,
    };
    let sl = slices(&channels)?;
    let r = detached(py, None, |_| {
        let chans: Vec<Channel> = sl
            .iter()
            .map(|(t, v, o)| Channel {
                t_ns: t,
                values: v,
                options: &o.inner,
            })
            .collect();
        constant_core(&chans, value, SeriesMeta::new(q), &opts)
    })?;
    integral_dict(py, r)
}
