//! Timestamps: everything is i64 nanoseconds since the Unix epoch, UTC.

use crate::error::{Error, Location, Result};

/// Float seconds to integer nanoseconds, rounded to the nearest ns.
///
/// f64 seconds near 2026 resolve about 0.24 µs, so this is the best a float
/// column allows; exact decimal text goes through [`parse_decimal_seconds`].
///
/// ```
/// use epcore_core::time::seconds_to_ns;
/// assert_eq!(seconds_to_ns(&[1.5, 2.0])?, vec![1_500_000_000, 2_000_000_000]);
/// assert!(seconds_to_ns(&[f64::NAN]).is_err());
/// # Ok::<(), epcore_core::Error>(())
/// ```
pub fn seconds_to_ns(s: &[f64]) -> Result<Vec<i64>> {
    // 9.2e18 ns is the i64 limit; stay strictly inside it.
    const LIMIT_S: f64 = 9.2e9;
    let mut out = Vec::with_capacity(s.len());
    for (i, &x) in s.iter().enumerate() {
        if !x.is_finite() {
            return Err(Error::NonFinite {
                at: Location::at_index(i),
                what: "timestamp".into(),
                value: x,
            });
        }
        if x.abs() >= LIMIT_S {
            return Err(Error::TimestampOverflow {
                at: Location::at_index(i),
                value: x.to_string(),
            });
        }
        out.push((x * 1e9).round() as i64);
    }
    Ok(out)
}

/// Why a decimal-seconds field was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalError {
    /// Not of the form `[-]digits[.digits]`.
    Syntax,
    /// More than 9 decimals: finer than a nanosecond.
    TooPrecise,
    /// Outside the i64 nanosecond range.
    Overflow,
}

/// Parse `[-]SSSS[.fffffffff]` seconds exactly to nanoseconds, never through f64.
///
/// ```
/// use epcore_core::time::parse_decimal_seconds;
/// assert_eq!(parse_decimal_seconds(b"1717000000.123456789"), Ok(1_717_000_000_123_456_789));
/// assert_eq!(parse_decimal_seconds(b"-0.5"), Ok(-500_000_000));
/// ```
pub fn parse_decimal_seconds(s: &[u8]) -> std::result::Result<i64, DecimalError> {
    if let Some(ns) = parse_plain_seconds(s) {
        return Ok(ns);
    }
    let (neg, body) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (int_part, frac_part) = match body.iter().position(|&c| c == b'.') {
        Some(p) => (&body[..p], &body[p + 1..]),
        None => (body, &body[body.len()..]),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(DecimalError::Syntax);
    }
    let mut secs: i64 = 0;
    for &c in int_part {
        if !c.is_ascii_digit() {
            return Err(DecimalError::Syntax);
        }
        secs = secs
            .checked_mul(10)
            .and_then(|x| x.checked_add((c - b'0') as i64))
            .ok_or(DecimalError::Overflow)?;
    }
    if frac_part.len() > 9 {
        // Trailing zeros beyond ns are harmless; real digits are not.
        if frac_part[9..].iter().any(|&c| c != b'0') {
            return Err(if frac_part.iter().all(u8::is_ascii_digit) {
                DecimalError::TooPrecise
            } else {
                DecimalError::Syntax
            });
        }
    }
    let mut frac: i64 = 0;
    let mut digits = 0;
    for &c in frac_part.iter().take(9) {
        if !c.is_ascii_digit() {
            return Err(DecimalError::Syntax);
        }
        frac = frac * 10 + (c - b'0') as i64;
        digits += 1;
    }
    for _ in digits..9 {
        frac *= 10;
    }
    let ns = secs
        .checked_mul(1_000_000_000)
        .and_then(|x| x.checked_add(frac))
        .ok_or(DecimalError::Overflow)?;
    Ok(if neg { -ns } else { ns })
}

/// Nanoseconds per unit of the last decimal, by number of decimals.
pub const NS_PER_DECIMAL: [i64; 10] = [
    1_000_000_000,
    100_000_000,
    10_000_000,
    1_000_000,
    100_000,
    10_000,
    1_000,
    100,
    10,
    1,
];

