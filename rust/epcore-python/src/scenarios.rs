//! Scenario binding: sensitivity, fleet, API floor, crossover and ranges.
//! Keyword arguments in, plain dicts out; `epcore.scenarios` makes them typed
//! and frozen.

use epcore_core::economics::crossover::CrossoverInputs;
use epcore_core::economics::fleet::{FleetInputs, FleetLevel};
use epcore_core::economics::floor::{FloorInputs, FloorLine};
use epcore_core::economics::ranges::{
    self, FigureBounds, FleetLevelBounds, FleetRanges, Interval, SteadyStateRanges,
};
use epcore_core::economics::sensitivity::{figure_values, Change, Lever, Scenario, FIGURE_NAMES};
use epcore_core::economics::{self as core, Figures, Inputs};
use epcore_core::Error;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::errors::IntoPy;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sensitivity, m)?)?;
    m.add_function(wrap_pyfunction!(fleet, m)?)?;
    m.add_function(wrap_pyfunction!(api_floor, m)?)?;
    m.add_function(wrap_pyfunction!(crossover, m)?)?;
    m.add_function(wrap_pyfunction!(steady_state_range, m)?)?;
    m.add_function(wrap_pyfunction!(fleet_range, m)?)
}

/// `(name, lever, "scale" | "set", amount, note)`, as the Python layer passes a scenario.
type ScenarioTuple = (String, String, String, f64, Option<String>);

fn figures_dict<'py>(py: Python<'py>, f: &Figures) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (name, v) in FIGURE_NAMES.iter().zip(figure_values(f)) {
        d.set_item(*name, v)?;
    }
    Ok(d)
}

fn scenario_from(py: Python<'_>, t: ScenarioTuple) -> PyResult<Scenario> {
    let (name, lever, kind, amount, note) = t;
    let lever = Lever::parse(&lever).py_err(py)?;
    let change = match kind.as_str() {
        "scale" => Change::Scale(amount),
        "set" => Change::Set(amount),
        other => {
            return Err(Error::InvalidArgument {
                name: format!("scenario '{name}': change"),
                value: other.to_owned(),
                reason: "must be 'scale' or 'set'".into(),
            })
            .py_err(py)
        }
    };
    Ok(Scenario {
        name,
        lever,
        change,
        note,
    })
}

/// Every steady-state figure under each scenario (the presets when `scenarios` is None).
///
/// Returns `{"currency", "base": {figure: value}, "rows": [{"scenario", "lever",
/// "change", "amount", "note", "inputs": {...}, "figures": {...},
/// "relative_change": {...}}]}`; figures are facility-level (IT at PUE 1).
#[pyfunction]
#[pyo3(signature = (power_w, tokens_per_s, price_per_kwh = 0.08, currency = "USD",
    query_tokens = 500.0, pue = 1.0, grid_g_co2_per_kwh = None, allow_negative_price = false,
    scenarios = None))]
