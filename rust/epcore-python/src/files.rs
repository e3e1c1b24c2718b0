//! File readers: the GIL is released while parsing, and re-taken between
//! chunks only to poll Ctrl-C and report progress.

use std::path::PathBuf;

use epcore_core::error::Error;
use epcore_core::read::Tee;
use epcore_core::read::{
    self, Collector, FileInfo, FileIntegration, Format, Limits, Prefer, ReadConfig, ReadOptions,
};
use epcore_core::stream::StreamIntegrator;
use epcore_core::window_stream::WindowStream;
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::{to_pyerr, IntoPy};
use crate::options::PyOptions;
use crate::partial::PyPartial;

type Channels = Vec<(String, PyPartial)>;
/// Partials per channel, the file's report, the samples (if kept) and the window energies (if asked).
type Integrated<'py> = (
    Channels,
    Bound<'py, PyDict>,
    Option<Samples<'py>>,
    Option<Windows<'py>>,
);
type Windows<'py> = Vec<(
    String,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<u64>>,
)>;
type Samples<'py> = Vec<(
    String,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<u64>>,
)>;

/// Run `work` without the GIL, polling Ctrl-C and calling `progress(bytes)` between chunks.
pub fn detached<T: Send>(
    py: Python<'_>,
    progress: Option<&Py<PyAny>>,
    work: impl FnOnce(&mut dyn FnMut(u64) -> Result<(), Error>) -> Result<T, Error> + Send,
) -> PyResult<T> {
    let mut pending: Option<PyErr> = None;
    let result = py.detach(|| {
        let mut on_chunk = |done: u64| -> Result<(), Error> {
            let polled = Python::attach(|py| -> PyResult<()> {
                py.check_signals()?;
                if let Some(cb) = progress {
                    cb.call1(py, (done,))?;
                }
                Ok(())
            });
            polled.map_err(|e| {
                pending = Some(e);
                Error::Interrupted
            })
        };
        // No panic may cross into Python (PanicException escapes `except Exception`):
        // a reader bug becomes a typed error instead.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&mut on_chunk)))
            .unwrap_or_else(|payload| {
                let reason = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a reader panicked".into());
                Err(Error::Internal { reason })
            })
    });
    match result {
        Ok(v) => Ok(v),
        Err(Error::Interrupted) if pending.is_some() => Err(pending
            .take()
            .unwrap_or_else(|| to_pyerr(py, Error::Interrupted))),
        Err(e) => Err(to_pyerr(py, e)),
    }
}

/// The decompression limits, from the keywords every file reader takes.
pub fn limits(max_decompressed_bytes: Option<u64>, max_ratio: f64) -> Limits {
    Limits {
        max_decompressed_bytes,
        max_ratio,
    }
}

/// The first decoded bytes of a file, for the sniffers: opening may
/// decompress, so it runs without the GIL.
pub fn head(
    py: Python<'_>,
    path: &std::path::Path,
    max_decompressed_bytes: Option<u64>,
    max_ratio: f64,
) -> PyResult<Vec<u8>> {
    let limits = limits(max_decompressed_bytes, max_ratio);
    let src = py
        .detach(|| read::source::open_text(path, &limits))
        .py_err(py)?;
    Ok(src.head)
}

/// The report fields every file reader shares, first in each report dict.
pub fn file_info_dict<'py>(
    py: Python<'py>,
    i: &FileInfo,
    format: Format,
) -> PyResult<Bound<'py, PyDict>> {
    let info = PyDict::new(py);
    info.set_item("path", &i.path)?;
    info.set_item("format", format.name())?;
    info.set_item("size_bytes", i.size_bytes)?;
    info.set_item("n_lines", i.n_lines)?;
    info.set_item("had_bom", i.had_bom)?;
    info.set_item("compression", i.compression.clone())?;
    info.set_item("unterminated_final_line", i.unterminated_final_line)?;
    info.set_item("truncated_tail", i.truncated_tail)?;
    Ok(info)
}

