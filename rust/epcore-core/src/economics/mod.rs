//! Steady-state economics: energy, money and carbon per token and per query
//! for a server drawing constant power at constant throughput.
//!
//! Every figure is one expression of the exact inputs with a single final
//! division where possible (`power_w * q / (tokens_per_s * 3.6e6)` rather than
//! a chain of rounded intermediates), so exact decimal inputs such as
//! 5600 W and 2500 tok/s give the float nearest the true value: 2.24 J/token,
//! not 2.2399999999999998.
//!
//! ```
//! use epcore_core::economics::{steady_state, Inputs};
//!
//! let r = steady_state(&Inputs::new(5600.0, 2500.0))?;
//! assert_eq!(r.it.joules_per_token, 2.24);
//! assert!((r.it.cost_per_million_tokens - 0.0497777).abs() < 1e-6);
//! assert!((r.it.queries_per_kwh - 3214.2857).abs() < 1e-3);
//! assert!(r.facility.is_none()); // pue = 1: the IT figures are the only ones
//!
//! let bad = steady_state(&Inputs::new(5600.0, 0.0)).unwrap_err();
//! assert_eq!(bad.code(), "invalid_argument");
//! # Ok::<(), epcore_core::Error>(())
//! ```

use crate::error::{Error, Result};
use currency::Rates;

pub mod batch;
pub mod crossover;
pub mod currency;
pub mod distance;
pub mod fleet;
pub mod floor;
pub mod grid;
pub mod ranges;
pub mod sensitivity;
pub mod series;

/// Joules in a kilowatt-hour.
pub const J_PER_KWH: f64 = 3.6e6;
/// Joules in a watt-hour.
pub const J_PER_WH: f64 = 3600.0;
const TOKENS_PER_MILLION: f64 = 1e6;

/// What the calculator takes. Build with [`Inputs::new`] and override fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Inputs {
    /// Mean electrical power of the serving hardware, W (> 0).
    pub power_w: f64,
    /// Output throughput at that power, tokens per second (> 0).
    pub tokens_per_s: f64,
    /// Electricity price in `currency` per kWh (>= 0 unless `allow_negative_price`).
    pub price_per_kwh: f64,
    /// ISO 4217 code: three upper-case ASCII letters.
    pub currency: String,
    /// Tokens in one query (> 0; a mean may be fractional).
    pub query_tokens: f64,
    /// Power usage effectiveness of the facility (>= 1; 1 gives IT-level figures only).
    pub pue: f64,
    /// Grid carbon intensity, gCO2 per kWh (>= 0), when known.
    pub grid_g_co2_per_kwh: Option<f64>,
    /// Wholesale markets do clear below zero; a negative price is refused unless this is set.
    pub allow_negative_price: bool,
}

impl Inputs {
    /// The seed defaults: 0.08 USD/kWh, 500-token queries, PUE 1, no grid intensity.
    pub fn new(power_w: f64, tokens_per_s: f64) -> Self {
        Inputs {
            power_w,
            tokens_per_s,
            price_per_kwh: 0.08,
            currency: "USD".into(),
            query_tokens: 500.0,
            pue: 1.0,
            grid_g_co2_per_kwh: None,
            allow_negative_price: false,
        }
    }

    /// Every domain check, first failure wins (in argument order).
    pub fn validate(&self) -> Result<()> {
        positive("power_w", self.power_w)?;
        positive("tokens_per_s", self.tokens_per_s)?;
        finite("price_per_kwh", self.price_per_kwh)?;
        if self.price_per_kwh < 0.0 && !self.allow_negative_price {
            return Err(invalid(
                "price_per_kwh",
                self.price_per_kwh,
                "negative price; pass allow_negative_price to accept it",
            ));
        }
        check_currency(&self.currency)?;
        positive("query_tokens", self.query_tokens)?;
        finite("pue", self.pue)?;
        if self.pue < 1.0 {
            return Err(invalid(
                "pue",
                self.pue,
                "power usage effectiveness must be >= 1 (facility power over IT power)",
            ));
        }
        if let Some(g) = self.grid_g_co2_per_kwh {
            finite("grid_g_co2_per_kwh", g)?;
            if g < 0.0 {
                return Err(invalid(
                    "grid_g_co2_per_kwh",
                    g,
                    "carbon intensity must be >= 0",
                ));
            }
        }
        Ok(())
    }
}

/// One set of figures, at the IT level or at the facility level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    pub joules_per_token: f64,
    pub wh_per_token: f64,
    pub kwh_per_million_tokens: f64,
    /// In the currency of [`SteadyState::currency`].
    pub cost_per_million_tokens: f64,
    pub wh_per_query: f64,
    /// In the currency of [`SteadyState::currency`].
    pub cost_per_query: f64,
    pub queries_per_kwh: f64,
    pub tokens_per_kwh: f64,
    pub g_co2_per_query: Option<f64>,
    pub g_co2_per_million_tokens: Option<f64>,
}

