//! Per-request energy attribution: numpy columns in, a dict of columns and totals out.

use epcore_core::attribute::{
    attribute as attribute_core, AttributeOptions, Attribution, Channel, IdlePower, RequestEnergy,
    RequestSet, Span, Weight,
};
use epcore_core::error::Error;
use numpy::{IntoPyArray, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::IntoPy;
use crate::files::detached;
use crate::options::PyOptions;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(attribute, m)?)
}

type ChannelArrays<'py> = (
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, f64>,
    PyOptions,
);

fn tokens(name: &str, v: &[i64]) -> Result<Vec<u64>, Error> {
    v.iter()
        .enumerate()
        .map(|(i, &x)| {
            u64::try_from(x).map_err(|_| Error::InvalidArgument {
                name: name.into(),
                value: format!("{x} (request {i})"),
                reason: "token counts are integers >= 0".into(),
            })
        })
        .collect()
}

/// Attribute the energy of `channels` (`(t_ns, values, options)` each) to requests.
///
/// Returns a dict: `totals` (dict), `requests` (dict of columns: float64
/// arrays with a `<name>_valid` bool array beside each optional one, and
/// `reason`, a list of str or None), `idle_w`, `idle_source`, `span_ns`,
/// `steady_state` (dict or None), `regression` (dict or None),
/// `regression_reason`, `regression_bin_ns`, `weight`, `prefill_weight`.
#[pyfunction]
#[pyo3(signature = (
    channels, start_ns, first_token_ns, has_first_token, end_ns, input_tokens, output_tokens,
    *, request_channels = None, weight = "tokens", prefill_weight = 1.0, idle = "auto",
    idle_w = None, span = None, steady_state = false, batch_size = None, offset_ns = 0,
    regression = true, regression_bin_ns = None, threads = 0
))]
#[allow(clippy::too_many_arguments)]
pub fn attribute<'py>(
    py: Python<'py>,
    channels: Vec<ChannelArrays<'py>>,
    start_ns: PyReadonlyArray1<'py, i64>,
    first_token_ns: PyReadonlyArray1<'py, i64>,
    has_first_token: PyReadonlyArray1<'py, bool>,
    end_ns: PyReadonlyArray1<'py, i64>,
    input_tokens: PyReadonlyArray1<'py, i64>,
    output_tokens: PyReadonlyArray1<'py, i64>,
    request_channels: Option<Vec<Vec<u32>>>,
    weight: &str,
    prefill_weight: f64,
    idle: &str,
    idle_w: Option<Vec<f64>>,
    span: Option<(i64, i64)>,
    steady_state: bool,
    batch_size: Option<usize>,
    offset_ns: i64,
    regression: bool,
    regression_bin_ns: Option<i64>,
    threads: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let first = first_token_ns.as_slice()?;
    let has = has_first_token.as_slice()?;
    if first.len() != has.len() {
        return Err(Error::LengthMismatch {
            what: "first_token_ns and has_first_token".into(),
            expected: first.len(),
            found: has.len(),
        })
        .py_err(py);
    }
    let reqs = RequestSet {
        start_ns: start_ns.as_slice()?.to_vec(),
        first_token_ns: first
            .iter()
            .zip(has)
            .map(|(&f, &h)| h.then_some(f))
            .collect(),
        end_ns: end_ns.as_slice()?.to_vec(),
        input_tokens: tokens("input_tokens", input_tokens.as_slice()?).py_err(py)?,
        output_tokens: tokens("output_tokens", output_tokens.as_slice()?).py_err(py)?,
        channels: request_channels,
    };
    let idle = match (idle, idle_w) {
        ("off", _) => IdlePower::Off,
        ("auto", _) => IdlePower::Auto,
        ("given", Some(w)) => IdlePower::Given(w),
        (other, _) => {
            return Err(Error::InvalidArgument {
                name: "idle".into(),
                value: other.into(),
                reason: "expected off, auto, or given with idle_w".into(),
            })
            .py_err(py)
        }
    };
    let span = match (span, steady_state) {
        (Some(_), true) => {
            return Err(Error::InvalidArgument {
                name: "span".into(),
                value: "span and steady_state".into(),
                reason: "ask for one of them: the steady state is a span of its own".into(),
            })
            .py_err(py)
        }
        (Some((a, b)), false) => Span::Between(a, b),
        (None, true) => Span::SteadyState { batch_size },
        (None, false) => Span::Whole,
    };
    let opts = AttributeOptions {
        weight: Weight::parse(weight).py_err(py)?,
        prefill_weight,
        idle,
        span,
        offset_ns,
        regression_bin_ns,
        regression,
        threads,
    };
    let mut slices = Vec::with_capacity(channels.len());
    for (t, v, o) in &channels {
        slices.push((t.as_slice()?, v.as_slice()?, o.inner));
    }
    let a = detached(py, None, |_| {
        let chans: Vec<Channel> = slices
            .iter()
            .map(|(t, v, o)| Channel {
                t_ns: t,
                values: v,
                options: o,
            })
            .collect();
        attribute_core(&chans, &reqs, &opts)
    })?;
    to_dict(py, a)
}

