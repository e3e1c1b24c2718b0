//! Lines from a byte stream, in fixed-size chunks and constant memory.
//!
//! Accepts `\n`, `\r\n` and bare `\r` (a `\r\n` split across two reads is
//! still one terminator), counts lines from 1 and byte offsets from 0, caps
//! the record length, and tells whether the last line was terminated — a file
//! still being written ends in a partial line.

use std::io::Read;

use crate::error::{Error, Location, Result};

/// `bytes` as text, or an error at the first invalid byte: readers check
/// each line up front so bad encoding is reported as such, with its byte
/// offset, rather than as a confusing parse error further on.
pub fn check_utf8<'a>(bytes: &'a [u8], path: &str, line: u64, offset: u64) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|e| Error::UnsupportedEncoding {
        at: Location {
            path: Some(path.into()),
            line: Some(line),
            byte_offset: Some(offset + e.valid_up_to() as u64),
            ..Location::default()
        },
        reason: "invalid UTF-8".into(),
    })
}

/// One line, without its terminator.
pub struct Line<'a> {
    pub bytes: &'a [u8],
    /// 1-based line number in the file.
    pub number: u64,
    /// Byte offset of the line's first byte in the (decoded) stream.
    pub offset: u64,
    /// False only for a last line with no terminator.
    pub terminated: bool,
}

/// A run of complete lines in a buffer of its own, from
/// [`LineReader::next_batch_owned`].
pub struct OwnedBatch {
    pub buf: Vec<u8>,
    /// The lines are `buf[range]`.
    pub range: std::ops::Range<usize>,
    /// Byte offset of the first line in the (decoded) stream.
    pub offset: u64,
    /// False only for a last line with no terminator.
    pub terminated: bool,
}

impl OwnedBatch {
    pub fn bytes(&self) -> &[u8] {
        &self.buf[self.range.clone()]
    }
}

pub struct LineReader<R: Read> {
    src: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    chunk_bytes: usize,
    max_record_bytes: usize,
    line_no: u64,
    /// Stream offset of `buf[0]`.
    base_offset: u64,
    path: String,
}

impl<R: Read> LineReader<R> {
    pub fn new(src: R, path: &str, chunk_bytes: usize, max_record_bytes: usize) -> Self {
        let chunk_bytes = chunk_bytes.max(1);
        LineReader {
            src,
            buf: Vec::new(),
            start: 0,
            end: 0,
            eof: false,
            chunk_bytes,
            max_record_bytes,
            line_no: 0,
            base_offset: 0,
            path: path.to_string(),
        }
    }

    /// The longest accepted line.
    pub fn max_record_bytes(&self) -> usize {
        self.max_record_bytes
    }

    /// Lines returned so far (and accounted for with [`skip_lines`](Self::skip_lines)).
    pub fn lines_read(&self) -> u64 {
        self.line_no
    }

    /// Bytes consumed from the source so far.
    pub fn bytes_read(&self) -> u64 {
        self.base_offset + self.end as u64
    }

