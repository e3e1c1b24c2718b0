//! The one error type of the core.
//!
//! Every failure a user can cause is a variant here with structured fields, so
//! the binding can map it to exactly one Python exception class and a CLI can
//! print one line that names the file, line, column and value.

use std::fmt;

use crate::read::civil::show_local;

/// Where in an input a problem sits. Lines are 1-based and absolute in the file;
/// `index` is the 0-based row/sample index for in-memory arrays.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    pub path: Option<String>,
    pub line: Option<u64>,
    pub column: Option<String>,
    pub column_index: Option<u32>,
    pub byte_offset: Option<u64>,
    pub index: Option<u64>,
    /// The channel (device) the row belongs to, when a file holds several.
    pub channel: Option<String>,
}

impl Location {
    /// A location in an in-memory array: the sample index only.
    pub fn at_index(index: usize) -> Self {
        Location {
            index: Some(index as u64),
            ..Location::default()
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(p) = &self.path {
            let mut s = p.clone();
            if let Some(l) = self.line {
                s.push_str(&format!(":{l}"));
            }
            parts.push(s);
        } else if let Some(l) = self.line {
            parts.push(format!("line {l}"));
        }
        if let Some(c) = &self.channel {
            parts.push(format!("channel {c}"));
        }
        if let Some(c) = &self.column {
            parts.push(format!("column {c}"));
        }
        if let Some(i) = self.index {
            parts.push(format!("index {i}"));
        }
        write!(f, "{}", parts.join(": "))
    }
}

/// Which family of problem this is; the binding maps each family to one
/// Python exception class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// The bytes of a file could not be read as the declared format.
    Parse,
    /// Columns or fields are missing or of the wrong kind.
    Schema,
    /// Values parse but the trace itself is unusable (unsorted, conflicting, implausible).
    Trace,
    /// A unit is missing, wrong or ambiguous.
    Unit,
    /// An argument is out of its domain.
    Config,
    /// The operating system refused a read.
    Io,
}

/// Every error the core can return.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A field could not be read as the value its column declares.
    BadValue {
        at: Location,
        value: String,
        reason: String,
        hint: String,
    },
    /// A row has a different number of fields than the header.
    UnequalLengths {
        at: Location,
        expected: usize,
        found: usize,
        hint: String,
    },
    /// A record is longer than the reader accepts.
    RecordTooLong { at: Location, limit: usize },
    /// The file is not UTF-8 text (UTF-16 BOM or invalid bytes).
    UnsupportedEncoding { at: Location, reason: String },
    /// A required column is missing or the header is not understood.
    Schema {
        at: Location,
        expected: String,
        found: String,
        hint: String,
    },
    /// Nothing to read at all.
    EmptyInput { at: Location },
    /// Fewer samples than an integral needs.
    InsufficientSamples {
        at: Location,
        found: u64,
        needed: u64,
    },
    /// Timestamps go backwards.
    UnsortedTimestamps {
        at: Location,
        previous_ns: i64,
        value_ns: i64,
    },
    /// Two samples share a timestamp but disagree on the value.
    ConflictingDuplicate {
        at: Location,
        t_ns: i64,
        first: f64,
        second: f64,
    },
    /// A timestamp or value that must be finite is NaN or infinite.
    NonFinite {
        at: Location,
        what: String,
        value: f64,
    },
    /// Power below the clamp tolerance.
    NegativePower {
        at: Location,
        value: f64,
        tolerance_w: f64,
    },
    /// Power above the plausibility limit.
    ImplausiblePower {
        at: Location,
        value: f64,
        max_power_w: f64,
    },
    /// A cumulative counter went down in a way that is neither a wrap nor a reset.
    AmbiguousCounterDecrease {
        at: Location,
        previous: f64,
        value: f64,
        hint: String,
    },
    /// Timestamps outside the int64-nanosecond range.
    TimestampOverflow { at: Location, value: String },
    /// Arrays that must be the same length are not.
    LengthMismatch {
        what: String,
        expected: usize,
        found: usize,
    },
    /// A window whose end precedes its start.
    InvalidWindow {
        index: usize,
        start_ns: i64,
        end_ns: i64,
    },
    /// An argument outside its domain (zero throughput, negative price, bad currency code...).
    InvalidArgument {
        name: String,
        value: String,
        reason: String,
    },
    /// The operating system refused to read a file.
    Io {
        path: String,
        kind: std::io::ErrorKind,
        message: String,
    },
    /// The user interrupted a long operation (Ctrl-C).
    Interrupted,
    /// The content matches no format epcore reads (or not the one named).
    UnrecognizedFormat {
        at: Location,
        reason: String,
        hint: String,
    },
    /// A compressed stream or binary container is damaged or truncated.
    CorruptInput { at: Location, reason: String },
    /// Decompressed data passed the size or ratio cap (a decompression bomb?).
    DecompressionLimit { at: Location, reason: String },
    /// A bug: a reader panicked. Caught at the binding so that no panic crosses
    /// into Python; reported with what is known of the input.
    Internal { reason: String },
    /// A local wall-clock time that does not exist, or exists twice, in the given zone.
    AmbiguousLocalTime {
        at: Location,
        value: String,
        tz: String,
        reason: String,
    },
    /// JSON that cannot be parsed, or past the depth or size cap.
    BadJson {
        at: Location,
        value: String,
        reason: String,
        hint: String,
    },
    /// A request-log row whose times are out of order (end before start, or
    /// a first token outside [start, end]). The code is `invalid_window`, as for
    /// [`Error::InvalidWindow`]: the same problem, located in a file.
    InvalidRequestWindow {
        at: Location,
        value: String,
        reason: String,
    },
    /// A request id seen twice with different values.
    DuplicateRequestId {
        at: Location,
        value: String,
        first_line: u64,
    },
    /// A code (currency, grid region…) that is not in the table, with the closest ones.
    UnknownCode {
        /// What kind of code: "currency", "grid region"…
        kind: String,
        value: String,
        suggestions: Vec<String>,
    },
    /// No request overlaps the power trace: two clocks without a common base.
    ClockMismatch {
        requests_ns: (i64, i64),
        trace_ns: (i64, i64),
    },
}