/// The calculator's answer: the inputs it used, IT figures, and facility
/// figures when `pue > 1`.
#[derive(Debug, Clone, PartialEq)]
pub struct SteadyState {
    pub inputs: Inputs,
    /// Currency of every cost figure (money is a code plus an amount).
    pub currency: String,
    /// Currency `inputs.price_per_kwh` was given in.
    pub price_currency: String,
    /// Units of `currency` per unit of `price_currency`: 1 when they are the same.
    pub rate: f64,
    /// Reference day of `rate` (`YYYY-MM-DD`); `None` when no conversion was
    /// needed or the rates came without a date.
    pub rate_date: Option<String>,
    /// Who published `rate`; `None` when no conversion was needed.
    pub rate_source: Option<String>,
    pub it: Figures,
    pub facility: Option<Figures>,
}

/// Compute the steady-state figures; every out-of-domain input is an
/// [`Error::InvalidArgument`], and no figure is ever inf or NaN.
pub fn steady_state(inputs: &Inputs) -> Result<SteadyState> {
    steady_state_priced(inputs, None, None)
}

/// [`steady_state`] with the price typed in `price_currency` (default: the
/// result currency `inputs.currency`) and converted with `rates` (default:
/// the bundled ECB table, [`Rates::bundled`]). The result records the rate,
/// its date and source.
///
/// ```
/// use epcore_core::economics::{steady_state_priced, Inputs};
/// use epcore_core::economics::currency::Rates;
///
/// let mut x = Inputs::new(5600.0, 2500.0);
/// x.currency = "BRL".into();
/// let fixed = Rates::from_mapping([("USD", 1.1252), ("BRL", 6.3957)], Some("2025-05-09"), "EUR", "fixed")?;
/// let r = steady_state_priced(&x, Some("USD"), Some(&fixed))?;
/// assert_eq!(r.rate, 6.3957 / 1.1252);
/// assert!((r.it.cost_per_query - 2.488888888888889e-5 * r.rate).abs() < 1e-18);
/// assert_eq!(r.rate_date.as_deref(), Some("2025-05-09"));
/// # Ok::<(), epcore_core::Error>(())
/// ```
pub fn steady_state_priced(
    inputs: &Inputs,
    price_currency: Option<&str>,
    rates: Option<&Rates>,
) -> Result<SteadyState> {
    inputs.validate()?;
    let price_currency = price_currency.unwrap_or(&inputs.currency);
    currency::decimals("price_currency", price_currency)?;
    let (rate, rate_date, rate_source) = if price_currency == inputs.currency {
        (1.0, None, None)
    } else {
        let bundled;
        let table = match rates {
            Some(t) => t,
            None => {
                bundled = Rates::bundled();
                &bundled
            }
        };
        let rate = table.rate(price_currency, &inputs.currency)?;
        (rate, table.date.clone(), Some(table.source.clone()))
    };
    // rate = 1 is exact, so unconverted prices keep every figure's single rounding.
    let price = inputs.price_per_kwh * rate;
    if !price.is_finite() {
        return Err(invalid(
            "price_per_kwh",
            inputs.price_per_kwh,
            "overflows double precision once converted",
        ));
    }
    let it = figures(inputs, 1.0, price)?;
    let facility = if inputs.pue > 1.0 {
        Some(figures(inputs, inputs.pue, price)?)
    } else {
        None
    };
    Ok(SteadyState {
        inputs: inputs.clone(),
        currency: inputs.currency.clone(),
        price_currency: price_currency.to_string(),
        rate,
        rate_date,
        rate_source,
        it,
        facility,
    })
}

/// Figures for energy scaled by `overhead` (1 for IT, the PUE for the facility),
/// at `price` per kWh in the result currency.
fn figures(x: &Inputs, overhead: f64, price: f64) -> Result<Figures> {
    // With overhead = 1 the product is exact, so IT figures keep a single rounding.
    let p = x.power_w * overhead;
    let t = x.tokens_per_s;
    let q = x.query_tokens;
    let per_kwh_den = t * J_PER_KWH;
    let carbon = |tokens: f64| x.grid_g_co2_per_kwh.map(|g| p * tokens * g / per_kwh_den);
    let f = Figures {
        joules_per_token: p / t,
        wh_per_token: p / (t * J_PER_WH),
        kwh_per_million_tokens: p * TOKENS_PER_MILLION / per_kwh_den,
        cost_per_million_tokens: p * TOKENS_PER_MILLION * price / per_kwh_den,
        wh_per_query: p * q / (t * J_PER_WH),
        cost_per_query: p * q * price / per_kwh_den,
        queries_per_kwh: per_kwh_den / (p * q),
        tokens_per_kwh: per_kwh_den / p,
        g_co2_per_query: carbon(q),
        g_co2_per_million_tokens: carbon(TOKENS_PER_MILLION),
    };
    check_range(x, &f)?;
    Ok(f)
}

