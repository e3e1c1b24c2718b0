//! Naive local date-times (nvidia-smi, `nvidia-smi dmon`, Zeus) to UTC nanoseconds.
//!
//! These loggers print the wall-clock time of the logging host without a zone.
//! Without a zone the times are read as if they were UTC and the layout says
//! `naive_time`: durations and energy are exact, only the absolute instants
//! are off by the host's offset. With an IANA zone each local time is
//! converted with the time zone database (the system copy, else the copy
//! bundled into the binary, so a container without `tzdata` still works);
//! a local time that falls in a DST gap or fold is an error, never a guess.
//!
//! Parsing is fixed-width and allocation-free; the date is converted only when
//! its text changes, and the zone offset is looked up once per local hour
//! (per row only inside an hour that holds a transition).

use jiff::tz::{AmbiguousOffset, Offset, TimeZone, TimeZoneDatabase};
use jiff::Timestamp;

use crate::error::{Error, Result};
use crate::time::NS_PER_DECIMAL;

const NS_PER_S: i64 = 1_000_000_000;
const NS_PER_HOUR: i64 = 3600 * NS_PER_S;
const NS_PER_DAY: i64 = 86_400 * NS_PER_S;

/// Why a local date-time could not be turned into an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CivilError {
    /// Not a date-time of the expected shape, or a field out of range (month 13).
    Syntax(&'static str),
    /// The local time does not exist in the zone (skipped by a DST change).
    Nonexistent(String),
    /// The local time exists twice in the zone (repeated by a DST change).
    Ambiguous(String),
    /// Outside the int64-nanosecond range (years 1677-2262).
    Overflow,
}

/// Converts local date-times of one file to UTC ns; clone it per thread.
#[derive(Clone)]
pub struct Clock {
    zone: Option<Zone>,
    /// The last 10-byte date text seen (as two integers, compared in two
    /// instructions) and its day number: dates change once a day.
    date_key: Option<(u64, u16)>,
    days: i64,
    /// The last `YYYY?MM?DD?HH:MM:SS` text (as integers) and the UTC ns of
    /// that second: every row of the same second only adds its fraction.
    /// Zone transitions fall on whole seconds, so one offset serves the second.
    sec_key: Option<(u64, u64, u32)>,
    sec_utc: i64,
}

#[derive(Clone)]
struct Zone {
    tz: TimeZone,
    name: String,
    /// Local hour (ns since the local epoch ÷ 1 h) of the cached offset.
    hour: i64,
    /// The offset in ns valid for the whole of `hour`; `None` when a
    /// transition falls inside it (then every row asks the database).
    hour_offset_ns: Option<i64>,
}

/// Look up an IANA zone: the system database first, then the bundled copy
/// (a system copy may be missing or partial, as in slim containers).
pub fn zone(name: &str) -> Result<TimeZone> {
    jiff::tz::db()
        .get(name)
        .or_else(|_| TimeZoneDatabase::bundled().get(name))
        .map_err(|_| Error::InvalidArgument {
            name: "tz".into(),
            value: name.into(),
            reason: "not an IANA time zone name (e.g. 'Europe/Berlin', 'America/New_York', 'UTC')"
                .into(),
        })
}

impl Clock {
    /// A clock for naive times in `tz` (`None`: read them as UTC).
    pub fn new(tz: Option<&str>) -> Result<Clock> {
        let zone = match tz {
            None => None,
            Some(name) => Some(Zone {
                tz: zone(name)?,
                name: name.to_string(),
                hour: i64::MIN,
                hour_offset_ns: None,
            }),
        };
        Ok(Clock {
            zone,
            date_key: None,
            days: 0,
            sec_key: None,
            sec_utc: 0,
        })
    }

    /// The zone naive times are read in; `None` when they are read as UTC.
    pub fn zone_name(&self) -> Option<&str> {
        self.zone.as_ref().map(|z| z.name.as_str())
    }

