//! Opening an input: magic-byte sniffing and the byte-order mark.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::{Error, Location, Result};

/// An opened text input, positioned after any UTF-8 BOM.
pub struct Source {
    pub reader: File,
    pub path: String,
    pub size_bytes: u64,
    pub had_bom: bool,
}

/// Open `path` for reading text, refusing what is clearly not UTF-8 text.
pub fn open_text(path: &Path) -> Result<Source> {
    let shown = path.display().to_string();
    let io = |e: std::io::Error| Error::Io {
        path: shown.clone(),
        kind: e.kind(),
        message: e.to_string(),
    };
    let mut f = File::open(path).map_err(io)?;
    let meta = f.metadata().map_err(io)?;
    if meta.is_dir() {
        return Err(Error::Io {
            path: shown.clone(),
            kind: std::io::ErrorKind::IsADirectory,
            message: "is a directory".into(),
        });
    }
    let mut head = [0u8; 4];
    let mut got = 0;
    while got < head.len() {
        match f.read(&mut head[got..]).map_err(io)? {
            0 => break,
            n => got += n,
        }
    }
    let head = &head[..got];
    let at = || Location {
        path: Some(shown.clone()),
        line: Some(1),
        byte_offset: Some(0),
        ..Location::default()
    };
    if let Some(what) = binary_kind(head) {
        return Err(Error::UnsupportedEncoding {
            at: at(),
            reason: format!("{what}, not CSV text"),
        });
    }
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Err(Error::UnsupportedEncoding {
            at: at(),
            reason: "UTF-16 text (byte-order mark)".into(),
        });
    }
    let had_bom = head.starts_with(&[0xEF, 0xBB, 0xBF]);
    f.seek(SeekFrom::Start(if had_bom { 3 } else { 0 }))
        .map_err(io)?;
    Ok(Source {
        reader: f,
        path: shown,
        size_bytes: meta.len(),
        had_bom,
    })
}

/// Formats recognised by their first bytes, named so the error can say what the file is.
fn binary_kind(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(&[0x1F, 0x8B]) {
        Some("a gzip-compressed file (decompress it first)")
    } else if head.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
        Some("a zstd-compressed file (decompress it first)")
    } else if head.starts_with(b"PAR1") {
        Some("a Parquet file")
    } else if head.starts_with(b"PK\x03\x04") {
        Some("a zip archive")
    } else {
        None
    }
}
