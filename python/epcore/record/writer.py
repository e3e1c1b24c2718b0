"""Sinks that stream samples to disk in the canonical schema as they arrive.

Columns: ``timestamp_ns`` (int64), ``channel``, then ``power_w`` when the
source has power and ``energy_j`` (cumulative J) when it has a counter; a
channel or sample without that quantity leaves the cell empty (read as
missing, never 0). A column no channel has is left out, so the file's value
column is unambiguous to :func:`epcore.read_power` (RAPL writes energy only).

Crash safety: rows are flushed and ``os.fsync``-ed at least every second, so a
``kill -9`` (or power loss) loses at most about the last second; the CSV reader
drops a cut last line with a warning. Parquet cannot be appended to safely, so
a ``.parquet`` recording streams to ``<out>.journal.csv`` (same rule) and is
converted at a clean close; after a crash :func:`recover` converts the journal.

Metadata (source, fields, GPU names/UUIDs/driver, interval, anchor, host,
versions, sampler stats at close) goes to the Parquet schema metadata under
``b"epcore"`` (JSON), and for CSV to a sidecar ``<out>.meta.json``.

>>> import pathlib, tempfile, epcore
>>> from epcore.record import ChannelInfo, Reading, SourceInfo, open_writer
>>> out = pathlib.Path(tempfile.mkdtemp()) / "run.csv"
>>> info = SourceInfo("demo", (ChannelInfo("gpu0", "p", "e"),))
>>> w = open_writer(out, info, {"note": "doctest"})
>>> for k in range(3):
...     w.write(k * 500_000_000, Reading((100.0,), (50.0 * k,)))
>>> w.close()
>>> print(out.read_text().strip())
timestamp_ns,channel,power_w,energy_j
0,gpu0,100.0,0.0
500000000,gpu0,100.0,50.0
1000000000,gpu0,100.0,100.0
>>> epcore.read_power(out).energy_j
100.0
"""

from __future__ import annotations

import json
import math
import os
import time
from array import array
from pathlib import Path
from typing import Any, Protocol

from ..exceptions import ConfigError
from .source import Reading, SourceInfo

__all__ = ["CsvWriter", "MemorySink", "ParquetWriter", "Tee", "Writer", "columns_for", "journal_path",
           "meta_path", "open_writer", "read_metadata", "recover"]

#: At most this long between flush + fsync of the rows written so far.
SYNC_S = 1.0
PathLike = str | os.PathLike[str]


class Writer(Protocol):
    """A file sink: ``write`` rows as they come, ``update_metadata`` any time, ``close`` once."""

    path: Path

    def write(self, t_ns: int, reading: Reading) -> None: ...

    def update_metadata(self, extra: dict[str, Any]) -> None: ...

    def close(self, extra_metadata: dict[str, Any] | None = None) -> None: ...


def columns_for(info: SourceInfo) -> list[str]:
    """The columns a recording of this source has."""
    cols = ["timestamp_ns", "channel"]
    if info.has_power:
        cols.append("power_w")
    if info.has_energy:
        cols.append("energy_j")
    return cols


def meta_path(out: PathLike) -> Path:
    """The CSV metadata sidecar: ``<out>.meta.json``."""
    return Path(f"{os.fspath(out)}.meta.json")


def journal_path(out: PathLike) -> Path:
    """The journal a Parquet recording streams to: ``<out>.journal.csv``."""
    return Path(f"{os.fspath(out)}.journal.csv")


def _cell(v: float | None) -> str:
    # repr round-trips a float exactly; a non-finite value is a failed read, written as missing.
    return "" if v is None or not math.isfinite(v) else repr(float(v))


