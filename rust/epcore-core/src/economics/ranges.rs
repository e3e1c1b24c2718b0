//! Uncertainty ranges: inputs given as `[min, max]`, outputs as `[min, max]`,
//! as EcoLogits does.
//!
//! Every output below is monotone in each input separately (the others held
//! fixed), so over a box of inputs its extremes sit at corners of the box.
//! The corners are all evaluated (2^k for k inputs that are true ranges; a
//! point is not branched on) and each output takes the least and greatest
//! value seen. Evaluating every corner, rather than one "all low" and one
//! "all high" corner per output, stays right where a direction flips: with a
//! negative price, more power lowers the cost.
//!
//! Directions (↑ raises the output, ↓ lowers it, – leaves it):
//!
//! | steady state   | energy per token/query | cost            | queries, tokens per kWh | carbon |
//! |----------------|------------------------|-----------------|-------------------------|--------|
//! | `power_w`      | ↑                      | ↑ (↓ if price < 0) | ↓                    | ↑      |
//! | `tokens_per_s` | ↓                      | ↓ (↑ if price < 0) | ↑                    | ↓      |
//! | `price_per_kwh`| –                      | ↑               | –                       | –      |
//! | `query_tokens` | per query ↑            | per query ↑     | queries ↓               | per query ↑ |
//! | `pue`          | facility ↑             | facility ↑      | facility ↓              | facility ↑ |
//! | `grid_g_co2_per_kwh` | –                | –               | –                       | ↑      |
//!
//! | fleet          | MW, MWh, cost, tCO2 | tokens | per token (J, cost, g) |
//! |----------------|---------------------|--------|------------------------|
//! | `nodes`        | ↑                   | ↑      | –                      |
//! | `power_w_per_node` | ↑               | –      | ↑                      |
//! | `idle_power_w_per_node` | ↑ (below full load) | – | ↑                  |
//! | `utilization`  | ↑                   | ↑      | ↓ (with idle power)    |
//! | `hours`        | MWh, cost, tCO2 ↑   | ↑      | –                      |
//! | `pue`          | facility ↑          | –      | facility ↑             |
//! | `price_per_kwh`| cost ↑              | –      | cost ↑                 |
//! | `grid_g_co2_per_kwh` | tCO2 ↑        | –      | g ↑                    |
//! | `tokens_per_s_per_node` | –          | ↑      | ↓                      |
//!
//! An output that some corner cannot give (J/token at zero utilization, where
//! it is unbounded) has no range: None. A corner outside an input's domain
//! (a PUE range reaching below 1, an idle range above the power range) is that
//! input's error.
//!
//! ```
//! use epcore_core::economics::ranges::{steady_state_ranges, Interval, SteadyStateRanges};
//! use epcore_core::economics::Inputs;
//!
//! let mut x = SteadyStateRanges::from_inputs(&Inputs::new(5600.0, 2500.0));
//! x.power_w = Interval::new("power_w", 5000.0, 6000.0)?;
//! x.tokens_per_s = Interval::new("tokens_per_s", 2000.0, 2500.0)?;
//! let b = steady_state_ranges(&x)?;
//! assert_eq!((b.it.joules_per_token.min, b.it.joules_per_token.max), (2.0, 3.0));
//! assert!(b.it.joules_per_token.contains(2.24));
//! # Ok::<(), epcore_core::Error>(())
//! ```

use super::fleet::{fleet, Fleet, FleetInputs, FleetLevel};
use super::sensitivity::{facility_level, figure_values};
use super::{steady_state, Inputs};
use crate::error::{Error, Result};

/// A closed interval `[min, max]` of finite numbers; a point when `min == max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub min: f64,
    pub max: f64,
}

impl Interval {
    /// `[min, max]`, or an [`Error::InvalidArgument`] naming the input when a
    /// bound is not finite or `min > max`.
    pub fn new(name: &str, min: f64, max: f64) -> Result<Interval> {
        let i = Interval { min, max };
        i.check(name)?;
        Ok(i)
    }

    /// The point `[v, v]`.
    pub fn point(v: f64) -> Interval {
        Interval { min: v, max: v }
    }

    /// Whether `v` lies in `[min, max]`.
    pub fn contains(&self, v: f64) -> bool {
        self.min <= v && v <= self.max
    }