#[allow(clippy::too_many_arguments)]
fn sensitivity<'py>(
    py: Python<'py>,
    power_w: f64,
    tokens_per_s: f64,
    price_per_kwh: f64,
    currency: &str,
    query_tokens: f64,
    pue: f64,
    grid_g_co2_per_kwh: Option<f64>,
    allow_negative_price: bool,
    scenarios: Option<Vec<ScenarioTuple>>,
) -> PyResult<Bound<'py, PyDict>> {
    let mut base = Inputs::new(power_w, tokens_per_s);
    base.price_per_kwh = price_per_kwh;
    base.currency = currency.to_owned();
    base.query_tokens = query_tokens;
    base.pue = pue;
    base.grid_g_co2_per_kwh = grid_g_co2_per_kwh;
    base.allow_negative_price = allow_negative_price;
    let list = match scenarios {
        Some(v) => v
            .into_iter()
            .map(|t| scenario_from(py, t))
            .collect::<PyResult<Vec<_>>>()?,
        None => core::sensitivity::presets(&base),
    };
    let s = core::sensitivity::sensitivity(&base, &list).py_err(py)?;
    let d = PyDict::new(py);
    d.set_item("currency", &s.base.currency)?;
    d.set_item("base", figures_dict(py, &s.base_figures)?)?;
    let rows = PyList::empty(py);
    for o in &s.outcomes {
        let r = PyDict::new(py);
        r.set_item("scenario", &o.scenario.name)?;
        r.set_item("lever", o.scenario.lever.name())?;
        let (kind, amount) = match o.scenario.change {
            Change::Scale(f) => ("scale", f),
            Change::Set(v) => ("set", v),
        };
        r.set_item("change", kind)?;
        r.set_item("amount", amount)?;
        r.set_item("note", o.scenario.note.as_deref())?;
        let i = PyDict::new(py);
        i.set_item("power_w", o.inputs.power_w)?;
        i.set_item("tokens_per_s", o.inputs.tokens_per_s)?;
        i.set_item("price_per_kwh", o.inputs.price_per_kwh)?;
        i.set_item("query_tokens", o.inputs.query_tokens)?;
        i.set_item("pue", o.inputs.pue)?;
        i.set_item("grid_g_co2_per_kwh", o.inputs.grid_g_co2_per_kwh)?;
        r.set_item("inputs", i)?;
        r.set_item("figures", figures_dict(py, &o.figures)?)?;
        let rel = PyDict::new(py);
        for (name, v) in FIGURE_NAMES.iter().zip(o.relative_changes) {
            rel.set_item(*name, v)?;
        }
        r.set_item("relative_change", rel)?;
        rows.append(r)?;
    }
    d.set_item("rows", rows)?;
    Ok(d)
}

fn level_dict<'py>(py: Python<'py>, l: &FleetLevel) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("power_mw", l.power_mw)?;
    d.set_item("energy_mwh", l.energy_mwh)?;
    d.set_item("cost", l.cost)?;
    d.set_item("t_co2", l.t_co2)?;
    d.set_item("joules_per_token", l.joules_per_token)?;
    d.set_item("cost_per_million_tokens", l.cost_per_million_tokens)?;
    d.set_item("g_co2_per_million_tokens", l.g_co2_per_million_tokens)?;
    Ok(d)
}

/// Power, energy, cost, carbon and tokens of a fleet over `hours`.
///
/// Returns `{"currency", "draw_w_per_node", "tokens_per_s", "tokens", "it": {...},
/// "facility": {...}}`.
#[pyfunction]
#[pyo3(signature = (nodes, power_w_per_node, utilization, idle_power_w_per_node = 0.0,
    hours = 8760.0, pue = 1.0, price_per_kwh = 0.08, currency = "USD", grid_g_co2_per_kwh = None,
    tokens_per_s_per_node = None, allow_negative_price = false))]
#[allow(clippy::too_many_arguments)]
fn fleet<'py>(
    py: Python<'py>,
    nodes: f64,
    power_w_per_node: f64,
    utilization: f64,
    idle_power_w_per_node: f64,
    hours: f64,
    pue: f64,
    price_per_kwh: f64,
    currency: &str,
    grid_g_co2_per_kwh: Option<f64>,
    tokens_per_s_per_node: Option<f64>,
    allow_negative_price: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let x = FleetInputs {
        nodes,
        power_w_per_node,
        idle_power_w_per_node,
        utilization,
        hours,
        pue,
        price_per_kwh,
        currency: currency.to_owned(),
        grid_g_co2_per_kwh,
        tokens_per_s_per_node,
        allow_negative_price,
    };
    let f = core::fleet::fleet(&x).py_err(py)?;
    let d = PyDict::new(py);
    d.set_item("currency", &f.currency)?;
    d.set_item("draw_w_per_node", f.draw_w_per_node)?;
    d.set_item("tokens_per_s", f.tokens_per_s)?;
    d.set_item("tokens", f.tokens)?;
    d.set_item("it", level_dict(py, &f.it)?)?;
    d.set_item("facility", level_dict(py, &f.facility)?)?;
    Ok(d)
}