def _safe_name(name: str) -> str:
    return name.replace(",", "_").replace("\n", "_").replace("\r", "_").replace('"', "_")


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True, default=str)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class CsvWriter:
    """Stream rows to a CSV file, synced at least every ``sync_s``; metadata in ``meta``'s sidecar."""

    def __init__(self, path: PathLike, info: SourceInfo, metadata: dict[str, Any] | None = None, *,
                 sync_s: float = SYNC_S, meta: PathLike | None = None) -> None:
        self.path = Path(path)
        self.meta = meta_path(path) if meta is None else Path(meta)
        self.columns = columns_for(info)
        self._names = [_safe_name(n) for n in info.channel_names]
        self._power = info.has_power
        self._energy = info.has_energy
        self._sync_ns = int(sync_s * 1e9)
        self.metadata: dict[str, Any] = {"columns": self.columns, **(metadata or {})}
        try:
            self._f = open(self.path, "x", encoding="utf-8", newline="")
        except FileExistsError:
            raise ConfigError(f"{self.path} exists; not overwriting a recording", code="invalid_argument",
                              path=str(self.path), hint="choose another --out, or remove the old file") from None
        self._f.write(",".join(self.columns) + "\n")
        self._sync()
        self.n_rows = 0
        _write_json_atomic(self.meta, self.metadata)

    def _sync(self) -> None:
        self._f.flush()
        os.fsync(self._f.fileno())
        self._last_sync = time.monotonic_ns()

    def write(self, t_ns: int, reading: Reading) -> None:
        lines = []
        for i, name in enumerate(self._names):
            row = [str(int(t_ns)), name]
            if self._power:
                row.append(_cell(reading.power_w[i]))
            if self._energy:
                row.append(_cell(reading.energy_j[i]))
            lines.append(",".join(row))
        self._f.write("\n".join(lines) + "\n")
        self.n_rows += len(lines)
        if time.monotonic_ns() - self._last_sync >= self._sync_ns:
            self._sync()

    def update_metadata(self, extra: dict[str, Any]) -> None:
        self.metadata.update(extra)
        _write_json_atomic(self.meta, self.metadata)

    @property
    def closed(self) -> bool:
        return self._f.closed

    def close(self, extra_metadata: dict[str, Any] | None = None) -> None:
        if self._f.closed:
            return
        self._sync()
        self._f.close()
        self.update_metadata({**(extra_metadata or {}), "complete": True})


class ParquetWriter:
    """Stream rows to ``<out>.journal.csv``; at close, convert it to Parquet ``out`` and remove it."""

    def __init__(self, path: PathLike, info: SourceInfo, metadata: dict[str, Any] | None = None, *,
                 sync_s: float = SYNC_S) -> None:
        _pyarrow()  # fail at start, not after an hour of recording
        self.path = Path(path)
        if self.path.exists():
            raise ConfigError(f"{self.path} exists; not overwriting a recording", code="invalid_argument",
                              path=str(self.path), hint="choose another --out, or remove the old file")
        jp = journal_path(path)
        self.journal = CsvWriter(jp, info, metadata, sync_s=sync_s, meta=meta_path(jp))

    @property
    def metadata(self) -> dict[str, Any]:
        return self.journal.metadata

    def write(self, t_ns: int, reading: Reading) -> None:
        self.journal.write(t_ns, reading)

    def update_metadata(self, extra: dict[str, Any]) -> None:
        self.journal.update_metadata(extra)

    def close(self, extra_metadata: dict[str, Any] | None = None) -> None:
        if self.journal.closed:
            return
        self.journal.close(extra_metadata)
        _journal_to_parquet(self.journal.path, self.path, self.journal.metadata)


def open_writer(out: PathLike, info: SourceInfo, metadata: dict[str, Any] | None = None) -> Writer:
    """A :class:`CsvWriter` for ``*.csv``, a :class:`ParquetWriter` for ``*.parquet`` / ``*.pq``."""
    suffix = Path(out).suffix.lower()
    if suffix == ".csv":
        return CsvWriter(out, info, metadata)
    if suffix in (".parquet", ".pq"):
        return ParquetWriter(out, info, metadata)
    raise ConfigError(f"{out}: cannot tell the output format from {suffix or 'no suffix'!r}",
                      code="invalid_argument", value=str(out), path=str(out),
                      hint="name the output run.parquet or run.csv")


def _pyarrow() -> Any:
    try:
        import pyarrow
    except ImportError:
        raise ConfigError("writing Parquet needs pyarrow", code="invalid_argument",
                          hint="pip install 'epcore[parquet]', or record to a .csv") from None
    return pyarrow


def _journal_to_parquet(journal: Path, out: Path, metadata: dict[str, Any]) -> int:
    """Convert a journal (cut last line dropped) to Parquet, batch by batch; returns the rows written."""
    pa = _pyarrow()
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    _drop_cut_line(journal)
    types = {"timestamp_ns": pa.int64(), "channel": pa.string(), "power_w": pa.float64(),
             "energy_j": pa.float64()}
    with open(journal, "rb") as f:
        names = f.readline().decode("utf-8").strip().split(",")
    schema = pa.schema([(n, types[n]) for n in names]).with_metadata(
        {b"epcore": json.dumps(metadata, sort_keys=True, default=str).encode()})
    tmp = out.with_name(out.name + ".tmp")
    n = 0
    reader = pacsv.open_csv(journal, read_options=pacsv.ReadOptions(block_size=1 << 22),
                            convert_options=pacsv.ConvertOptions(column_types=types))
    with pq.ParquetWriter(tmp, schema) as pw:
        for batch in reader:
            pw.write_table(pa.Table.from_batches([batch]).cast(schema))
            n += batch.num_rows
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, out)
    journal.unlink()
    meta_path(journal).unlink(missing_ok=True)
    return n


