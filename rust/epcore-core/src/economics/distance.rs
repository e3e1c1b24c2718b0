//! Edit distance between short codes and names, for "did you mean" lists.

/// Levenshtein distance over bytes (codes and names are ASCII); with `swaps`,
/// the swap of two neighbouring letters counts as one edit too (optimal string
/// alignment: "SUD" is one slip from "USD").
///
/// ```
/// use epcore_core::economics::distance::edit_distance;
/// assert_eq!(edit_distance("KITTEN", "SITTING", false), 3);
/// assert_eq!(edit_distance("SUD", "USD", false), 2);
/// assert_eq!(edit_distance("SUD", "USD", true), 1);
/// ```
pub fn edit_distance(a: &str, b: &str, swaps: bool) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for j in 0..=m {
        d[0][j] = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if swaps && i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[n][m]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("DEU", "DEU", false), 0);
        assert_eq!(edit_distance("DEU", "DEX", false), 1);
        assert_eq!(edit_distance("", "ABC", false), 3);
        assert_eq!(edit_distance("KITTEN", "SITTING", false), 3);
        assert_eq!(edit_distance("USD", "USD", true), 0);
        assert_eq!(edit_distance("USD", "SUD", true), 1);
        assert_eq!(edit_distance("USD", "UD", true), 1);
        assert_eq!(edit_distance("USD", "EUR", true), 3);
        assert_eq!(edit_distance("", "EUR", true), 3);
    }
}
