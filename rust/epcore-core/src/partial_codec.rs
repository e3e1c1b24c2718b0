//! A [`Partial`] as bytes, so that pieces of a channel integrated in other
//! processes (Dask workers, pickles) merge into exactly the one-process result.
//!
//! The layout is fixed-size, little-endian and versioned (all offsets in bytes):
//!
//! | offset | size | field |
//! |-------:|-----:|-------|
//! | 0 | 4 | magic `EPCP` |
//! | 4 | 2 | layout version (u16), [`VERSION`] |
//! | 6 | 1 | rule: 0 trapezoid, 1 hold, 2 counter |
//! | 7 | 1+8 | requested `max_gap_ns`: flag 0/1, then i64 (zeros when absent) |
//! | 16 | 1 | strict: 0/1 |
//! | 17 | 8 | `negative_tolerance_w` (f64 bits) |
//! | 25 | 8 | `max_power_w` |
//! | 33 | 8 | `counter_unit_j` |
//! | 41 | 1+8 | `counter_modulus`: flag, then f64 bits (zeros when absent) |
//! | 50 | 8 | resolved `max_gap_ns` (i64) |
//! | 58 | 16 | compensated sum: head, carried error (f64 bits) |
//! | 74 | 1+24 | first sample: flag, then `t_ns` i64, value f64, index u64 (zeros when absent) |
//! | 99 | 1+24 | last sample, the same way |
//! | 124 | 80 | counts: `n_rows`, `n_samples`, `n_nonfinite`, `n_negative_clamped`, `n_duplicate_identical`, `n_gaps` (u64), `gap_ns`, `covered_ns` (i64), `n_wraps`, `n_resets` (u64) |
//! | 204 | 16 | `min_dt_ns`, `max_dt_ns` (i64) |
//! | 220 | 16 | `min_value`, `max_value` (f64 bits) |
//!
//! [`ENCODED_LEN`] bytes in all. Floats travel as their bits, so a round trip
//! is exact (NaN payloads and signed zeros included). The encoding is
//! canonical: absent optionals must be all zeros and flags 0 or 1, so every
//! accepted byte string re-encodes to itself. Decoding validates the options
//! and the invariants that [`Partial::merge`] relies on, so a damaged or
//! forged partial is an [`Error::CorruptInput`], never a panic later.

use crate::config::{Options, Resolved, Rule};
use crate::error::{Error, Location, Result};
use crate::partial::{Counts, Partial, Sample};
use crate::sum::CompensatedSum;

/// The first four bytes of every encoded partial.
pub const MAGIC: [u8; 4] = *b"EPCP";
/// The layout version this build writes and reads.
pub const VERSION: u16 = 1;
/// Length in bytes of an encoded partial (this layout has no variable part).
pub const ENCODED_LEN: usize = 236;

