"""Parquet files and any Arrow source (pyarrow, polars, pandas, duckdb), read by record batch.

Decoding is pyarrow's (hardened, and it releases the GIL); each batch's
columns go to the same streaming integrator the text readers use, so a
Parquet file and the CSV of the same rows give the same energy, bit for bit.

Columns are found by name: time ``ts_ns`` / ``timestamp_ns`` / ``t_ns``
(int64 ns), any Arrow ``timestamp`` column, or ``time_s`` (float seconds);
value ``power_w`` / ``power_mw`` / ``energy_j`` / ``energy_mj``; channel
``channel`` / ``device`` / ``gpu_uuid`` / ``gpu`` when present. Name them with
``time=``, ``value=`` and ``channel=`` otherwise (a ``value`` not in that list
is read as watts).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core
from .exceptions import ConfigError, EpcoreError, ParseError, SchemaError

__all__ = ["is_arrow_source", "read_arrow"]

TIME_COLUMNS = ("ts_ns", "timestamp_ns", "t_ns")
VALUE_COLUMNS: dict[str, tuple[str, float]] = {
    "power_w": ("power", 1.0),
    "power_mw": ("power", 1e-3),
    "energy_j": ("counter", 1.0),
    "energy_mj": ("counter", 1e-3),
}
CHANNEL_COLUMNS = ("channel", "device", "gpu_uuid", "gpu")
BATCH_ROWS = 1 << 18
#: Row groups larger than this are read in batches rather than whole.
BIG_ROW_GROUP = 1 << 22

Samples = list[tuple[str, npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.uint64]]]


def is_arrow_source(obj: Any) -> bool:
    """True for objects that speak the Arrow C stream interface (or are pyarrow tables/readers)."""
    return hasattr(obj, "__arrow_c_stream__") or type(obj).__module__.startswith("pyarrow")


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
    except ImportError:
        raise ConfigError(
            "reading Parquet or Arrow data needs pyarrow: pip install 'epcore[parquet]'",
            code="invalid_argument", hint="pip install pyarrow",
        ) from None
    return pa


def _batches(source: Any, path: str) -> tuple[Any, Callable[[list[str]], Iterator[Any]]]:
    """The schema of a Parquet path or an Arrow-speaking object, and a function
    giving its record batches restricted to the columns named."""
    pa = _pyarrow()
    if isinstance(source, (str, os.PathLike)):
        import pyarrow.parquet as pq

        try:
            # No pre-buffering: it reads ahead whole row groups and holds them.
            f = pq.ParquetFile(os.fspath(source), pre_buffer=False)
        except (pa.ArrowInvalid, pa.ArrowException, OSError) as e:
            if isinstance(e, (FileNotFoundError, PermissionError, IsADirectoryError)):
                raise
            raise ParseError(
                f"{path}: not a readable Parquet file: {e}", code="corrupt_input", path=path,
                reason=str(e), hint="the file is damaged or was cut short; re-copy or re-export it",
            ) from None

        def row_groups(columns: list[str]) -> Iterator[Any]:
            # A row group at a time (decoded with pyarrow's threads), or in batches when it is
            # too big to hold: memory stays at about one row group of the columns read.
            for i in range(f.num_row_groups):
                if f.metadata.row_group(i).num_rows > BIG_ROW_GROUP:
                    yield from f.iter_batches(batch_size=BATCH_ROWS, row_groups=[i], columns=columns)
                else:
                    yield from f.read_row_group(i, columns=columns).to_batches()

        return f.schema_arrow, row_groups
    if isinstance(source, pa.Table):
        return source.schema, lambda cols: iter(source.select(cols).to_batches(max_chunksize=BATCH_ROWS))
    if isinstance(source, pa.RecordBatchReader):
        return source.schema, lambda cols: (b.select(cols) for b in source)
    if hasattr(source, "__arrow_c_stream__"):
        reader = pa.RecordBatchReader.from_stream(source)
        return reader.schema, lambda cols: (b.select(cols) for b in reader)
    if type(source).__name__ == "DataFrame" and type(source).__module__.startswith("pandas"):
        t = pa.Table.from_pandas(source, preserve_index=False)
        return t.schema, lambda cols: iter(t.select(cols).to_batches(max_chunksize=BATCH_ROWS))
    raise ConfigError(
        f"cannot read {type(source).__name__} as Arrow data", code="invalid_argument",
        hint="pass a Parquet path, a pyarrow Table/RecordBatchReader, or an object with __arrow_c_stream__",
    )


def _pick(names: list[str], given: str | None, defaults: tuple[str, ...], what: str, path: str) -> str | None:
    if given is not None:
        if given not in names:
            raise SchemaError(
                f"{path}: no {what} column {given!r} (columns: {', '.join(names)})", code="schema",
                path=path, column=given, reason=f"expected a column {given!r}",
                hint=f"name the {what} column with {what}=",
            )
        return given
    return next((n for n in defaults if n in names), None)


def read_arrow(
    source: Any,
    options: _core.Options,
    *,
    time: str | None = None,
    value: str | None = None,
    channel: str | None = None,
    prefer: str | None = None,
    collect: bool = False,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[tuple[str, _core.Partial]], dict[str, Any], Samples | None]:
    """Integrate Arrow data batch by batch; returns ``(channels, info, samples)``
    shaped like ``_core.integrate_path``."""
    pa = _pyarrow()
    path = os.fspath(source) if isinstance(source, (str, os.PathLike)) else f"<{type(source).__name__}>"
    schema, open_batches = _batches(source, path)
    names = list(schema.names)
    tcol = _pick(names, time, TIME_COLUMNS, "time", path)
    if tcol is None:
        tcol = next((n for n in names if pa.types.is_timestamp(schema.field(n).type)), None)
    if tcol is None and "time_s" in names:
        tcol = "time_s"
    # prefer="energy" reads a counter column where a file has both (a recording keeps power and counter).
    kind = {"power": "power", "energy": "counter", None: None}.get(prefer, "?")
    if kind == "?":
        raise ConfigError(f"prefer={prefer!r}: expected 'power' or 'energy'", code="invalid_argument",
                          value=str(prefer))
    defaults = tuple(n for n, (k, _) in VALUE_COLUMNS.items() if kind is None or k == kind)
    vcol = _pick(names, value, defaults, "value", path)
    if tcol is None or vcol is None:
        raise SchemaError(
            f"{path}: expected a time column ({', '.join(TIME_COLUMNS)}, a timestamp, or time_s) and a value "
            f"column ({', '.join(VALUE_COLUMNS)}); found columns [{', '.join(names)}]",
            code="schema", path=path, reason="missing time or value column",
            hint="name them with time= and value=",
        )
    ccol = _pick(names, channel, CHANNEL_COLUMNS, "channel", path)
    batches = open_batches([c for c in dict.fromkeys([tcol, vcol, ccol]) if c is not None])
    quantity, scale = VALUE_COLUMNS.get(vcol, ("power", 1.0))
    ttype = schema.field(tcol).type
    naive = pa.types.is_timestamp(ttype) and ttype.tz is None
    opts = options
    counter_unit_j = None
    if quantity == "counter":
        opts, counter_unit_j, scale = options.for_counter(scale), scale, 1.0
    sink = _core.StreamIntegrator(opts)
    kept: dict[str, list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.uint64]]]] = {}
    row = 1
    for batch in batches:
        t_ns = _time_ns(batch.column(tcol), tcol, path, row)
        v = batch.column(vcol).to_numpy(zero_copy_only=False)
        v = np.ascontiguousarray(np.asarray(v, dtype=np.float64) * scale) if scale != 1.0 else np.ascontiguousarray(
            v, dtype=np.float64)
        groups: list[tuple[str, npt.NDArray[np.intp] | None]]
        if ccol is None:
            groups = [("0", None)]
        else:
            # Dictionary-encode rather than build Python strings per row.
            col = batch.column(ccol)
            enc = col if pa.types.is_dictionary(col.type) else col.dictionary_encode()
            names_here = [str(x) for x in enc.dictionary.to_pylist()]
            if enc.null_count:
                raise SchemaError(
                    f"{path}: column {ccol}: a row has no channel", code="schema", path=path, column=ccol,
                    reason="missing channel", hint="every row needs a device in the channel column",
                )
            raw_codes = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.intp)
            uniq_codes, codes = np.unique(raw_codes, return_inverse=True)
            uniq = np.asarray([names_here[k] for k in uniq_codes], dtype=object)
            order = np.argsort(codes, kind="stable")
            bounds = np.searchsorted(codes[order], np.arange(len(uniq) + 1))
            groups = [(str(uniq[k]), order[bounds[k]:bounds[k + 1]]) for k in _first_seen(codes, len(uniq))]
        for name, rows in groups:
            ct = t_ns if rows is None else np.ascontiguousarray(t_ns[rows])
            cv = v if rows is None else np.ascontiguousarray(v[rows])
            first = row if rows is None else row + int(rows[0])
            try:
                sink.push(name, ct, cv, first)
            except EpcoreError as e:
                raise _at_row(e, path, rows, row, tcol, vcol) from None
            if collect:
                lines = (np.arange(len(ct), dtype=np.uint64) + np.uint64(row)) if rows is None else (
                    rows.astype(np.uint64) + np.uint64(row))
                kept.setdefault(name, []).append((ct, cv, lines))
        row += batch.num_rows
        if progress is not None:
            progress(row - 1)
    try:
        channels = sink.finish()
    except EpcoreError as e:
        raise _at_row(e, path, None, 1, tcol, vcol) from None
    info: dict[str, Any] = {
        "path": path, "format": "parquet" if isinstance(source, (str, os.PathLike)) else "arrow",
        "n_lines": row - 1, "had_bom": False, "compression": None, "unterminated_final_line": False,
        "truncated_tail": False, "time_column": tcol, "value_column": vcol,
        "power_semantics": "unknown", "naive_time": naive, "tz": None, "n_unit_normalized": 0,
        "skipped": [], "warnings": [], "quantity": quantity,
        "counter_unit_j": counter_unit_j, "counter_modulus": None,
    }
    samples: Samples | None = None
    if collect:
        samples = [
            (n, np.concatenate([a for a, _, _ in parts]), np.concatenate([b for _, b, _ in parts]),
             np.concatenate([c for _, _, c in parts]))
            for n, parts in kept.items()
        ]
    return channels, info, samples


def _first_seen(codes: npt.NDArray[np.intp], n: int) -> list[int]:
    """Channel codes in order of first appearance, so ids match the text readers'."""
    _, first = np.unique(codes, return_index=True)
    return [int(k) for k in np.argsort(first, kind="stable")][:n]


