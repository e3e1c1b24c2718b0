//! Time fields of request logs: RFC 3339 with an offset, and exact decimal
//! numbers (JSON floats) in a unit, both to integer nanoseconds since the epoch.

use crate::read::civil::{days_from_civil, days_in_month};

/// Why a time field was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeError {
    /// Not `YYYY-MM-DD[T ]HH:MM:SS[.f](Z|±HH:MM)`.
    Syntax,
    /// A date-time without `Z` or an offset: its zone is unknown.
    NoOffset,
    /// A month, day, hour, minute, second or offset out of range (or a leap second).
    Range,
    /// More than 9 decimals of seconds.
    TooPrecise,
    /// Outside the int64-nanosecond range.
    Overflow,
}

impl TimeError {
    pub fn reason(&self) -> &'static str {
        match self {
            TimeError::Syntax => "not an RFC 3339 date-time (YYYY-MM-DDTHH:MM:SS[.fff]Z or ±HH:MM)",
            TimeError::NoOffset => "date-time without a UTC offset: its time zone is unknown",
            TimeError::Range => "date-time field out of range",
            TimeError::TooPrecise => "more than 9 decimals: finer than a nanosecond",
            TimeError::Overflow => "outside the int64 nanosecond range (years 1677-2262)",
        }
    }
}

/// Whether a field is a date-time rather than a number: `YYYY-` up front.
///
/// ```
/// use epcore_core::requests::timefmt::looks_like_datetime;
/// assert!(looks_like_datetime(b"2025-06-09T23:21:26Z"));
/// assert!(!looks_like_datetime(b"1750000000.5"));
/// ```
pub fn looks_like_datetime(s: &[u8]) -> bool {
    s.len() >= 5 && s[..4].iter().all(u8::is_ascii_digit) && s[4] == b'-'
}

fn digits(s: &[u8]) -> Option<i64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0i64, |a, &c| a * 10 + (c - b'0') as i64))
}

/// Parse an RFC 3339 date-time to ns since the epoch, UTC, exactly.
///
/// `T`, `t` or a space separates date and time; `Z`, `z` or `±HH:MM` is the offset.
///
/// ```
/// use epcore_core::requests::timefmt::parse_rfc3339;
/// assert_eq!(parse_rfc3339(b"1970-01-01T00:00:01.5Z"), Ok(1_500_000_000));
/// assert_eq!(
///     parse_rfc3339(b"2025-06-09T23:21:26.037+02:00"),
///     parse_rfc3339(b"2025-06-09T21:21:26.037Z"),
/// );
/// assert!(parse_rfc3339(b"2025-06-09T23:21:26").is_err());
/// ```
pub fn parse_rfc3339(s: &[u8]) -> Result<i64, TimeError> {
    if s.len() < 19 {
        return Err(TimeError::Syntax);
    }
    let sep = |i: usize, c: u8| s[i] == c;
    if !(sep(4, b'-')
        && sep(7, b'-')
        && matches!(s[10], b'T' | b't' | b' ')
        && sep(13, b':')
        && sep(16, b':'))
    {
        return Err(TimeError::Syntax);
    }
    let num = |a: usize, b: usize| digits(&s[a..b]).ok_or(TimeError::Syntax);
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    let mut rest = &s[19..];
    let mut frac_ns = 0i64;
    if let [b'.', tail @ ..] = rest {
        let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return Err(TimeError::Syntax);
        }
        let (fd, after) = tail.split_at(n);
        // Zeros past the ns are harmless; real digits are not.
        if fd.len() > 9 && fd[9..].iter().any(|&c| c != b'0') {
            return Err(TimeError::TooPrecise);
        }
        for i in 0..9 {
            frac_ns = frac_ns * 10 + fd.get(i).map_or(0, |&c| (c - b'0') as i64);
        }
        rest = after;
    }
    let offset_s = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), a, b, b':', c, e] => {
            let oh = digits(&[*a, *b]).ok_or(TimeError::Syntax)?;
            let om = digits(&[*c, *e]).ok_or(TimeError::Syntax)?;
            if oh > 23 || om > 59 {
                return Err(TimeError::Range);
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'-' {
                -o
            } else {
                o
            }
        }
        [] => return Err(TimeError::NoOffset),
        _ => return Err(TimeError::Syntax),
    };
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59
    {
        return Err(TimeError::Range);
    }
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset_s;
    secs.checked_mul(1_000_000_000)
        .and_then(|x| x.checked_add(frac_ns))
        .ok_or(TimeError::Overflow)
}