impl Partial {
    /// The partial as [`ENCODED_LEN`] bytes (see [`crate::partial_codec`]).
    ///
    /// ```
    /// use epcore_core::{Options, Partial};
    /// let mut p = Partial::new(Options::default().resolve(&[]));
    /// p.push(0, 100.0, 0)?;
    /// p.push(1_000_000_000, 300.0, 1)?;
    /// let back = Partial::from_bytes(&p.to_bytes())?;
    /// assert_eq!(back, p);
    /// assert_eq!(back.energy_j(), 200.0);
    /// # Ok::<(), epcore_core::Error>(())
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(ENCODED_LEN));
        w.bytes(&MAGIC);
        w.bytes(&VERSION.to_le_bytes());
        let o = &self.cfg.opts;
        w.u8(rule_tag(o.rule));
        w.opt_i64(o.max_gap_ns);
        w.u8(u8::from(o.strict));
        w.f64(o.negative_tolerance_w);
        w.f64(o.max_power_w);
        w.f64(o.counter_unit_j);
        w.opt_f64(o.counter_modulus);
        w.i64(self.cfg.max_gap_ns);
        let (hi, lo) = self.sum.parts();
        w.f64(hi);
        w.f64(lo);
        w.sample(self.first);
        w.sample(self.last);
        let c = &self.counts;
        for n in [
            c.n_rows,
            c.n_samples,
            c.n_nonfinite,
            c.n_negative_clamped,
            c.n_duplicate_identical,
            c.n_gaps,
        ] {
            w.u64(n);
        }
        w.i64(c.gap_ns);
        w.i64(c.covered_ns);
        w.u64(c.n_wraps);
        w.u64(c.n_resets);
        w.i64(self.min_dt_ns);
        w.i64(self.max_dt_ns);
        w.f64(self.min_value);
        w.f64(self.max_value);
        debug_assert_eq!(w.0.len(), ENCODED_LEN);
        w.0
    }

    /// Decode what [`Partial::to_bytes`] wrote. Wrong length, magic, version,
    /// tag or flag, invalid options, or a state no integration can reach
    /// are [`Error::CorruptInput`].
    ///
    /// ```
    /// use epcore_core::Partial;
    /// let e = Partial::from_bytes(b"not a partial").expect_err("not a partial");
    /// assert_eq!(e.code(), "corrupt_input");
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Partial> {
        if bytes.len() < 6 || bytes[..4] != MAGIC {
            return Err(corrupt(
                0,
                "not a serialized epcore partial (the magic bytes 'EPCP' are missing)".into(),
            ));
        }
        let mut r = Reader { bytes, at: 4 };
        let version = r.u16()?;
        if version != VERSION {
            return Err(corrupt(
                4,
                format!(
                    "serialized partial has layout version {version}; this epcore reads version {VERSION} \
                     (mixed epcore versions between processes?)"
                ),
            ));
        }
        if bytes.len() != ENCODED_LEN {
            return Err(corrupt(
                bytes.len().min(ENCODED_LEN),
                format!(
                    "serialized partial is {} bytes, version {VERSION} is exactly {ENCODED_LEN} (cut short or padded?)",
                    bytes.len()
                ),
            ));
        }
        let rule = match r.u8()? {
            0 => Rule::Trapezoid,
            1 => Rule::Hold,
            2 => Rule::Counter,
            t => return Err(corrupt(r.at - 1, format!("unknown rule tag {t}"))),
        };
        let opts = Options {
            rule,
            max_gap_ns: r.opt_i64()?,
            strict: r.flag()?,
            negative_tolerance_w: r.f64()?,
            max_power_w: r.f64()?,
            counter_unit_j: r.f64()?,
            counter_modulus: r.opt_f64()?,
        };
        opts.validate().map_err(|e| {
            corrupt(
                6,
                format!("serialized partial holds invalid options: {}", e.reason()),
            )
        })?;
        let max_gap_ns = r.i64()?;
        if max_gap_ns <= 0 {
            return Err(corrupt(
                r.at - 8,
                format!("resolved max_gap_ns {max_gap_ns} is not positive"),
            ));
        }
        let sum = CompensatedSum::from_parts(r.f64()?, r.f64()?);
        let first = r.sample()?;
        let last = r.sample()?;
        let counts = Counts {
            n_rows: r.u64()?,
            n_samples: r.u64()?,
            n_nonfinite: r.u64()?,
            n_negative_clamped: r.u64()?,
            n_duplicate_identical: r.u64()?,
            n_gaps: r.u64()?,
            gap_ns: r.i64()?,
            covered_ns: r.i64()?,
            n_wraps: r.u64()?,
            n_resets: r.u64()?,
        };
        let p = Partial {
            cfg: Resolved { opts, max_gap_ns },
            sum,
            first,
            last,
            counts,
            min_dt_ns: r.i64()?,
            max_dt_ns: r.i64()?,
            min_value: r.f64()?,
            max_value: r.f64()?,
        };
        check_state(&p)?;
        Ok(p)
    }
}

/// The invariants every reachable partial keeps and [`Partial::merge`] relies on.
fn check_state(p: &Partial) -> Result<()> {
    let n = p.counts.n_samples;
    let ok = match (p.first, p.last) {
        (None, None) => n == 0,
        (Some(a), Some(b)) => n >= 1 && a.t_ns <= b.t_ns && (n > 1 || a == b),
        _ => false,
    };
    if !ok {
        return Err(corrupt(
            74,
            format!(
                "serialized partial is inconsistent: first/last samples do not fit n_samples = {n}"
            ),
        ));
    }
    Ok(())
}

fn rule_tag(rule: Rule) -> u8 {
    match rule {
        Rule::Trapezoid => 0,
        Rule::Hold => 1,
        Rule::Counter => 2,
    }
}

fn corrupt(byte_offset: usize, reason: String) -> Error {
    Error::CorruptInput {
        at: Location {
            byte_offset: Some(byte_offset as u64),
            ..Location::default()
        },
        reason: format!("{reason} (at byte {byte_offset})"),
    }
}

struct Writer(Vec<u8>);

impl Writer {
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
    fn u8(&mut self, x: u8) {
        self.0.push(x);
    }
    fn u64(&mut self, x: u64) {
        self.bytes(&x.to_le_bytes());
    }
    fn i64(&mut self, x: i64) {
        self.bytes(&x.to_le_bytes());
    }
    fn f64(&mut self, x: f64) {
        self.u64(x.to_bits());
    }
    fn opt_i64(&mut self, x: Option<i64>) {
        self.u8(u8::from(x.is_some()));
        self.i64(x.unwrap_or(0));
    }
    fn opt_f64(&mut self, x: Option<f64>) {
        self.u8(u8::from(x.is_some()));
        self.u64(x.map_or(0, f64::to_bits));
    }
    fn sample(&mut self, s: Option<Sample>) {
        self.u8(u8::from(s.is_some()));
        let s = s.unwrap_or(Sample {
            t_ns: 0,
            value: 0.0,
            index: 0,
        });
        self.i64(s.t_ns);
        self.f64(s.value);
        self.u64(s.index);
    }
}