def _drop_cut_line(path: Path) -> None:
    """Truncate a journal after its last complete line (a crash may cut the final row)."""
    size = path.stat().st_size
    with open(path, "rb+") as f:
        back = min(size, 1 << 16)
        f.seek(size - back)
        tail = f.read(back)
        if tail.endswith(b"\n"):
            return
        cut = tail.rfind(b"\n")
        if cut < 0:
            raise ConfigError(f"{path}: no complete line in the journal's tail", code="corrupt_input",
                              path=str(path), hint="the journal is damaged; read it with a text editor")
        f.truncate(size - back + cut + 1)


def recover(out: PathLike) -> Path:
    """Finish a recording that did not close cleanly; returns the readable file.

    A Parquet recording's journal ``<out>.journal.csv`` is converted to
    ``out`` (metadata gets ``"recovered": true``); a CSV recording is readable
    as it is (its sidecar is marked recovered).
    """
    out = Path(out)
    jp = journal_path(out)
    if out.suffix.lower() == ".csv":
        if not out.exists():
            raise ConfigError(f"{out}: no such recording", code="invalid_argument", path=str(out),
                              hint="give the --out path of the interrupted recording")
        meta = read_metadata(out)
        if not meta.get("complete"):
            _write_json_atomic(meta_path(out), {**meta, "recovered": True})
        return out
    if not jp.exists():
        if out.exists():
            return out
        raise ConfigError(f"{out}: no journal {jp.name} to recover", code="invalid_argument", path=str(out),
                          hint="give the --out path of the interrupted recording (the .parquet name)")
    if out.exists():
        raise ConfigError(f"{out} exists next to a journal; not overwriting it", code="invalid_argument",
                          path=str(out), hint=f"move {out} away to recover {jp}")
    meta = _load_json(meta_path(jp))
    meta["recovered"] = True
    _journal_to_parquet(jp, out, meta)
    return out


def _load_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return data if isinstance(data, dict) else {}


def read_metadata(path: PathLike) -> dict[str, Any]:
    """A recording's metadata: from a Parquet file's ``b"epcore"`` key, or a CSV's sidecar."""
    p = Path(path)
    with open(p, "rb") as f:
        parquet = f.read(4) == b"PAR1"
    if parquet:
        import pyarrow.parquet as pq

        raw = (pq.read_schema(p).metadata or {}).get(b"epcore")
        return {} if raw is None else dict(json.loads(raw))
    return _load_json(meta_path(p))


class MemorySink:
    """Keep every sample in memory (compact arrays), for :class:`Recorder`'s traces and report.

    Missing values are NaN here and counted per channel (``n_missing_power``
    / ``n_missing_energy``); the traces built from them drop them.
    """

    def __init__(self, info: SourceInfo) -> None:
        self.info = info
        self.t_ns = array("q")
        n = len(info.channels)
        self.power_w = [array("d") for _ in range(n)]
        self.energy_j = [array("d") for _ in range(n)]
        self.n_missing_power = [0] * n
        self.n_missing_energy = [0] * n

    def write(self, t_ns: int, reading: Reading) -> None:
        self.t_ns.append(int(t_ns))
        for i, ch in enumerate(self.info.channels):
            p, e = reading.power_w[i], reading.energy_j[i]
            if ch.power_field is not None:
                self.power_w[i].append(math.nan if p is None else float(p))
                self.n_missing_power[i] += p is None or not math.isfinite(p)
            if ch.energy_field is not None:
                self.energy_j[i].append(math.nan if e is None else float(e))
                self.n_missing_energy[i] += e is None or not math.isfinite(e)

    def __len__(self) -> int:
        return len(self.t_ns)


class Tee:
    """Hand each sample to several sinks, in order."""

    def __init__(self, *sinks: Any) -> None:
        self.sinks = sinks

    def write(self, t_ns: int, reading: Reading) -> None:
        for s in self.sinks:
            s.write(t_ns, reading)