    fn check(&self, name: &str) -> Result<()> {
        let reason = if !(self.min.is_finite() && self.max.is_finite()) {
            "both bounds must be finite numbers"
        } else if self.min > self.max {
            "the range's min is above its max"
        } else {
            return Ok(());
        };
        Err(Error::InvalidArgument {
            name: name.into(),
            value: format!("({}, {})", self.min, self.max),
            reason: reason.into(),
        })
    }

    fn widen(self, v: f64) -> Interval {
        Interval {
            min: self.min.min(v),
            max: self.max.max(v),
        }
    }
}

/// Bounds of every output over all corners of the input box. `eval` gets one
/// value per input, in the order of `inputs`.
fn corners<const N: usize>(
    inputs: &[(&str, Interval)],
    mut eval: impl FnMut(&[f64]) -> Result<[Option<f64>; N]>,
) -> Result<[Option<Interval>; N]> {
    for (name, i) in inputs {
        i.check(name)?;
    }
    let varying: Vec<usize> = (0..inputs.len())
        .filter(|&k| inputs[k].1.min < inputs[k].1.max)
        .collect();
    let mut acc: [Option<Interval>; N] = [None; N];
    let mut missing = [false; N];
    let mut values: Vec<f64> = inputs.iter().map(|(_, i)| i.min).collect();
    for mask in 0u64..(1u64 << varying.len()) {
        for (bit, &k) in varying.iter().enumerate() {
            values[k] = if mask >> bit & 1 == 1 {
                inputs[k].1.max
            } else {
                inputs[k].1.min
            };
        }
        let out = eval(&values)?;
        for k in 0..N {
            match out[k] {
                Some(v) => acc[k] = Some(acc[k].map_or(Interval::point(v), |a| a.widen(v))),
                None => missing[k] = true,
            }
        }
    }
    for k in 0..N {
        if missing[k] {
            acc[k] = None;
        }
    }
    Ok(acc)
}

/// An output every corner has; its absence is a bug, not bad input.
fn always(v: Option<Interval>, name: &str) -> Result<Interval> {
    v.ok_or_else(|| Error::Internal {
        reason: format!("range of {name} missing at a corner"),
    })
}

/// Steady-state inputs with ranges. A point is `Interval::point`.
#[derive(Debug, Clone, PartialEq)]
pub struct SteadyStateRanges {
    pub power_w: Interval,
    pub tokens_per_s: Interval,
    pub price_per_kwh: Interval,
    pub query_tokens: Interval,
    pub pue: Interval,
    pub grid_g_co2_per_kwh: Option<Interval>,
    pub currency: String,
    pub allow_negative_price: bool,
}

impl SteadyStateRanges {
    /// Every input a point at `x`'s value.
    pub fn from_inputs(x: &Inputs) -> Self {
        SteadyStateRanges {
            power_w: Interval::point(x.power_w),
            tokens_per_s: Interval::point(x.tokens_per_s),
            price_per_kwh: Interval::point(x.price_per_kwh),
            query_tokens: Interval::point(x.query_tokens),
            pue: Interval::point(x.pue),
            grid_g_co2_per_kwh: x.grid_g_co2_per_kwh.map(Interval::point),
            currency: x.currency.clone(),
            allow_negative_price: x.allow_negative_price,
        }
    }
}

/// The steady-state figures as ranges; carbon is None without an intensity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FigureBounds {
    pub joules_per_token: Interval,
    pub wh_per_token: Interval,
    pub kwh_per_million_tokens: Interval,
    pub cost_per_million_tokens: Interval,
    pub wh_per_query: Interval,
    pub cost_per_query: Interval,
    pub queries_per_kwh: Interval,
    pub tokens_per_kwh: Interval,
    pub g_co2_per_query: Option<Interval>,
    pub g_co2_per_million_tokens: Option<Interval>,
}

impl FigureBounds {
    fn from_array(b: &[Option<Interval>]) -> Result<FigureBounds> {
        Ok(FigureBounds {
            joules_per_token: always(b[0], "joules_per_token")?,
            wh_per_token: always(b[1], "wh_per_token")?,
            kwh_per_million_tokens: always(b[2], "kwh_per_million_tokens")?,
            cost_per_million_tokens: always(b[3], "cost_per_million_tokens")?,
            wh_per_query: always(b[4], "wh_per_query")?,
            cost_per_query: always(b[5], "cost_per_query")?,
            queries_per_kwh: always(b[6], "queries_per_kwh")?,
            tokens_per_kwh: always(b[7], "tokens_per_kwh")?,
            g_co2_per_query: b[8],
            g_co2_per_million_tokens: b[9],
        })
    }
}

