//! Sensitivity: what one lever (throughput per watt, power, price, PUE, grid
//! intensity, query size) does to every steady-state figure.
//!
//! Each [`Scenario`] changes one input of the base [`Inputs`], either by a
//! multiplier ([`Change::Scale`]) or to a value ([`Change::Set`]), and is run
//! through [`steady_state`] unchanged; the answer is the new value of every
//! figure and its relative change, the rows of a table and the data for bars.
//!
//! Figures are compared at the facility level (energy × PUE), which is the IT
//! level when `pue = 1`: PUE is one of the levers, so an IT-only comparison
//! would hide it.
//!
//! ```
//! use epcore_core::economics::Inputs;
//! use epcore_core::economics::sensitivity::{sensitivity, Lever, Scenario};
//!
//! let base = Inputs::new(5600.0, 2500.0);
//! let s = sensitivity(&base, &[Scenario::scale("2× throughput/W", Lever::ThroughputPerWatt, 2.0)])?;
//! let row = &s.outcomes[0];
//! assert_eq!(row.figures.joules_per_token, 1.12);
//! assert_eq!(row.relative_change("joules_per_token"), Some(-0.5));
//! assert_eq!(row.relative_change("cost_per_million_tokens"), Some(-0.5));
//! assert_eq!(row.relative_change("queries_per_kwh"), Some(1.0));
//! # Ok::<(), epcore_core::Error>(())
//! ```

use super::{steady_state, Figures, Inputs, SteadyState};
use crate::error::{Error, Result};

/// One input a scenario can move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lever {
    /// Tokens per second per watt: `tokens_per_s` moves, power stays
    /// (batching, quantization, a faster kernel). `Set` takes tokens/s per W.
    ThroughputPerWatt,
    /// Power at the same throughput (`power_w`).
    Power,
    /// Electricity price (`price_per_kwh`).
    Price,
    /// Power usage effectiveness (`pue`, >= 1).
    Pue,
    /// Grid carbon intensity (`grid_g_co2_per_kwh`); scaling an unknown
    /// intensity leaves it unknown.
    GridIntensity,
    /// Tokens in one query (`query_tokens`): only the per-query figures move.
    QueryTokens,
}

impl Lever {
    /// Every lever, in table order.
    pub const ALL: [Lever; 6] = [
        Lever::ThroughputPerWatt,
        Lever::Power,
        Lever::Price,
        Lever::Pue,
        Lever::GridIntensity,
        Lever::QueryTokens,
    ];

    /// The stable name used in Python, JSON and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Lever::ThroughputPerWatt => "throughput_per_watt",
            Lever::Power => "power",
            Lever::Price => "price",
            Lever::Pue => "pue",
            Lever::GridIntensity => "grid_intensity",
            Lever::QueryTokens => "query_tokens",
        }
    }

    /// The lever named `name`, or [`Error::UnknownCode`] listing all of them.
    pub fn parse(name: &str) -> Result<Lever> {
        Lever::ALL
            .into_iter()
            .find(|l| l.name() == name)
            .ok_or_else(|| Error::UnknownCode {
                kind: "lever".into(),
                value: name.into(),
                suggestions: Lever::ALL.iter().map(|l| l.name().to_owned()).collect(),
            })
    }
}

/// How a scenario moves its lever.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    /// Multiply the input by a finite factor > 0.
    Scale(f64),
    /// Replace the input by this value (checked like any input).
    Set(f64),
}

/// A named change of one lever.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub lever: Lever,
    pub change: Change,
    /// What the number rests on, when it is an assumption rather than a measurement.
    pub note: Option<String>,
}

impl Scenario {
    /// `lever × factor`.
    pub fn scale(name: impl Into<String>, lever: Lever, factor: f64) -> Self {
        Scenario {
            name: name.into(),
            lever,
            change: Change::Scale(factor),
            note: None,
        }
    }

    /// `lever = value`.
    pub fn set(name: impl Into<String>, lever: Lever, value: f64) -> Self {
        Scenario {
            name: name.into(),
            lever,
            change: Change::Set(value),
            note: None,
        }
    }

    /// The same scenario with a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// The base inputs with this scenario's change applied (not yet validated).
    pub fn apply(&self, base: &Inputs) -> Result<Inputs> {
        let mut x = base.clone();
        if let Change::Scale(f) = self.change {
            if !(f.is_finite() && f > 0.0) {
                return Err(Error::InvalidArgument {
                    name: format!("scenario '{}': factor", self.name),
                    value: f.to_string(),
                    reason: "a multiplier must be finite and > 0".into(),
                });
            }
        }
        let (Change::Scale(amount) | Change::Set(amount)) = self.change;
        let to = |v: f64| match self.change {
            Change::Scale(_) => v * amount,
            Change::Set(_) => amount,
        };
        match self.lever {
            Lever::ThroughputPerWatt => {
                x.tokens_per_s = match self.change {
                    Change::Scale(_) => base.tokens_per_s * amount,
                    Change::Set(_) => amount * base.power_w,
                }
            }
            Lever::Power => x.power_w = to(base.power_w),
            Lever::Price => x.price_per_kwh = to(base.price_per_kwh),
            Lever::Pue => x.pue = to(base.pue),
            Lever::GridIntensity => {
                x.grid_g_co2_per_kwh = match self.change {
                    Change::Scale(_) => base.grid_g_co2_per_kwh.map(to),
                    Change::Set(_) => Some(amount),
                }
            }
            Lever::QueryTokens => x.query_tokens = to(base.query_tokens),
        }
        Ok(x)
    }
}

