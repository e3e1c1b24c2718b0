//! Steady-state economics binding: keyword arguments in, a plain dict out.
//! `epcore.economics` turns the dict into typed, frozen results.

use epcore_core::economics::{self, Figures, Inputs};

use crate::currency::{from_raw, RawRates};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::IntoPy;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(steady_state, m)?)
}

/// Energy, cost and carbon per token and per query at constant power and throughput.
///
/// Returns `{"currency": str, "price_currency": str, "rate": float,
/// "rate_date": str | None, "rate_source": str | None, "it": {...},
/// "facility": {...} | None}`; the facility figures are present only when
/// `pue > 1`. `price_per_kwh` is in `price_currency` (default: `currency`),
/// converted with `rates` (a `(date, source, per_eur)` table; default: bundled).
#[pyfunction]
#[pyo3(signature = (power_w, tokens_per_s, price_per_kwh = 0.08, currency = "USD",
    query_tokens = 500.0, pue = 1.0, grid_g_co2_per_kwh = None, allow_negative_price = false,
    price_currency = None, rates = None))]
#[allow(clippy::too_many_arguments)]
fn steady_state<'py>(
    py: Python<'py>,
    power_w: f64,
    tokens_per_s: f64,
    price_per_kwh: f64,
    currency: &str,
    query_tokens: f64,
    pue: f64,
    grid_g_co2_per_kwh: Option<f64>,
    allow_negative_price: bool,
    price_currency: Option<&str>,
    rates: Option<RawRates>,
) -> PyResult<Bound<'py, PyDict>> {
    let inputs = Inputs {
        power_w,
        tokens_per_s,
        price_per_kwh,
        currency: currency.to_owned(),
        query_tokens,
        pue,
        grid_g_co2_per_kwh,
        allow_negative_price,
    };
    let rates = rates.map(|t| from_raw(py, t)).transpose()?;
    let r = economics::steady_state_priced(&inputs, price_currency, rates.as_ref()).py_err(py)?;
    let d = PyDict::new(py);
    d.set_item("currency", &r.currency)?;
    d.set_item("price_currency", &r.price_currency)?;
    d.set_item("rate", r.rate)?;
    d.set_item("rate_date", &r.rate_date)?;
    d.set_item("rate_source", &r.rate_source)?;
    d.set_item("it", figures_dict(py, &r.it)?)?;
    match &r.facility {
        Some(f) => d.set_item("facility", figures_dict(py, f)?)?,
        None => d.set_item("facility", py.None())?,
    }
    Ok(d)
}

fn figures_dict<'py>(py: Python<'py>, f: &Figures) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("joules_per_token", f.joules_per_token)?;
    d.set_item("wh_per_token", f.wh_per_token)?;
    d.set_item("kwh_per_million_tokens", f.kwh_per_million_tokens)?;
    d.set_item("cost_per_million_tokens", f.cost_per_million_tokens)?;
    d.set_item("wh_per_query", f.wh_per_query)?;
    d.set_item("cost_per_query", f.cost_per_query)?;
    d.set_item("queries_per_kwh", f.queries_per_kwh)?;
    d.set_item("tokens_per_kwh", f.tokens_per_kwh)?;
    d.set_item("g_co2_per_query", f.g_co2_per_query)?;
    d.set_item("g_co2_per_million_tokens", f.g_co2_per_million_tokens)?;
    Ok(d)
}