def _time_ns(col: Any, name: str, path: str, row0: int) -> npt.NDArray[np.int64]:
    pa = _pyarrow()
    if col.null_count:
        bad = int(np.flatnonzero(np.asarray(col.is_null()))[0])
        raise ParseError(
            f"{path}: row {row0 + bad}: column {name}: missing timestamp", code="bad_value", path=path,
            line=row0 + bad, column=name, value="null", reason="missing timestamp",
            hint="every sample needs a time",
        )
    if pa.types.is_timestamp(col.type):
        arr = col.cast(pa.timestamp("ns", col.type.tz)).to_numpy(zero_copy_only=False)
        return np.ascontiguousarray(arr.view(np.int64) if arr.dtype.kind == "M" else arr.astype(np.int64))
    if pa.types.is_integer(col.type):
        return np.ascontiguousarray(col.to_numpy(zero_copy_only=False).astype(np.int64))
    if pa.types.is_floating(col.type):
        return np.asarray(_core.seconds_to_ns(np.ascontiguousarray(col.to_numpy(), dtype=np.float64)))
    raise SchemaError(
        f"{path}: column {name}: type {col.type} is not a time", code="schema", path=path, column=name,
        reason=f"type {col.type}", hint="time must be int64 ns, an Arrow timestamp, or float seconds",
    )


def _at_row(e: EpcoreError, path: str, rows: npt.NDArray[np.intp] | None, row0: int, tcol: str,
            vcol: str) -> EpcoreError:
    """Name the source row (1-based, like a line) and column of an integrator error."""
    line = e.line
    if line is not None and rows is not None:
        # The core numbered rows from first_row; map back through the channel's rows.
        k = line - (row0 + int(rows[0]))
        if 0 <= k < len(rows):
            line = row0 + int(rows[k])
    column = tcol if e.code in ("unsorted_timestamps", "conflicting_duplicate") else vcol
    where = f"{path}:{line}: column {column}: " if line is not None else f"{path}: "
    return type(e)(
        where + (e.reason or str(e)) + (f"; hint: {e.hint}" if e.hint else ""),
        code=e.code, reason=e.reason, hint=e.hint, value=e.value, path=path, line=line, column=column,
        byte_offset=None, index=None,
    )
