//! The one place where core errors become Python exceptions.
//!
//! Each core error family maps to one class in `epcore.exceptions`, and every
//! structured field (code, path, line, column, value, hint…) becomes an
//! attribute, so Python callers never parse messages. An I/O failure stays a
//! builtin `OSError` subclass with `errno` semantics.

use epcore_core::error::{Error, Family};
use pyo3::exceptions::{
    PyFileNotFoundError, PyIsADirectoryError, PyKeyboardInterrupt, PyOSError, PyPermissionError,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Convert a core error into the matching `epcore.exceptions` instance.
pub fn to_pyerr(py: Python<'_>, e: Error) -> PyErr {
    match build(py, &e) {
        Ok(err) => err,
        // If the exceptions module itself cannot be loaded, still raise something typed.
        Err(import_failure) => import_failure,
    }
}

fn build(py: Python<'_>, e: &Error) -> PyResult<PyErr> {
    if let Error::Io {
        path,
        kind,
        message,
    } = e
    {
        let msg = format!("{path}: {message}");
        return Ok(match kind {
            std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(msg),
            std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(msg),
            std::io::ErrorKind::IsADirectory => PyIsADirectoryError::new_err(msg),
            _ => PyOSError::new_err(msg),
        });
    }
    if let Error::Interrupted = e {
        return Ok(PyKeyboardInterrupt::new_err("interrupted"));
    }
    let class = match e.family() {
        Family::Parse => "ParseError",
        Family::Schema => "SchemaError",
        Family::Trace => "TraceError",
        Family::Unit => "UnitError",
        Family::Config | Family::Io => "ConfigError",
    };
    let kw = PyDict::new(py);
    kw.set_item("code", e.code())?;
    kw.set_item("reason", e.reason())?;
    kw.set_item("hint", e.hint())?;
    kw.set_item("value", e.value())?;
    if let Some(at) = e.location() {
        kw.set_item("path", at.path.clone())?;
        kw.set_item("line", at.line)?;
        kw.set_item("column", at.column.clone())?;
        kw.set_item("byte_offset", at.byte_offset)?;
        kw.set_item("index", at.index)?;
    }
    let cls = py.import("epcore.exceptions")?.getattr(class)?;
    let obj = cls.call((e.to_string(),), Some(&kw))?;
    Ok(PyErr::from_value(obj))
}

/// `?`-friendly conversion inside binding functions.
pub trait IntoPy<T> {
    fn py_err(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPy<T> for Result<T, Error> {
    fn py_err(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_pyerr(py, e))
    }
}
