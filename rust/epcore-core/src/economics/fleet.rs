//! Fleet scaling (the "Data Center Power console"): many nodes at a given
//! utilization for a number of hours.
//!
//! A node draws `idle + utilization × (power − idle)` watts, and produces
//! `utilization × tokens_per_s_per_node` tokens per second: throughput scales
//! with load, power only above idle. The idle power defaults to 0 W, which
//! makes energy per token independent of utilization; give the measured idle
//! draw (often 20–40 % of full power for GPU servers) to see idle hours raise
//! the cost per token. Facility figures are the IT figures × PUE; cost and
//! carbon are given at both levels.
//!
//! ```
//! use epcore_core::economics::fleet::{fleet, FleetInputs};
//!
//! let mut x = FleetInputs::new(1200.0, 5600.0, 0.6);
//! x.tokens_per_s_per_node = Some(2500.0);
//! let f = fleet(&x)?;
//! assert!((f.it.power_mw - 4.032).abs() < 1e-12);
//! assert!((f.it.energy_mwh - 35_320.32).abs() < 1e-8); // 8760 h
//! assert!((f.it.cost - 2_825_625.6).abs() < 1e-6); // 0.08 USD/kWh
//! // No idle power: a token costs what it costs at full load.
//! assert!((f.it.cost_per_million_tokens.expect("the example is valid") - 0.049_777_777_777_777_78).abs() < 1e-15);
//! # Ok::<(), epcore_core::Error>(())
//! ```

use super::{finite, invalid, positive, Inputs, J_PER_KWH};
use crate::error::{Error, Result};

/// Hours in a 365-day year: the default period.
pub const HOURS_PER_YEAR: f64 = 8760.0;

/// What the fleet calculator takes. Build with [`FleetInputs::new`] and override fields.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetInputs {
    /// Number of nodes (> 0; a mean may be fractional).
    pub nodes: f64,
    /// Power of one node at full load, W (> 0).
    pub power_w_per_node: f64,
    /// Power of one idle node, W (0 <= idle <= full load; default 0).
    pub idle_power_w_per_node: f64,
    /// Mean load, 0..=1.
    pub utilization: f64,
    /// Length of the period, hours (> 0; default 8760, a year).
    pub hours: f64,
    /// Power usage effectiveness (>= 1).
    pub pue: f64,
    /// Electricity price in `currency` per kWh.
    pub price_per_kwh: f64,
    /// ISO 4217 code of the price (a label: nothing is converted).
    pub currency: String,
    /// Grid carbon intensity, gCO2 per kWh (>= 0), when known.
    pub grid_g_co2_per_kwh: Option<f64>,
    /// Tokens per second of one node at full load (> 0), when known.
    pub tokens_per_s_per_node: Option<f64>,
    /// A negative price is refused unless this is set.
    pub allow_negative_price: bool,
}

impl FleetInputs {
    /// A year at PUE 1, 0.08 USD/kWh, no idle power, no intensity, no throughput.
    pub fn new(nodes: f64, power_w_per_node: f64, utilization: f64) -> Self {
        FleetInputs {
            nodes,
            power_w_per_node,
            idle_power_w_per_node: 0.0,
            utilization,
            hours: HOURS_PER_YEAR,
            pue: 1.0,
            price_per_kwh: 0.08,
            currency: "USD".into(),
            grid_g_co2_per_kwh: None,
            tokens_per_s_per_node: None,
            allow_negative_price: false,
        }
    }

    /// Every domain check, first failure wins (in field order).
    pub fn validate(&self) -> Result<()> {
        positive("nodes", self.nodes)?;
        positive("power_w_per_node", self.power_w_per_node)?;
        finite("idle_power_w_per_node", self.idle_power_w_per_node)?;
        if self.idle_power_w_per_node < 0.0 {
            return Err(invalid(
                "idle_power_w_per_node",
                self.idle_power_w_per_node,
                "must be >= 0",
            ));
        }
        if self.idle_power_w_per_node > self.power_w_per_node {
            return Err(invalid(
                "idle_power_w_per_node",
                self.idle_power_w_per_node,
                &format!(
                    "idle power above full-load power ({} W)",
                    self.power_w_per_node
                ),
            ));
        }
        finite("utilization", self.utilization)?;
        if !(0.0..=1.0).contains(&self.utilization) {
            return Err(invalid(
                "utilization",
                self.utilization,
                "must be in [0, 1] (a fraction, not a percentage)",
            ));
        }
        positive("hours", self.hours)?;
        if let Some(t) = self.tokens_per_s_per_node {
            positive("tokens_per_s_per_node", t)?;
        }
        // The steady-state checks own the rules for price, currency, PUE and intensity.
        let mut x = Inputs::new(1.0, 1.0);
        x.price_per_kwh = self.price_per_kwh;
        x.currency = self.currency.clone();
        x.pue = self.pue;
        x.grid_g_co2_per_kwh = self.grid_g_co2_per_kwh;
        x.allow_negative_price = self.allow_negative_price;
        x.validate()
    }
}