fn to_dict(py: Python<'_>, a: Attribution) -> PyResult<Bound<'_, PyDict>> {
    let out = PyDict::new(py);
    let t = &a.totals;
    let totals = PyDict::new(py);
    for (k, v) in [
        ("total_energy_j", t.total_energy_j),
        ("attributed_energy_j", t.attributed_energy_j),
        ("unattributed_energy_j", t.unattributed_energy_j),
        ("dynamic_energy_j", t.dynamic_energy_j),
        ("idle_energy_j", t.idle_energy_j),
        ("prefill_energy_j", t.prefill_energy_j),
        ("decode_energy_j", t.decode_energy_j),
        ("unsplit_energy_j", t.unsplit_energy_j),
        ("counted_input_tokens", t.counted_input_tokens),
        ("counted_output_tokens", t.counted_output_tokens),
        ("counted_prefill_tokens", t.counted_prefill_tokens),
        ("counted_decode_tokens", t.counted_decode_tokens),
    ] {
        totals.set_item(k, v)?;
    }
    for (k, v) in [
        ("joules_per_output_token", t.joules_per_output_token),
        ("joules_per_input_token", t.joules_per_input_token),
        ("decode_joules_per_token", t.decode_joules_per_token),
        ("joules_per_token", t.joules_per_token),
        (
            "dynamic_joules_per_output_token",
            t.dynamic_joules_per_output_token,
        ),
    ] {
        totals.set_item(k, v)?;
    }
    for (k, v) in [
        ("n_requests", t.n_requests as u64),
        ("n_attributed", t.n_attributed as u64),
        ("n_outside", t.n_outside as u64),
        ("n_partial", t.n_partial as u64),
        ("input_tokens", t.input_tokens),
        ("output_tokens", t.output_tokens),
        ("decode_tokens", t.decode_tokens),
    ] {
        totals.set_item(k, v)?;
    }
    out.set_item("totals", totals)?;
    out.set_item("requests", columns(py, &a.requests)?)?;
    out.set_item("idle_w", a.idle_w)?;
    out.set_item(
        "idle_source",
        a.idle_source.iter().map(|s| s.name()).collect::<Vec<_>>(),
    )?;
    out.set_item("span_ns", a.span_ns)?;
    match a.steady_state {
        Some(w) => {
            let d = PyDict::new(py);
            d.set_item("start_ns", w.start_ns)?;
            d.set_item("end_ns", w.end_ns)?;
            d.set_item("batch_size", w.batch_size)?;
            d.set_item("batch_size_observed", w.batch_size_observed)?;
            out.set_item("steady_state", d)?;
        }
        None => out.set_item("steady_state", py.None())?,
    }
    match a.regression {
        Some(Ok(r)) => {
            let d = PyDict::new(py);
            for (k, v) in [
                ("joules_per_input_token", r.joules_per_input_token),
                ("joules_per_output_token", r.joules_per_output_token),
                ("intercept_w", r.intercept_w),
                (
                    "stderr_joules_per_input_token",
                    r.stderr_joules_per_input_token,
                ),
                (
                    "stderr_joules_per_output_token",
                    r.stderr_joules_per_output_token,
                ),
                ("stderr_intercept_w", r.stderr_intercept_w),
                ("r_squared", r.r_squared),
                ("residual_std_w", r.residual_std_w),
            ] {
                d.set_item(k, v)?;
            }
            d.set_item("n_bins", r.n_bins)?;
            out.set_item("regression", d)?;
            out.set_item("regression_reason", py.None())?;
        }
        Some(Err(reason)) => {
            out.set_item("regression", py.None())?;
            out.set_item("regression_reason", reason)?;
        }
        None => {
            out.set_item("regression", py.None())?;
            out.set_item("regression_reason", "not asked for")?;
        }
    }
    out.set_item("regression_bin_ns", a.regression_bin_ns)?;
    out.set_item("weight", a.weight.name())?;
    out.set_item("prefill_weight", a.prefill_weight)?;
    Ok(out)
}

/// One optional per-request figure.
type Getter = fn(&RequestEnergy) -> Option<f64>;
/// One per-request figure every request has.
type Figure = fn(&RequestEnergy) -> f64;

fn columns<'py>(py: Python<'py>, rows: &[RequestEnergy]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let always: [(&str, Figure); 4] = [
        ("coverage", |r| r.coverage),
        ("counted_input_tokens", |r| r.counted_input_tokens),
        ("counted_output_tokens", |r| r.counted_output_tokens),
        ("counted_decode_tokens", |r| r.counted_decode_tokens),
    ];
    for (name, get) in always {
        d.set_item(
            name,
            rows.iter().map(get).collect::<Vec<_>>().into_pyarray(py),
        )?;
    }
    let optional: [(&str, Getter); 9] = [
        ("energy_j", |r| r.energy_j),
        ("dynamic_energy_j", |r| r.dynamic_energy_j),
        ("prefill_energy_j", |r| r.prefill_energy_j),
        ("decode_energy_j", |r| r.decode_energy_j),
        ("joules_per_output_token", |r| r.joules_per_output_token),
        ("joules_per_input_token", |r| r.joules_per_input_token),
        ("decode_joules_per_token", |r| r.decode_joules_per_token),
        ("joules_per_token", |r| r.joules_per_token),
        ("mean_power_w", |r| r.mean_power_w),
    ];
    for (name, get) in optional {
        let values: Vec<f64> = rows.iter().map(|r| get(r).unwrap_or(0.0)).collect();
        let valid: Vec<bool> = rows.iter().map(|r| get(r).is_some()).collect();
        d.set_item(name, values.into_pyarray(py))?;
        d.set_item(format!("{name}_valid"), valid.into_pyarray(py))?;
    }
    d.set_item(
        "reason",
        rows.iter().map(|r| r.reason.clone()).collect::<Vec<_>>(),
    )?;
    Ok(d)
}
