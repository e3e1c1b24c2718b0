//! Currency binding: rate tables travel as `(date, source, per_eur)` tuples;
//! `epcore.currency.Rates` wraps them in a frozen dataclass.

use std::collections::BTreeMap;
use std::path::PathBuf;

use epcore_core::economics::currency::{self, Rates};
use pyo3::prelude::*;

use crate::errors::IntoPy;

/// A rate table as it crosses into Python.
pub type RawRates = (Option<String>, String, BTreeMap<String, f64>);

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(currency_table, m)?)?;
    m.add_function(wrap_pyfunction!(bundled_rates, m)?)?;
    m.add_function(wrap_pyfunction!(rates_from_mapping, m)?)?;
    m.add_function(wrap_pyfunction!(read_ecb_rates, m)?)?;
    m.add_function(wrap_pyfunction!(read_ecb_history, m)?)?;
    m.add_function(wrap_pyfunction!(parse_ecb_text, m)?)?;
    m.add_function(wrap_pyfunction!(fx_rate, m)?)?;
    m.add_function(wrap_pyfunction!(fx_convert, m)?)?;
    m.add_function(wrap_pyfunction!(format_money, m)?)?;
    m.add_function(wrap_pyfunction!(currency_decimals, m)?)?;
    Ok(())
}

fn raw(r: Rates) -> RawRates {
    (r.date, r.source, r.per_eur)
}

/// The checked core table of a raw tuple from Python.
pub fn from_raw(py: Python<'_>, r: RawRates) -> PyResult<Rates> {
    Rates::from_parts(r.0, r.1, r.2).py_err(py)
}

/// ISO 4217 active codes and their minor-unit decimals, sorted by code.
#[pyfunction]
fn currency_table() -> Vec<(&'static str, u8)> {
    currency::CURRENCIES.to_vec()
}

/// The bundled ECB table as `(date, source, per_eur)`.
#[pyfunction]
fn bundled_rates() -> RawRates {
    raw(Rates::bundled())
}

/// A checked table from `{code: units per 1 base}`.
#[pyfunction]
#[pyo3(signature = (mapping, date, base, source))]
fn rates_from_mapping(
    py: Python<'_>,
    mapping: BTreeMap<String, f64>,
    date: Option<&str>,
    base: &str,
    source: &str,
) -> PyResult<RawRates> {
    Rates::from_mapping(mapping, date, base, source)
        .py_err(py)
        .map(raw)
}

/// The table of an ECB CSV/XML file for `date` (the newest on or before it), or the newest.
#[pyfunction]
#[pyo3(signature = (path, date = None))]
fn read_ecb_rates(py: Python<'_>, path: PathBuf, date: Option<&str>) -> PyResult<RawRates> {
    let tables = py.detach(|| currency::read_ecb(&path)).py_err(py)?;
    currency::pick(&tables, date).cloned().py_err(py).map(raw)
}

/// Every table of an ECB CSV/XML file, newest first.
#[pyfunction]
fn read_ecb_history(py: Python<'_>, path: PathBuf) -> PyResult<Vec<RawRates>> {
    let tables = py.detach(|| currency::read_ecb(&path)).py_err(py)?;
    Ok(tables.into_iter().map(raw).collect())
}

/// Every table of ECB CSV/XML text, newest first; `name` labels errors.
#[pyfunction]
#[pyo3(signature = (text, name = "<text>"))]
fn parse_ecb_text(py: Python<'_>, text: &str, name: &str) -> PyResult<Vec<RawRates>> {
    let tables = currency::parse_ecb(text, name).py_err(py)?;
    Ok(tables.into_iter().map(raw).collect())
}

/// Units of `to` per unit of `from_` in a table.
#[pyfunction]
fn fx_rate(py: Python<'_>, rates: RawRates, from_: &str, to: &str) -> PyResult<f64> {
    from_raw(py, rates)?.rate(from_, to).py_err(py)
}

/// `amount` of `from_` in `to`.
#[pyfunction]
fn fx_convert(
    py: Python<'_>,
    rates: RawRates,
    amount: f64,
    from_: &str,
    to: &str,
) -> PyResult<f64> {
    from_raw(py, rates)?.convert(amount, from_, to).py_err(py)
}

/// An amount for display: minor-unit decimals, or 3 significant figures below one minor unit.
#[pyfunction]
#[pyo3(signature = (amount, currency, symbol = true))]
fn format_money(py: Python<'_>, amount: f64, currency: &str, symbol: bool) -> PyResult<String> {
    currency::format_money(amount, currency, symbol).py_err(py)
}

/// Minor-unit decimals of an active ISO 4217 code.
#[pyfunction]
fn currency_decimals(py: Python<'_>, code: &str) -> PyResult<u8> {
    currency::decimals("currency", code).py_err(py)
}