/// Why a number was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberError {
    /// Not a JSON number.
    Syntax,
    /// Has a fractional part where an integer is needed.
    NotInteger,
    /// Outside the int64 range after scaling.
    Overflow,
}

/// How many significant decimal digits are kept exactly (10^38 < 2^127).
const KEEP_DIGITS: u32 = 38;

/// A JSON number read exactly: `±digits × 10^exp`, with `inexact` set when
/// non-zero digits past the 38th significant one were dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Decimal {
    neg: bool,
    digits: u128,
    exp: i64,
    inexact: bool,
}

fn parse_number(s: &[u8]) -> Option<Decimal> {
    let (neg, mut i) = match s.first() {
        Some(b'-') => (true, 1),
        _ => (false, 0),
    };
    let mut d = Decimal {
        neg,
        digits: 0,
        exp: 0,
        inexact: false,
    };
    let mut kept = 0u32;
    let mut any = false;
    let mut push = |c: u8, fraction: bool, d: &mut Decimal| {
        let v = (c - b'0') as u128;
        if d.digits == 0 && v == 0 {
            // Leading zeros carry no significance.
            if fraction {
                d.exp -= 1;
            }
        } else if kept < KEEP_DIGITS {
            d.digits = d.digits * 10 + v;
            kept += 1;
            if fraction {
                d.exp -= 1;
            }
        } else {
            d.inexact |= v != 0;
            if !fraction {
                d.exp += 1;
            }
        }
    };
    while let Some(&c) = s.get(i).filter(|c| c.is_ascii_digit()) {
        push(c, false, &mut d);
        any = true;
        i += 1;
    }
    if s.get(i) == Some(&b'.') {
        i += 1;
        let mut frac = false;
        while let Some(&c) = s.get(i).filter(|c| c.is_ascii_digit()) {
            push(c, true, &mut d);
            frac = true;
            i += 1;
        }
        if !frac {
            return None;
        }
    }
    if !any {
        return None;
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        i += 1;
        let eneg = match s.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let mut e: i64 = 0;
        let mut edigits = false;
        while let Some(&c) = s.get(i).filter(|c| c.is_ascii_digit()) {
            // Saturate: an exponent past ±10^6 is overflow or zero either way.
            e = (e * 10 + (c - b'0') as i64).min(1_000_000);
            edigits = true;
            i += 1;
        }
        if !edigits {
            return None;
        }
        d.exp += if eneg { -e } else { e };
    }
    if i != s.len() {
        return None;
    }
    Some(d)
}

/// `10^k` for `k <= 38`.
fn pow10(k: u32) -> u128 {
    10u128.pow(k)
}

