//! Currencies: ISO 4217 codes, dated exchange-rate tables, conversion and display.
//!
//! Money is a currency code plus an amount. A [`Rates`] table holds units of
//! each currency per 1 EUR on one date, as the ECB publishes them, so any
//! two currencies in it convert through the euro: units of `to` per unit of
//! `from` = `per_eur[to] / per_eur[from]` (USD→GBP = GBP/USD).
//!
//! The bundled table ([`Rates::bundled`]) is the ECB's of 2025-05-09:
//! indicative reference rates, for information, not for transactions. Users
//! pass their own as a mapping ([`Rates::from_mapping`]) or as an ECB file
//! ([`read_ecb`], CSV or XML).
//!
//! ```
//! use epcore_core::economics::currency::{format_money, Rates};
//!
//! let r = Rates::bundled();
//! assert_eq!(r.date.as_deref(), Some("2025-05-09"));
//! assert_eq!(r.rate("USD", "GBP")?, 0.8477 / 1.1252);
//! let brl = r.convert(2.488888888888889e-5, "USD", "BRL")?;
//! assert_eq!(format_money(brl, "BRL", true)?, "R$0.000141");
//! let e = r.rate("USD", "AED").unwrap_err(); // the ECB does not quote AED
//! assert!(e.to_string().contains("pass a rate"), "{e}");
//! # Ok::<(), epcore_core::Error>(())
//! ```

mod bundled;
mod ecb;
mod format;
mod iso;

use std::collections::BTreeMap;
use std::sync::OnceLock;

pub use bundled::{BUNDLED_DATE, BUNDLED_PER_EUR, ECB_SOURCE};
pub use ecb::{parse_ecb, parse_ecb_csv, parse_ecb_xml, parse_iso_date, pick, read_ecb};
pub use format::format_money;
pub use iso::{decimals, is_code_shaped, lookup, suggest, unknown, CURRENCIES};

use crate::error::{Error, Result};

/// One dated table of exchange rates: units of each currency per 1 EUR.
#[derive(Debug, Clone, PartialEq)]
pub struct Rates {
    /// The reference day, `YYYY-MM-DD`; `None` for rates given without a date.
    pub date: Option<String>,
    /// Who published the rates (and the file they were read from).
    pub source: String,
    /// Units per 1 EUR, by code; `EUR` itself is always present, at 1.
    pub per_eur: BTreeMap<String, f64>,
}

impl Rates {
    /// The bundled ECB table of [`BUNDLED_DATE`].
    pub fn bundled() -> Rates {
        static BUNDLED: OnceLock<Rates> = OnceLock::new();
        BUNDLED
            .get_or_init(|| {
                let mut per_eur: BTreeMap<String, f64> = BUNDLED_PER_EUR
                    .iter()
                    .map(|(c, v)| ((*c).to_string(), *v))
                    .collect();
                per_eur.insert("EUR".into(), 1.0);
                Rates {
                    date: Some(BUNDLED_DATE.into()),
                    source: ECB_SOURCE.into(),
                    per_eur,
                }
            })
            .clone()
    }

