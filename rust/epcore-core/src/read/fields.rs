//! Field-level parsing shared by the text readers.

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
    f.is_empty()
        || matches!(f, b"NA" | b"N/A" | b"null" | b"NULL" | b"None")
        || (f.first() == Some(&b'[') && f.last() == Some(&b']'))
}

/// A decimal or scientific number; `None` if the field is not one.
#[inline]
pub fn parse_f64(f: &[u8]) -> Option<f64> {
    // Rust's parser (Eisel-Lemire) is correctly rounded; the UTF-8 check is cheap on short fields.
    std::str::from_utf8(f).ok()?.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_reads_numbers() {
        assert_eq!(trim_field(b"  \"312.5\" "), b"312.5");
        assert_eq!(parse_f64(b"1.28e+06"), Some(1.28e6));
        assert_eq!(parse_f64(b"1O3.5"), None);
        assert!(is_null_token(b"[N/A]"));
        assert!(is_null_token(b""));
        assert!(!is_null_token(b"0"));
    }
}
