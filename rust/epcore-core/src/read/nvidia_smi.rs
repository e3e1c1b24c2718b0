//! Reader under construction (issue 3); replaced by its real module.

use crate::error::{Error, Location, Result};
use crate::read::source::Source;
use crate::read::{PowerReader, ReadConfig};

pub fn sniff(_head: &[u8]) -> bool {
    false
}

pub fn open(src: Source, _cfg: &ReadConfig) -> Result<Box<dyn PowerReader>> {
    Err(Error::UnrecognizedFormat {
        at: Location {
            path: Some(src.path),
            ..Location::default()
        },
        reason: "this format's reader is not built yet".into(),
        hint: String::new(),
    })
}
