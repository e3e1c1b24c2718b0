//! File readers: the GIL is released while parsing, and re-taken between
//! chunks only to poll Ctrl-C and report progress.

use std::path::PathBuf;

use epcore_core::error::Error;
use epcore_core::read::{csv, FileIntegration, ReadOptions};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::to_pyerr;
use crate::options::PyOptions;
use crate::partial::PyPartial;

type Channels = Vec<(String, PyPartial)>;

/// Integrate a canonical power CSV (`timestamp_ns|time_s, power_w|power_mw|energy_j|energy_mj[, channel]`).
///
/// `progress(bytes_read)` is called between chunks, if given.
#[pyfunction]
#[pyo3(signature = (path, options, chunk_bytes = 4194304, max_record_bytes = 1048576, progress = None))]
pub fn integrate_csv<'py>(
    py: Python<'py>,
    path: PathBuf,
    options: &PyOptions,
    chunk_bytes: usize,
    max_record_bytes: usize,
    progress: Option<Py<PyAny>>,
) -> PyResult<(Channels, Bound<'py, PyDict>)> {
    let opts = options.inner;
    let read = ReadOptions {
        chunk_bytes,
        max_record_bytes,
    };
    let mut pending: Option<PyErr> = None;
    let result = py.detach(|| {
        let mut on_chunk = |done: u64| -> Result<(), Error> {
            let polled = Python::attach(|py| -> PyResult<()> {
                py.check_signals()?;
                if let Some(cb) = &progress {
                    cb.call1(py, (done,))?;
                }
                Ok(())
            });
            polled.map_err(|e| {
                pending = Some(e);
                Error::Interrupted
            })
        };
        csv::integrate_csv(&path, &opts, &read, &mut on_chunk)
    });
    let fi: FileIntegration = match result {
        Ok(fi) => fi,
        Err(Error::Interrupted) if pending.is_some() => {
            return Err(pending
                .take()
                .unwrap_or_else(|| to_pyerr(py, Error::Interrupted)))
        }
        Err(e) => return Err(to_pyerr(py, e)),
    };
    let info = PyDict::new(py);
    let i = &fi.info;
    info.set_item("path", &i.path)?;
    info.set_item("size_bytes", i.size_bytes)?;
    info.set_item("n_lines", i.n_lines)?;
    info.set_item("had_bom", i.had_bom)?;
    info.set_item("unterminated_final_line", i.unterminated_final_line)?;
    info.set_item("truncated_tail", i.truncated_tail)?;
    info.set_item("time_column", &i.time_column)?;
    info.set_item("value_column", &i.value_column)?;
    info.set_item("warnings", i.warnings.clone())?;
    let channels = fi
        .channels
        .into_iter()
        .map(|(n, p)| (n, PyPartial { inner: p }))
        .collect();
    Ok((channels, info))
}