/// Fleet figures at one level (IT, or facility = IT × PUE).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FleetLevel {
    /// Mean power of the whole fleet, MW.
    pub power_mw: f64,
    /// Energy over the period, MWh (per year at the default 8760 h).
    pub energy_mwh: f64,
    /// Electricity cost over the period, in the fleet's currency.
    pub cost: f64,
    /// Emissions over the period, tonnes CO2e (None without an intensity).
    pub t_co2: Option<f64>,
    /// Energy per token at this utilization (None without throughput or at 0 load).
    pub joules_per_token: Option<f64>,
    /// Cost per million tokens at this utilization: idle draw raises it.
    pub cost_per_million_tokens: Option<f64>,
    /// Emissions per million tokens, g (None without throughput, load or intensity).
    pub g_co2_per_million_tokens: Option<f64>,
}

/// The fleet calculator's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Fleet {
    pub inputs: FleetInputs,
    pub currency: String,
    /// Mean draw of one node, W: `idle + utilization × (power − idle)`.
    pub draw_w_per_node: f64,
    /// Tokens per second of the whole fleet (None without throughput).
    pub tokens_per_s: Option<f64>,
    /// Tokens over the period (None without throughput).
    pub tokens: Option<f64>,
    pub it: FleetLevel,
    pub facility: FleetLevel,
}

/// Compute the fleet figures; out-of-domain inputs are [`Error::InvalidArgument`].
pub fn fleet(x: &FleetInputs) -> Result<Fleet> {
    x.validate()?;
    let draw =
        x.idle_power_w_per_node + x.utilization * (x.power_w_per_node - x.idle_power_w_per_node);
    let tokens_per_s = x.tokens_per_s_per_node.map(|t| x.nodes * x.utilization * t);
    let tokens = tokens_per_s.map(|t| t * x.hours * 3600.0);
    let it = level(x, draw, 1.0);
    let facility = level(x, draw, x.pue);
    let out = Fleet {
        inputs: x.clone(),
        currency: x.currency.clone(),
        draw_w_per_node: draw,
        tokens_per_s,
        tokens,
        it,
        facility,
    };
    check_range(&out)?;
    Ok(out)
}

fn level(x: &FleetInputs, draw_w: f64, overhead: f64) -> FleetLevel {
    // Watt-hours of the fleet over the period: every figure is one expression of it.
    let wh = x.nodes * draw_w * overhead * x.hours;
    // Per token: only the per-node rates matter (nodes and hours cancel).
    let per_token_den = x
        .tokens_per_s_per_node
        .map(|t| x.utilization * t)
        .filter(|d| *d > 0.0);
    let j_per_token = per_token_den.map(|d| draw_w * overhead / d);
    FleetLevel {
        power_mw: x.nodes * draw_w * overhead / 1e6,
        energy_mwh: wh / 1e6,
        cost: wh * x.price_per_kwh / 1e3,
        t_co2: x.grid_g_co2_per_kwh.map(|g| wh * g / 1e9),
        joules_per_token: j_per_token,
        cost_per_million_tokens: per_token_den
            .map(|d| draw_w * overhead * 1e6 * x.price_per_kwh / (d * J_PER_KWH)),
        g_co2_per_million_tokens: per_token_den.and_then(|d| {
            x.grid_g_co2_per_kwh
                .map(|g| draw_w * overhead * 1e6 * g / (d * J_PER_KWH))
        }),
    }
}