/// Finite inputs can still overflow or underflow (1e-300 W at 1e300 tok/s):
/// refuse rather than return inf, NaN, or a zero whose reciprocal is inf.
fn check_range(x: &Inputs, f: &Figures) -> Result<()> {
    let energies = [
        f.joules_per_token,
        f.wh_per_token,
        f.kwh_per_million_tokens,
        f.wh_per_query,
        f.queries_per_kwh,
        f.tokens_per_kwh,
    ];
    let money_and_carbon = [
        Some(f.cost_per_million_tokens),
        Some(f.cost_per_query),
        f.g_co2_per_query,
        f.g_co2_per_million_tokens,
    ];
    let energy_ok = energies.iter().all(|v| v.is_finite() && *v > 0.0);
    let rest_ok = money_and_carbon.iter().flatten().all(|v| v.is_finite());
    if energy_ok && rest_ok {
        return Ok(());
    }
    Err(Error::InvalidArgument {
        name: "power_w / tokens_per_s".into(),
        value: format!("{} / {}", x.power_w, x.tokens_per_s),
        reason: "the figures overflow or underflow double precision; check the units".into(),
    })
}

pub(crate) fn invalid(name: &str, value: f64, reason: &str) -> Error {
    Error::InvalidArgument {
        name: name.into(),
        value: value.to_string(),
        reason: reason.into(),
    }
}

pub(crate) fn finite(name: &str, v: f64) -> Result<()> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(invalid(name, v, "must be a finite number"))
    }
}

pub(crate) fn positive(name: &str, v: f64) -> Result<()> {
    finite(name, v)?;
    if v > 0.0 {
        Ok(())
    } else {
        Err(invalid(name, v, "must be > 0"))
    }
}