/// Ranges of the steady-state figures at the IT and the facility level (the
/// facility level equals the IT level where `pue` is 1).
#[derive(Debug, Clone, PartialEq)]
pub struct SteadyStateBounds {
    pub inputs: SteadyStateRanges,
    pub currency: String,
    pub it: FigureBounds,
    pub facility: FigureBounds,
}

/// Steady-state figures over every corner of the input ranges.
pub fn steady_state_ranges(x: &SteadyStateRanges) -> Result<SteadyStateBounds> {
    let grid = x.grid_g_co2_per_kwh;
    let inputs = [
        ("power_w", x.power_w),
        ("tokens_per_s", x.tokens_per_s),
        ("price_per_kwh", x.price_per_kwh),
        ("query_tokens", x.query_tokens),
        ("pue", x.pue),
        // Without an intensity this slot is a fixed placeholder that eval ignores.
        ("grid_g_co2_per_kwh", grid.unwrap_or(Interval::point(0.0))),
    ];
    let bounds = corners::<20>(&inputs, |v| {
        let mut i = Inputs::new(v[0], v[1]);
        i.price_per_kwh = v[2];
        i.query_tokens = v[3];
        i.pue = v[4];
        i.grid_g_co2_per_kwh = grid.map(|_| v[5]);
        i.currency = x.currency.clone();
        i.allow_negative_price = x.allow_negative_price;
        let r = steady_state(&i)?;
        let mut out = [None; 20];
        out[..10].copy_from_slice(&figure_values(&r.it));
        out[10..].copy_from_slice(&figure_values(&facility_level(&r)));
        Ok(out)
    })?;
    Ok(SteadyStateBounds {
        inputs: x.clone(),
        currency: x.currency.clone(),
        it: FigureBounds::from_array(&bounds[..10])?,
        facility: FigureBounds::from_array(&bounds[10..])?,
    })
}

/// Fleet inputs with ranges. A point is `Interval::point`.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetRanges {
    pub nodes: Interval,
    pub power_w_per_node: Interval,
    pub idle_power_w_per_node: Interval,
    pub utilization: Interval,
    pub hours: Interval,
    pub pue: Interval,
    pub price_per_kwh: Interval,
    pub currency: String,
    pub grid_g_co2_per_kwh: Option<Interval>,
    pub tokens_per_s_per_node: Option<Interval>,
    pub allow_negative_price: bool,
}

impl FleetRanges {
    /// Every input a point at `x`'s value.
    pub fn from_inputs(x: &FleetInputs) -> Self {
        FleetRanges {
            nodes: Interval::point(x.nodes),
            power_w_per_node: Interval::point(x.power_w_per_node),
            idle_power_w_per_node: Interval::point(x.idle_power_w_per_node),
            utilization: Interval::point(x.utilization),
            hours: Interval::point(x.hours),
            pue: Interval::point(x.pue),
            price_per_kwh: Interval::point(x.price_per_kwh),
            currency: x.currency.clone(),
            grid_g_co2_per_kwh: x.grid_g_co2_per_kwh.map(Interval::point),
            tokens_per_s_per_node: x.tokens_per_s_per_node.map(Interval::point),
            allow_negative_price: x.allow_negative_price,
        }
    }
}

/// [`FleetLevel`] as ranges.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FleetLevelBounds {
    pub power_mw: Interval,
    pub energy_mwh: Interval,
    pub cost: Interval,
    pub t_co2: Option<Interval>,
    pub joules_per_token: Option<Interval>,
    pub cost_per_million_tokens: Option<Interval>,
    pub g_co2_per_million_tokens: Option<Interval>,
}

const LEVEL_LEN: usize = 7;

fn level_values(l: &FleetLevel) -> [Option<f64>; LEVEL_LEN] {
    [
        Some(l.power_mw),
        Some(l.energy_mwh),
        Some(l.cost),
        l.t_co2,
        l.joules_per_token,
        l.cost_per_million_tokens,
        l.g_co2_per_million_tokens,
    ]
}

