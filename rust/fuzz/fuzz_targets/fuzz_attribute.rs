#![no_main]
//! Attribution on arbitrary traces, requests and options: never a panic; every
//! figure it returns is finite; energy is conserved.
use epcore_core::attribute::{attribute, AttributeOptions, Channel, IdlePower, RequestSet, Span, Weight};
use epcore_core::config::{Options, Rule};
use libfuzzer_sys::fuzz_target;

fn take<const N: usize>(data: &mut &[u8]) -> Option<[u8; N]> {
    let (head, rest) = data.split_first_chunk::<N>()?;
    *data = rest;
    Some(*head)
}

fuzz_target!(|input: &[u8]| {
    let mut data = input;
    let Some([mode, weight, flags, n_samples]) = take::<4>(&mut data) else {
        return;
    };
    let rule = [Rule::Trapezoid, Rule::Hold, Rule::Counter][usize::from(mode % 3)];
    let opts = Options { rule, ..Options::default() };
    // Sample times step forward by small deltas so most inputs are valid traces.
    let (mut t, mut v) = (Vec::new(), Vec::new());
    let mut now = 1_700_000_000_000_000_000i64;
    for _ in 0..(n_samples % 64) {
        let Some([dt, p]) = take::<2>(&mut data) else { break };
        now += i64::from(dt) * 10_000_000;
        t.push(now);
        v.push(if rule == Rule::Counter { f64::from(p) * t.len() as f64 } else { f64::from(p) * 3.0 });
    }
    let mut reqs = RequestSet::default();
    while let Some([s, f, e, i, o]) = take::<5>(&mut data) {
        let start = 1_700_000_000_000_000_000i64 + i64::from(s) * 50_000_000;
        let end = start + i64::from(e) * 20_000_000;
        reqs.start_ns.push(start);
        reqs.end_ns.push(end);
        reqs.first_token_ns.push((f % 4 != 0).then(|| start + (end - start) * i64::from(f) / 255));
        reqs.input_tokens.push(u64::from(i));
        reqs.output_tokens.push(u64::from(o % 32));
    }
    let o = AttributeOptions {
        weight: [Weight::Tokens, Weight::Equal, Weight::Phase][usize::from(weight % 3)],
        prefill_weight: f64::from(weight) / 64.0,
        idle: if flags & 1 == 0 { IdlePower::Auto } else { IdlePower::Off },
        span: if flags & 2 == 0 {
            Span::Whole
        } else {
            Span::SteadyState { batch_size: None }
        },
        regression: flags & 4 == 0,
        threads: 1,
        ..AttributeOptions::default()
    };
    let Ok(a) = attribute(&[Channel { t_ns: &t, values: &v, options: &opts }], &reqs, &o) else {
        return;
    };
    let tot = &a.totals;
    for x in [tot.total_energy_j, tot.attributed_energy_j, tot.unattributed_energy_j, tot.dynamic_energy_j] {
        assert!(x.is_finite());
    }
    let mut sum = 0.0;
    for r in &a.requests {
        for x in [r.energy_j, r.dynamic_energy_j, r.prefill_energy_j, r.joules_per_output_token, r.mean_power_w] {
            assert!(x.is_none_or(f64::is_finite));
        }
        sum += r.energy_j.unwrap_or(0.0);
    }
    let scale = tot.total_energy_j.abs().max(1.0);
    assert!((tot.attributed_energy_j + tot.unattributed_energy_j - tot.total_energy_j).abs() <= 1e-9 * scale);
    assert!((sum - tot.attributed_energy_j).abs() <= 1e-9 * scale);
});
