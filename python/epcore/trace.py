"""Power and energy traces read from files of any supported format.

:func:`read_power` reads a file (format sniffed from its content, or named)
into a :class:`PowerTrace`: the samples of every channel in canonical form
(int64 ns timestamps, W or cumulative counter units) and their integral with
its quality report. :func:`epcore.integrate_file` gives the same integral
without keeping the samples, in constant memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core
from ._arrays import check_len, timestamps_ns, values_f64, windows_ns
from .arrow_source import is_arrow_source, read_arrow
from .exceptions import ConfigError, TraceError
from .integration import COUNTER_UNITS_J, _with_windows, options
from .results import ChannelEnergy, IntegrationResult

__all__ = ["ChannelSamples", "PowerTrace", "read_power", "FORMATS"]

#: Names accepted by ``format=``.
FORMATS = (
    "csv", "nvidia-smi", "nvidia-smi-dmon", "zeus", "prometheus", "prometheus-json", "rapl", "codecarbon",
    "parquet",
)

Source = str | os.PathLike[str]


@dataclass(frozen=True)
class ChannelSamples:
    """One channel's samples as read: ``values`` are W, or cumulative counter
    units (``counter_unit_j`` J each) for an energy counter. Missing readings
    are NaN; ``line`` is each sample's line (or row) in the source."""

    name: str
    t_ns: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    line: npt.NDArray[np.uint64]

    def __len__(self) -> int:
        return int(self.t_ns.size)


