//! Inference vs training: after how many days of serving does the energy
//! spent answering queries pass the energy spent training the model?
//!
//! Daily inference energy is `queries_per_day × wh_per_query × pue`; the
//! crossover is `training_mwh ÷ daily MWh` days. Training energy is taken as
//! given: published figures usually include the facility (Patterson et al.
//! 2021 put GPT-3 at 1,287 MWh with PUE 1.1), so set `pue` to put inference on
//! the same footing. A month is 365.25 / 12 = 30.4375 days.
//!
//! ```
//! use epcore_core::economics::crossover::{crossover, CrossoverInputs};
//!
//! // 1300 MWh of training; 5e7 queries a day at 0.31111 Wh (2.24 J/token × 500 tokens).
//! let c = crossover(&CrossoverInputs::new(1300.0, 5e7, 2.24 * 500.0 / 3600.0))?;
//! assert!((c.inference_mwh_per_day - 15.555_555_555_555_555).abs() < 1e-12);
//! assert!((c.days_to_cross.expect("the example is valid") - 83.571_428_571_428_57).abs() < 1e-10);
//! assert!((c.ratio_after_months - 4.370_512_820_512_82).abs() < 1e-12); // 12 months
//!
//! let idle = crossover(&CrossoverInputs::new(1300.0, 0.0, 0.3))?;
//! assert_eq!(idle.days_to_cross, None); // no queries: inference never catches up
//! # Ok::<(), epcore_core::Error>(())
//! ```

use crate::error::{Error, Result};

/// Days in a mean (Julian) month.
pub const DAYS_PER_MONTH: f64 = 365.25 / 12.0;

/// What the crossover takes. Build with [`CrossoverInputs::new`] and override fields.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossoverInputs {
    /// Energy of the training run, MWh (> 0).
    pub training_mwh: f64,
    /// Queries served per day (>= 0).
    pub queries_per_day: f64,
    /// IT energy of one query, Wh (> 0): J/token × tokens per query ÷ 3600.
    pub wh_per_query: f64,
    /// Facility overhead on inference energy (>= 1).
    pub pue: f64,
    /// The horizon of the ratio, months (>= 0; default 12).
    pub months: f64,
}

impl CrossoverInputs {
    /// PUE 1 and a 12-month horizon.
    pub fn new(training_mwh: f64, queries_per_day: f64, wh_per_query: f64) -> Self {
        CrossoverInputs {
            training_mwh,
            queries_per_day,
            wh_per_query,
            pue: 1.0,
            months: 12.0,
        }
    }

    /// Every domain check, first failure wins (in field order).
    pub fn validate(&self) -> Result<()> {
        check("training_mwh", self.training_mwh, false)?;
        check("queries_per_day", self.queries_per_day, true)?;
        check("wh_per_query", self.wh_per_query, false)?;
        if !(self.pue.is_finite() && self.pue >= 1.0) {
            return Err(Error::InvalidArgument {
                name: "pue".into(),
                value: self.pue.to_string(),
                reason: "power usage effectiveness must be >= 1 (facility power over IT power)"
                    .into(),
            });
        }
        check("months", self.months, true)
    }
}

/// The crossover's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Crossover {
    pub inputs: CrossoverInputs,
    /// Inference energy per day, MWh (× PUE).
    pub inference_mwh_per_day: f64,
    /// Days until cumulative inference energy equals training energy (None
    /// when there are no queries: inference never catches up).
    pub days_to_cross: Option<f64>,
    /// The same in months of [`DAYS_PER_MONTH`].
    pub months_to_cross: Option<f64>,
    /// Inference energy over `months`, MWh.
    pub inference_mwh_after_months: f64,
    /// Inference energy over `months` ÷ training energy.
    pub ratio_after_months: f64,
}

/// Days to the crossover and the ratio after `months`; out-of-domain inputs
/// are [`Error::InvalidArgument`].
pub fn crossover(x: &CrossoverInputs) -> Result<Crossover> {
    x.validate()?;
    let wh_per_day = x.queries_per_day * x.wh_per_query * x.pue;
    let days = (wh_per_day > 0.0).then(|| x.training_mwh * 1e6 / wh_per_day);
    let horizon_days = x.months * DAYS_PER_MONTH;
    let after = wh_per_day * horizon_days / 1e6;
    let out = Crossover {
        inputs: x.clone(),
        inference_mwh_per_day: wh_per_day / 1e6,
        days_to_cross: days,
        months_to_cross: days.map(|d| d / DAYS_PER_MONTH),
        inference_mwh_after_months: after,
        ratio_after_months: wh_per_day * horizon_days / (x.training_mwh * 1e6),
    };
    let values = [
        Some(out.inference_mwh_per_day),
        out.days_to_cross,
        Some(out.inference_mwh_after_months),
        Some(out.ratio_after_months),
    ];
    if values.iter().flatten().all(|v| v.is_finite()) && days != Some(0.0) {
        return Ok(out);
    }
    Err(Error::InvalidArgument {
        name: "training_mwh / queries_per_day".into(),
        value: format!("{} / {}", x.training_mwh, x.queries_per_day),
        reason: "the figures overflow or underflow double precision; check the units".into(),
    })
}

fn check(name: &str, v: f64, zero_ok: bool) -> Result<()> {
    let ok = v.is_finite() && (v > 0.0 || (zero_ok && v == 0.0));
    if ok {
        return Ok(());
    }
    let reason = if !v.is_finite() {
        "must be a finite number"
    } else if zero_ok {
        "must be >= 0"
    } else {
        "must be > 0"
    };
    Err(Error::InvalidArgument {
        name: name.into(),
        value: v.to_string(),
        reason: reason.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossing_days_times_daily_energy_is_training() {
        let mut x = CrossoverInputs::new(1300.0, 5e7, 0.3);
        x.pue = 1.2;
        x.months = 6.0;
        let c = crossover(&x).expect("the test input is valid");
        let d = c.days_to_cross.expect("the test input is valid");
        assert!((d * c.inference_mwh_per_day - 1300.0).abs() < 1e-9);
        assert!(
            (c.months_to_cross.expect("the test input is valid") * DAYS_PER_MONTH - d).abs() < 1e-9
        );
        assert!((c.ratio_after_months * 1300.0 - c.inference_mwh_after_months).abs() < 1e-9);
    }

    #[test]
    fn zero_months_and_zero_queries() {
        let mut x = CrossoverInputs::new(1300.0, 0.0, 0.3);
        x.months = 0.0;
        let c = crossover(&x).expect("the test input is valid");
        assert_eq!(c.days_to_cross, None);
        assert_eq!(c.months_to_cross, None);
        assert_eq!(c.ratio_after_months, 0.0);
    }

    #[test]
    fn domain_errors() {
        type Mutation = fn(&mut CrossoverInputs);
        let cases: [(&str, Mutation); 6] = [
            ("training_mwh", |x| x.training_mwh = 0.0),
            ("queries_per_day", |x| x.queries_per_day = -1.0),
            ("wh_per_query", |x| x.wh_per_query = f64::INFINITY),
            ("pue", |x| x.pue = 0.5),
            ("months", |x| x.months = -1.0),
            ("training_mwh / queries_per_day", |x| {
                x.training_mwh = 1e-300;
                x.queries_per_day = 1e300;
            }),
        ];
        for (name, mutate) in cases {
            let mut x = CrossoverInputs::new(1300.0, 5e7, 0.3);
            mutate(&mut x);
            let e = crossover(&x).unwrap_err();
            assert!(e.to_string().starts_with(&format!("{name} = ")), "{e}");
        }
    }
}