fn line_dict<'py>(py: Python<'py>, l: &FloorLine) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("price_per_mtok", l.price_per_mtok)?;
    d.set_item("joules_per_token", l.joules_per_token)?;
    d.set_item("energy_cost_per_mtok", l.energy_cost_per_mtok)?;
    d.set_item("energy_share", l.energy_share)?;
    d.set_item("margin_per_mtok", l.margin_per_mtok)?;
    d.set_item("margin_share", l.margin_share)?;
    d.set_item("break_even_joules_per_token", l.break_even_joules_per_token)?;
    d.set_item("headroom", l.headroom)?;
    Ok(d)
}

/// The electricity cost floor under an API price, per input, output and blended token.
///
/// Returns `{"currency", "input": {...}, "output": {...}, "blended": {...}}`.
#[pyfunction]
#[pyo3(signature = (input_price_per_mtok, output_price_per_mtok, input_joules_per_token,
    output_joules_per_token, price_per_kwh = 0.08, currency = "USD", pue = 1.0,
    input_tokens = 0.0, output_tokens = 500.0, allow_negative_price = false))]
#[allow(clippy::too_many_arguments)]
fn api_floor<'py>(
    py: Python<'py>,
    input_price_per_mtok: f64,
    output_price_per_mtok: f64,
    input_joules_per_token: f64,
    output_joules_per_token: f64,
    price_per_kwh: f64,
    currency: &str,
    pue: f64,
    input_tokens: f64,
    output_tokens: f64,
    allow_negative_price: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let x = FloorInputs {
        input_price_per_mtok,
        output_price_per_mtok,
        currency: currency.to_owned(),
        input_joules_per_token,
        output_joules_per_token,
        price_per_kwh,
        pue,
        input_tokens,
        output_tokens,
        allow_negative_price,
    };
    let f = core::floor::api_floor(&x).py_err(py)?;
    let d = PyDict::new(py);
    d.set_item("currency", &f.currency)?;
    d.set_item("input", line_dict(py, &f.input)?)?;
    d.set_item("output", line_dict(py, &f.output)?)?;
    d.set_item("blended", line_dict(py, &f.blended)?)?;
    Ok(d)
}

/// Days until cumulative inference energy passes training energy, and the ratio after `months`.
#[pyfunction]
#[pyo3(signature = (training_mwh, queries_per_day, wh_per_query, pue = 1.0, months = 12.0))]
fn crossover<'py>(
    py: Python<'py>,
    training_mwh: f64,
    queries_per_day: f64,
    wh_per_query: f64,
    pue: f64,
    months: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let x = CrossoverInputs {
        training_mwh,
        queries_per_day,
        wh_per_query,
        pue,
        months,
    };
    let c = core::crossover::crossover(&x).py_err(py)?;
    let d = PyDict::new(py);
    d.set_item("inference_mwh_per_day", c.inference_mwh_per_day)?;
    d.set_item("days_to_cross", c.days_to_cross)?;
    d.set_item("months_to_cross", c.months_to_cross)?;
    d.set_item("inference_mwh_after_months", c.inference_mwh_after_months)?;
    d.set_item("ratio_after_months", c.ratio_after_months)?;
    Ok(d)
}

type Pair = (f64, f64);

fn iv(p: Pair) -> Interval {
    // Unchecked here: the core checks every range and names the input.
    Interval { min: p.0, max: p.1 }
}

fn pair(i: Option<Interval>) -> Option<Pair> {
    i.map(|i| (i.min, i.max))
}

fn bounds_dict<'py>(py: Python<'py>, b: &FigureBounds) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let values = [
        Some(b.joules_per_token),
        Some(b.wh_per_token),
        Some(b.kwh_per_million_tokens),
        Some(b.cost_per_million_tokens),
        Some(b.wh_per_query),
        Some(b.cost_per_query),
        Some(b.queries_per_kwh),
        Some(b.tokens_per_kwh),
        b.g_co2_per_query,
        b.g_co2_per_million_tokens,
    ];
    for (name, v) in FIGURE_NAMES.iter().zip(values) {
        d.set_item(*name, pair(v))?;
    }
    Ok(d)
}