impl Error {
    /// A stable machine-readable code, shared by the Python exceptions and JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadValue { .. } => "bad_value",
            Error::UnequalLengths { .. } => "unequal_lengths",
            Error::RecordTooLong { .. } => "record_too_long",
            Error::UnsupportedEncoding { .. } => "unsupported_encoding",
            Error::Schema { .. } => "schema",
            Error::EmptyInput { .. } => "empty_input",
            Error::InsufficientSamples { .. } => "insufficient_samples",
            Error::UnsortedTimestamps { .. } => "unsorted_timestamps",
            Error::ConflictingDuplicate { .. } => "conflicting_duplicate",
            Error::NonFinite { .. } => "non_finite",
            Error::NegativePower { .. } => "negative_power",
            Error::ImplausiblePower { .. } => "implausible_power",
            Error::AmbiguousCounterDecrease { .. } => "ambiguous_counter_decrease",
            Error::TimestampOverflow { .. } => "timestamp_overflow",
            Error::LengthMismatch { .. } => "length_mismatch",
            Error::InvalidWindow { .. } => "invalid_window",
            Error::InvalidArgument { .. } => "invalid_argument",
            Error::Io { .. } => "io",
            Error::Interrupted => "interrupted",
            Error::UnrecognizedFormat { .. } => "unrecognized_format",
            Error::CorruptInput { .. } => "corrupt_input",
            Error::DecompressionLimit { .. } => "decompression_limit",
            Error::AmbiguousLocalTime { .. } => "ambiguous_local_time",
            Error::Internal { .. } => "internal_error",
            Error::BadJson { .. } => "bad_json",
            Error::InvalidRequestWindow { .. } => "invalid_window",
            Error::DuplicateRequestId { .. } => "duplicate_request_id",
            Error::ClockMismatch { .. } => "clock_mismatch",
            Error::UnknownCode { .. } => "unknown_code",
        }
    }

    /// The family decides the Python exception class.
    pub fn family(&self) -> Family {
        match self {
            Error::BadValue { .. }
            | Error::UnequalLengths { .. }
            | Error::RecordTooLong { .. }
            | Error::UnsupportedEncoding { .. }
            | Error::UnrecognizedFormat { .. }
            | Error::CorruptInput { .. }
            | Error::DecompressionLimit { .. }
            | Error::BadJson { .. }
            | Error::Internal { .. } => Family::Parse,
            Error::Schema { .. } | Error::LengthMismatch { .. } => Family::Schema,
            Error::EmptyInput { .. }
            | Error::InsufficientSamples { .. }
            | Error::UnsortedTimestamps { .. }
            | Error::ConflictingDuplicate { .. }
            | Error::NonFinite { .. }
            | Error::NegativePower { .. }
            | Error::ImplausiblePower { .. }
            | Error::AmbiguousCounterDecrease { .. }
            | Error::TimestampOverflow { .. }
            | Error::InvalidWindow { .. }
            | Error::AmbiguousLocalTime { .. }
            | Error::InvalidRequestWindow { .. }
            | Error::DuplicateRequestId { .. }
            | Error::ClockMismatch { .. } => Family::Trace,
            Error::InvalidArgument { .. } | Error::Interrupted | Error::UnknownCode { .. } => {
                Family::Config
            }
            Error::Io { .. } => Family::Io,
        }
    }

    /// Where the problem is, when it has a place.
    pub fn location(&self) -> Option<&Location> {
        match self {
            Error::BadValue { at, .. }
            | Error::UnequalLengths { at, .. }
            | Error::RecordTooLong { at, .. }
            | Error::UnsupportedEncoding { at, .. }
            | Error::Schema { at, .. }
            | Error::EmptyInput { at }
            | Error::InsufficientSamples { at, .. }
            | Error::UnsortedTimestamps { at, .. }
            | Error::ConflictingDuplicate { at, .. }
            | Error::NonFinite { at, .. }
            | Error::NegativePower { at, .. }
            | Error::ImplausiblePower { at, .. }
            | Error::AmbiguousCounterDecrease { at, .. }
            | Error::TimestampOverflow { at, .. }
            | Error::UnrecognizedFormat { at, .. }
            | Error::CorruptInput { at, .. }
            | Error::DecompressionLimit { at, .. }
            | Error::AmbiguousLocalTime { at, .. }
            | Error::BadJson { at, .. }
            | Error::InvalidRequestWindow { at, .. }
            | Error::DuplicateRequestId { at, .. } => Some(at),
            _ => None,
        }
    }

    /// Mutable access to the location, so a caller that knows the file can add it.
    pub fn location_mut(&mut self) -> Option<&mut Location> {
        match self {
            Error::BadValue { at, .. }
            | Error::UnequalLengths { at, .. }
            | Error::RecordTooLong { at, .. }
            | Error::UnsupportedEncoding { at, .. }
            | Error::Schema { at, .. }
            | Error::EmptyInput { at }
            | Error::InsufficientSamples { at, .. }
            | Error::UnsortedTimestamps { at, .. }
            | Error::ConflictingDuplicate { at, .. }
            | Error::NonFinite { at, .. }
            | Error::NegativePower { at, .. }
            | Error::ImplausiblePower { at, .. }
            | Error::AmbiguousCounterDecrease { at, .. }
            | Error::TimestampOverflow { at, .. }
            | Error::UnrecognizedFormat { at, .. }
            | Error::CorruptInput { at, .. }
            | Error::DecompressionLimit { at, .. }
            | Error::AmbiguousLocalTime { at, .. }
            | Error::BadJson { at, .. }
            | Error::InvalidRequestWindow { at, .. }
            | Error::DuplicateRequestId { at, .. } => Some(at),
            _ => None,
        }
    }

    /// The offending value as text (at most 64 bytes, escaped), when there is one.
    pub fn value(&self) -> Option<String> {
        let v = match self {
            Error::BadValue { value, .. }
            | Error::TimestampOverflow { value, .. }
            | Error::AmbiguousLocalTime { value, .. }
            | Error::InvalidRequestWindow { value, .. }
            | Error::DuplicateRequestId { value, .. } => value.clone(),
            Error::BadJson { value, .. } if !value.is_empty() => value.clone(),
            Error::UnsortedTimestamps { value_ns, .. } => value_ns.to_string(),
            Error::ConflictingDuplicate { second, .. } => second.to_string(),
            Error::NonFinite { value, .. }
            | Error::NegativePower { value, .. }
            | Error::ImplausiblePower { value, .. }
            | Error::AmbiguousCounterDecrease { value, .. } => value.to_string(),
            Error::InvalidArgument { value, .. } | Error::UnknownCode { value, .. } => {
                value.clone()
            }
            Error::InvalidWindow {
                start_ns, end_ns, ..
            } => format!("({start_ns}, {end_ns})"),
            _ => return None,
        };
        Some(escape_value(&v))
    }

    /// What is wrong, in words, without the location.
    pub fn reason(&self) -> String {
        match self {
            Error::BadValue { reason, .. } => reason.clone(),
            Error::UnequalLengths { expected, found, .. } => {
                format!("expected {expected} fields, found {found}")
            }
            Error::RecordTooLong { limit, .. } => format!("record longer than {limit} bytes"),
            Error::UnsupportedEncoding { reason, .. } => reason.clone(),
            Error::Schema { expected, found, .. } => format!("expected {expected}, found {found}"),
            Error::EmptyInput { .. } => "no data: the input is empty".into(),
            Error::InsufficientSamples { found, needed, .. } => {
                format!("{found} usable sample(s), at least {needed} needed for an integral")
            }
            Error::UnsortedTimestamps { previous_ns, value_ns, .. } => format!(
                "timestamp goes backwards: {value_ns} ns after {previous_ns} ns"
            ),
            Error::ConflictingDuplicate { t_ns, first, second, .. } => format!(
                "two samples at {t_ns} ns disagree: {first} and {second}"
            ),
            Error::NonFinite { what, value, .. } => format!("{what} is {value}"),
            Error::NegativePower { value, tolerance_w, .. } => format!(
                "power {value} W is below -{tolerance_w} W (only small negative offsets are clamped)"
            ),
            Error::ImplausiblePower { value, max_power_w, .. } => {
                format!("power {value} W exceeds max_power_w = {max_power_w} W")
            }
            Error::AmbiguousCounterDecrease { previous, value, .. } => format!(
                "counter went down from {previous} to {value}: neither a wrap nor a reset"
            ),
            Error::TimestampOverflow { value, .. } => {
                format!("timestamp {value} is outside the int64 nanosecond range (years 1677-2262)")
            }
            Error::LengthMismatch { what, expected, found } => {
                format!("{what}: expected length {expected}, found {found}")
            }
            Error::InvalidWindow { index, start_ns, end_ns } => {
                format!("window {index} ends before it starts ({end_ns} < {start_ns})")
            }
            Error::InvalidArgument { name, value, reason } => {
                format!("{name} = {}: {reason}", escape_value(value))
            }
            Error::Io { path, message, .. } => format!("cannot read {path}: {message}"),
            Error::Interrupted => "interrupted".into(),
            Error::UnrecognizedFormat { reason, .. }
            | Error::CorruptInput { reason, .. }
            | Error::DecompressionLimit { reason, .. } => reason.clone(),
            Error::AmbiguousLocalTime { tz, reason, .. } => format!("{reason} in time zone {tz}"),
            Error::Internal { reason } => format!("internal error: {reason}"),
            Error::BadJson { reason, .. } | Error::InvalidRequestWindow { reason, .. } => {
                reason.clone()
            }
            Error::DuplicateRequestId { value, first_line, .. } => format!(
                "request id '{}' appears again (first on line {first_line}) with other values",
                escape_value(value)
            ),
            Error::UnknownCode { kind, value, .. } => {
                format!("unknown {kind} '{}'", escape_value(value))
            }
            Error::ClockMismatch { requests_ns, trace_ns } => format!(
                "no request overlaps the power trace: the requests run from {} to {} UTC, the trace \
                 from {} to {} UTC; their clocks have no common base",
                show_local(requests_ns.0),
                show_local(requests_ns.1),
                show_local(trace_ns.0),
                show_local(trace_ns.1)
            ),
        }
    }

    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        let h = match self {
            Error::BadValue { hint, .. }
            | Error::UnequalLengths { hint, .. }
            | Error::Schema { hint, .. }
            | Error::AmbiguousCounterDecrease { hint, .. }
            | Error::UnrecognizedFormat { hint, .. }
            | Error::BadJson { hint, .. } => hint.clone(),
            Error::InvalidRequestWindow { .. } => {
                "a request needs start <= first token <= end; are the columns swapped, or in different units or clocks?".into()
            }
            Error::DuplicateRequestId { .. } => {
                "request ids must be unique (an exact repeat of a row is dropped and counted)".into()
            }
            Error::Internal { .. } => {
                "this is a bug in epcore: please report it with the input file".into()
            }
            Error::CorruptInput { .. } => {
                "the file is damaged or was cut short; re-copy or re-export it".into()
            }
            Error::DecompressionLimit { .. } => {
                "raise max_decompressed_bytes / max_ratio if the file is genuine".into()
            }
            Error::AmbiguousLocalTime { .. } => {
                "local times around a DST change are ambiguous; log in UTC, or pass the offset-free zone (tz='UTC') if the clock was UTC".into()
            }
            Error::RecordTooLong { .. } => "is this really a line-oriented CSV file?".into(),
            Error::UnsupportedEncoding { .. } => "re-save the file as UTF-8".into(),
            Error::EmptyInput { .. } => "check that the logger wrote any rows".into(),
            Error::InsufficientSamples { .. } => {
                "an energy integral needs at least two samples of one channel".into()
            }
            Error::UnsortedTimestamps { .. } => {
                "sort the samples by time first (epcore.integrate(..., on_unsorted='sort')); devices interleaved? pass channel=<device column> (e.g. channel='index')".into()
            }
            Error::ConflictingDuplicate { .. } => {
                "timestamp resolution too coarse, or devices interleaved? pass channel=<device column> (e.g. channel='index')".into()
            }
            Error::NonFinite { .. } => "remove or repair the sample, or pass strict=False".into(),
            Error::NegativePower { .. } => {
                "check the sign convention of the source, or raise negative_tolerance_w".into()
            }
            Error::ImplausiblePower { .. } => {
                "is the column in mW rather than W? raise max_power_w if the value is real".into()
            }
            Error::TimestampOverflow { .. } => {
                "timestamps must be nanoseconds, or seconds as floats, since 1970".into()
            }
            Error::InvalidWindow { .. } => "pass windows as (start, end) with start <= end".into(),
            Error::UnknownCode { kind, suggestions, .. } => {
                if suggestions.is_empty() {
                    format!("no {kind} is close; see the list in the documentation")
                } else {
                    format!("did you mean {}?", suggestions.join(", "))
                }
            }
            Error::ClockMismatch { requests_ns, trace_ns } => format!(
                "shift the requests onto the trace's clock with offset_ns (CLI --offset-s): \
                 {} ns would align the first request with the trace's start; a trace logged in \
                 local time without a zone needs tz='<IANA zone>'",
                trace_ns.0.saturating_sub(requests_ns.0)
            ),
            _ => return None,
        };
        if h.is_empty() {
            None
        } else {
            Some(h)
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(at) = self.location() {
            let s = at.to_string();
            if !s.is_empty() {
                write!(f, "{s}: ")?;
            }
        }
        write!(f, "{}", self.reason())?;
        if let Some(v) = self.value() {
            let reason = self.reason();
            if !reason.contains(&v) {
                write!(f, " (value '{v}')")?;
            }
        }
        if let Some(h) = self.hint() {
            write!(f, "; hint: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// Shorthand for core results.
pub type Result<T> = std::result::Result<T, Error>;

/// Values shown in errors are capped at 64 bytes and escaped, so a binary blob
/// or a 1 MB line never floods a terminal.
pub fn escape_value(raw: &str) -> String {
    let mut out = String::new();
    for ch in raw.chars() {
        let piece: String = ch.escape_debug().collect();
        if out.len() + piece.len() > 64 {
            out.push('…');
            break;
        }
        out.push_str(&piece);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_line_column_and_value() {
        let e = Error::BadValue {
            at: Location {
                path: Some("trace.csv".into()),
                line: Some(58),
                column: Some("power_w".into()),
                ..Location::default()
            },
            value: "1O3.5".into(),
            reason: "cannot read '1O3.5' as watts".into(),
            hint: "power must be a decimal number".into(),
        };
        let s = e.to_string();
        assert!(
            s.starts_with("trace.csv:58: column power_w: cannot read '1O3.5' as watts"),
            "{s}"
        );
        assert_eq!(e.code(), "bad_value");
        assert_eq!(e.family(), Family::Parse);
    }

    #[test]
    fn values_are_capped_and_escaped() {
        let long = "x\n".repeat(100);
        let v = escape_value(&long);
        assert!(v.len() <= 70);
        assert!(v.contains("\\n"));
    }
}