@dataclass(frozen=True)
class PowerTrace:
    """A power or energy trace read from a file, with its integral.

    >>> import epcore, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "gpu.csv"
    >>> _ = p.write_text("time_s,channel,power_w\\n0,a,100\\n0,b,50\\n1,a,100\\n1,b,50\\n")
    >>> tr = epcore.read_power(p)
    >>> tr.energy_j, tr.channels, tr.format
    (150.0, ('a', 'b'), 'csv')
    >>> tr.samples["a"].values.tolist()
    [100.0, 100.0]
    """

    result: IntegrationResult
    samples: dict[str, ChannelSamples]
    format: str
    quantity: str
    counter_unit_j: float | None
    options: _core.Options
    info: dict[str, Any]

    @property
    def energy_j(self) -> float:
        return self.result.energy_j

    @property
    def duration_s(self) -> float:
        return self.result.duration_s

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.result.channels)

    @property
    def quality(self) -> Any:
        return self.result.quality

    @property
    def source(self) -> str | None:
        return self.result.source

    @property
    def naive_time(self) -> bool:
        """Timestamps were local times without a zone, read as UTC (pass ``tz=`` to place them)."""
        return bool(self.info.get("naive_time", False))

    def require_absolute_time(self, what: str = "request logs") -> None:
        """Raise unless the trace's timestamps are placed in absolute time.

        A naive trace (local wall-clock times read as UTC) has exact durations
        but an unknown offset: joining it with absolute-time ``what`` would
        shift every window by the zone offset, silently.
        """
        if self.naive_time:
            raise TraceError(
                f"{self.source}: the trace's timestamps have no time zone (read as UTC); joining it with "
                f"{what}, which are in absolute time, would shift every window by the zone offset",
                code="naive_time", path=self.source, reason="naive local timestamps",
                hint="read the trace with tz='<IANA zone of the logging host>', e.g. tz='Europe/Berlin' "
                     "(or tz='UTC' if its clock was UTC)",
            )

    def integrate(self, windows: Sequence[tuple[Any, Any]] | npt.ArrayLike | Any | None = None) -> IntegrationResult:
        """The integral again, with per-window energies when ``windows`` are given:
        ``(start, end)`` pairs (int64 ns, datetime64, or float seconds), or a
        :class:`epcore.Requests` table, whose ``[start, end]`` windows are each
        integrated whole (no split between concurrent requests; the trace must be
        in absolute time, see :meth:`require_absolute_time`)."""
        if windows is None:
            return self.result
        if hasattr(windows, "start_ns") and hasattr(windows, "end_ns"):
            self.require_absolute_time()
            windows = np.stack([np.asarray(windows.start_ns), np.asarray(windows.end_ns)], axis=1)
        w = windows_ns(windows)
        per_window = []
        for ch in self.result.channels:
            s = self.samples[ch.name]
            _, arrays = _core.integrate_windows(s.t_ns, s.values, w, self.options, 0)
            per_window.append(arrays)
        return _with_windows(self.result, w, per_window, list(self.result.channels))

    @classmethod
    def from_samples(
        cls,
        channels: dict[str, tuple[npt.ArrayLike, npt.ArrayLike]],
        *,
        rule: str = "trapezoid",
        max_gap_s: float | None = None,
        strict: bool = False,
        negative_tolerance_w: float = 1.0,
        max_power_w: float = 100_000.0,
        counter_unit: str = "J",
        counter_modulus: float | None = None,
        power_semantics: str = "unknown",
        source: str = "<samples>",
    ) -> PowerTrace:
        """A trace from in-memory samples: ``{name: (t_ns, values)}``, values in W
        (or cumulative ``counter_unit`` with ``rule="counter"``); times int64 ns
        (or datetime64, or float seconds).

        >>> import epcore
        >>> tr = epcore.PowerTrace.from_samples({"gpu0": ([0, 10**9, 2 * 10**9], [100.0, 300.0, 300.0])})
        >>> tr.energy_j, tr.channels
        (500.0, ('gpu0',))
        """
        if not channels:
            raise ConfigError("from_samples needs at least one channel", code="invalid_argument", value="{}")
        opts = options(rule=rule, max_gap_s=max_gap_s, strict=strict, negative_tolerance_w=negative_tolerance_w,
                       max_power_w=max_power_w, counter_unit=counter_unit, counter_modulus=counter_modulus)
        kept: dict[str, ChannelSamples] = {}
        results = []
        for name, (t, v) in channels.items():
            t_ns = timestamps_ns(t, f"{name}: t_ns")
            values = values_f64(v, f"{name}: values")
            check_len(values, t_ns.size, f"{name}: values")
            part = _core.integrate_channel(t_ns, values, opts, 0)
            kept[str(name)] = ChannelSamples(str(name), t_ns, values, np.arange(t_ns.size, dtype=np.uint64))
            results.append(ChannelEnergy.from_partial(str(name), part, power_semantics))
        counter = rule == "counter"
        return cls(
            result=IntegrationResult.from_channels(results, source=source),
            samples=kept,
            format="samples",
            quantity="energy" if counter else "power",
            counter_unit_j=float(COUNTER_UNITS_J[counter_unit]) if counter else None,
            options=opts,
            info={"path": source, "format": "samples", "power_semantics": power_semantics},
        )

    def to_arrow(self) -> Any:
        """A long pyarrow table: ``ts_ns`` (timestamp[ns, UTC]), ``channel``, ``power_w`` or ``energy_j``, ``line``."""
        import pyarrow as pa

        col = "power_w" if self.quantity == "power" else "energy_j"
        scale = 1.0 if self.counter_unit_j is None else self.counter_unit_j
        parts = [
            pa.table({
                "ts_ns": pa.array(s.t_ns, type=pa.timestamp("ns", tz="UTC")),
                "channel": pa.array([s.name] * len(s), type=pa.string()),
                col: pa.array(s.values * scale),
                "line": pa.array(s.line),
            })
            for s in self.samples.values()
        ]
        return pa.concat_tables(parts)

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """The Arrow PyCapsule stream of :meth:`to_arrow`, for polars, duckdb and pandas."""
        return self.to_arrow().__arrow_c_stream__(requested_schema)

    def to_pandas(self) -> Any:
        return self.to_arrow().to_pandas()

    def to_dict(self) -> dict[str, Any]:
        d = self.result.to_dict()
        d["format"] = self.format
        d["quantity"] = self.quantity
        return d


