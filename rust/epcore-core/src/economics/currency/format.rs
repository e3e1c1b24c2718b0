//! Money for display: the currency's minor-unit decimals from one unit up,
//! three significant figures below it.
//!
//! A per-query cost is typically a few millionths of a dollar, and a cost per
//! million tokens a few cents; rounded to cents they would read $0.00 and
//! $0.05, which is wrong or too coarse to compare. So an amount below one unit
//! is shown with three significant figures in positional notation
//! (`0.0000249`, `0.0498`), trailing zeros trimmed down to the minor-unit
//! decimals (`0.50`, `0.01`), and below 1e-9 in scientific notation
//! (`2.49e-12`) where a row of zeros stops being readable.

use super::iso::decimals;
use crate::error::{Error, Result};

/// Below this magnitude a sub-minor-unit amount is shown in scientific notation.
const SCIENTIFIC_BELOW: f64 = 1e-9;
const SIGNIFICANT: usize = 3;

/// The symbols shown when `symbol` is asked for (CLDR English forms); every
/// other currency is shown with its code after the amount.
fn symbol_of(code: &str) -> Option<&'static str> {
    Some(match code {
        "USD" => "$",
        "EUR" => "€",
        "GBP" => "£",
        "JPY" => "¥",
        "BRL" => "R$",
        "INR" => "₹",
        "CNY" => "CN¥",
        _ => return None,
    })
}

/// `amount` of `code` for people: `"$0.0000249"`, `"€1,234.50"`, `"¥1,235"`,
/// or with `symbol = false` (and for currencies without a symbol here)
/// `"0.0000249 USD"`, `"1,234.500 KWD"`.
///
/// Errors: a malformed or unknown code ([`Error::InvalidArgument`] /
/// [`Error::UnknownCode`]), a non-finite amount.
///
/// ```
/// use epcore_core::economics::currency::format_money;
/// assert_eq!(format_money(2.488888888888889e-5, "USD", true)?, "$0.0000249");
/// assert_eq!(format_money(2.488888888888889e-5, "USD", false)?, "0.0000249 USD");
/// assert_eq!(format_money(1234.5, "EUR", true)?, "€1,234.50");
/// assert_eq!(format_money(1234.5, "JPY", true)?, "¥1,234");
/// assert_eq!(format_money(-0.5, "JPY", false)?, "-0.5 JPY");
/// assert_eq!(format_money(0.0497778, "USD", true)?, "$0.0498");
/// assert_eq!(format_money(0.0, "BRL", true)?, "R$0.00");
/// # Ok::<(), epcore_core::Error>(())
/// ```
pub fn format_money(amount: f64, code: &str, symbol: bool) -> Result<String> {
    let dec = decimals("currency", code)?;
    if !amount.is_finite() {
        return Err(Error::InvalidArgument {
            name: "amount".into(),
            value: amount.to_string(),
            reason: "a money amount must be a finite number".into(),
        });
    }
    let digits = digits(amount.abs(), dec);
    let sign = if amount < 0.0 { "-" } else { "" };
    Ok(match symbol.then(|| symbol_of(code)).flatten() {
        Some(s) => format!("{sign}{s}{digits}"),
        None => format!("{sign}{digits} {code}"),
    })
}

/// The digits of a non-negative finite amount (no sign, no symbol).
fn digits(a: f64, dec: u8) -> String {
    let dec = usize::from(dec);
    if a == 0.0 || a >= 1.0 {
        return group_thousands(&format!("{a:.dec$}"));
    }
    // The exponent after rounding to 3 significant figures (9.996e-6 -> 1.00e-5).
    let sci = format!("{a:.*e}", SIGNIFICANT - 1);
    let exp: i32 = sci
        .split_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0);
    if a < SCIENTIFIC_BELOW {
        return sci;
    }
    let places = usize::try_from(SIGNIFICANT as i32 - 1 - exp)
        .unwrap_or(0)
        .max(dec);
    let mut s = format!("{a:.places$}");
    // Zeros past the minor unit add no information: 0.0100 -> 0.01, 0.500 -> 0.50.
    let keep = s.find('.').map_or(s.len(), |p| p + 1 + dec);
    while s.len() > keep && s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    s
}

/// `1234567.5` -> `1,234,567.5`: commas between groups of three integer digits.
fn group_thousands(s: &str) -> String {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let mut out = String::with_capacity(s.len() + int.len() / 3);
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(x: f64, code: &str) -> String {
        format_money(x, code, false).expect("valid")
    }

    #[test]
    fn table() {
        let cases: [(f64, &str, &str); 17] = [
            (2.488_888_888_888_889e-5, "USD", "0.0000249 USD"),
            (0.01, "USD", "0.01 USD"),
            (0.009_999, "USD", "0.01 USD"),
            (0.004, "USD", "0.004 USD"),
            (9.996e-6, "USD", "0.00001 USD"),
            (0.049_777_8, "USD", "0.0498 USD"),
            (0.5, "USD", "0.50 USD"),
            (0.123_456, "EUR", "0.123 EUR"),
            (1234.5, "EUR", "1,234.50 EUR"),
            (1_234_567.891, "USD", "1,234,567.89 USD"),
            (999.999, "USD", "1,000.00 USD"),
            (163.36, "JPY", "163 JPY"),
            (0.25, "JPY", "0.25 JPY"),
            (1.2345, "KWD", "1.234 KWD"),
            (2.49e-12, "USD", "2.49e-12 USD"),
            (-0.0, "USD", "0.00 USD"),
            (-1234.5, "GBP", "-1,234.50 GBP"),
        ];
        for (x, code, want) in cases {
            assert_eq!(f(x, code), want, "{x} {code}");
        }
    }

    #[test]
    fn symbols() {
        let got = format_money(2.8e-5, "BRL", true).expect("valid");
        assert_eq!(got, "R$0.000028");
        assert_eq!(format_money(1.0, "CHF", true).expect("valid"), "1.00 CHF");
        assert_eq!(format_money(-2.0, "GBP", true).expect("valid"), "-£2.00");
        assert_eq!(format_money(3.0, "INR", true).expect("valid"), "₹3.00");
        assert_eq!(format_money(3.0, "CNY", true).expect("valid"), "CN¥3.00");
    }

    #[test]
    fn errors() {
        assert_eq!(
            format_money(f64::NAN, "USD", true).unwrap_err().code(),
            "invalid_argument"
        );
        assert_eq!(
            format_money(1.0, "USX", true).unwrap_err().code(),
            "unknown_code"
        );
        assert_eq!(
            format_money(1.0, "usd", true).unwrap_err().code(),
            "invalid_argument"
        );
    }

    #[test]
    fn thousands() {
        assert_eq!(group_thousands("1"), "1");
        assert_eq!(group_thousands("123"), "123");
        assert_eq!(group_thousands("1234"), "1,234");
        assert_eq!(group_thousands("123456.78"), "123,456.78");
        assert_eq!(group_thousands("1234567"), "1,234,567");
    }
}
