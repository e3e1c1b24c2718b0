//! Field-level parsing shared by the text readers.

use crate::time::scan_decimal;

/// Trim ASCII spaces and tabs, then one pair of surrounding double quotes.
#[inline]
pub fn trim_field(mut f: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = f {
        f = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = f {
        f = rest;
    }
    if f.len() >= 2 && f[0] == b'"' && f[f.len() - 1] == b'"' {
        f = &f[1..f.len() - 1];
    }
    f
}

/// Tokens that mean "no reading" (a missing sample, never a zero).
#[inline]
pub fn is_null_token(f: &[u8]) -> bool {
    // Numbers start with a digit, a sign or a point: the common case is decided by one byte.
    if matches!(f.first(), Some(b'0'..=b'9' | b'-' | b'+' | b'.')) {
        return false;
    }
    f.is_empty()
        || matches!(f, b"NA" | b"N/A" | b"null" | b"NULL" | b"None")
        || (f.first() == Some(&b'[') && f.last() == Some(&b']'))
}

/// A decimal or scientific number; `None` if the field is not one.
///
/// Plain decimals of at most 15 significant digits (every power reading seen
/// in practice) take Clinger's fast path: the digits as an exact integer
/// divided by an exact power of ten is one correctly rounded operation, the
/// same result as the full parser, which handles everything else.
#[inline]
pub fn parse_f64(f: &[u8]) -> Option<f64> {
    if let Some(x) = parse_simple_decimal(f) {
        return Some(x);
    }
    // Rust's parser (Eisel-Lemire) is correctly rounded; the UTF-8 check is cheap on short fields.
    std::str::from_utf8(f).ok()?.parse::<f64>().ok()
}

/// Exact powers of ten for Clinger's fast path.
pub const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

#[inline]
fn parse_simple_decimal(f: &[u8]) -> Option<f64> {
    let (neg, body) = match f.first()? {
        b'-' => (true, &f[1..]),
        b'+' => (false, &f[1..]),
        _ => (false, f),
    };
    let (mantissa, frac, digits) = scan_decimal(body)?;
    // At most 15 digits keeps the mantissa below 2^53, so it is exact.
    if digits > 15 {
        return None;
    }
    let x = mantissa as f64 / POW10[frac as usize];
    Some(if neg { -x } else { x })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn fast_path_equals_the_full_parser(int in 0u64..10_000_000, frac in 0u64..100_000_000, digits in 0usize..9, neg: bool) {
            let s = if digits == 0 {
                format!("{}{int}", if neg { "-" } else { "" })
            } else {
                let f = format!("{frac:0>8}");
                format!("{}{int}.{}", if neg { "-" } else { "" }, &f[..digits])
            };
            let want: f64 = s.parse().expect("the test input is valid");
            prop_assert_eq!(parse_f64(s.as_bytes()).map(f64::to_bits), Some(want.to_bits()));
        }
    }

    #[test]
    fn trims_and_reads_numbers() {
        assert_eq!(trim_field(b"  \"312.5\" "), b"312.5");
        assert_eq!(parse_f64(b"1.28e+06"), Some(1.28e6));
        assert_eq!(parse_f64(b"1O3.5"), None);
        assert_eq!(parse_f64(b"-0.25"), Some(-0.25));
        assert_eq!(parse_f64(b"."), None);
        assert_eq!(parse_f64(b"1.2.3"), None);
        assert_eq!(parse_f64(b"nan").map(f64::is_nan), Some(true));
        assert!(is_null_token(b"[N/A]"));
        assert!(is_null_token(b""));
        assert!(!is_null_token(b"0"));
    }
}