/// The name of the format a file's content shows (after decompression), or None.
#[pyfunction]
#[pyo3(signature = (path, max_decompressed_bytes = None, max_ratio = 250.0))]
pub fn sniff_format(
    py: Python<'_>,
    path: PathBuf,
    max_decompressed_bytes: Option<u64>,
    max_ratio: f64,
) -> PyResult<Option<&'static str>> {
    let head = head(py, &path, max_decompressed_bytes, max_ratio)?;
    Ok(read::format::sniff(&head).map(|f| f.name()))
}

/// Integrate a power or energy file of any supported format in constant memory.
///
/// `format=None` sniffs the content. With `collect=True` every sample is also
/// returned, per channel, as `(name, t_ns, values, line)` arrays.
#[pyfunction]
#[pyo3(signature = (
    path, options, format = None, *, tz = None, value = None, channel = None, prefer = None, columns = None,
    chunk_bytes = 1048576, max_record_bytes = 1048576, max_decompressed_bytes = None,
    max_ratio = 250.0, collect = false, windows = None, progress = None
))]
#[allow(clippy::too_many_arguments)]
pub fn integrate_path<'py>(
    py: Python<'py>,
    path: PathBuf,
    options: &PyOptions,
    format: Option<&str>,
    tz: Option<String>,
    value: Option<String>,
    channel: Option<String>,
    prefer: Option<&str>,
    columns: Option<String>,
    chunk_bytes: usize,
    max_record_bytes: usize,
    max_decompressed_bytes: Option<u64>,
    max_ratio: f64,
    collect: bool,
    windows: Option<PyReadonlyArray2<'py, i64>>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Integrated<'py>> {
    let windows: Option<Vec<(i64, i64)>> = match &windows {
        Some(w) => Some(window_pairs(py, w)?),
        None => None,
    };
    let format = format.map(Format::parse).transpose().py_err(py)?;
    let cfg = ReadConfig {
        read: ReadOptions {
            chunk_bytes,
            max_record_bytes,
        },
        limits: limits(max_decompressed_bytes, max_ratio),
        tz,
        value,
        channel,
        prefer: prefer.map(Prefer::parse).transpose().py_err(py)?,
        columns,
    };
    let opts = options.inner;
    let (fi, kept, per_window) = detached(py, progress.as_ref(), |on_chunk| {
        let reader = read::open_reader(&path, format, &cfg)?;
        let mut kept = collect.then(Collector::default);
        let mut ws = match &windows {
            Some(w) => Some(WindowStream::new(reader.layout().options(&opts), w)?),
            None => None,
        };
        let fi = match (kept.as_mut(), ws.as_mut()) {
            (Some(c), Some(w)) => {
                read::integrate_reader(reader, &opts, Some(&mut Tee(c, w)), on_chunk)?
            }
            (Some(c), None) => read::integrate_reader(reader, &opts, Some(c), on_chunk)?,
            (None, Some(w)) => read::integrate_reader(reader, &opts, Some(w), on_chunk)?,
            (None, None) => read::integrate_reader(reader, &opts, None, on_chunk)?,
        };
        let per_window = ws.map(WindowStream::finish).transpose()?;
        Ok((fi, kept, per_window))
    })?;
    let per_window = per_window.map(|chans| {
        chans
            .into_iter()
            .map(|(name, w)| {
                (
                    name,
                    w.energy_j.into_pyarray(py),
                    w.covered_ns.into_pyarray(py),
                    w.n_gaps.into_pyarray(py),
                )
            })
            .collect()
    });
    let info = info_dict(py, &fi)?;
    let samples = kept.map(|c| {
        c.channels
            .into_iter()
            .map(|s| {
                (
                    s.name,
                    s.t_ns.into_pyarray(py),
                    s.value.into_pyarray(py),
                    s.line.into_pyarray(py),
                )
            })
            .collect()
    });
    let channels = fi
        .channels
        .into_iter()
        .map(|(n, p)| (n, PyPartial { inner: p }))
        .collect();
    Ok((channels, info, samples, per_window))
}

