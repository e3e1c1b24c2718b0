//! Shipped grid carbon intensity (gCO2e/kWh, location-based), by country,
//! cloud region, US state and Nordic bidding zone.
//!
//! The table is `data/grid_intensity.csv`, embedded at build time and parsed
//! once; `data/make_grid_intensity.py` regenerates it from CodeCarbon's
//! reference data and `data/NOTICE.md` gives the licences. Codes are matched
//! case-insensitively: ISO 3166-1 alpha-3 (`DEU`) or alpha-2 (`DE`) for
//! countries, `gcp:<region>` for cloud regions, `US-<postal code>` for US
//! states, `SE-SE1` (or `SE1`) for bidding zones, `WORLD` for the world average.
//!
//! ```
//! use epcore_core::economics::grid::grid_intensity;
//!
//! let de = grid_intensity("de")?;
//! assert_eq!((de.code.as_str(), de.g_co2_per_kwh, de.year), ("DEU", 380.95, 2023));
//! assert_eq!(de.licence, "CC-BY-4.0");
//! assert_eq!(grid_intensity("gcp:us-central1")?.g_co2_per_kwh, 430.0);
//!
//! let e = grid_intensity("DEX").unwrap_err();
//! assert_eq!(e.code(), "unknown_code");
//! assert!(e.to_string().contains("did you mean DEU"), "{e}");
//! # Ok::<(), epcore_core::Error>(())
//! ```

use std::collections::HashMap;
use std::sync::OnceLock;

use super::distance::edit_distance;
use crate::error::{Error, Result};
use crate::read::codecarbon::split_quoted;

const TABLE: &str = include_str!("../../data/grid_intensity.csv");
const SOURCES: &str = include_str!("../../data/grid_sources.csv");
/// Suggestions shown with an unknown code.
const MAX_SUGGESTIONS: usize = 5;

/// One row of the shipped table.
#[derive(Debug, Clone, PartialEq)]
pub struct GridIntensity {
    /// The canonical code (`DEU`, `gcp:europe-west1`, `US-CA`, `SE-SE1`, `WORLD`).
    pub code: String,
    /// A second accepted code: the ISO alpha-2 of a country, the short zone id.
    pub alias: Option<String>,
    /// `country`, `world`, `cloud`, `us_state` or `bidding_zone`.
    pub kind: String,
    pub name: String,
    /// Location-based, annual average, gCO2e per kWh.
    pub g_co2_per_kwh: f64,
    /// The year the figure describes.
    pub year: u16,
    /// Where the figure comes from, in words.
    pub source: String,
    /// SPDX id of the data's licence (`CC-BY-4.0`: attribution required).
    pub licence: String,
    pub url: String,
}

struct Table {
    rows: Vec<GridIntensity>,
    by_code: HashMap<String, usize>,
}

/// The shipped table, parsed once. A malformed embedded file is a build bug:
/// the unit tests parse it, so it never reaches a user.
fn table() -> Result<&'static Table> {
    static T: OnceLock<std::result::Result<Table, String>> = OnceLock::new();
    T.get_or_init(parse)
        .as_ref()
        .map_err(|reason| Error::Internal {
            reason: format!("embedded grid_intensity.csv: {reason}"),
        })
}

fn fields(line: &str, n: usize, what: &str) -> std::result::Result<Vec<String>, String> {
    let f = split_quoted(line.as_bytes())
        .map_err(|at| format!("{what}: unclosed quote at byte {at}"))?
        .into_iter()
        .map(|(c, _)| String::from_utf8_lossy(&c).into_owned())
        .collect::<Vec<_>>();
    if f.len() == n {
        Ok(f)
    } else {
        Err(format!("{what}: {} fields, expected {n}", f.len()))
    }
}

fn parse() -> std::result::Result<Table, String> {
    let mut sources: HashMap<String, (String, String, String)> = HashMap::new();
    for (i, line) in SOURCES.lines().enumerate().skip(1) {
        let f = fields(line, 4, &format!("grid_sources.csv line {}", i + 1))?;
        sources.insert(f[0].clone(), (f[1].clone(), f[2].clone(), f[3].clone()));
    }
    let mut rows = Vec::new();
    let mut by_code = HashMap::new();
    for (i, line) in TABLE.lines().enumerate().skip(1) {
        let what = format!("grid_intensity.csv line {}", i + 1);
        let f = fields(line, 7, &what)?;
        let g: f64 = f[4].parse().map_err(|_| format!("{what}: bad intensity"))?;
        let year: u16 = f[5].parse().map_err(|_| format!("{what}: bad year"))?;
        let (source, licence, url) = sources
            .get(&f[6])
            .ok_or_else(|| format!("{what}: unknown source {}", f[6]))?
            .clone();
        let row = GridIntensity {
            code: f[0].clone(),
            alias: (!f[1].is_empty()).then(|| f[1].clone()),
            kind: f[2].clone(),
            name: f[3].clone(),
            g_co2_per_kwh: g,
            year,
            source,
            licence,
            url,
        };
        for key in std::iter::once(&row.code).chain(row.alias.as_ref()) {
            if by_code
                .insert(key.to_ascii_uppercase(), rows.len())
                .is_some()
            {
                return Err(format!("{what}: code {key} appears twice"));
            }
        }
        rows.push(row);
    }
    Ok(Table { rows, by_code })
}