def _file_options(
    rule: str, max_gap_s: float | None, strict: bool, negative_tolerance_w: float, max_power_w: float,
    counter_modulus: float | None,
) -> _core.Options:
    return options(
        rule=rule, max_gap_s=max_gap_s, strict=strict, negative_tolerance_w=negative_tolerance_w,
        max_power_w=max_power_w, counter_modulus=counter_modulus,
    )


def _run(
    source: Source | Any,
    opts: _core.Options,
    *,
    format: str | None,
    tz: str | None,
    value: str | None,
    channel: str | None,
    prefer: str | None,
    time: str | None,
    chunk_bytes: int,
    columns: str | None = None,
    max_decompressed_bytes: int | None,
    max_ratio: float,
    collect: bool,
    progress: Callable[[int], None] | None,
    windows: npt.NDArray[np.int64] | None = None,
) -> tuple[list[tuple[str, _core.Partial]], dict[str, Any], Any, Any]:
    """Dispatch to the Rust readers or the Arrow reader; same result shape either way.

    Format names (and their aliases) are checked by the core, in one place.
    """
    arrow = is_arrow_source(source) or not isinstance(source, (str, os.PathLike))
    if arrow or format == "parquet" or (format is None and _is_parquet(source)):
        channels, info, samples = read_arrow(
            source, opts, time=time, value=value, channel=channel, prefer=prefer,
            collect=collect or windows is not None, progress=progress)
        return channels, info, samples, None
    if time is not None:
        raise ConfigError("time= names an Arrow/Parquet column; text formats find their time column themselves",
                          code="invalid_argument", value=time)
    return _core.integrate_path(
        os.fspath(source), opts, format, tz=tz, value=value, channel=channel, prefer=prefer, columns=columns,
        chunk_bytes=chunk_bytes, max_decompressed_bytes=max_decompressed_bytes, max_ratio=max_ratio,
        collect=collect, windows=windows, progress=progress,
    )


def _options_used(opts: _core.Options, info: dict[str, Any]) -> _core.Options:
    """The options the rows were integrated with: the caller's, or their counter
    form (rule, unit and modulus) when the reader found a cumulative counter."""
    unit = info.get("counter_unit_j")
    return opts if unit is None else opts.for_counter(float(unit), info.get("counter_modulus"))


def _is_parquet(path: Source) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"PAR1"
    except OSError:
        return False


def _result(channels: list[tuple[str, _core.Partial]], info: dict[str, Any]) -> IntegrationResult:
    semantics = str(info.get("power_semantics", "unknown"))
    results = [ChannelEnergy.from_partial(name, part, semantics) for name, part in channels]
    skipped = info.get("skipped") or []
    if not results:
        # An empty Parquet file (or one whose rows were all filtered out) has no channel at all.
        path = str(info["path"])
        raise TraceError(f"{path}: 0 usable sample(s), at least 2 needed for an integral", code="insufficient_samples",
                         path=path, value="0",
                         hint="an energy integral needs at least two samples of one channel")
    return IntegrationResult.from_channels(
        results,
        source=str(info["path"]),
        had_bom=bool(info.get("had_bom", False)),
        unterminated_final_line=bool(info.get("unterminated_final_line", False)),
        truncated_tail=bool(info.get("truncated_tail", False)),
        warnings=tuple(str(w) for w in info.get("warnings", ())),
        format=info.get("format"),
        compression=info.get("compression"),
        naive_time=bool(info.get("naive_time", False)),
        tz=info.get("tz"),
        n_unit_normalized=int(info.get("n_unit_normalized", 0)),
        skipped=tuple((str(k), int(n)) for k, n in skipped),
    )


