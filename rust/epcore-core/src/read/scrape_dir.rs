//! A directory of Prometheus scrapes read as one stream.
//!
//! `curl localhost:9400/metrics > scrapes/$(date +%s).prom` from cron leaves
//! one file per scrape and no time inside it. The files are read in order of
//! modification time (then name), each preceded by a `# scrape_time <mtime>`
//! line, so samples without their own timestamp take the time the file was
//! written; a file's own timestamps or `# scrape_time` lines come later and
//! win. Errors name the file and its own line, not the line of the stream.

use std::fs;
use std::io::{self, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use crate::error::{Error, Location, Result};
use crate::read::source::{open_stream, open_text, Limits, Source};

/// Where each file starts in the stream: `(first stream line of its injected
/// header, path)`. Shared with the reader so it fills as files are opened.
#[derive(Clone, Default)]
pub struct LineMap(Arc<Mutex<Vec<(u64, String)>>>);

impl LineMap {
    /// Name the file and its own line for an error located by stream line.
    pub fn place(&self, mut e: Error) -> Error {
        let Ok(map) = self.0.lock() else { return e };
        if let Some(at) = e.location_mut() {
            if let Some(line) = at.line {
                let k = map.partition_point(|(start, _)| *start <= line);
                if k > 0 {
                    let (start, path) = &map[k - 1];
                    at.path = Some(path.clone());
                    // The injected header is line `start`; the file's line 1 follows it.
                    at.line = Some(line - start).filter(|l| *l > 0);
                    at.byte_offset = None;
                }
            }
        }
        e
    }
}

/// The files of `dir`, oldest first; hidden files and subdirectories are skipped.
fn scrape_files(dir: &Path) -> Result<Vec<(f64, PathBuf)>> {
    let io_err = |e: io::Error| Error::Io {
        path: dir.display().to_string(),
        kind: e.kind(),
        message: e.to_string(),
    };
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        let meta = entry.metadata().map_err(io_err)?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !meta.is_file() || hidden {
            continue;
        }
        let mtime = meta
            .modified()
            .ok()
            .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
            .map_or(0.0, |d| d.as_secs_f64());
        files.push((mtime, entry.path()));
    }
    files.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    if files.is_empty() {
        return Err(Error::EmptyInput {
            at: Location {
                path: Some(dir.display().to_string()),
                ..Location::default()
            },
        });
    }
    Ok(files)
}

/// Files opened one after another (each decompressed if needed), counting lines as they pass.
struct Chain {
    files: std::vec::IntoIter<(f64, PathBuf)>,
    current: Option<Box<dyn Read + Send>>,
    limits: Limits,
    map: LineMap,
    /// Newlines passed so far: the stream line of the next byte is this + 1.
    lines: u64,
    /// The last byte given out, to add a newline to a file that lacks one.
    last: u8,
}

impl Chain {
    fn next_file(&mut self) -> io::Result<bool> {
        let Some((mtime, path)) = self.files.next() else {
            return Ok(false);
        };
        let src = open_text(&path, &self.limits)
            .map_err(|e| io::Error::other(crate::read::source::TypedIo(e)))?;
        // A file without a final newline gets one, so its last line stays its own.
        let sep = if self.last == b'\n' || self.last == 0 {
            ""
        } else {
            "\n"
        };
        // Newlines are counted as bytes pass through `read`; the header's line is the
        // next one, or the one after when `sep` first ends the previous file's last line.
        let header_line = self.lines + 1 + !sep.is_empty() as u64;
        if let Ok(mut m) = self.map.0.lock() {
            m.push((header_line, src.path.clone()));
        }
        let header = format!("{sep}# scrape_time {mtime:.9}\n");
        self.current = Some(Box::new(Cursor::new(header.into_bytes()).chain(src.reader)));
        Ok(true)
    }
}

impl Read for Chain {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.current.is_none() && !self.next_file()? {
                return Ok(0);
            }
            let Some(cur) = self.current.as_mut() else {
                return Ok(0);
            };
            let n = cur.read(buf)?;
            if n == 0 {
                self.current = None;
                continue;
            }
            self.lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
            self.last = buf[n - 1];
            return Ok(n);
        }
    }
}

/// The scrapes of `dir` as one text stream, and the map back to files and lines.
pub fn open_scrape_dir(dir: &Path, limits: &Limits) -> Result<(Source, LineMap)> {
    let files = scrape_files(dir)?;
    let size: u64 = files
        .iter()
        .filter_map(|(_, p)| fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let map = LineMap::default();
    let chain = Chain {
        files: files.into_iter(),
        current: None,
        limits: *limits,
        map: map.clone(),
        lines: 0,
        last: 0,
    };
    let src = open_stream(Box::new(chain), dir.display().to_string(), size, limits)
        .map_err(|e| map.place(e))?;
    Ok((src, map))
}