    /// `YYYY-MM-DD HH:MM:SS[.f]` (also `/` between the date fields, `T` before the
    /// time, and 1-9 decimals) as UTC ns.
    #[inline(always)]
    pub fn parse_datetime(&mut self, f: &[u8]) -> std::result::Result<i64, CivilError> {
        if let Some(head) = f.get(..19) {
            let key = (
                word8(&head[..8]),
                word8(&head[8..16]),
                u32::from_le_bytes([head[16], head[17], head[18], 0]),
            );
            if self.sec_key == Some(key) {
                let frac = parse_fraction(&f[19..])?;
                return self.sec_utc.checked_add(frac).ok_or(CivilError::Overflow);
            }
        }
        self.parse_datetime_new_second(f)
    }

    /// A row of a second not seen just before: the whole conversion.
    #[cold]
    #[inline(never)]
    fn parse_datetime_new_second(&mut self, f: &[u8]) -> std::result::Result<i64, CivilError> {
        if f.len() < 19 {
            return Err(CivilError::Syntax(
                "expected a date and time like 2025/06/09 23:21:26.037",
            ));
        }
        if !matches!(f[10], b' ' | b'T') {
            return Err(CivilError::Syntax(
                "expected a space or 'T' between date and time",
            ));
        }
        let key = (word8(&f[..8]), u16::from_le_bytes([f[8], f[9]]));
        let days = if self.date_key == Some(key) {
            self.days
        } else {
            let days = parse_date(&f[..10])?;
            (self.date_key, self.days) = (Some(key), days);
            days
        };
        let hms = parse_hms(&f[11..19])?;
        let frac = parse_fraction(&f[19..])?;
        let second = self.to_utc(days, hms)?;
        self.sec_key = Some((
            word8(&f[..8]),
            word8(&f[8..16]),
            u32::from_le_bytes([f[16], f[17], f[18], 0]),
        ));
        self.sec_utc = second;
        second.checked_add(frac).ok_or(CivilError::Overflow)
    }

    /// A date field and a time field (`nvidia-smi dmon -o DT`) as UTC ns.
    pub fn parse_date_time(
        &mut self,
        date: &[u8],
        time: &[u8],
    ) -> std::result::Result<i64, CivilError> {
        let days = parse_date(date)?;
        let tod = parse_time_of_day(time)?;
        self.to_utc(days, tod)
    }

    /// Local day number and ns of the day to UTC ns.
    #[inline]
    pub fn to_utc(&mut self, days: i64, tod_ns: i64) -> std::result::Result<i64, CivilError> {
        let local = days
            .checked_mul(NS_PER_DAY)
            .and_then(|x| x.checked_add(tod_ns))
            .ok_or(CivilError::Overflow)?;
        let Some(z) = self.zone.as_mut() else {
            return Ok(local);
        };
        let hour = local.div_euclid(NS_PER_HOUR);
        if hour != z.hour {
            z.hour = hour;
            z.hour_offset_ns = uniform_offset(&z.tz, hour)?;
        }
        let offset = match z.hour_offset_ns {
            Some(o) => o,
            None => exact_offset(&z.tz, local)?,
        };
        local.checked_sub(offset).ok_or(CivilError::Overflow)
    }
}

/// The offset of a local hour when it is the same, unambiguous one at both
/// ends. A DST gap or fold inside the hour makes the ends differ (or one end
/// ambiguous); two transitions cancelling out within one hour do not occur
/// in the database.
fn uniform_offset(tz: &TimeZone, hour: i64) -> std::result::Result<Option<i64>, CivilError> {
    let start = hour.checked_mul(NS_PER_HOUR).ok_or(CivilError::Overflow)?;
    let a = ambiguous_at(tz, start)?;
    let b = ambiguous_at(tz, start + NS_PER_HOUR - 1)?;
    Ok(match (a, b) {
        (
            AmbiguousOffset::Unambiguous { offset: x },
            AmbiguousOffset::Unambiguous { offset: y },
        ) if x == y => Some(x.seconds() as i64 * NS_PER_S),
        _ => None,
    })
}