/// Reads fields in order; every read is bounds-checked, so a short input is an error.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N]> {
        let end = self.at.checked_add(N).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(corrupt(self.at, "serialized partial is cut short".into()));
        };
        let mut out = [0u8; N];
        out.copy_from_slice(&self.bytes[self.at..end]);
        self.at = end;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.take()?))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take()?))
    }
    fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.take()?))
    }
    fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_bits(self.u64()?))
    }
    fn flag(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            f => Err(corrupt(
                self.at - 1,
                format!("flag byte is {f}, expected 0 or 1"),
            )),
        }
    }
    /// A flag and an 8-byte payload that must be zero when the flag says absent.
    fn optional(&mut self) -> Result<Option<[u8; 8]>> {
        let present = self.flag()?;
        let payload: [u8; 8] = self.take()?;
        if !present && payload != [0; 8] {
            return Err(corrupt(
                self.at - 8,
                "an absent optional field has a non-zero payload".into(),
            ));
        }
        Ok(present.then_some(payload))
    }
    fn opt_i64(&mut self) -> Result<Option<i64>> {
        Ok(self.optional()?.map(i64::from_le_bytes))
    }
    fn opt_f64(&mut self) -> Result<Option<f64>> {
        Ok(self
            .optional()?
            .map(|b| f64::from_bits(u64::from_le_bytes(b))))
    }
    fn sample(&mut self) -> Result<Option<Sample>> {
        let present = self.flag()?;
        let raw: [u8; 24] = self.take()?;
        if !present {
            if raw != [0; 24] {
                return Err(corrupt(
                    self.at - 24,
                    "an absent sample has a non-zero payload".into(),
                ));
            }
            return Ok(None);
        }
        let mut r = Reader { bytes: &raw, at: 0 };
        Ok(Some(Sample {
            t_ns: r.i64()?,
            value: r.f64()?,
            index: r.u64()?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_partial(rule: Rule) -> Partial {
        let opts = Options {
            rule,
            max_gap_ns: Some(3_000_000_000),
            counter_modulus: (rule == Rule::Counter).then_some(65536.0),
            ..Options::default()
        };
        let mut p = Partial::new(opts.resolve(&[]));
        for (i, (t, v)) in [
            (0, 100.5),
            (1_000_000_000, 0.1),
            (9_000_000_000, 250.0),
            (9_500_000_000, 250.0),
        ]
        .into_iter()
        .enumerate()
        {
            p.push(t, v, i as u64).expect("the test input is valid");
        }
        p
    }

    #[test]
    fn round_trip_is_exact_for_every_rule_and_empty() {
        for rule in [Rule::Trapezoid, Rule::Hold, Rule::Counter] {
            let p = sample_partial(rule);
            let b = p.to_bytes();
            assert_eq!(b.len(), ENCODED_LEN);
            let back = Partial::from_bytes(&b).expect("a fresh encoding decodes");
            assert_eq!(back, p);
            assert_eq!(back.sum.parts().0.to_bits(), p.sum.parts().0.to_bits());
            assert_eq!(back.to_bytes(), b);
        }
        let empty = Partial::new(Options::default().resolve(&[]));
        let back = Partial::from_bytes(&empty.to_bytes()).expect("an empty partial decodes");
        assert_eq!(back, empty);
    }

    #[test]
    fn damaged_bytes_are_typed_errors() {
        let b = sample_partial(Rule::Trapezoid).to_bytes();
        let code = |bytes: &[u8]| {
            Partial::from_bytes(bytes)
                .map(|_| ())
                .expect_err("damaged bytes must not decode")
                .code()
        };
        assert_eq!(code(&b[..b.len() - 1]), "corrupt_input");
        assert_eq!(code(&[]), "corrupt_input");
        let mut longer = b.clone();
        longer.push(0);
        assert_eq!(code(&longer), "corrupt_input");
        let mut bad = b.clone();
        bad[0] = b'X';
        assert_eq!(code(&bad), "corrupt_input");
        let mut bad = b.clone();
        bad[4] = 2;
        let e = Partial::from_bytes(&bad).expect_err("a newer version must not decode");
        assert!(e.to_string().contains("version 2"), "{e}");
        let mut bad = b.clone();
        bad[6] = 7; // rule tag
        assert_eq!(code(&bad), "corrupt_input");
        let mut bad = b.clone();
        bad[16] = 2; // strict flag
        assert_eq!(code(&bad), "corrupt_input");
        let mut bad = b.clone();
        bad[25..33].copy_from_slice(&(-1.0f64).to_bits().to_le_bytes()); // max_power_w
        assert_eq!(code(&bad), "corrupt_input");
        let mut bad = b.clone();
        bad[132..140].copy_from_slice(&0u64.to_le_bytes()); // n_samples = 0 with samples present
        assert_eq!(code(&bad), "corrupt_input");
    }
}