/// The table row for `code` (case-insensitive); an unknown code is
/// [`Error::UnknownCode`] with the closest codes as suggestions.
pub fn grid_intensity(code: &str) -> Result<GridIntensity> {
    let t = table()?;
    let key = code.trim().to_ascii_uppercase();
    if let Some(&i) = t.by_code.get(&key) {
        return Ok(t.rows[i].clone());
    }
    Err(Error::UnknownCode {
        kind: "grid region".into(),
        value: code.into(),
        suggestions: suggestions(t, &key),
    })
}

/// Every row of the table, in file order (countries, world, cloud, US states, zones).
pub fn grid_regions() -> Result<Vec<GridIntensity>> {
    Ok(table()?.rows.clone())
}

/// The closest codes: a name that contains the query first (`germany` → DEU),
/// then the smallest edit distance over codes and aliases.
fn suggestions(t: &Table, key: &str) -> Vec<String> {
    let mut scored: Vec<(usize, &str)> = Vec::new();
    for r in &t.rows {
        let by_name = key.len() >= 3 && r.name.to_ascii_uppercase().contains(key);
        let d = std::iter::once(&r.code)
            .chain(r.alias.as_ref())
            .filter(|c| c.len().abs_diff(key.len()) <= 1)
            .map(|c| edit_distance(&c.to_ascii_uppercase(), key, false))
            .min()
            .unwrap_or(usize::MAX);
        let score = if by_name { 0 } else { d.saturating_add(1) };
        // Only near misses: one wrong letter in a short code, a quarter of a long one.
        let limit = (key.len() / 4).max(1);
        if by_name || d <= limit {
            scored.push((score, &r.code));
        }
    }
    scored.sort();
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
    fn the_embedded_table_parses_and_codes_are_unique() {
        let rows = grid_regions().expect("the embedded table parses");
        assert!(rows.len() > 300, "{}", rows.len());
        for r in &rows {
            assert!(
                r.g_co2_per_kwh.is_finite() && r.g_co2_per_kwh >= 0.0,
                "{r:?}"
            );
            assert!((2000..=2030).contains(&r.year), "{r:?}");
            assert!(!r.source.is_empty() && !r.licence.is_empty(), "{r:?}");
        }
    }

    #[test]
    fn countries_by_iso2_and_iso3() {
        for code in ["DE", "de", "DEU", " deu "] {
            let r = grid_intensity(code).expect("known");
            assert_eq!((r.code.as_str(), r.g_co2_per_kwh), ("DEU", 380.95));
        }
        assert_eq!(grid_intensity("US").expect("known").code, "USA");
        assert_eq!(grid_intensity("FR").expect("known").g_co2_per_kwh, 56.039);
        assert_eq!(grid_intensity("GB").expect("known").licence, "CC-BY-4.0");
    }

    #[test]
    fn cloud_states_zones_and_world() {
        assert_eq!(
            grid_intensity("GCP:Europe-West1")
                .expect("known")
                .g_co2_per_kwh,
            122.0
        );
        let ca = grid_intensity("us-ca").expect("known");
        assert_eq!(ca.year, 2016);
        assert!(
            (ca.g_co2_per_kwh - 452.541 * 0.453592).abs() < 1e-3,
            "{ca:?}"
        );
        assert_eq!(grid_intensity("SE1").expect("known").code, "SE-SE1");
        assert_eq!(grid_intensity("world").expect("known").g_co2_per_kwh, 475.0);
    }

    #[test]
    fn unknown_codes_suggest_close_ones() {
        let e = grid_intensity("DEX").expect_err("unknown");
        let Error::UnknownCode {
            kind, suggestions, ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(kind, "grid region");
        assert!(suggestions.contains(&"DEU".to_string()), "{suggestions:?}");
        let e = grid_intensity("germany").expect_err("unknown");
        assert!(e.to_string().contains("did you mean DEU"), "{e}");
        let e = grid_intensity("gcp:europe-west99").expect_err("unknown");
        assert!(e.to_string().contains("gcp:europe-west"), "{e}");
        let e = grid_intensity("").expect_err("unknown");
        assert_eq!(e.code(), "unknown_code");
    }
}
