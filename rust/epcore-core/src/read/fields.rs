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

/// Eight bytes of `b` from `at`, the first in the low byte; `None` within 8 bytes of the end.
#[inline(always)]
pub fn word_at(b: &[u8], at: usize) -> Option<u64> {
    let w: [u8; 8] = b.get(at..at.wrapping_add(8))?.try_into().ok()?;
    Some(u64::from_le_bytes(w))
}

const LOW_NIBBLES: u64 = 0x0F0F_0F0F_0F0F_0F0F;
const ASCII_ZEROS: u64 = 0x3030_3030_3030_3030;

/// The high bit of every byte of `w` (from [`word_at`]) that is not an ASCII digit.
///
/// XOR with `'0'` maps the digits, and only them, to 0 to 9; a byte is then
/// a non-digit if it is 10 or more, which adding 118 to its low seven bits
/// carries into bit 7 (never into the next byte), or if bit 7 is already set.
#[inline(always)]
pub fn nondigit_mask(w: u64) -> u64 {
    let t = w ^ ASCII_ZEROS;
    (((t & 0x7F7F_7F7F_7F7F_7F7F).wrapping_add(0x7676_7676_7676_7676)) | t) & 0x8080_8080_8080_8080
}

/// How many of the bytes of `w` are ASCII digits before the first byte that is not: 0 to 8.
#[inline(always)]
pub fn digit_prefix(w: u64) -> u32 {
    nondigit_mask(w).trailing_zeros() / 8
}

/// The first `n` (0 to 8) bytes of `w`, all digits, as a decimal integer.
///
/// The digits are shifted to the top bytes so the vacated low bytes read as
/// leading zeros; then pairs, quads and octets of digits are combined by
/// three multiply-shifts (the classic SWAR conversion). The products wrap by
/// design: only the bits kept by the masks matter.
#[inline(always)]
pub fn digits_value(w: u64, n: u32) -> u64 {
    let v = w.checked_shl(64 - 8 * n).unwrap_or(0) & LOW_NIBBLES;
    let v = v.wrapping_mul(10 * 256 + 1) >> 8;
    let v = (v & 0x00FF_00FF_00FF_00FF).wrapping_mul(100 * 65536 + 1) >> 16;
    (v & 0x0000_FFFF_0000_FFFF).wrapping_mul(10000 * (1 << 32) + 1) >> 32
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

    proptest! {
        #[test]
        fn eight_byte_digit_runs_read_like_the_bytes(bytes in proptest::collection::vec(
            prop_oneof![4 => b'0'..=b'9', 1 => any::<u8>()], 8)) {
            let w = word_at(&bytes, 0).expect("eight bytes");
            let n = bytes.iter().take_while(|c| c.is_ascii_digit()).count();
            prop_assert_eq!(digit_prefix(w) as usize, n);
            let want = bytes[..n].iter().fold(0u64, |m, c| m * 10 + (c - b'0') as u64);
            prop_assert_eq!(digits_value(w, n as u32), want);
        }
    }

    #[test]
    fn swar_digits_at_the_edges() {
        assert_eq!(word_at(b"1234567", 0), None);
        assert_eq!(word_at(b"12345678", 1), None);
        let w = word_at(b"99999999", 0).expect("eight bytes");
        assert_eq!((digit_prefix(w), digits_value(w, 8)), (8, 99_999_999));
        assert_eq!(digits_value(w, 0), 0);
        let w = word_at(b"12\xFF/9:0\x00", 0).expect("eight bytes");
        assert_eq!((digit_prefix(w), digits_value(w, 2)), (2, 12));
        assert_eq!(nondigit_mask(w), 0x8000_8000_8080_0000);
        // Every byte value at every position, among digits and among non-digits.
        for c in 0..=255u8 {
            for at in 0..8 {
                for fill in [b'5', b' ', 0xFF] {
                    let mut b = [fill; 8];
                    b[at] = c;
                    let want = b.iter().enumerate().fold(0u64, |m, (i, x)| {
                        m | if x.is_ascii_digit() {
                            0
                        } else {
                            0x80 << (8 * i)
                        }
                    });
                    assert_eq!(nondigit_mask(u64::from_le_bytes(b)), want, "{b:?}");
                }
            }
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
