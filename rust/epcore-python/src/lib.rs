//! Thin PyO3 binding of `epcore-core`: argument conversion, GIL release and
//! the error map live here; every computation lives in the core.

use pyo3::prelude::*;

mod attribute;
mod batch;
mod carbon;
mod currency;
mod economics;
mod errors;
mod files;
mod fork;
mod integrate;
mod options;
mod partial;
mod requests;
mod scenarios;
mod token_counters;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<options::PyOptions>()?;
    m.add_class::<partial::PyPartial>()?;
    m.add_function(wrap_pyfunction!(integrate::integrate_channel, m)?)?;
    m.add_function(wrap_pyfunction!(integrate::partial_channel, m)?)?;
    m.add_function(wrap_pyfunction!(integrate::integrate_windows, m)?)?;
    m.add_function(wrap_pyfunction!(integrate::seconds_to_ns, m)?)?;
    m.add_function(wrap_pyfunction!(files::integrate_path, m)?)?;
    m.add_function(wrap_pyfunction!(files::sniff_format, m)?)?;
    m.add_function(wrap_pyfunction!(fork::forked_from_pool_owner, m)?)?;
    m.add_class::<files::PyStreamIntegrator>()?;
    attribute::register(m)?;
    batch::register(m)?;
    carbon::register(m)?;
    currency::register(m)?;
    economics::register(m)?;
    requests::register(m)?;
    scenarios::register(m)?;
    token_counters::register(m)?;
    Ok(())
}