/// The common case in one pass: plain `digits[.digits]` with at most 19
/// digits, scaled to ns with one checked multiplication.
#[inline]
fn parse_plain_seconds(s: &[u8]) -> Option<i64> {
    let (m, frac, _) = scan_decimal(s)?;
    if frac > 9 {
        return None;
    }
    i64::try_from(m)
        .ok()?
        .checked_mul(NS_PER_DECIMAL[frac as usize])
}

/// `digits[.digits]` as (all digits as an integer, digits after the point, digit count);
/// `None` for anything else or more than 19 digits. One pass, no library calls:
/// fields are a few bytes long.
#[inline]
pub fn scan_decimal(s: &[u8]) -> Option<(u64, u32, u32)> {
    // 19 digits always fit a u64, so the digit loops need no overflow check.
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let mut point = s.len();
    for (i, &c) in s.iter().enumerate() {
        if c == b'.' {
            point = i;
            break;
        }
    }
    let (int_part, frac_part) = (&s[..point], s.get(point + 1..).unwrap_or(&[]));
    // Branch-free digit loops: a non-digit anywhere sets `bad`.
    let mut m: u64 = 0;
    let mut bad = false;
    for part in [int_part, frac_part] {
        for &c in part {
            let d = c.wrapping_sub(b'0');
            bad |= d > 9;
            m = m.wrapping_mul(10).wrapping_add(d as u64);
        }
    }
    let digits = (int_part.len() + frac_part.len()) as u32;
    if bad || digits == 0 || digits > 19 {
        return None;
    }
    Some((m, frac_part.len() as u32, digits))
}

/// Parse an integer nanosecond field.
pub fn parse_integer_ns(s: &[u8]) -> std::result::Result<i64, DecimalError> {
    let (neg, body) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return Err(DecimalError::Syntax);
    }
    let mut v: i64 = 0;
    for &c in body {
        if !c.is_ascii_digit() {
            return Err(DecimalError::Syntax);
        }
        v = v
            .checked_mul(10)
            .and_then(|x| x.checked_add((c - b'0') as i64))
            .ok_or(DecimalError::Overflow)?;
    }
    Ok(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_seconds_are_exact() {
        assert_eq!(parse_decimal_seconds(b"0.000000001"), Ok(1));
        assert_eq!(parse_decimal_seconds(b"12"), Ok(12_000_000_000));
        assert_eq!(parse_decimal_seconds(b".5"), Ok(500_000_000));
        assert_eq!(parse_decimal_seconds(b"1.1234567890"), Ok(1_123_456_789));
        assert_eq!(
            parse_decimal_seconds(b"1.12345678901"),
            Err(DecimalError::TooPrecise)
        );
        assert_eq!(parse_decimal_seconds(b"1e9"), Err(DecimalError::Syntax));
        assert_eq!(parse_decimal_seconds(b""), Err(DecimalError::Syntax));
        assert_eq!(parse_decimal_seconds(b"."), Err(DecimalError::Syntax));
        assert_eq!(
            parse_decimal_seconds(b"99999999999"),
            Err(DecimalError::Overflow)
        );
        assert_eq!(parse_integer_ns(b"-17"), Ok(-17));
        assert_eq!(
            scan_decimal(b"1234567890.123456789"),
            Some((1_234_567_890_123_456_789, 9, 19))
        );
        assert_eq!(scan_decimal(b"12.5.1"), None);
        assert_eq!(scan_decimal(b"12:5"), None);
        assert_eq!(scan_decimal(b"."), None);
        assert_eq!(parse_decimal_seconds(b"5."), Ok(5_000_000_000));
        assert_eq!(
            parse_decimal_seconds(b"8999999999.999999999"),
            Ok(8_999_999_999_999_999_999)
        );
        assert_eq!(parse_decimal_seconds(b"9223372036.854775807"), Ok(i64::MAX));
        assert_eq!(
            parse_decimal_seconds(b"9223372036.854775808"),
            Err(DecimalError::Overflow)
        );
        assert_eq!(
            parse_integer_ns(b"99999999999999999999"),
            Err(DecimalError::Overflow)
        );
    }
}
