//! ISO 4217 active currency codes and their minor units.
//!
//! The table is ISO 4217 list one (the SIX maintenance agency), alphabetic
//! code and minor unit, as of 2025 (XCG, ZWG, VED and SLE included; HRK,
//! withdrawn in 2023, is not). Codes whose minor unit is "N.A." (precious
//! metals, bond-market units, XDR, XSU, XUA, and the XTS/XXX placeholders)
//! are not money amounts one would show per query, so they are left out.

use crate::economics::distance::edit_distance;
use crate::error::{Error, Result};

/// `(code, minor-unit decimals)`, sorted by code.
#[rustfmt::skip]
pub static CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2), ("AFN", 2), ("ALL", 2), ("AMD", 2), ("ANG", 2), ("AOA", 2), ("ARS", 2),
    ("AUD", 2), ("AWG", 2), ("AZN", 2), ("BAM", 2), ("BBD", 2), ("BDT", 2), ("BGN", 2),
    ("BHD", 3), ("BIF", 0), ("BMD", 2), ("BND", 2), ("BOB", 2), ("BOV", 2), ("BRL", 2),
    ("BSD", 2), ("BTN", 2), ("BWP", 2), ("BYN", 2), ("BZD", 2), ("CAD", 2), ("CDF", 2),
    ("CHE", 2), ("CHF", 2), ("CHW", 2), ("CLF", 4), ("CLP", 0), ("CNY", 2), ("COP", 2),
    ("COU", 2), ("CRC", 2), ("CUC", 2), ("CUP", 2), ("CVE", 2), ("CZK", 2), ("DJF", 0),
    ("DKK", 2), ("DOP", 2), ("DZD", 2), ("EGP", 2), ("ERN", 2), ("ETB", 2), ("EUR", 2),
    ("FJD", 2), ("FKP", 2), ("GBP", 2), ("GEL", 2), ("GHS", 2), ("GIP", 2), ("GMD", 2),
    ("GNF", 0), ("GTQ", 2), ("GYD", 2), ("HKD", 2), ("HNL", 2), ("HTG", 2), ("HUF", 2),
    ("IDR", 2), ("ILS", 2), ("INR", 2), ("IQD", 3), ("IRR", 2), ("ISK", 0), ("JMD", 2),
    ("JOD", 3), ("JPY", 0), ("KES", 2), ("KGS", 2), ("KHR", 2), ("KMF", 0), ("KPW", 2),
    ("KRW", 0), ("KWD", 3), ("KYD", 2), ("KZT", 2), ("LAK", 2), ("LBP", 2), ("LKR", 2),
    ("LRD", 2), ("LSL", 2), ("LYD", 3), ("MAD", 2), ("MDL", 2), ("MGA", 2), ("MKD", 2),
    ("MMK", 2), ("MNT", 2), ("MOP", 2), ("MRU", 2), ("MUR", 2), ("MVR", 2), ("MWK", 2),
    ("MXN", 2), ("MXV", 2), ("MYR", 2), ("MZN", 2), ("NAD", 2), ("NGN", 2), ("NIO", 2),
    ("NOK", 2), ("NPR", 2), ("NZD", 2), ("OMR", 3), ("PAB", 2), ("PEN", 2), ("PGK", 2),
    ("PHP", 2), ("PKR", 2), ("PLN", 2), ("PYG", 0), ("QAR", 2), ("RON", 2), ("RSD", 2),
    ("RUB", 2), ("RWF", 0), ("SAR", 2), ("SBD", 2), ("SCR", 2), ("SDG", 2), ("SEK", 2),
    ("SGD", 2), ("SHP", 2), ("SLE", 2), ("SLL", 2), ("SOS", 2), ("SRD", 2), ("SSP", 2),
    ("STN", 2), ("SVC", 2), ("SYP", 2), ("SZL", 2), ("THB", 2), ("TJS", 2), ("TMT", 2),
    ("TND", 3), ("TOP", 2), ("TRY", 2), ("TTD", 2), ("TWD", 2), ("TZS", 2), ("UAH", 2),
    ("UGX", 0), ("USD", 2), ("USN", 2), ("UYI", 0), ("UYU", 2), ("UYW", 4), ("UZS", 2),
    ("VED", 2), ("VES", 2), ("VND", 0), ("VUV", 0), ("WST", 2), ("XAF", 0), ("XCD", 2),
    ("XCG", 2), ("XOF", 0), ("XPF", 0), ("YER", 2), ("ZAR", 2), ("ZMW", 2), ("ZWG", 2),
];

