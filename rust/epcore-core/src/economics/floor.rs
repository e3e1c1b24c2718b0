//! API floor and margin: how much of an API's price per million tokens the
//! electricity alone takes, and at what energy per token it would take all of it.
//!
//! The energy cost of a million tokens is `J/token × PUE × price_per_kwh / 3.6`
//! (10⁶ tokens × J/token ÷ 3.6·10⁶ J/kWh). Input (prompt) and output tokens
//! have their own price and their own energy; the blend weights both by a
//! token mix (input and output tokens per query, default 0 : 500, the
//! steady-state query, so the blend is the output line until a mix is given).
//! One J/token for both kinds overstates the input floor: prefill costs far
//! less per token than decode.
//!
//! ```
//! use epcore_core::economics::floor::{api_floor, FloorInputs};
//!
//! // 0.60 USD per Mtok against the seed's 2.24 J/token at 0.08 USD/kWh.
//! let f = api_floor(&FloorInputs::new(0.60, 2.24))?;
//! let o = f.output;
//! assert!((o.energy_cost_per_mtok - 0.049_777_777_777_777_78).abs() < 1e-15);
//! assert!((o.energy_share.expect("the example is valid") - 0.082_962_962_962_962_96).abs() < 1e-15);
//! assert!((o.margin_per_mtok - 0.550_222_222_222_222_2).abs() < 1e-15);
//! // 0.60 × 3.6 / 0.08 = 27 J/token before energy alone eats the price.
//! assert!((o.break_even_joules_per_token.expect("the example is valid") - 27.0).abs() < 1e-12);
//! # Ok::<(), epcore_core::Error>(())
//! ```

use super::{finite, invalid, Inputs};
use crate::error::{Error, Result};

/// Megajoules per kWh: J/token × 10⁶ tokens ÷ 3.6·10⁶ J/kWh = J/token ÷ 3.6.
const MJ_PER_KWH: f64 = 3.6;

/// What the floor takes. Build with [`FloorInputs::new`] and override fields.
#[derive(Debug, Clone, PartialEq)]
pub struct FloorInputs {
    /// API price per million input tokens, in `currency` (>= 0).
    pub input_price_per_mtok: f64,
    /// API price per million output tokens, in `currency` (>= 0).
    pub output_price_per_mtok: f64,
    /// ISO 4217 code of both API prices and the electricity price (a label).
    pub currency: String,
    /// Energy per input token, J (>= 0).
    pub input_joules_per_token: f64,
    /// Energy per output token, J (>= 0).
    pub output_joules_per_token: f64,
    /// Electricity price per kWh, in `currency`.
    pub price_per_kwh: f64,
    /// Power usage effectiveness (>= 1); the floor is at this level.
    pub pue: f64,
    /// Input tokens per query (>= 0): the mix of the blend.
    pub input_tokens: f64,
    /// Output tokens per query (>= 0; input + output > 0).
    pub output_tokens: f64,
    pub allow_negative_price: bool,
}

impl FloorInputs {
    /// One API price and one J/token for both kinds of token, 0.08 USD/kWh,
    /// PUE 1, and the steady-state query's mix (0 input : 500 output).
    pub fn new(price_per_mtok: f64, joules_per_token: f64) -> Self {
        FloorInputs {
            input_price_per_mtok: price_per_mtok,
            output_price_per_mtok: price_per_mtok,
            currency: "USD".into(),
            input_joules_per_token: joules_per_token,
            output_joules_per_token: joules_per_token,
            price_per_kwh: 0.08,
            pue: 1.0,
            input_tokens: 0.0,
            output_tokens: 500.0,
            allow_negative_price: false,
        }
    }

