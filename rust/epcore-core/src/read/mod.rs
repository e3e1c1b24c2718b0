//! Streaming readers: every format ends in canonical `(t_ns, channel, value)` rows
//! fed to a [`crate::stream::StreamIntegrator`]. A new format is one new module here.

pub mod csv;
mod csv_rows;
pub mod fields;
pub mod lines;
pub mod source;

use crate::partial::Partial;

/// How a reader reads.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// Bytes read from the source at a time; memory stays at about this plus one block per channel.
    pub chunk_bytes: usize,
    /// Longest accepted line.
    pub max_record_bytes: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            chunk_bytes: 1 << 22,
            max_record_bytes: 1 << 20,
        }
    }
}

/// What a reader noticed about the file itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileInfo {
    pub path: String,
    pub size_bytes: u64,
    pub n_lines: u64,
    pub had_bom: bool,
    /// The last line had no terminator but was a complete record (kept).
    pub unterminated_final_line: bool,
    /// The last line had no terminator and was incomplete (dropped).
    pub truncated_tail: bool,
    pub time_column: String,
    pub value_column: String,
    pub warnings: Vec<String>,
}

/// The partial of each channel, and the file's own report.
#[derive(Debug, Clone)]
pub struct FileIntegration {
    pub channels: Vec<(String, Partial)>,
    pub info: FileInfo,
}

/// Called between chunks with the bytes read so far: report progress, and
/// return an error (e.g. [`crate::Error::Interrupted`]) to stop.
pub type OnChunk<'a> = &'a mut dyn FnMut(u64) -> crate::Result<()>;