/// Steady-state figures as `(min, max)` over ranged inputs (each a `(min, max)` pair).
///
/// Returns `{"currency", "it": {figure: (min, max) | None}, "facility": {...}}`.
#[pyfunction]
#[pyo3(signature = (power_w, tokens_per_s, price_per_kwh = (0.08, 0.08), currency = "USD",
    query_tokens = (500.0, 500.0), pue = (1.0, 1.0), grid_g_co2_per_kwh = None,
    allow_negative_price = false))]
#[allow(clippy::too_many_arguments)]
fn steady_state_range<'py>(
    py: Python<'py>,
    power_w: Pair,
    tokens_per_s: Pair,
    price_per_kwh: Pair,
    currency: &str,
    query_tokens: Pair,
    pue: Pair,
    grid_g_co2_per_kwh: Option<Pair>,
    allow_negative_price: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let x = SteadyStateRanges {
        power_w: iv(power_w),
        tokens_per_s: iv(tokens_per_s),
        price_per_kwh: iv(price_per_kwh),
        query_tokens: iv(query_tokens),
        pue: iv(pue),
        grid_g_co2_per_kwh: grid_g_co2_per_kwh.map(iv),
        currency: currency.to_owned(),
        allow_negative_price,
    };
    let b = ranges::steady_state_ranges(&x).py_err(py)?;
    let d = PyDict::new(py);
    d.set_item("currency", &b.currency)?;
    d.set_item("it", bounds_dict(py, &b.it)?)?;
    d.set_item("facility", bounds_dict(py, &b.facility)?)?;
    Ok(d)
}

fn level_bounds_dict<'py>(py: Python<'py>, l: &FleetLevelBounds) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("power_mw", pair(Some(l.power_mw)))?;
    d.set_item("energy_mwh", pair(Some(l.energy_mwh)))?;
    d.set_item("cost", pair(Some(l.cost)))?;
    d.set_item("t_co2", pair(l.t_co2))?;
    d.set_item("joules_per_token", pair(l.joules_per_token))?;
    d.set_item("cost_per_million_tokens", pair(l.cost_per_million_tokens))?;
    d.set_item("g_co2_per_million_tokens", pair(l.g_co2_per_million_tokens))?;
    Ok(d)
}

/// Fleet figures as `(min, max)` over ranged inputs (each a `(min, max)` pair).
#[pyfunction]
#[pyo3(signature = (nodes, power_w_per_node, utilization, idle_power_w_per_node = (0.0, 0.0),
    hours = (8760.0, 8760.0), pue = (1.0, 1.0), price_per_kwh = (0.08, 0.08), currency = "USD",
    grid_g_co2_per_kwh = None, tokens_per_s_per_node = None, allow_negative_price = false))]
#[allow(clippy::too_many_arguments)]
fn fleet_range<'py>(
    py: Python<'py>,
    nodes: Pair,
    power_w_per_node: Pair,
    utilization: Pair,
    idle_power_w_per_node: Pair,
    hours: Pair,
    pue: Pair,
    price_per_kwh: Pair,
    currency: &str,
    grid_g_co2_per_kwh: Option<Pair>,
    tokens_per_s_per_node: Option<Pair>,
    allow_negative_price: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let x = FleetRanges {
        nodes: iv(nodes),
        power_w_per_node: iv(power_w_per_node),
        idle_power_w_per_node: iv(idle_power_w_per_node),
        utilization: iv(utilization),
        hours: iv(hours),
        pue: iv(pue),
        price_per_kwh: iv(price_per_kwh),
        currency: currency.to_owned(),
        grid_g_co2_per_kwh: grid_g_co2_per_kwh.map(iv),
        tokens_per_s_per_node: tokens_per_s_per_node.map(iv),
        allow_negative_price,
    };
    let b = ranges::fleet_ranges(&x).py_err(py)?;
    let d = PyDict::new(py);
    d.set_item("currency", &b.currency)?;
    d.set_item("draw_w_per_node", pair(Some(b.draw_w_per_node)))?;
    d.set_item("tokens_per_s", pair(b.tokens_per_s))?;
    d.set_item("tokens", pair(b.tokens))?;
    d.set_item("it", level_bounds_dict(py, &b.it)?)?;
    d.set_item("facility", level_bounds_dict(py, &b.facility)?)?;
    Ok(d)
}