    /// Every domain check, first failure wins (in field order).
    pub fn validate(&self) -> Result<()> {
        non_negative("input_price_per_mtok", self.input_price_per_mtok)?;
        non_negative("output_price_per_mtok", self.output_price_per_mtok)?;
        non_negative("input_joules_per_token", self.input_joules_per_token)?;
        non_negative("output_joules_per_token", self.output_joules_per_token)?;
        non_negative("input_tokens", self.input_tokens)?;
        non_negative("output_tokens", self.output_tokens)?;
        if self.input_tokens + self.output_tokens <= 0.0 {
            return Err(Error::InvalidArgument {
                name: "input_tokens + output_tokens".into(),
                value: "0".into(),
                reason: "the token mix needs some tokens".into(),
            });
        }
        // The steady-state checks own the rules for price, currency and PUE.
        let mut x = Inputs::new(1.0, 1.0);
        x.price_per_kwh = self.price_per_kwh;
        x.currency = self.currency.clone();
        x.pue = self.pue;
        x.allow_negative_price = self.allow_negative_price;
        x.validate()
    }
}

/// The floor under one price: input, output, or the blend.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FloorLine {
    /// The API price per million tokens.
    pub price_per_mtok: f64,
    /// Energy per token (the blend: token-weighted mean), J.
    pub joules_per_token: f64,
    /// Electricity cost of a million tokens at `pue`: the floor.
    pub energy_cost_per_mtok: f64,
    /// Floor ÷ price (None when the price is 0).
    pub energy_share: Option<f64>,
    /// Price − floor, per million tokens.
    pub margin_per_mtok: f64,
    /// Margin ÷ price (None when the price is 0).
    pub margin_share: Option<f64>,
    /// J/token at which the floor equals the price (None when electricity is
    /// free or paid for: energy never eats the price).
    pub break_even_joules_per_token: Option<f64>,
    /// Price ÷ floor: how many times the energy per token could grow before
    /// energy alone eats the price (None when the floor is <= 0).
    pub headroom: Option<f64>,
}

/// The floor's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Floor {
    pub inputs: FloorInputs,
    pub currency: String,
    pub input: FloorLine,
    pub output: FloorLine,
    /// Both kinds weighted by the token mix.
    pub blended: FloorLine,
}

/// Energy cost floor under an API price; out-of-domain inputs are
/// [`Error::InvalidArgument`].
pub fn api_floor(x: &FloorInputs) -> Result<Floor> {
    x.validate()?;
    let input = line(x, x.input_price_per_mtok, x.input_joules_per_token);
    let output = line(x, x.output_price_per_mtok, x.output_joules_per_token);
    let n = x.input_tokens + x.output_tokens;
    let mean = |a: f64, b: f64| (x.input_tokens * a + x.output_tokens * b) / n;
    let blended = line(
        x,
        mean(x.input_price_per_mtok, x.output_price_per_mtok),
        mean(x.input_joules_per_token, x.output_joules_per_token),
    );
    let all = [&input, &output, &blended];
    let finite = all.iter().all(|l| {
        [
            Some(l.price_per_mtok),
            Some(l.joules_per_token),
            Some(l.energy_cost_per_mtok),
            Some(l.margin_per_mtok),
            l.energy_share,
            l.margin_share,
            l.break_even_joules_per_token,
            l.headroom,
        ]
        .iter()
        .flatten()
        .all(|v| v.is_finite())
    });
    if !finite {
        return Err(Error::InvalidArgument {
            name: "joules_per_token / price_per_mtok".into(),
            value: format!(
                "{} / {}",
                x.output_joules_per_token, x.output_price_per_mtok
            ),
            reason: "the figures overflow double precision; check the units".into(),
        });
    }
    Ok(Floor {
        inputs: x.clone(),
        currency: x.currency.clone(),
        input,
        output,
        blended,
    })
}

