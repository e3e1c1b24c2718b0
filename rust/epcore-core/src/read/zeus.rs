//! Zeus / NVML power and energy CSVs: `Time,Power` and friends.
//!
//! ```text
//! Time,Power
//! 2022-07-13 02:07:36.708783111,32402
//! ```
//!
//! - `Time`: the logging host's local date-time without a zone, to the ns (read
//!   as UTC and flagged `naive_time`, or converted with `tz=`); epoch seconds
//!   (years 2000-2100) are read too.
//! - Values: the unit comes from the header, `Power(mW)`, `Power (W)`,
//!   `Energy[mJ]`; a bare `Power` is mW and a bare `Energy` mJ, NVML's units
//!   (`nvmlDeviceGetPowerUsage`, `nvmlDeviceGetTotalEnergyConsumption`), which
//!   Zeus writes unchanged. An energy column is a cumulative counter, integrated
//!   by differencing in its own unit.
//! - With both power and energy columns, `value=` or `prefer=` chooses; else the
//!   counter, which is exact where a power trace is sampled.
//! - Missing readings (`NA`, `[N/A]`, empty) are NaN: counted, never 0.
//!
//! Rows are parsed by the comma-separated log reader shared with nvidia-smi.

use crate::error::{Error, Location, Result};
use crate::read::civil::Clock;
use crate::read::fields::trim_field;
use crate::read::format::Format;
use crate::read::lines::check_utf8;
use crate::read::lines::LineReader;
use crate::read::nvidia_smi::{first_line, Col, LogReader, Schema, ValueCol};
use crate::read::source::Source;
use crate::read::{FileInfo, Layout, PowerReader, Prefer, ReadConfig};

/// Whether the first line is a Zeus header: `Time` and a `Power` or `Energy` column.
pub fn sniff(head: &[u8]) -> bool {
    let Some(first) = first_line(head) else {
        return false;
    };
    let cols: Vec<Col> = first
        .split(|&b| b == b',')
        .map(|f| parse_col(&String::from_utf8_lossy(trim_field(f))))
        .collect();
    cols.iter().any(is_time) && cols.iter().any(|c| kind(c).is_some())
}

/// `Power(mW)`, `Power (mW)`, `Power[mW]` → name `Power`, unit `mW`.
fn parse_col(text: &str) -> Col {
    let text = text.trim();
    for (open, close) in [('(', ')'), ('[', ']')] {
        if let Some(at) = text.rfind(open) {
            if text.ends_with(close) && at > 0 {
                return Col {
                    text: text.into(),
                    name: text[..at].trim().into(),
                    unit: Some(text[at + 1..text.len() - 1].trim().into()),
                };
            }
        }
    }
    Col {
        text: text.into(),
        name: text.into(),
        unit: None,
    }
}

fn is_time(c: &Col) -> bool {
    c.name.eq_ignore_ascii_case("time") || c.name.eq_ignore_ascii_case("timestamp")
}

/// `Some(true)` for a power column, `Some(false)` for an energy column.
fn kind(c: &Col) -> Option<bool> {
    if c.name.eq_ignore_ascii_case("power") {
        Some(true)
    } else if c.name.eq_ignore_ascii_case("energy") {
        Some(false)
    } else {
        None
    }
}