impl FleetLevelBounds {
    fn from_array(b: &[Option<Interval>]) -> Result<FleetLevelBounds> {
        Ok(FleetLevelBounds {
            power_mw: always(b[0], "power_mw")?,
            energy_mwh: always(b[1], "energy_mwh")?,
            cost: always(b[2], "cost")?,
            t_co2: b[3],
            joules_per_token: b[4],
            cost_per_million_tokens: b[5],
            g_co2_per_million_tokens: b[6],
        })
    }
}

/// [`Fleet`] as ranges.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetBounds {
    pub inputs: FleetRanges,
    pub currency: String,
    pub draw_w_per_node: Interval,
    pub tokens_per_s: Option<Interval>,
    pub tokens: Option<Interval>,
    pub it: FleetLevelBounds,
    pub facility: FleetLevelBounds,
}

/// Fleet figures over every corner of the input ranges.
pub fn fleet_ranges(x: &FleetRanges) -> Result<FleetBounds> {
    let grid = x.grid_g_co2_per_kwh;
    let tps = x.tokens_per_s_per_node;
    let inputs = [
        ("nodes", x.nodes),
        ("power_w_per_node", x.power_w_per_node),
        ("idle_power_w_per_node", x.idle_power_w_per_node),
        ("utilization", x.utilization),
        ("hours", x.hours),
        ("pue", x.pue),
        ("price_per_kwh", x.price_per_kwh),
        // Absent optional inputs are fixed placeholders that eval ignores.
        ("grid_g_co2_per_kwh", grid.unwrap_or(Interval::point(0.0))),
        ("tokens_per_s_per_node", tps.unwrap_or(Interval::point(1.0))),
    ];
    const N: usize = 3 + 2 * LEVEL_LEN;
    let bounds = corners::<N>(&inputs, |v| {
        let mut i = FleetInputs::new(v[0], v[1], v[3]);
        i.idle_power_w_per_node = v[2];
        i.hours = v[4];
        i.pue = v[5];
        i.price_per_kwh = v[6];
        i.grid_g_co2_per_kwh = grid.map(|_| v[7]);
        i.tokens_per_s_per_node = tps.map(|_| v[8]);
        i.currency = x.currency.clone();
        i.allow_negative_price = x.allow_negative_price;
        let f: Fleet = fleet(&i)?;
        let mut out = [None; N];
        out[0] = Some(f.draw_w_per_node);
        out[1] = f.tokens_per_s;
        out[2] = f.tokens;
        out[3..3 + LEVEL_LEN].copy_from_slice(&level_values(&f.it));
        out[3 + LEVEL_LEN..].copy_from_slice(&level_values(&f.facility));
        Ok(out)
    })?;
    Ok(FleetBounds {
        inputs: x.clone(),
        currency: x.currency.clone(),
        draw_w_per_node: always(bounds[0], "draw_w_per_node")?,
        tokens_per_s: bounds[1],
        tokens: bounds[2],
        it: FleetLevelBounds::from_array(&bounds[3..3 + LEVEL_LEN])?,
        facility: FleetLevelBounds::from_array(&bounds[3 + LEVEL_LEN..])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(min: f64, max: f64) -> Interval {
        Interval { min, max }
    }

    #[test]
    fn points_give_the_point_figures() {
        let mut x = Inputs::new(5600.0, 2500.0);
        x.pue = 1.3;
        x.grid_g_co2_per_kwh = Some(400.0);
        let b = steady_state_ranges(&SteadyStateRanges::from_inputs(&x))
            .expect("the test input is valid");
        let r = steady_state(&x).expect("the test input is valid");
        assert_eq!(
            b.it.joules_per_token,
            Interval::point(r.it.joules_per_token)
        );
        let fac = r.facility.expect("the test input is valid");
        assert_eq!(
            b.facility.cost_per_query,
            Interval::point(fac.cost_per_query)
        );
        assert_eq!(
            b.facility.g_co2_per_query,
            Some(Interval::point(
                fac.g_co2_per_query.expect("the test input is valid")
            ))
        );
    }

    #[test]
    fn ranges_contain_every_interior_point() {
        let mut x = SteadyStateRanges::from_inputs(&Inputs::new(5600.0, 2500.0));
        x.power_w = iv(4000.0, 7000.0);
        x.tokens_per_s = iv(1500.0, 3000.0);
        x.price_per_kwh = iv(0.05, 0.2);
        x.pue = iv(1.1, 1.6);
        x.query_tokens = iv(200.0, 900.0);
        x.grid_g_co2_per_kwh = Some(iv(50.0, 700.0));
        let b = steady_state_ranges(&x).expect("the test input is valid");
        for (p, t, c, q, pue, g) in [
            (5600.0, 2500.0, 0.08, 500.0, 1.56, 400.0),
            (4000.0, 3000.0, 0.2, 900.0, 1.1, 50.0),
        ] {
            let mut i = Inputs::new(p, t);
            i.price_per_kwh = c;
            i.query_tokens = q;
            i.pue = pue;
            i.grid_g_co2_per_kwh = Some(g);
            let r = steady_state(&i).expect("the test input is valid");
            let fac = r.facility.expect("the test input is valid");
            assert!(b.facility.joules_per_token.contains(fac.joules_per_token));
            assert!(b.facility.queries_per_kwh.contains(fac.queries_per_kwh));
            assert!(b.it.cost_per_query.contains(r.it.cost_per_query));
            assert!(b
                .facility
                .g_co2_per_query
                .expect("the test input is valid")
                .contains(fac.g_co2_per_query.expect("the test input is valid")));
        }
        // J/token: min power ÷ max throughput, max ÷ min.
        assert_eq!(b.it.joules_per_token.min, 4000.0 / 3000.0);
        assert_eq!(b.it.joules_per_token.max, 7000.0 / 1500.0);
        assert_eq!(b.it.queries_per_kwh.max, 3000.0 * 3.6e6 / (4000.0 * 200.0));
    }

    #[test]
    fn negative_price_flips_the_power_direction() {
        let mut x = SteadyStateRanges::from_inputs(&Inputs::new(5600.0, 2500.0));
        x.allow_negative_price = true;
        x.price_per_kwh = iv(-0.05, -0.01);
        x.power_w = iv(5000.0, 6000.0);
        let b = steady_state_ranges(&x).expect("the test input is valid");
        // The most negative cost: most power at the most negative price.
        let want = 6000.0 * 1e6 * -0.05 / (2500.0 * 3.6e6);
        assert!((b.it.cost_per_million_tokens.min - want).abs() < 1e-15);
    }

    #[test]
    fn bad_ranges_name_the_input() {
        let mut x = SteadyStateRanges::from_inputs(&Inputs::new(5600.0, 2500.0));
        x.power_w = iv(6000.0, 5000.0);
        let e = steady_state_ranges(&x).unwrap_err();
        assert!(e.to_string().starts_with("power_w = (6000, 5000)"), "{e}");
        x.power_w = iv(5000.0, f64::NAN);
        assert!(steady_state_ranges(&x).is_err());
        x.power_w = Interval::point(5600.0);
        x.pue = iv(0.9, 1.2);
        let e = steady_state_ranges(&x).unwrap_err();
        assert!(e.to_string().starts_with("pue = 0.9"), "{e}");
        assert!(Interval::new("x", 1.0, 0.0).is_err());
    }

    #[test]
    fn fleet_ranges_by_hand() {
        let mut p = FleetInputs::new(1200.0, 5600.0, 0.6);
        p.tokens_per_s_per_node = Some(2500.0);
        p.idle_power_w_per_node = 1000.0;
        let mut x = FleetRanges::from_inputs(&p);
        x.utilization = iv(0.4, 0.8);
        x.nodes = iv(1000.0, 1200.0);
        let b = fleet_ranges(&x).expect("the test input is valid");
        // Draw: 1000 + u × 4600.
        assert_eq!(
            b.draw_w_per_node,
            iv(1000.0 + 0.4 * 4600.0, 1000.0 + 0.8 * 4600.0)
        );
        let j = b.it.joules_per_token.expect("the test input is valid");
        assert!((j.max - (1000.0 + 0.4 * 4600.0) / (0.4 * 2500.0)).abs() < 1e-12);
        assert!((j.min - (1000.0 + 0.8 * 4600.0) / (0.8 * 2500.0)).abs() < 1e-12);
        let point = fleet(&p).expect("the test input is valid");
        assert!(b.it.cost.contains(point.it.cost));
        assert_eq!(b.it.t_co2, None);
        x.utilization = iv(0.0, 0.5);
        let b = fleet_ranges(&x).expect("the test input is valid");
        assert_eq!(b.it.joules_per_token, None); // unbounded at zero load
        assert!(b.tokens.expect("the test input is valid").min == 0.0);
    }
}