fn line(x: &FloorInputs, price: f64, joules_per_token: f64) -> FloorLine {
    let floor = joules_per_token * x.pue * x.price_per_kwh / MJ_PER_KWH;
    let share = (price > 0.0).then(|| floor / price);
    FloorLine {
        price_per_mtok: price,
        joules_per_token,
        energy_cost_per_mtok: floor,
        energy_share: share,
        margin_per_mtok: price - floor,
        margin_share: share.map(|s| 1.0 - s),
        break_even_joules_per_token: (x.price_per_kwh > 0.0)
            .then(|| price * MJ_PER_KWH / (x.pue * x.price_per_kwh)),
        headroom: (floor > 0.0).then(|| price / floor),
    }
}

fn non_negative(name: &str, v: f64) -> Result<()> {
    finite(name, v)?;
    if v >= 0.0 {
        Ok(())
    } else {
        Err(invalid(name, v, "must be >= 0"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-13 * b.abs()
    }

    #[test]
    fn separate_prices_and_a_mix() {
        let mut x = FloorInputs::new(0.0, 0.0);
        x.input_price_per_mtok = 0.15;
        x.output_price_per_mtok = 0.60;
        x.input_joules_per_token = 0.2;
        x.output_joules_per_token = 2.24;
        x.input_tokens = 1500.0;
        x.output_tokens = 500.0;
        x.pue = 1.2;
        let f = api_floor(&x).expect("the test input is valid");
        assert!(close(f.input.energy_cost_per_mtok, 0.2 * 1.2 * 0.08 / 3.6));
        assert!(close(
            f.output.energy_cost_per_mtok,
            2.24 * 1.2 * 0.08 / 3.6
        ));
        // Blend: (1500 × 0.15 + 500 × 0.60) / 2000 = 0.2625; J = (300 + 1120) / 2000 = 0.71.
        assert!(close(f.blended.price_per_mtok, 0.2625));
        assert!(close(f.blended.joules_per_token, 0.71));
        assert!(close(
            f.blended.energy_cost_per_mtok,
            0.25 * f.output.energy_cost_per_mtok + 0.75 * f.input.energy_cost_per_mtok
        ));
        assert!(close(
            f.output
                .break_even_joules_per_token
                .expect("the test input is valid"),
            0.6 * 3.6 / (1.2 * 0.08)
        ));
        let h = f.output.headroom.expect("the test input is valid");
        assert!(close(
            h * f.output.joules_per_token,
            f.output
                .break_even_joules_per_token
                .expect("the test input is valid")
        ));
        assert!(close(
            f.output.energy_share.expect("the test input is valid")
                + f.output.margin_share.expect("the test input is valid"),
            1.0
        ));
    }

    #[test]
    fn free_prices_are_none_not_inf() {
        let mut x = FloorInputs::new(0.0, 2.24);
        let f = api_floor(&x).expect("the test input is valid");
        assert_eq!(f.output.energy_share, None);
        assert_eq!(f.output.margin_share, None);
        assert_eq!(f.output.break_even_joules_per_token, Some(0.0));
        x.price_per_kwh = 0.0;
        x.output_price_per_mtok = 1.0;
        let f = api_floor(&x).expect("the test input is valid");
        assert_eq!(f.output.break_even_joules_per_token, None);
        assert_eq!(f.output.headroom, None);
        assert_eq!(f.output.energy_share, Some(0.0));
    }

    #[test]
    fn domain_errors() {
        type Mutation = fn(&mut FloorInputs);
        let cases: [(&str, Mutation); 6] = [
            ("input_price_per_mtok", |x| x.input_price_per_mtok = -1.0),
            ("output_joules_per_token", |x| {
                x.output_joules_per_token = f64::NAN
            }),
            ("output_tokens", |x| x.output_tokens = -1.0),
            ("input_tokens + output_tokens", |x| x.output_tokens = 0.0),
            ("pue", |x| x.pue = 0.5),
            ("price_per_kwh", |x| x.price_per_kwh = -0.1),
        ];
        for (name, mutate) in cases {
            let mut x = FloorInputs::new(0.6, 2.24);
            mutate(&mut x);
            let e = api_floor(&x).unwrap_err();
            assert!(e.to_string().starts_with(&format!("{name} = ")), "{e}");
        }
    }
}