fn exact_offset(tz: &TimeZone, local: i64) -> std::result::Result<i64, CivilError> {
    match ambiguous_at(tz, local)? {
        AmbiguousOffset::Unambiguous { offset } => Ok(offset.seconds() as i64 * NS_PER_S),
        AmbiguousOffset::Gap { before, after } => Err(CivilError::Nonexistent(format!(
            "local time {} does not exist (the clocks jumped from UTC{before} to UTC{after})",
            show_local(local)
        ))),
        AmbiguousOffset::Fold { before, after } => Err(CivilError::Ambiguous(format!(
            "local time {} occurs twice (the clocks went back from UTC{before} to UTC{after})",
            show_local(local)
        ))),
    }
}

/// What the zone says about a local time, given as ns since the local epoch.
fn ambiguous_at(tz: &TimeZone, local: i64) -> std::result::Result<AmbiguousOffset, CivilError> {
    let ts = Timestamp::new(
        local.div_euclid(NS_PER_S),
        local.rem_euclid(NS_PER_S) as i32,
    )
    .map_err(|_| CivilError::Overflow)?;
    Ok(tz
        .to_ambiguous_timestamp(Offset::UTC.to_datetime(ts))
        .offset())
}

/// A local time (ns since the local epoch) as `YYYY-MM-DD HH:MM:SS[.f]`.
pub fn show_local(local: i64) -> String {
    match Timestamp::new(
        local.div_euclid(NS_PER_S),
        local.rem_euclid(NS_PER_S) as i32,
    ) {
        Ok(ts) => Offset::UTC
            .to_datetime(ts)
            .to_string()
            .replacen('T', " ", 1),
        Err(_) => local.to_string(),
    }
}

/// Eight bytes as one integer, for equality tests.
#[inline(always)]
fn word8(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[..8]);
    u64::from_le_bytes(w)
}

#[inline]
fn two_digits(b: &[u8], at: usize) -> Option<i64> {
    let hi = b.get(at)?.wrapping_sub(b'0');
    let lo = b.get(at + 1)?.wrapping_sub(b'0');
    // `then`, not `then_some`: the arithmetic must not run on non-digits (it would overflow).
    (hi <= 9 && lo <= 9).then(|| hi as i64 * 10 + lo as i64)
}

/// `YYYY-MM-DD`, `YYYY/MM/DD` or `YYYYMMDD` as days since 1970-01-01.
pub fn parse_date(b: &[u8]) -> std::result::Result<i64, CivilError> {
    const SHAPE: &str = "expected a date like 2025/06/09, 2025-06-09 or 20250609";
    let (y, m, d) = match b.len() {
        10 if b[4] == b[7] && matches!(b[4], b'-' | b'/') => {
            let y = two_digits(b, 0)
                .zip(two_digits(b, 2))
                .map(|(a, c)| a * 100 + c);
            (y, two_digits(b, 5), two_digits(b, 8))
        }
        8 => {
            let y = two_digits(b, 0)
                .zip(two_digits(b, 2))
                .map(|(a, c)| a * 100 + c);
            (y, two_digits(b, 4), two_digits(b, 6))
        }
        _ => return Err(CivilError::Syntax(SHAPE)),
    };
    let (Some(y), Some(m), Some(d)) = (y, m, d) else {
        return Err(CivilError::Syntax(SHAPE));
    };
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return Err(CivilError::Syntax(
            "no such date (month or day out of range)",
        ));
    }
    Ok(days_from_civil(y, m, d))
}

const TIME_SHAPE: &str = "expected a time like 23:21:26.037";