/// Malformed codes are an `InvalidArgument`; well-formed codes that are not
/// active ISO 4217 currencies an `UnknownCode` with close matches.
fn check_currency(code: &str) -> Result<()> {
    currency::decimals("currency", code).map(|_| ())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn seed() -> SteadyState {
        steady_state(&Inputs::new(5600.0, 2500.0)).expect("the test input is valid")
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs()
    }

    #[test]
    fn seed_figures() {
        let r = seed();
        let f = r.it;
        assert_eq!(f.joules_per_token, 2.24);
        assert_eq!(f.wh_per_token, 5600.0 / 9e6);
        assert!(close(
            f.kwh_per_million_tokens,
            0.622_222_222_222_222_2,
            1e-15
        ));
        assert!(close(
            f.cost_per_million_tokens,
            0.049_777_777_777_777_78,
            1e-15
        ));
        assert_eq!(format!("{:.6}", f.cost_per_million_tokens), "0.049778");
        assert!(close(f.wh_per_query, 0.311_111_111_111_111_1, 1e-15));
        assert_eq!(format!("{:.5}", f.wh_per_query), "0.31111");
        assert!(close(f.cost_per_query, 2.488_888_888_888_889e-5, 1e-15));
        assert_eq!(format!("{:.10}", f.cost_per_query), "0.0000248889");
        assert!(close(f.queries_per_kwh, 3_214.285_714_285_714, 1e-15));
        assert_eq!(format!("{:.2}", f.queries_per_kwh), "3214.29");
        assert!(close(f.tokens_per_kwh, 1_607_142.857_142_857, 1e-15));
        assert_eq!(f.g_co2_per_query, None);
        assert_eq!(f.g_co2_per_million_tokens, None);
        assert_eq!(r.currency, "USD");
        assert!(r.facility.is_none());
    }

    #[test]
    fn facility_figures_scale_with_pue() {
        let mut x = Inputs::new(5600.0, 2500.0);
        x.pue = 1.25;
        x.grid_g_co2_per_kwh = Some(400.0);
        let r = steady_state(&x).expect("the test input is valid");
        let (it, fac) = (r.it, r.facility.expect("the test input is valid"));
        assert_eq!(fac.joules_per_token, 2.8);
        assert!(close(fac.wh_per_query, it.wh_per_query * 1.25, 1e-15));
        assert!(close(fac.queries_per_kwh, it.queries_per_kwh / 1.25, 1e-15));
        // 0.31111 Wh × 400 g/kWh = 0.124444 g at the IT level.
        assert!(close(
            it.g_co2_per_query.expect("the test input is valid"),
            0.124_444_444_444_444_44,
            1e-15
        ));
        assert!(close(
            fac.g_co2_per_million_tokens
                .expect("the test input is valid"),
            311.111_111_111_111_1,
            1e-15
        ));
    }

    #[test]
    fn bad_power_and_throughput_are_errors() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let e = steady_state(&Inputs::new(bad, 2500.0)).expect_err("the test input is invalid");
            assert_eq!(e.code(), "invalid_argument");
            assert!(e.to_string().starts_with("power_w = "), "{e}");
            let e = steady_state(&Inputs::new(5600.0, bad)).expect_err("the test input is invalid");
            assert!(e.to_string().starts_with("tokens_per_s = "), "{e}");
        }
    }

    #[test]
    fn negative_price_needs_the_flag() {
        let mut x = Inputs::new(5600.0, 2500.0);
        x.price_per_kwh = -0.02;
        let e = steady_state(&x).expect_err("the test input is invalid");
        assert!(e.reason().contains("negative price"), "{e}");
        x.allow_negative_price = true;
        let r = steady_state(&x).expect("the test input is valid");
        assert!(r.it.cost_per_query < 0.0);
        x.price_per_kwh = f64::NAN;
        assert!(steady_state(&x).is_err());
    }

    #[test]
    fn zero_price_is_free_not_an_error() {
        let mut x = Inputs::new(5600.0, 2500.0);
        x.price_per_kwh = 0.0;
        assert_eq!(
            steady_state(&x)
                .expect("the test input is valid")
                .it
                .cost_per_query,
            0.0
        );
    }

    #[test]
    fn currency_codes() {
        for good in ["USD", "EUR", "JPY"] {
            let mut x = Inputs::new(1.0, 1.0);
            x.currency = good.into();
            assert!(steady_state(&x).is_ok());
        }
        for bad in ["usd", "US", "USDX", "", "U$D", "ÜSD", "US\u{0}"] {
            let mut x = Inputs::new(1.0, 1.0);
            x.currency = bad.into();
            let e = steady_state(&x).expect_err("the test input is invalid");
            assert!(e.to_string().starts_with("currency = "), "{e}");
        }
    }

    type Mutation = fn(&mut Inputs);

    #[test]
    fn pue_query_tokens_and_grid_domains() {
        let cases: [(&str, Mutation); 6] = [
            ("pue", |x| x.pue = 0.99),
            ("pue", |x| x.pue = f64::NAN),
            ("query_tokens", |x| x.query_tokens = 0.0),
            ("query_tokens", |x| x.query_tokens = f64::INFINITY),
            ("grid_g_co2_per_kwh", |x| x.grid_g_co2_per_kwh = Some(-1.0)),
            ("grid_g_co2_per_kwh", |x| {
                x.grid_g_co2_per_kwh = Some(f64::NAN)
            }),
        ];
        for (name, mutate) in cases {
            let mut x = Inputs::new(5600.0, 2500.0);
            mutate(&mut x);
            let e = steady_state(&x).expect_err("the test input is invalid");
            assert!(e.to_string().starts_with(&format!("{name} = ")), "{e}");
        }
    }

    #[test]
    fn price_in_another_currency() {
        let mut x = Inputs::new(5600.0, 2500.0);
        let usd = steady_state(&x).expect("valid");
        assert_eq!((usd.rate, usd.rate_date.as_deref()), (1.0, None));
        assert_eq!(usd.price_currency, "USD");
        x.currency = "EUR".into();
        let eur = steady_state_priced(&x, Some("USD"), None).expect("valid");
        assert_eq!(eur.rate, 1.0 / 1.1252);
        assert_eq!(eur.rate_date.as_deref(), Some("2025-05-09"));
        assert!(close(
            eur.it.cost_per_query,
            usd.it.cost_per_query / 1.1252,
            1e-15
        ));
        assert_eq!(eur.it.joules_per_token, usd.it.joules_per_token);
        x.currency = "AED".into();
        let e = steady_state_priced(&x, Some("USD"), None).expect_err("no AED rate");
        assert!(e.to_string().contains("pass a rate"), "{e}");
        x.currency = "USX".into();
        let e = steady_state(&x).expect_err("unknown");
        assert_eq!(e.code(), "unknown_code");
        x.currency = "USD".into();
        let e = steady_state_priced(&x, Some("usd"), None).expect_err("malformed");
        assert!(e.to_string().starts_with("price_currency = usd"), "{e}");
    }

    #[test]
    fn overflow_and_underflow_are_errors_not_inf() {
        for (p, t) in [(1e300, 1e-300), (1e-300, 1e300), (f64::MAX, 1.0)] {
            let e = steady_state(&Inputs::new(p, t)).expect_err("the test input is invalid");
            assert!(e.reason().contains("double precision"), "{e}");
        }
    }
}