    /// The next line, or `None` at the end of the stream.
    pub fn next_line(&mut self) -> Result<Option<Line<'_>>> {
        // Indices first, slice after the loop: the borrow of `buf` must not span `fill`.
        let (lo, hi, next, terminated) = loop {
            let hay = &self.buf[self.start..self.end];
            if let Some(rel) = memchr::memchr2(b'\n', b'\r', hay) {
                let idx = self.start + rel;
                if self.buf[idx] == b'\n' {
                    break (self.start, idx, idx + 1, true);
                }
                // A '\r': wait for the next byte to know whether '\n' follows.
                if idx + 1 == self.end && !self.eof {
                    self.fill()?;
                    continue;
                }
                let skip = if idx + 1 < self.end && self.buf[idx + 1] == b'\n' {
                    2
                } else {
                    1
                };
                break (self.start, idx, idx + skip, true);
            }
            if self.end - self.start > self.max_record_bytes {
                return Err(self.too_long(self.start));
            }
            if self.eof {
                if self.start == self.end {
                    return Ok(None);
                }
                break (self.start, self.end, self.end, false);
            }
            self.fill()?;
        };
        if hi - lo > self.max_record_bytes {
            return Err(self.too_long(lo));
        }
        self.start = next;
        self.line_no += 1;
        Ok(Some(Line {
            bytes: &self.buf[lo..hi],
            number: self.line_no,
            offset: self.base_offset + lo as u64,
            terminated,
        }))
    }

    /// The next run of complete lines, ending with a terminator; or, at the end
    /// of the stream, the unterminated rest (`terminated == false`, one line).
    /// `number` is the line number of its first line; call
    /// [`skip_lines`](Self::skip_lines) with the count of lines it held.
    pub fn next_batch(&mut self) -> Result<Option<Line<'_>>> {
        let Some((lo, hi, terminated)) = self.find_batch()? else {
            return Ok(None);
        };
        self.start = hi;
        Ok(Some(Line {
            bytes: &self.buf[lo..hi],
            number: self.line_no + 1,
            offset: self.base_offset + lo as u64,
            terminated,
        }))
    }

    /// As [`next_batch`](Self::next_batch), but the batch keeps the buffer it
    /// was read into, so it can be parsed on one thread while the next one is
    /// read on another; the reader goes on in `spare` (any buffer: one handed
    /// back from an earlier batch saves an allocation). Line numbers are left
    /// to the caller, and so is the line of a record-too-long error, which
    /// comes with `line: None`.
    pub fn next_batch_owned(&mut self, spare: Vec<u8>) -> Result<Option<OwnedBatch>> {
        let found = self.find_batch().map_err(|mut e| {
            if let Error::RecordTooLong { at, .. } = &mut e {
                at.line = None;
            }
            e
        })?;
        let Some((lo, hi, terminated)) = found else {
            return Ok(None);
        };
        let tail = self.end - hi;
        let mut next = spare;
        // Only grown, never cleared: `fill` reads into the bytes already there
        // instead of zeroing a new chunk each time.
        if next.len() < tail {
            next.resize(tail, 0);
        }
        next[..tail].copy_from_slice(&self.buf[hi..self.end]);
        let buf = std::mem::replace(&mut self.buf, next);
        let offset = self.base_offset + lo as u64;
        self.base_offset += hi as u64;
        self.start = 0;
        self.end = tail;
        Ok(Some(OwnedBatch {
            buf,
            range: lo..hi,
            offset,
            terminated,
        }))
    }

    /// Where the next batch lies in `buf`: (start, end, terminated).
    fn find_batch(&mut self) -> Result<Option<(usize, usize, bool)>> {
        loop {
            let mut end = self.end;
            // A '\r' in the last byte may be the first half of "\r\n": leave it for later.
            if !self.eof && end > self.start && self.buf[end - 1] == b'\r' {
                end -= 1;
            }
            if let Some(p) = memchr::memrchr2(b'\n', b'\r', &self.buf[self.start..end]) {
                return Ok(Some((self.start, self.start + p + 1, true)));
            }
            if self.eof {
                if self.start == self.end {
                    return Ok(None);
                }
                return Ok(Some((self.start, self.end, false)));
            }
            if self.end - self.start > self.max_record_bytes {
                return Err(self.too_long(self.start));
            }
            self.fill()?;
        }
    }

    /// Account for the lines of a batch returned by [`next_batch`](Self::next_batch).
    pub fn skip_lines(&mut self, n: u64) {
        self.line_no += n;
    }

    /// The error for a line starting at `buf[at]` that exceeds the record limit.
    fn too_long(&self, at: usize) -> Error {
        Error::RecordTooLong {
            at: Location {
                path: Some(self.path.clone()),
                line: Some(self.line_no + 1),
                byte_offset: Some(self.base_offset + at as u64),
                ..Location::default()
            },
            limit: self.max_record_bytes,
        }
    }

    /// Move the unread tail to the front and read one more chunk after it.
    fn fill(&mut self) -> Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.base_offset += self.start as u64;
            self.end -= self.start;
            self.start = 0;
        }
        let want = self.end + self.chunk_bytes;
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        loop {
            match self.src.read(&mut self.buf[self.end..want]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(crate::read::source::from_io(e, &self.path)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(data: &[u8], chunk: usize) -> Vec<(String, u64, bool)> {
        let mut r = LineReader::new(data, "mem", chunk, 1 << 20);
        let mut out = Vec::new();
        while let Some(l) = r.next_line().expect("the test input is valid") {
            out.push((
                String::from_utf8_lossy(l.bytes).into_owned(),
                l.number,
                l.terminated,
            ));
        }
        out
    }

    #[test]
    fn every_terminator_and_chunk_size_agree() {
        let data = b"a,b\r\nc\rd\n\ne\r\nlast";
        let want = lines(data, 1 << 16);
        assert_eq!(want.len(), 6);
        assert_eq!(want[0].0, "a,b");
        assert_eq!(want[2].0, "d");
        assert_eq!(want[3].0, "");
        assert_eq!(want[5], ("last".into(), 6, false));
        for chunk in [1, 2, 3, 7, 4096] {
            assert_eq!(lines(data, chunk), want, "chunk {chunk}");
        }
    }

    #[test]
    fn owned_batches_cover_the_stream_at_any_chunk_size() {
        let data = b"a,b\r\nc\rd\n\ne\r\nlonger line here\r\nlast";
        for chunk in [1, 2, 3, 7, 4096] {
            let mut r = LineReader::new(&data[..], "mem", chunk, 1 << 20);
            let (mut seen, mut spare, mut last) = (Vec::new(), Vec::new(), true);
            while let Some(b) = r.next_batch_owned(spare).expect("the test input is valid") {
                assert_eq!(b.offset as usize, seen.len(), "chunk {chunk}");
                assert!(last, "only the last batch may be unterminated");
                // Every batch ends a line, and never between '\r' and '\n'.
                let bytes = b.bytes();
                assert!(!b.terminated || matches!(bytes.last(), Some(b'\n' | b'\r')));
                assert!(
                    !(bytes.last() == Some(&b'\r')
                        && data.get(seen.len() + bytes.len()) == Some(&b'\n'))
                );
                seen.extend_from_slice(bytes);
                last = b.terminated;
                spare = b.buf;
            }
            assert_eq!(seen, data, "chunk {chunk}");
        }
        let mut r = LineReader::new(&[b'x'; 100][..], "mem", 8, 50);
        let e = r
            .next_batch_owned(Vec::new())
            .err()
            .expect("the test input is invalid");
        assert_eq!(e.code(), "record_too_long");
        assert_eq!(e.location().and_then(|l| l.line), None);
    }

    #[test]
    fn long_records_are_refused() {
        let data = [b'x'; 100];
        let mut r = LineReader::new(&data[..], "mem", 8, 50);
        let e = r.next_line().err().expect("the test input is valid");
        assert_eq!(e.code(), "record_too_long");
    }
}