/// The JSON number `s` times `10^scale` as an i64: exact when `round` is false
/// (a fractional part is an error), else rounded to the nearest integer, ties
/// to even (as Python's `round`).
///
/// Used with `scale = 9` to turn seconds into ns, 6 for ms, 0 for integers: the
/// decimal text is the value, never an f64 approximation of it.
///
/// ```
/// use epcore_core::requests::timefmt::{scaled_integer, NumberError};
/// assert_eq!(scaled_integer(b"0.09821699999974953", 9, true), Ok(98_217_000));
/// assert_eq!(scaled_integer(b"255.88656799999998", 6, true), Ok(255_886_568));
/// assert_eq!(scaled_integer(b"1.5e3", 0, false), Ok(1500));
/// assert_eq!(scaled_integer(b"12.5", 0, false), Err(NumberError::NotInteger));
/// assert_eq!(scaled_integer(b"0.0000000025", 9, true), Ok(2));
/// ```
pub fn scaled_integer(s: &[u8], scale: i64, round: bool) -> Result<i64, NumberError> {
    let d = parse_number(s).ok_or(NumberError::Syntax)?;
    if d.digits == 0 {
        return Ok(0);
    }
    let e = d.exp + scale;
    let magnitude: u128 = if e >= 0 {
        if e > KEEP_DIGITS as i64 {
            return Err(NumberError::Overflow);
        }
        if d.inexact {
            // Dropped digits sit left of the point: the value is not the kept digits.
            return Err(NumberError::Overflow);
        }
        d.digits
            .checked_mul(pow10(e as u32))
            .ok_or(NumberError::Overflow)?
    } else {
        let k = -e;
        let (q, r, div_half_cmp) = if k > KEEP_DIGITS as i64 {
            // digits < 10^38 <= 10^k / 10: less than half a unit.
            (0u128, d.digits, std::cmp::Ordering::Less)
        } else {
            let div = pow10(k as u32);
            let (q, r) = (d.digits / div, d.digits % div);
            let cmp = (2 * r).cmp(&div).then(if d.inexact {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            });
            (q, r, cmp)
        };
        if r == 0 && !d.inexact {
            q
        } else if !round {
            return Err(NumberError::NotInteger);
        } else {
            match div_half_cmp {
                std::cmp::Ordering::Greater => q + 1,
                std::cmp::Ordering::Equal if q % 2 == 1 => q + 1,
                _ => q,
            }
        }
    };
    if d.neg {
        if magnitude > i64::MAX as u128 + 1 {
            return Err(NumberError::Overflow);
        }
        Ok((magnitude as i128).wrapping_neg() as i64)
    } else {
        i64::try_from(magnitude).map_err(|_| NumberError::Overflow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc3339_rules() {
        let z = parse_rfc3339(b"2025-06-09T21:21:26.037Z").expect("valid");
        assert_eq!(z, 1_749_504_086_037_000_000);
        assert_eq!(parse_rfc3339(b"2025-06-09 21:21:26.037z"), Ok(z));
        assert_eq!(parse_rfc3339(b"2025-06-09T16:21:26.037-05:00"), Ok(z));
        assert_eq!(
            parse_rfc3339(b"2026-09-29T11:19:30.527891+00:00"),
            Ok(1_790_680_770_527_891_000)
        );
        assert_eq!(parse_rfc3339(b"2024-02-29T00:00:00Z").map(|_| ()), Ok(()));
        assert_eq!(
            parse_rfc3339(b"2023-02-29T00:00:00Z"),
            Err(TimeError::Range)
        );
        assert_eq!(
            parse_rfc3339(b"2023-01-01T00:00:60Z"),
            Err(TimeError::Range)
        );
        assert_eq!(
            parse_rfc3339(b"2023-01-01T00:00:00+24:00"),
            Err(TimeError::Range)
        );
        assert_eq!(
            parse_rfc3339(b"2023-01-01T00:00:00"),
            Err(TimeError::NoOffset)
        );
        assert_eq!(
            parse_rfc3339(b"2023-01-01T00:00:00.Z"),
            Err(TimeError::Syntax)
        );
        assert_eq!(
            parse_rfc3339(b"2023-01-01T00:00:00+0100"),
            Err(TimeError::Syntax)
        );
        assert_eq!(
            parse_rfc3339(b"2023-01-01T00:00:00.1234567891Z"),
            Err(TimeError::TooPrecise)
        );
        assert_eq!(
            parse_rfc3339(b"2023-01-01T00:00:00.1234567890Z"),
            Ok(1_672_531_200_123_456_789)
        );
        assert_eq!(
            parse_rfc3339(b"9999-12-31T00:00:00Z"),
            Err(TimeError::Overflow)
        );
        assert_eq!(
            parse_rfc3339("2023-01-01T00:00:0é".as_bytes()),
            Err(TimeError::Syntax)
        );
    }

    #[test]
    fn numbers_are_exact_and_rounded_half_even() {
        assert_eq!(scaled_integer(b"0.5", 0, true), Ok(0));
        assert_eq!(scaled_integer(b"1.5", 0, true), Ok(2));
        assert_eq!(scaled_integer(b"-2.5", 0, true), Ok(-2));
        assert_eq!(
            scaled_integer(b"2.5000000000000000000000000000000000000001", 0, true),
            Ok(3)
        );
        assert_eq!(
            scaled_integer(b"1759813207532900363", 0, false),
            Ok(1_759_813_207_532_900_363)
        );
        assert_eq!(
            scaled_integer(b"9223372036854775807", 0, false),
            Ok(i64::MAX)
        );
        assert_eq!(
            scaled_integer(b"-9223372036854775808", 0, false),
            Ok(i64::MIN)
        );
        assert_eq!(
            scaled_integer(b"9223372036854775808", 0, false),
            Err(NumberError::Overflow)
        );
        assert_eq!(
            scaled_integer(b"1e400", 0, false),
            Err(NumberError::Overflow)
        );
        assert_eq!(scaled_integer(b"1e-400", 9, true), Ok(0));
        assert_eq!(
            scaled_integer(b"1e-400", 9, false),
            Err(NumberError::NotInteger)
        );
        assert_eq!(scaled_integer(b"0", 9, false), Ok(0));
        assert_eq!(scaled_integer(b"-0.0", 9, false), Ok(0));
        assert_eq!(scaled_integer(b"12.0", 0, false), Ok(12));
        for bad in [
            &b""[..],
            b"-",
            b"1.",
            b".5",
            b"1e",
            b"1e+",
            b"0x10",
            b"NaN",
            b"1 ",
        ] {
            assert_eq!(
                scaled_integer(bad, 0, true),
                Err(NumberError::Syntax),
                "{bad:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn seconds_round_like_an_exact_rational(int in 0u64..10_000, frac in 0u64..1_000_000_000_000, places in 1usize..13) {
            let f = format!("{frac:012}");
            let text = format!("{int}.{}", &f[..places]);
            // The exact value in units of 10^-12 s, rounded half-even to ns by hand.
            let units = int as i128 * 1_000_000_000_000 + f[..places].parse::<i128>().expect("digits") * 10i128.pow((12 - places) as u32);
            let (q, r) = (units / 1000, units % 1000);
            let want = if r > 500 || (r == 500 && q % 2 == 1) { q + 1 } else { q };
            prop_assert_eq!(scaled_integer(text.as_bytes(), 9, true), Ok(want as i64));
        }

        #[test]
        fn rfc3339_agrees_with_day_arithmetic(days in 0i64..40_000, secs in 0i64..86_400, off_min in -1439i64..1440) {
            let t = days * 86_400 + secs;
            // Render the local time of `t` at the offset, then parse it back.
            let local = t + off_min * 60;
            let (ld, ls) = (local.div_euclid(86_400), local.rem_euclid(86_400));
            let (y, m, d) = civil_from_days(ld);
            let sign = if off_min < 0 { '-' } else { '+' };
            let s = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
                ls / 3600, ls / 60 % 60, ls % 60, off_min.abs() / 60, off_min.abs() % 60);
            prop_assert_eq!(parse_rfc3339(s.as_bytes()), Ok(t * 1_000_000_000));
        }
    }

    fn civil_from_days(z: i64) -> (i64, i64, i64) {
        let z = z + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        (yoe + era * 400 + i64::from(m <= 2), m, d)
    }
}
