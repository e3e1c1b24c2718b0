//! Shared proptest setup: derandomized by default, so a failure reproduces by rerunning.

use proptest::prelude::ProptestConfig;
use proptest::test_runner::RngSeed;

/// `cases` cases from the fixed `seed`; `PROPTEST_RNG_SEED` and `PROPTEST_CASES` override both
/// (a long random run: `PROPTEST_CASES=100000 PROPTEST_RNG_SEED=$RANDOM cargo test`).
pub fn config(cases: u32, seed: u64) -> ProptestConfig {
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(seed);
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}