/// `(n, 2)` int64 windows as pairs.
fn window_pairs(py: Python<'_>, w: &PyReadonlyArray2<'_, i64>) -> PyResult<Vec<(i64, i64)>> {
    let a = w.as_array();
    if a.ncols() != 2 {
        return Err(to_pyerr(
            py,
            Error::LengthMismatch {
                what: "windows (n, 2)".into(),
                expected: 2,
                found: a.ncols(),
            },
        ));
    }
    Ok(a.rows().into_iter().map(|r| (r[0], r[1])).collect())
}

fn info_dict<'py>(py: Python<'py>, fi: &FileIntegration) -> PyResult<Bound<'py, PyDict>> {
    let (i, l) = (&fi.info, &fi.layout);
    let info = file_info_dict(py, i, l.format)?;
    info.set_item("time_column", &l.time_column)?;
    info.set_item("value_column", &l.value_column)?;
    info.set_item("power_semantics", l.power_semantics)?;
    match l.quantity {
        read::Quantity::Power => info.set_item("quantity", "power")?,
        read::Quantity::Counter { unit_j, modulus } => {
            info.set_item("quantity", "counter")?;
            info.set_item("counter_unit_j", unit_j)?;
            info.set_item("counter_modulus", modulus)?;
        }
    }
    info.set_item("naive_time", l.naive_time)?;
    info.set_item("tz", l.tz.clone())?;
    info.set_item("n_unit_normalized", i.n_unit_normalized)?;
    info.set_item("skipped", i.skipped.clone())?;
    info.set_item("warnings", i.warnings.clone())?;
    Ok(info)
}

/// Rows pushed from Python (record batches of Parquet or any Arrow source),
/// integrated exactly as a file reader's rows are.
#[pyclass(name = "StreamIntegrator", module = "epcore._core")]
pub struct PyStreamIntegrator {
    inner: Option<StreamIntegrator>,
}

#[pymethods]
impl PyStreamIntegrator {
    #[new]
    fn new(py: Python<'_>, options: &PyOptions) -> PyResult<Self> {
        let s = StreamIntegrator::new(options.inner).py_err(py)?;
        Ok(PyStreamIntegrator { inner: Some(s) })
    }

    /// Feed rows of channel `name`; `first_row` is the 1-based row number of
    /// `t_ns[0]` in the source, so errors name the row.
    fn push(
        &mut self,
        py: Python<'_>,
        name: &str,
        t_ns: PyReadonlyArray1<'_, i64>,
        values: PyReadonlyArray1<'_, f64>,
        first_row: u64,
    ) -> PyResult<()> {
        let (t, v) = (t_ns.as_slice()?, values.as_slice()?);
        let sink = self.inner.as_mut().ok_or_else(|| finished(py))?;
        let id = sink.channel_id(name.as_bytes());
        py.detach(|| {
            if t.len() != v.len() {
                return Err(Error::LengthMismatch {
                    what: "timestamps and values".into(),
                    expected: t.len(),
                    found: v.len(),
                });
            }
            for i in 0..t.len() {
                sink.push(id, t[i], v[i], first_row + i as u64)?;
            }
            Ok(())
        })
        .py_err(py)
    }

    /// The partial of every channel, in order of first appearance; the integrator is spent.
    fn finish(&mut self, py: Python<'_>) -> PyResult<Channels> {
        let sink = self.inner.take().ok_or_else(|| finished(py))?;
        let out = py.detach(|| sink.finish()).py_err(py)?;
        Ok(out
            .into_iter()
            .map(|(n, p)| (n, PyPartial { inner: p }))
            .collect())
    }
}

fn finished(py: Python<'_>) -> PyErr {
    to_pyerr(
        py,
        Error::InvalidArgument {
            name: "StreamIntegrator".into(),
            value: "finished".into(),
            reason: "finish() was already called".into(),
        },
    )
}