/// Finite inputs can still overflow (1e300 nodes × 1e300 W): refuse rather than return inf.
fn check_range(f: &Fleet) -> Result<()> {
    let mut all = vec![Some(f.draw_w_per_node), f.tokens_per_s, f.tokens];
    for l in [&f.it, &f.facility] {
        all.extend([
            Some(l.power_mw),
            Some(l.energy_mwh),
            Some(l.cost),
            l.t_co2,
            l.joules_per_token,
            l.cost_per_million_tokens,
            l.g_co2_per_million_tokens,
        ]);
    }
    // A load and a throughput that multiply to 0 (subnormal inputs) would pass for an idle fleet.
    let lost_tokens = f.inputs.utilization > 0.0
        && f.inputs.tokens_per_s_per_node.is_some()
        && (f.it.joules_per_token.is_none() || f.tokens == Some(0.0));
    if all.iter().flatten().all(|v| v.is_finite()) && !lost_tokens {
        return Ok(());
    }
    Err(Error::InvalidArgument {
        name: "nodes / power_w_per_node / hours".into(),
        value: format!(
            "{} / {} / {}",
            f.inputs.nodes, f.inputs.power_w_per_node, f.inputs.hours
        ),
        reason: "the figures overflow or underflow double precision; check the units".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-13 * b.abs()
    }

    fn seed() -> FleetInputs {
        let mut x = FleetInputs::new(1200.0, 5600.0, 0.6);
        x.tokens_per_s_per_node = Some(2500.0);
        x
    }

    #[test]
    fn seed_fleet_by_hand() {
        let mut x = seed();
        x.pue = 1.56;
        x.grid_g_co2_per_kwh = Some(400.0);
        let f = fleet(&x).expect("the test input is valid");
        // 1200 × 0.6 × 5600 W = 4.032 MW; × 8760 h = 35,320.32 MWh.
        assert!(close(f.draw_w_per_node, 3360.0));
        assert!(close(f.it.power_mw, 4.032));
        assert!(close(f.facility.power_mw, 4.032 * 1.56));
        assert!(close(f.it.energy_mwh, 35_320.32));
        assert!(close(f.facility.cost, 35_320.32 * 1.56 * 80.0));
        // 35,320.32 MWh × 400 t/TWh... = 14,128.128 t at the IT level.
        assert!(close(
            f.it.t_co2.expect("the test input is valid"),
            14_128.128
        ));
        // 1200 × 0.6 × 2500 tok/s × 8760 h × 3600 s.
        assert!(close(
            f.tokens.expect("the test input is valid"),
            5.676_48e13
        ));
        assert!(close(
            f.it.joules_per_token.expect("the test input is valid"),
            2.24
        ));
        assert!(close(
            f.facility
                .joules_per_token
                .expect("the test input is valid"),
            2.24 * 1.56
        ));
        assert!(close(
            f.it.g_co2_per_million_tokens
                .expect("the test input is valid"),
            2.24 / 3.6 * 400.0
        ));
    }

    #[test]
    fn idle_power_raises_cost_per_token_at_low_load() {
        let mut x = seed();
        x.idle_power_w_per_node = 1600.0;
        let busy = fleet(&x).expect("the test input is valid");
        x.utilization = 0.3;
        let quiet = fleet(&x).expect("the test input is valid");
        // draw = 1600 + 0.3 × 4000 = 2800 W for 750 tok/s: 3.7333 J/token.
        assert!(close(quiet.draw_w_per_node, 2800.0));
        assert!(close(
            quiet.it.joules_per_token.expect("the test input is valid"),
            2800.0 / 750.0
        ));
        assert!(
            quiet
                .it
                .cost_per_million_tokens
                .expect("the test input is valid")
                > busy
                    .it
                    .cost_per_million_tokens
                    .expect("the test input is valid")
        );
        x.utilization = 0.0;
        let off = fleet(&x).expect("the test input is valid");
        assert_eq!(off.tokens, Some(0.0));
        assert_eq!(off.it.joules_per_token, None);
        assert_eq!(off.it.cost_per_million_tokens, None);
        assert!(close(off.it.power_mw, 1.92));
    }

    #[test]
    fn domain_errors() {
        type Mutation = fn(&mut FleetInputs);
        let cases: [(&str, Mutation); 10] = [
            ("nodes", |x| x.nodes = 0.0),
            ("power_w_per_node", |x| x.power_w_per_node = f64::NAN),
            ("idle_power_w_per_node", |x| x.idle_power_w_per_node = -1.0),
            ("idle_power_w_per_node", |x| {
                x.idle_power_w_per_node = 6000.0
            }),
            ("utilization", |x| x.utilization = 60.0),
            ("utilization", |x| x.utilization = -0.1),
            ("hours", |x| x.hours = 0.0),
            ("tokens_per_s_per_node", |x| {
                x.tokens_per_s_per_node = Some(0.0)
            }),
            ("pue", |x| x.pue = 0.9),
            ("currency", |x| x.currency = "eur".into()),
        ];
        for (name, mutate) in cases {
            let mut x = seed();
            mutate(&mut x);
            let e = fleet(&x).unwrap_err();
            assert!(e.to_string().starts_with(&format!("{name} = ")), "{e}");
        }
        let mut x = seed();
        x.nodes = 1e300;
        x.power_w_per_node = 1e300;
        assert!(fleet(&x).unwrap_err().reason().contains("overflow"));
        let mut x = seed();
        x.utilization = 1e-320;
        x.tokens_per_s_per_node = Some(1e-10);
        assert!(fleet(&x).unwrap_err().reason().contains("underflow"));
    }
}