/// The named presets of the console, for a given base (the PUE preset's name
/// says which PUE it moves from).
///
/// - "2× throughput/W";
/// - "batching ×1.5 throughput": 1.5× tokens/s at the same power;
/// - "int8 quantization ×1.6 throughput/W": an illustrative assumption, not a measurement;
/// - "PUE base → 1.1": a hyperscale facility (the industry average is about 1.56, Uptime 2024);
/// - "cleaner grid ×0.5".
pub fn presets(base: &Inputs) -> Vec<Scenario> {
    vec![
        Scenario::scale("2× throughput/W", Lever::ThroughputPerWatt, 2.0),
        Scenario::scale("batching ×1.5 throughput", Lever::ThroughputPerWatt, 1.5).with_note(
            "1.5× tokens/s at the same power; real gains depend on load and latency targets",
        ),
        Scenario::scale(
            "int8 quantization ×1.6 throughput/W",
            Lever::ThroughputPerWatt,
            1.6,
        )
        .with_note("illustrative assumption, not a measurement"),
        Scenario::set(format!("PUE {} → 1.1", base.pue), Lever::Pue, 1.1).with_note(
            "1.1 is a hyperscale facility; the industry average is about 1.56 (Uptime 2024)",
        ),
        Scenario::scale("cleaner grid ×0.5", Lever::GridIntensity, 0.5),
    ]
}

/// Names of the figures, in [`Figures`] field order.
pub const FIGURE_NAMES: [&str; 10] = [
    "joules_per_token",
    "wh_per_token",
    "kwh_per_million_tokens",
    "cost_per_million_tokens",
    "wh_per_query",
    "cost_per_query",
    "queries_per_kwh",
    "tokens_per_kwh",
    "g_co2_per_query",
    "g_co2_per_million_tokens",
];

/// The figures as values in [`FIGURE_NAMES`] order (None: carbon without an intensity).
pub fn figure_values(f: &Figures) -> [Option<f64>; 10] {
    [
        Some(f.joules_per_token),
        Some(f.wh_per_token),
        Some(f.kwh_per_million_tokens),
        Some(f.cost_per_million_tokens),
        Some(f.wh_per_query),
        Some(f.cost_per_query),
        Some(f.queries_per_kwh),
        Some(f.tokens_per_kwh),
        f.g_co2_per_query,
        f.g_co2_per_million_tokens,
    ]
}

/// The figures a comparison uses: facility-level, which is IT-level at PUE 1.
pub fn facility_level(s: &SteadyState) -> Figures {
    s.facility.unwrap_or(s.it)
}

/// `new / base − 1`; 0 when equal, None when a side is unknown or the base is 0.
pub fn relative(base: Option<f64>, new: Option<f64>) -> Option<f64> {
    match (base, new) {
        (Some(b), Some(n)) if b == n => Some(0.0),
        (Some(b), Some(n)) if b != 0.0 => Some(n / b - 1.0),
        _ => None,
    }
}

/// One scenario's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub scenario: Scenario,
    /// The inputs the scenario ran with.
    pub inputs: Inputs,
    /// Facility-level figures (IT-level at PUE 1).
    pub figures: Figures,
    /// Relative change of each figure against the base, in [`FIGURE_NAMES`] order.
    pub relative_changes: [Option<f64>; 10],
}

impl Outcome {
    /// The relative change of the figure `name` (None for an unknown name too).
    pub fn relative_change(&self, name: &str) -> Option<f64> {
        FIGURE_NAMES
            .iter()
            .position(|n| *n == name)
            .and_then(|i| self.relative_changes[i])
    }
}

/// The base and every scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Sensitivity {
    pub base: SteadyState,
    /// Facility-level figures of the base (IT-level at PUE 1).
    pub base_figures: Figures,
    pub outcomes: Vec<Outcome>,
}

/// Run every scenario against `base`. An input a scenario pushes out of its
/// domain (PUE below 1, a zero throughput) is an [`Error::InvalidArgument`]
/// whose name starts with the scenario's name.
pub fn sensitivity(base: &Inputs, scenarios: &[Scenario]) -> Result<Sensitivity> {
    let b = steady_state(base)?;
    let base_figures = facility_level(&b);
    let base_values = figure_values(&base_figures);
    let mut outcomes = Vec::with_capacity(scenarios.len());
    for sc in scenarios {
        let inputs = sc.apply(base)?;
        let r = steady_state(&inputs).map_err(|e| in_scenario(e, &sc.name))?;
        let figures = facility_level(&r);
        let values = figure_values(&figures);
        let mut relative_changes = [None; 10];
        for (i, slot) in relative_changes.iter_mut().enumerate() {
            *slot = relative(base_values[i], values[i]);
        }
        outcomes.push(Outcome {
            scenario: sc.clone(),
            inputs,
            figures,
            relative_changes,
        });
    }
    Ok(Sensitivity {
        base: b,
        base_figures,
        outcomes,
    })
}

