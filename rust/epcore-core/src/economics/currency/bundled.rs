//! The bundled, dated table of indicative euro reference rates.
//!
//! Copied from the newest row (2025-05-09) of the ECB's `eurofxref-hist.csv`
//! (`shared/data/real/ecb-eurofxref/`); a golden test checks the two agree.
//! The ECB quotes about 30 currencies; any other is not convertible with this
//! table and needs a rate from the caller.

/// Date of the bundled rates (an ECB reference day, ~16:00 CET).
pub const BUNDLED_DATE: &str = "2025-05-09";

/// Who publishes the bundled rates, and where.
pub const ECB_SOURCE: &str = "European Central Bank euro foreign exchange reference rates \
     (https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.zip)";

/// Units of each currency per 1 EUR on [`BUNDLED_DATE`], sorted by code.
#[rustfmt::skip]
pub static BUNDLED_PER_EUR: &[(&str, f64)] = &[
    ("AUD", 1.7572), ("BGN", 1.9558), ("BRL", 6.3647), ("CAD", 1.5658), ("CHF", 0.9353),
    ("CNY", 8.147), ("CZK", 24.946), ("DKK", 7.4604), ("GBP", 0.8477), ("HKD", 8.7519),
    ("HUF", 404.9), ("IDR", 18606.59), ("ILS", 3.9928), ("INR", 96.0755), ("ISK", 146.9),
    ("JPY", 163.36), ("KRW", 1575.72), ("MXN", 21.9473), ("MYR", 4.835), ("NOK", 11.6725),
    ("NZD", 1.9095), ("PHP", 62.413), ("PLN", 4.2393), ("RON", 5.1181), ("SEK", 10.92),
    ("SGD", 1.46), ("THB", 37.132), ("TRY", 43.5999), ("USD", 1.1252), ("ZAR", 20.4835),
];