def read_power(
    source: Source | Any,
    *,
    format: str | None = None,
    tz: str | None = None,
    value: str | None = None,
    channel: str | None = None,
    prefer: str | None = None,
    time: str | None = None,
    columns: str | None = None,
    rule: str = "trapezoid",
    max_gap_s: float | None = None,
    strict: bool = False,
    negative_tolerance_w: float = 1.0,
    max_power_w: float = 100_000.0,
    counter_modulus: float | None = None,
    chunk_bytes: int = 1 << 20,
    max_decompressed_bytes: int | None = None,
    max_ratio: float = 250.0,
    progress: Callable[[int], None] | None = None,
) -> PowerTrace:
    """Read a power or energy file into memory, samples and integral.

    ``format`` is sniffed from the content when None: ``csv`` (canonical),
    ``nvidia-smi``, ``nvidia-smi-dmon``, ``zeus``, ``prometheus`` (text
    scrapes, DCGM), ``prometheus-json`` (``query_range``), ``rapl``,
    ``codecarbon`` or ``parquet``; gzip and zstd are undone transparently.
    ``source`` may also be any Arrow data (pyarrow, polars, pandas, duckdb).
    ``tz`` is the IANA zone of naive local timestamps (nvidia-smi, Zeus);
    without it they are read as UTC and ``naive_time`` is flagged. ``value``
    picks the column or metric when a source has several, ``channel`` the
    column or label naming devices, ``prefer`` ``"power"`` or ``"energy"``
    when a source has both. ``columns`` is the ``--query-gpu`` list of an
    nvidia-smi log written with ``noheader`` (``"timestamp,index,power.draw"``).

    >>> import epcore, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "trace.csv"
    >>> _ = p.write_text("timestamp_ns,power_w\\n0,300\\n500000000,300\\n1000000000,300\\n")
    >>> tr = epcore.read_power(p)
    >>> tr.energy_j, tr.duration_s, tr.quality.n_samples
    (300.0, 1.0, 3)
    """
    opts = _file_options(rule, max_gap_s, strict, negative_tolerance_w, max_power_w, counter_modulus)
    channels, info, samples, _ = _run(
        source, opts, format=format, tz=tz, value=value, channel=channel, prefer=prefer, time=time,
        columns=columns, chunk_bytes=chunk_bytes, max_decompressed_bytes=max_decompressed_bytes,
        max_ratio=max_ratio, collect=True, progress=progress,
    )
    kept = {name: ChannelSamples(name, t, v, line) for name, t, v, line in (samples or [])}
    quantity = str(info.get("quantity", "power"))
    unit = info.get("counter_unit_j")
    return PowerTrace(
        result=_result(channels, info),
        samples=kept,
        format=str(info.get("format")),
        quantity=quantity,
        counter_unit_j=None if unit is None else float(unit),
        options=_options_used(opts, info),
        info=dict(info),
    )


def integrate_source(
    source: Source | Any,
    opts: _core.Options,
    windows: Sequence[tuple[Any, Any]] | npt.ArrayLike | None,
    **read: Any,
) -> IntegrationResult:
    """The streaming integral of a file, with per-window energies (used by
    :func:`epcore.integrate_file`). Memory grows with the windows, not the samples;
    Arrow sources are windowed in memory."""
    w = None if windows is None else windows_ns(windows)
    channels, info, samples, streamed = _run(source, opts, collect=False, windows=w, **read)
    base = _result(channels, info)
    if w is None:
        return base
    if streamed is not None:
        order = {name: (e, c, g) for name, e, c, g in streamed}
        per_window = [order[ch.name] for ch in base.channels]
    else:
        used = _options_used(opts, info)
        by_name = {name: (t, v) for name, t, v, _ in (samples or [])}
        per_window = [_core.integrate_windows(*by_name[ch.name], w, used, 0)[1] for ch in base.channels]
    return _with_windows(base, w, per_window, list(base.channels))
