//! Scaling laws of the steady-state calculator over random realistic inputs.
#![allow(clippy::unwrap_used)]

use epcore_core::economics::{steady_state, Inputs};
use proptest::prelude::*;

const REL: f64 = 1e-13;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= REL * a.abs().max(b.abs())
}

fn inputs() -> impl Strategy<Value = Inputs> {
    (
        1e-3..1e7f64,
        1e-3..1e7f64,
        0.0..10.0f64,
        1.0..1e5f64,
        1.0..3.0f64,
        proptest::option::of(0.0..2000.0f64),
    )
        .prop_map(|(p, t, price, q, pue, grid)| {
            let mut x = Inputs::new(p, t);
            x.price_per_kwh = price;
            x.query_tokens = q;
            x.pue = pue;
            x.grid_g_co2_per_kwh = grid;
            x
        })
}

proptest! {
    #[test]
    fn doubling_throughput_halves_energy_and_cost(x in inputs()) {
        let a = steady_state(&x).expect("valid inputs").it;
        let mut y = x.clone();
        y.tokens_per_s *= 2.0;
        let b = steady_state(&y).expect("valid inputs").it;
        prop_assert!(close(b.joules_per_token * 2.0, a.joules_per_token));
        prop_assert!(close(b.wh_per_query * 2.0, a.wh_per_query));
        prop_assert!(close(b.cost_per_million_tokens * 2.0, a.cost_per_million_tokens));
        prop_assert!(close(b.cost_per_query * 2.0, a.cost_per_query));
        prop_assert!(close(b.queries_per_kwh, a.queries_per_kwh * 2.0));
    }

    #[test]
    fn pue_multiplies_facility_energy(x in inputs()) {
        let r = steady_state(&x).expect("valid inputs");
        match r.facility {
            None => prop_assert!(x.pue == 1.0),
            Some(f) => {
                let it = r.it;
                prop_assert!(close(f.joules_per_token, it.joules_per_token * x.pue));
                prop_assert!(close(f.kwh_per_million_tokens, it.kwh_per_million_tokens * x.pue));
                prop_assert!(close(f.cost_per_query, it.cost_per_query * x.pue));
                prop_assert!(close(f.tokens_per_kwh, it.tokens_per_kwh / x.pue));
                if let (Some(a), Some(b)) = (f.g_co2_per_query, it.g_co2_per_query) {
                    prop_assert!(close(a, b * x.pue));
                }
            }
        }
    }

    #[test]
    fn queries_per_kwh_times_wh_per_query_is_1000(x in inputs()) {
        let r = steady_state(&x).expect("valid inputs");
        for f in std::iter::once(r.it).chain(r.facility) {
            prop_assert!(close(f.queries_per_kwh * f.wh_per_query, 1000.0));
            prop_assert!(close(f.tokens_per_kwh * f.wh_per_token, 1000.0));
            prop_assert!(close(f.wh_per_query, f.wh_per_token * x.query_tokens));
        }
    }

    #[test]
    fn never_inf_or_nan(p in any::<f64>(), t in any::<f64>(), q in any::<f64>()) {
        let mut x = Inputs::new(p, t);
        x.query_tokens = q;
        if let Ok(r) = steady_state(&x) {
            let f = r.it;
            for v in [f.joules_per_token, f.wh_per_token, f.kwh_per_million_tokens,
                      f.cost_per_million_tokens, f.wh_per_query, f.cost_per_query,
                      f.queries_per_kwh, f.tokens_per_kwh] {
                prop_assert!(v.is_finite());
            }
        }
    }
}