/// Open a Zeus / NVML CSV and read its header.
pub fn open(src: Source, cfg: &ReadConfig) -> Result<Box<dyn PowerReader>> {
    let shown = src.path.clone();
    let info = FileInfo::of(&src);
    let progress = src.progress();
    let clock = Clock::new(cfg.tz.as_deref())?;
    let head = src.head.clone();
    let mut lines = LineReader::new(
        src.reader,
        &shown,
        cfg.read.chunk_bytes,
        cfg.read.max_record_bytes,
    );
    let (cols, number) = loop {
        let Some(l) = lines.next_line()? else {
            return Err(Error::EmptyInput {
                at: Location {
                    path: Some(shown.clone()),
                    ..Location::default()
                },
            });
        };
        if l.bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        check_utf8(l.bytes, &shown, l.number, l.offset)?;
        let text = String::from_utf8_lossy(l.bytes);
        break (text.split(',').map(parse_col).collect::<Vec<_>>(), l.number);
    };
    let at = Location {
        path: Some(shown.clone()),
        line: Some(number),
        ..Location::default()
    };
    let listing = cols
        .iter()
        .map(|c| c.text.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let schema_err = |expected: String, hint: &str| Error::Schema {
        at: at.clone(),
        expected,
        found: format!("columns [{listing}]"),
        hint: hint.into(),
    };
    let time = cols.iter().position(is_time).ok_or_else(|| {
        schema_err(
            "a Time column".into(),
            "Zeus and NVML logs start with 'Time,Power' or 'Time,Energy(mJ)'",
        )
    })?;
    let first_of = |power: bool| cols.iter().position(|c| kind(c) == Some(power));
    let value = match (&cfg.value, cfg.prefer) {
        (Some(v), _) => cols.iter().position(|c| c.is(v)),
        (None, Some(Prefer::Power)) => first_of(true),
        (None, Some(Prefer::Energy)) => first_of(false),
        (None, None) => first_of(false).or_else(|| first_of(true)),
    }
    .ok_or_else(|| {
        let wanted = match (&cfg.value, cfg.prefer) {
            (Some(v), _) => format!("the column value='{v}'"),
            (None, Some(Prefer::Power)) => "a Power column".into(),
            (None, Some(Prefer::Energy)) => "an Energy column".into(),
            (None, None) => "a Power or Energy column".into(),
        };
        schema_err(
            wanted,
            "name the value column as in the header, e.g. value='Power(mW)'",
        )
    })?;
    let c = &cols[value];
    let unit = match (&c.unit, kind(c)) {
        (Some(u), _) => u.clone(),
        (None, Some(true)) => "mW".into(),
        (None, Some(false)) => "mJ".into(),
        (None, None) => {
            return Err(schema_err(
                format!("a unit for column '{}'", c.text),
                "write it in the header, e.g. 'Power(mW)' or 'Energy(mJ)'",
            ))
        }
    };
    let vcol = ValueCol::of_unit(&unit).ok_or_else(|| {
        schema_err(
            format!("a power (W, mW) or energy (J, mJ) unit for '{}'", c.text),
            "choose the power or energy column with value=...",
        )
    })?;
    let channel = match &cfg.channel {
        Some(ch) => Some(cols.iter().position(|c| c.is(ch)).ok_or_else(|| {
            schema_err(
                format!("the column channel='{ch}'"),
                "name the device column as in the header",
            )
        })?),
        None => None,
    };
    // Times are date-times (naive) unless the first row shows epoch seconds.
    let epoch = head
        .split(|&b| b == b'\n' || b == b'\r')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .nth(1)
        .and_then(|row| row.split(|&b| b == b',').nth(time))
        .map(trim_field)
        .is_some_and(|f| {
            f.len() > 4 && f[..4].iter().all(u8::is_ascii_digit) && f[4].is_ascii_digit()
        });
    let layout = Layout {
        format: Format::Zeus,
        quantity: vcol.quantity(),
        // NVML power usage is a 1 s average on Ampere and newer and instantaneous
        // before; the file does not say which GPU wrote it.
        power_semantics: "unknown",
        naive_time: cfg.tz.is_none() && !epoch,
        tz: cfg.tz.clone(),
        time_column: cols[time].text.clone(),
        value_column: c.text.clone(),
    };
    let info = FileInfo {
        time_column: layout.time_column.clone(),
        value_column: layout.value_column.clone(),
        ..info
    };
    let schema = Schema {
        cols,
        time,
        value,
        vcol,
        channel,
        epoch_ok: true,
        rhythm_warning: false,
    };
    Ok(Box::new(LogReader::new(
        lines, schema, clock, layout, info, progress,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::test_util::*;
    use crate::read::Quantity;

    const F: Option<Format> = Some(Format::Zeus);
    const SAMPLE: &str = "Time,Power\n2022-07-13 02:07:36.708783111,32402\n2022-07-13 02:07:36.761689374,32402\n2022-07-13 02:07:36.814552346,32312\n";

    fn ok(
        name: &str,
        body: &str,
        c: &ReadConfig,
    ) -> (crate::read::FileIntegration, crate::read::Collector) {
        read_ok("zeus", name, body, F, c)
    }

    fn err(name: &str, body: &str, c: &ReadConfig) -> Error {
        read_err("zeus", name, body, F, c)
    }

    #[test]
    fn milliwatts_and_nanosecond_local_times() {
        assert!(sniff(SAMPLE.as_bytes()));
        assert!(sniff(b"Time, Power(mW)\n"));
        assert!(sniff(b"Time,Energy (mJ)\n"));
        assert!(!sniff(b"time_s,power_w\n"));
        assert!(!sniff(b"time,energy_uj\n"));
        let (fi, kept) = ok("sample.csv", SAMPLE, &cfg(1 << 20));
        assert_eq!(
            crate::read::format::sniff(SAMPLE.as_bytes()),
            Some(Format::Zeus)
        );
        assert!(fi.layout.naive_time);
        assert_eq!(fi.layout.value_column, "Power");
        let s = &kept.channels[0];
        assert_eq!(
            s.t_ns,
            vec![
                1_657_678_056_708_783_111,
                1_657_678_056_761_689_374,
                1_657_678_056_814_552_346
            ]
        );
        assert_eq!(s.value, vec![32.402, 32.402, 32.312]);
        let want = trapezoid(&s.t_ns, &[32.402, 32.402, 32.312]);
        assert!((fi.channels[0].1.energy_j() - want).abs() < 1e-12);
        let mut c = cfg(1 << 20);
        c.tz = Some("America/Chicago".into());
        let (_, kept) = ok("sample.csv", SAMPLE, &c);
        assert_eq!(
            kept.channels[0].t_ns[0],
            1_657_678_056_708_783_111 + 5 * 3_600_000_000_000
        );
    }

    #[test]
    fn header_units_counters_and_choices() {
        let body = "Time,Power(W),Energy(mJ)\n2024-01-01 00:00:00,100,1000\n2024-01-01 00:00:01,100,101000\n2024-01-01 00:00:02,[N/A],201000\n";
        let (fi, _) = ok("both.csv", body, &cfg(1 << 20));
        assert_eq!(
            fi.layout.quantity,
            Quantity::Counter {
                unit_j: 1e-3,
                modulus: None
            }
        );
        assert_eq!(fi.channels[0].1.energy_j(), 200.0);
        let mut c = cfg(1 << 20);
        c.prefer = Some(Prefer::Power);
        let (fi, _) = ok("both.csv", body, &c);
        assert_eq!(fi.layout.quantity, Quantity::Power);
        assert_eq!(fi.channels[0].1.energy_j(), 100.0);
        assert_eq!(fi.channels[0].1.counts.n_nonfinite, 1);
        c.prefer = None;
        c.value = Some("Power".into());
        assert_eq!(ok("both.csv", body, &c).0.layout.value_column, "Power(W)");
        let (fi, _) = ok(
            "energy.csv",
            "Time,Energy\n2024-01-01 00:00:00,5000\n2024-01-01 00:00:10,6000\n",
            &cfg(1 << 20),
        );
        assert_eq!(fi.channels[0].1.energy_j(), 1.0);
        let (fi, _) = ok(
            "epoch.csv",
            "Time,Power (mW)\n1700000000.5,1000\n1700000001.5,1 W\n",
            &cfg(1 << 20),
        );
        assert!(!fi.layout.naive_time);
        assert_eq!(fi.channels[0].1.energy_j(), 1.0);
        assert_eq!(fi.info.n_unit_normalized, 1);
    }

    #[test]
    fn errors() {
        let c = cfg(1 << 20);
        assert_eq!(
            err("unit.csv", "Time,Power(MiB)\n2024-01-01 00:00:00,1\n", &c).code(),
            "schema"
        );
        assert_eq!(
            err("novalue.csv", "Time,Temp\n2024-01-01 00:00:00,1\n", &c).code(),
            "schema"
        );
        assert_eq!(err("empty.csv", "", &c).code(), "empty_input");
        assert_eq!(
            err("header.csv", "Time,Power\n", &c).code(),
            "insufficient_samples"
        );
        let e = err("bad.csv", "Time,Power\n2022-07-13 02:07:36.708783111,32402\n2022-07-13 02:07:36.808783111,32x02\n", &c);
        assert_eq!(
            (e.code(), e.location().and_then(|l| l.line)),
            ("bad_value", Some(3))
        );
        let e = err(
            "ms.csv",
            "Time,Power\n1700000000500,1\n1700000001500,1\n",
            &c,
        );
        assert_eq!(e.code(), "bad_value");
        assert!(e.hint().unwrap_or_default().contains("milliseconds"), "{e}");
        let e = err(
            "unsorted.csv",
            "Time,Power\n2022-07-13 02:07:37,1\n2022-07-13 02:07:36,1\n",
            &c,
        );
        assert_eq!(e.code(), "unsorted_timestamps");
        // A counter that goes down is a driver reload: counted, never negative energy.
        let (fi, _) = ok("decrease.csv", "Time,Energy(mJ)\n2022-07-13 02:07:36,5000\n2022-07-13 02:07:37,4000\n2022-07-13 02:07:38,5000\n", &c);
        assert_eq!(fi.channels[0].1.counts.n_resets, 1);
        assert!(fi.channels[0].1.energy_j() >= 0.0);
        let e = err(
            "negative.csv",
            "Time,Energy(mJ)\n2022-07-13 02:07:36,5000\n2022-07-13 02:07:37,-4000\n",
            &c,
        );
        assert_eq!(e.code(), "bad_value");
        let mut z = c.clone();
        z.tz = Some("Europe/London".into());
        let e = err(
            "gap.csv",
            "Time,Power\n2024-03-31 00:59:59,1\n2024-03-31 01:30:00,1\n",
            &z,
        );
        assert_eq!(e.code(), "ambiguous_local_time");
        let (fi, _) = ok(
            "tail.csv",
            "Time,Power\n2022-07-13 02:07:36,1000\n2022-07-13 02:07:37,1000\n2022-07-13 02:07:3",
            &c,
        );
        assert!(fi.info.truncated_tail);
        let (fi, _) = ok("tail2.csv", "Time,Power\n2022-07-13 02:07:36,1000\n2022-07-13 02:07:37,1000\n2022-07-13 02:07:38,1000", &c);
        assert!(fi.info.unterminated_final_line);
        assert_eq!(fi.channels[0].1.energy_j(), 2.0);
    }
}