/// `HH:MM:SS` with an optional `.f` of 1-9 digits, as ns since midnight.
#[inline]
pub fn parse_time_of_day(b: &[u8]) -> std::result::Result<i64, CivilError> {
    if b.len() < 8 {
        return Err(CivilError::Syntax(TIME_SHAPE));
    }
    Ok(parse_hms(&b[..8])? + parse_fraction(&b[8..])?)
}

/// Exactly `HH:MM:SS`, as ns since midnight.
#[inline]
fn parse_hms(b: &[u8]) -> std::result::Result<i64, CivilError> {
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return Err(CivilError::Syntax(TIME_SHAPE));
    }
    let (Some(h), Some(mi), Some(s)) = (two_digits(b, 0), two_digits(b, 3), two_digits(b, 6))
    else {
        return Err(CivilError::Syntax(TIME_SHAPE));
    };
    if h > 23 || mi > 59 || s > 59 {
        return Err(CivilError::Syntax(
            "no such time of day (hour, minute or second out of range)",
        ));
    }
    Ok(((h * 60 + mi) * 60 + s) * NS_PER_S)
}

/// Nothing, or `.` and 1-9 digits, as ns.
#[inline]
fn parse_fraction(b: &[u8]) -> std::result::Result<i64, CivilError> {
    let Some((&dot, frac)) = b.split_first() else {
        return Ok(0);
    };
    if dot != b'.' || frac.is_empty() {
        return Err(CivilError::Syntax(TIME_SHAPE));
    }
    if frac.len() > 9 {
        return Err(CivilError::Syntax(
            "more than 9 decimals: finer than a nanosecond",
        ));
    }
    let mut x: i64 = 0;
    for &c in frac {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return Err(CivilError::Syntax(TIME_SHAPE));
        }
        // At most 9 digits: no wrap, and no overflow checks in the hot loop.
        x = x.wrapping_mul(10).wrapping_add(d as i64);
    }
    Ok(x.wrapping_mul(NS_PER_DECIMAL[frac.len()]))
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// Days in month `m` (1 to 12; callers check the range) of year `y`.
pub(crate) fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> i64 {
        let ts: Timestamp = s.parse().expect("valid");
        ts.as_nanosecond() as i64
    }

    #[test]
    fn naive_times_are_read_as_utc_exactly() {
        let mut c = Clock::new(None).expect("no zone");
        assert_eq!(
            c.parse_datetime(b"2025/06/09 23:21:26.037"),
            Ok(utc("2025-06-09T23:21:26.037Z"))
        );
        assert_eq!(
            c.parse_datetime(b"2022-07-13 02:07:36.708783111"),
            Ok(utc("2022-07-13T02:07:36.708783111Z"))
        );
        assert_eq!(c.parse_datetime(b"1970-01-01T00:00:00"), Ok(0));
        assert_eq!(c.parse_datetime(b"1969/12/31 23:59:59.5"), Ok(-500_000_000));
        assert_eq!(
            c.parse_date_time(b"20240229", b"12:00:00"),
            Ok(utc("2024-02-29T12:00:00Z"))
        );
        for bad in [
            &b"2025/06/09"[..],
            b"2025/13/09 00:00:00",
            b"2023/02/29 00:00:00",
            b"2025/06/09 24:00:00",
            b"2025/06/09 23:59:60",
            b"2025/06-09 23:00:00",
            b"2025/06/09 23:00:00.",
            b"2025/06/09 23:00:00.1234567891",
            b"2025/06/09 2x:00:00",
        ] {
            assert!(
                matches!(c.parse_datetime(bad), Err(CivilError::Syntax(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(
            c.parse_datetime(b"2263/01/01 00:00:00"),
            Err(CivilError::Overflow)
        );
        for y in [1600, 1900, 1970, 2000, 2024, 2100, 2262] {
            for (m, d) in [(1, 1), (2, 28), (3, 1), (12, 31)] {
                let s = format!("{y:04}-{m:02}-{d:02}T00:00:00Z");
                let ts: Timestamp = s.parse().expect("valid");
                assert_eq!(days_from_civil(y, m, d), ts.as_second().div_euclid(86_400));
            }
        }
    }

    #[test]
    fn zones_convert_and_refuse_dst_gaps_and_folds() {
        let mut c = Clock::new(Some("Europe/Berlin")).expect("known zone");
        assert_eq!(
            c.parse_datetime(b"2024-07-01 12:00:00.25"),
            Ok(utc("2024-07-01T10:00:00.25Z"))
        );
        assert_eq!(
            c.parse_datetime(b"2024-01-15 12:00:00"),
            Ok(utc("2024-01-15T11:00:00Z"))
        );
        // Spring forward: 02:00-03:00 on 2024-03-31 does not exist.
        assert_eq!(
            c.parse_datetime(b"2024-03-31 01:59:59.999"),
            Ok(utc("2024-03-31T00:59:59.999Z"))
        );
        let e = c.parse_datetime(b"2024-03-31 02:30:00").expect_err("gap");
        assert!(
            matches!(&e, CivilError::Nonexistent(r) if r.contains("2024-03-31 02:30:00")),
            "{e:?}"
        );
        assert_eq!(
            c.parse_datetime(b"2024-03-31 03:00:00"),
            Ok(utc("2024-03-31T01:00:00Z"))
        );
        // Fall back: 02:00-03:00 on 2024-10-27 happens twice.
        assert_eq!(
            c.parse_datetime(b"2024-10-27 01:59:59"),
            Ok(utc("2024-10-26T23:59:59Z"))
        );
        let e = c.parse_datetime(b"2024-10-27 02:00:00").expect_err("fold");
        assert!(matches!(e, CivilError::Ambiguous(_)), "{e:?}");
        assert!(matches!(
            c.parse_datetime(b"2024-10-27 02:59:59.999999999"),
            Err(CivilError::Ambiguous(_))
        ));
        assert_eq!(
            c.parse_datetime(b"2024-10-27 03:00:00"),
            Ok(utc("2024-10-27T02:00:00Z"))
        );
        // Half-hour offsets and transitions (Lord Howe: +10:30 / +11, at 02:00 local).
        let mut c = Clock::new(Some("Australia/Lord_Howe")).expect("known zone");
        assert_eq!(
            c.parse_datetime(b"2024-07-01 12:00:00"),
            Ok(utc("2024-07-01T01:30:00Z"))
        );
        assert!(matches!(
            c.parse_datetime(b"2024-10-06 02:15:00"),
            Err(CivilError::Nonexistent(_))
        ));
        assert_eq!(
            c.parse_datetime(b"2024-10-06 02:45:00"),
            Ok(utc("2024-10-05T15:45:00Z"))
        );
        let e = Clock::new(Some("Mars/Olympus_Mons"))
            .err()
            .expect("unknown zone");
        assert_eq!(e.code(), "invalid_argument");
        let mut c = Clock::new(Some("UTC")).expect("known zone");
        assert_eq!(
            c.parse_datetime(b"2024-03-31 02:30:00"),
            Ok(utc("2024-03-31T02:30:00Z"))
        );
    }

    #[test]
    fn per_hour_cache_agrees_with_per_row_lookup() {
        let tz = zone("America/New_York").expect("known zone");
        let mut c = Clock::new(Some("America/New_York")).expect("known zone");
        // Every 7 minutes over two days around the 2024-11-03 fold, both ways.
        let start = days_from_civil(2024, 11, 2) * NS_PER_DAY;
        for k in 0..(2 * 24 * 60 / 7) {
            let local = start + k * 7 * 60 * NS_PER_S + 123;
            let days = local.div_euclid(NS_PER_DAY);
            let got = c.to_utc(days, local - days * NS_PER_DAY);
            let want = exact_offset(&tz, local).map(|o| local - o);
            assert_eq!(got, want, "{}", show_local(local));
        }
    }
}