    /// A table from `(code, units per 1 base)` pairs. With `base` other than
    /// EUR the pairs must include `EUR` (euros per 1 base) to place them.
    /// Codes must be three upper-case letters; rates positive and finite;
    /// `date`, when given, `YYYY-MM-DD`.
    ///
    /// ```
    /// use epcore_core::economics::currency::Rates;
    /// let r = Rates::from_mapping([("USD", 1.1252), ("BRL", 6.3957)], Some("2025-05-09"), "EUR", "fixed")?;
    /// assert_eq!(r.rate("USD", "BRL")?, 6.3957 / 1.1252);
    /// let u = Rates::from_mapping([("EUR", 0.5), ("GBP", 0.75)], None, "USD", "fixed")?;
    /// assert_eq!(u.per_eur["USD"], 2.0);
    /// assert_eq!(u.rate("USD", "GBP")?, 0.75);
    /// # Ok::<(), epcore_core::Error>(())
    /// ```
    pub fn from_mapping<K: AsRef<str>>(
        pairs: impl IntoIterator<Item = (K, f64)>,
        date: Option<&str>,
        base: &str,
        source: &str,
    ) -> Result<Rates> {
        if !is_code_shaped(base) {
            return Err(iso::shape_error("base", base));
        }
        let mut given = BTreeMap::new();
        for (code, v) in pairs {
            let code = code.as_ref();
            if !is_code_shaped(code) {
                return Err(iso::shape_error("rates", code));
            }
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::InvalidArgument {
                    name: format!("rates[{code}]"),
                    value: v.to_string(),
                    reason: format!(
                        "a rate (units of {code} per 1 {base}) must be positive and finite"
                    ),
                });
            }
            given.insert(code.to_string(), v);
        }
        if given.get(base).is_some_and(|v| *v != 1.0) {
            return Err(Error::InvalidArgument {
                name: format!("rates[{base}]"),
                value: given[base].to_string(),
                reason: format!("the base currency {base} is 1 unit per 1 {base}"),
            });
        }
        let per_eur = if base == "EUR" {
            given
        } else {
            let Some(eur) = given.get("EUR").copied() else {
                return Err(Error::InvalidArgument {
                    name: "rates".into(),
                    value: base.into(),
                    reason: format!(
                        "a table with base {base} needs an EUR entry (euros per 1 {base}) to place it; \
                         or give the rates per 1 EUR"
                    ),
                });
            };
            let mut m: BTreeMap<String, f64> =
                given.into_iter().map(|(c, v)| (c, v / eur)).collect();
            m.insert(base.to_string(), 1.0 / eur);
            m
        };
        Rates::from_parts(date.map(str::to_string), source.into(), per_eur)
    }

    /// A table from its three fields, checked (what the binding receives back).
    pub fn from_parts(
        date: Option<String>,
        source: String,
        mut per_eur: BTreeMap<String, f64>,
    ) -> Result<Rates> {
        if let Some(d) = &date {
            if parse_iso_date(d).is_none() {
                return Err(Error::InvalidArgument {
                    name: "date".into(),
                    value: d.clone(),
                    reason: "expected a date as YYYY-MM-DD".into(),
                });
            }
        }
        for (code, v) in &per_eur {
            if !is_code_shaped(code) {
                return Err(iso::shape_error("rates", code));
            }
            let bad_eur = code == "EUR" && *v != 1.0;
            if !(v.is_finite() && *v > 0.0) || bad_eur {
                return Err(Error::InvalidArgument {
                    name: format!("per_eur[{code}]"),
                    value: v.to_string(),
                    reason: "a rate must be positive and finite, and EUR is 1 per 1 EUR".into(),
                });
            }
        }
        per_eur.insert("EUR".into(), 1.0);
        Ok(Rates {
            date,
            source,
            per_eur,
        })
    }

    /// Units of `to` per unit of `from` (1 when they are the same code).
    pub fn rate(&self, from: &str, to: &str) -> Result<f64> {
        let (a, b) = (self.units_per_eur(from)?, self.units_per_eur(to)?);
        Ok(if from == to { 1.0 } else { b / a })
    }

    /// `amount` of `from` in `to`: `amount × per_eur[to] / per_eur[from]`.
    pub fn convert(&self, amount: f64, from: &str, to: &str) -> Result<f64> {
        if !amount.is_finite() {
            return Err(Error::InvalidArgument {
                name: "amount".into(),
                value: amount.to_string(),
                reason: "a money amount must be a finite number".into(),
            });
        }
        let (a, b) = (self.units_per_eur(from)?, self.units_per_eur(to)?);
        let out = if from == to { amount } else { amount * b / a };
        if out.is_finite() {
            Ok(out)
        } else {
            Err(Error::InvalidArgument {
                name: "amount".into(),
                value: amount.to_string(),
                reason: format!("{amount} {from} overflows double precision in {to}"),
            })
        }
    }

    /// Units of `code` per 1 EUR, or why there is none: a malformed code, an
    /// unknown one (with close matches), or a real currency this table lacks.
    pub fn units_per_eur(&self, code: &str) -> Result<f64> {
        if !is_code_shaped(code) {
            return Err(iso::shape_error("currency", code));
        }
        if let Some(v) = self.per_eur.get(code) {
            return Ok(*v);
        }
        if lookup(code).is_none() {
            return Err(unknown(code));
        }
        let on = self
            .date
            .as_deref()
            .map(|d| format!(" of {d}"))
            .unwrap_or_default();
        Err(Error::InvalidArgument {
            name: "currency".into(),
            value: code.into(),
            reason: format!(
                "no {code} rate in the table{on}; pass a rate: Rates.from_mapping({{\"{code}\": \
                 units per EUR, ...}}), an ECB file (--fx-file), or --rate {code}=UNITS_PER_EUR"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_table() {
        let r = Rates::bundled();
        assert_eq!(r.per_eur.len(), 31);
        assert_eq!(r.per_eur["USD"], 1.1252);
        assert_eq!(r.rate("EUR", "USD").expect("ok"), 1.1252);
        assert_eq!(r.rate("USD", "EUR").expect("ok"), 1.0 / 1.1252);
        assert!(BUNDLED_PER_EUR.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(BUNDLED_PER_EUR.iter().all(|(c, _)| lookup(c).is_some()));
    }

    #[test]
    fn missing_and_unknown_codes() {
        let r = Rates::bundled();
        let e = r.rate("USD", "AED").expect_err("not quoted");
        assert_eq!(e.code(), "invalid_argument");
        assert!(
            e.to_string()
                .contains("no AED rate in the table of 2025-05-09"),
            "{e}"
        );
        let e = r.rate("USX", "USD").expect_err("unknown");
        assert_eq!(e.code(), "unknown_code");
        assert_eq!(
            r.rate("usd", "USD").expect_err("shape").code(),
            "invalid_argument"
        );
        assert_eq!(
            r.rate("AED", "AED").expect_err("same but absent").code(),
            "invalid_argument"
        );
    }

    #[test]
    fn mapping_checks() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(Rates::from_mapping([("USD", bad)], None, "EUR", "x").is_err());
        }
        assert!(Rates::from_mapping([("usd", 1.0)], None, "EUR", "x").is_err());
        assert!(Rates::from_mapping([("EUR", 2.0)], None, "EUR", "x").is_err());
        assert!(Rates::from_mapping([("GBP", 0.8)], None, "USD", "x").is_err());
        assert!(Rates::from_mapping([("GBP", 0.8)], Some("2025-13-01"), "EUR", "x").is_err());
        let r = Rates::from_mapping([("CYP", 0.58)], Some("2005-01-03"), "EUR", "x").expect("ok");
        assert_eq!(r.rate("EUR", "CYP").expect("historic codes convert"), 0.58);
    }

    #[test]
    fn convert_round_trip_and_overflow() {
        let r = Rates::bundled();
        let x = 123.456;
        let there = r.convert(x, "IDR", "ISK").expect("ok");
        let back = r.convert(there, "ISK", "IDR").expect("ok");
        assert!((back - x).abs() <= 1e-12 * x);
        assert!(r.convert(1e308, "USD", "IDR").is_err());
        assert!(r.convert(f64::NAN, "USD", "EUR").is_err());
    }
}