/// At most this many close matches are offered for an unknown code.
const MAX_SUGGESTIONS: usize = 5;

/// Three upper-case ASCII letters: the shape of an ISO 4217 alphabetic code.
pub fn is_code_shaped(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// A code that is not three upper-case letters, for argument `name`.
pub fn shape_error(name: &str, code: &str) -> Error {
    Error::InvalidArgument {
        name: name.into(),
        value: code.into(),
        reason: "expected a three-letter upper-case ISO 4217 code such as USD or EUR".into(),
    }
}

/// The minor-unit decimals of an active code, or `None` when it is not in the table.
pub fn lookup(code: &str) -> Option<u8> {
    CURRENCIES
        .binary_search_by(|(c, _)| (*c).cmp(code))
        .ok()
        .and_then(|i| CURRENCIES.get(i))
        .map(|(_, d)| *d)
}

/// Minor-unit decimals of `code`: an [`Error::InvalidArgument`] for a
/// malformed code (named `name`), an [`Error::UnknownCode`] with close
/// matches for a well-formed code that is not an active ISO 4217 currency.
///
/// ```
/// use epcore_core::economics::currency::decimals;
/// assert_eq!(decimals("currency", "JPY")?, 0);
/// assert_eq!(decimals("currency", "KWD")?, 3);
/// let e = decimals("currency", "USX").unwrap_err();
/// assert_eq!(e.code(), "unknown_code");
/// assert!(e.to_string().contains("did you mean UGX, USD, USN"), "{e}");
/// # Ok::<(), epcore_core::Error>(())
/// ```
pub fn decimals(name: &str, code: &str) -> Result<u8> {
    if !is_code_shaped(code) {
        return Err(shape_error(name, code));
    }
    lookup(code).ok_or_else(|| unknown(code))
}

/// The [`Error::UnknownCode`] for `code`, with its close matches.
pub fn unknown(code: &str) -> Error {
    Error::UnknownCode {
        kind: "currency".into(),
        value: code.into(),
        suggestions: suggest(code),
    }
}

/// Close matches among the active codes, closest first, then alphabetical:
/// codes one edit away (a substitution, insertion, deletion or swap of
/// neighbours), and codes two edits away that share the first letter (with
/// three-letter codes almost everything is two edits away from everything,
/// so the first letter, the one people rarely mistype, narrows it down).
///
/// ```
/// use epcore_core::economics::currency::suggest;
/// assert_eq!(suggest("EUD"), ["AUD", "EUR", "EGP", "ERN", "ETB"]);
/// assert_eq!(suggest("SUD"), ["AUD", "SBD", "SGD", "SRD", "USD"]); // USD: two letters swapped
/// ```
pub fn suggest(code: &str) -> Vec<String> {
    let wanted = code.to_ascii_uppercase();
    let first = wanted.bytes().next();
    let mut scored: Vec<(usize, &str)> = CURRENCIES
        .iter()
        .filter_map(|(c, _)| {
            let d = edit_distance(&wanted, c, true);
            let near = d <= 1 || (d == 2 && c.bytes().next() == first);
            near.then_some((d, *c))
        })
        .collect();
    scored.sort_unstable();
    scored
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(_, c)| c.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_unique_and_well_formed() {
        assert!(CURRENCIES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(CURRENCIES.iter().all(|(c, d)| is_code_shaped(c) && *d <= 4));
        assert!(CURRENCIES.len() > 150);
        assert_eq!(lookup("HRK"), None);
        assert_eq!(lookup("CLF"), Some(4));
    }

    #[test]
    fn suggestions_are_capped_and_ordered() {
        assert_eq!(suggest("USX"), ["UGX", "USD", "USN", "UAH", "UYI"]);
        assert_eq!(suggest("usd")[0], "USD");
        assert!(suggest("QQQ").len() <= MAX_SUGGESTIONS);
    }
}