fn in_scenario(e: Error, scenario: &str) -> Error {
    match e {
        Error::InvalidArgument {
            name,
            value,
            reason,
        } => Error::InvalidArgument {
            name: format!("scenario '{scenario}': {name}"),
            value,
            reason,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed() -> Inputs {
        let mut x = Inputs::new(5600.0, 2500.0);
        x.grid_g_co2_per_kwh = Some(400.0);
        x
    }

    #[test]
    fn doubling_throughput_per_watt_halves_energy_cost_and_carbon() {
        let s = sensitivity(
            &seed(),
            &[Scenario::scale("x", Lever::ThroughputPerWatt, 2.0)],
        )
        .expect("the test input is valid");
        let o = &s.outcomes[0];
        for name in [
            "joules_per_token",
            "cost_per_million_tokens",
            "cost_per_query",
            "g_co2_per_query",
            "g_co2_per_million_tokens",
        ] {
            assert_eq!(o.relative_change(name), Some(-0.5), "{name}");
        }
        assert_eq!(o.relative_change("tokens_per_kwh"), Some(1.0));
    }

    #[test]
    fn every_lever_scales_what_it_should() {
        let base = seed();
        let cases = [
            (Lever::Power, "joules_per_token", 2.0),
            (Lever::Price, "cost_per_query", 2.0),
            (Lever::Pue, "wh_per_query", 2.0),
            (Lever::GridIntensity, "g_co2_per_query", 2.0),
            (Lever::QueryTokens, "wh_per_query", 2.0),
        ];
        for (lever, name, ratio) in cases {
            let s = sensitivity(&base, &[Scenario::scale("x", lever, 2.0)])
                .expect("the test input is valid");
            let rel = s.outcomes[0]
                .relative_change(name)
                .expect("the test input is valid");
            assert!(
                (rel - (ratio - 1.0)).abs() < 1e-14,
                "{lever:?} {name} {rel}"
            );
        }
        let s = sensitivity(&base, &[Scenario::scale("x", Lever::Price, 2.0)])
            .expect("the test input is valid");
        assert_eq!(s.outcomes[0].relative_change("joules_per_token"), Some(0.0));
    }

    #[test]
    fn presets_run_on_the_seed() {
        let base = seed();
        let s = sensitivity(&base, &presets(&base)).expect("the test input is valid");
        assert_eq!(s.outcomes.len(), 5);
        assert_eq!(s.outcomes[3].scenario.name, "PUE 1 → 1.1");
        assert!((s.outcomes[3].figures.joules_per_token - 2.464).abs() < 1e-12);
        assert!(s.outcomes[2]
            .scenario
            .note
            .as_deref()
            .expect("the test input is valid")
            .contains("illustrative"));
    }

    #[test]
    fn set_throughput_per_watt_and_unknown_grid() {
        let base = Inputs::new(5600.0, 2500.0);
        let s = sensitivity(
            &base,
            &[
                Scenario::set("1 tok/s/W", Lever::ThroughputPerWatt, 1.0),
                Scenario::scale("grid", Lever::GridIntensity, 0.5),
            ],
        )
        .expect("the test input is valid");
        assert_eq!(s.outcomes[0].figures.joules_per_token, 1.0);
        assert_eq!(s.outcomes[1].figures.g_co2_per_query, None);
        assert_eq!(s.outcomes[1].relative_change("g_co2_per_query"), None);
    }

    #[test]
    fn bad_scenarios_are_named_errors() {
        let base = Inputs::new(5600.0, 2500.0);
        let e = sensitivity(&base, &[Scenario::scale("halve pue", Lever::Pue, 0.5)]).unwrap_err();
        assert!(
            e.to_string().starts_with("scenario 'halve pue': pue = 0.5"),
            "{e}"
        );
        for f in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let e = sensitivity(&base, &[Scenario::scale("s", Lever::Power, f)]).unwrap_err();
            assert!(e.to_string().starts_with("scenario 's': factor"), "{e}");
        }
        assert_eq!(Lever::parse("nope").unwrap_err().code(), "unknown_code");
        assert_eq!(
            Lever::parse("pue").expect("the test input is valid"),
            Lever::Pue
        );
    }

    #[test]
    fn relative_edges() {
        assert_eq!(relative(Some(0.0), Some(0.0)), Some(0.0));
        assert_eq!(relative(Some(0.0), Some(1.0)), None);
        assert_eq!(relative(None, Some(1.0)), None);
    }
}
