"""The per-file task: read one file (or dataset fragment) and summarise each channel as plain data.

A :class:`ChannelPiece` is what crosses the process boundary: the channel's
mergeable :class:`epcore.Partial` (pickled through ``Partial.__reduce__``),
its first and last accepted samples (for stitching), the head of its
timestamps (to resolve the automatic gap threshold of the whole channel) and
the energies of the buckets or windows its own span touches.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import _core
from ..exceptions import EpcoreError
from ..trace import PowerTrace, read_power
from ._errors import in_file, io_error
from ._inputs import Source

__all__ = ["Params", "ChannelPiece", "FilePiece", "read_piece", "gap_threshold_ns", "grid", "BUCKET_NS",
           "HEAD_ROWS"]

#: Rows at the head of a channel that fix its automatic gap threshold (the core's GAP_HEAD_ROWS).
HEAD_ROWS = 1025
BUCKET_NS = {"hour": 3_600_000_000_000, "day": 86_400_000_000_000}

Windows = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Params:
    """Everything a task needs, as plain picklable data."""

    format: str | None = None
    channel_by: str | None = None
    tz: str | None = None
    value: str | None = None
    prefer: str | None = None
    rule: str = "trapezoid"
    max_gap_ns: int | None = None
    strict: bool = False
    negative_tolerance_w: float = 1.0
    max_power_w: float = 100_000.0
    counter_modulus: float | None = None
    threads: int = 1
    bucket_ns: int | None = None
    windows: Windows | None = None
    read_kwargs: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class OptionsData:
    """The options a channel was integrated with, as plain data (rebuilt into ``_core.Options`` on use)."""

    rule: str
    max_gap_ns: int
    strict: bool
    negative_tolerance_w: float
    max_power_w: float
    counter_unit_j: float
    counter_modulus: float | None

    def build(self) -> _core.Options:
        return _core.Options(
            rule=self.rule, max_gap_ns=self.max_gap_ns, strict=self.strict,
            negative_tolerance_w=self.negative_tolerance_w, max_power_w=self.max_power_w,
            counter_unit_j=self.counter_unit_j, counter_modulus=self.counter_modulus,
        )


@dataclass(frozen=True)
class ChannelPiece:
    """One channel's rows in one file."""

    source: Source
    channel: str
    partial: _core.Partial
    options: OptionsData
    #: Range of the rows' timestamps (order of pieces, overlap checks).
    t_min_ns: int
    t_max_ns: int
    #: The first and last accepted samples ``(t_ns, value)``, None for a piece without any.
    first: tuple[int, float] | None
    last: tuple[int, float] | None
    head_t_ns: npt.NDArray[np.int64]
    #: Windows integrated over this piece, and per window energy (J), covered ns and gaps.
    windows: Windows | None = None
    window_energy_j: npt.NDArray[np.float64] | None = None
    window_covered_ns: npt.NDArray[np.int64] | None = None
    window_n_gaps: npt.NDArray[np.int64] | None = None


@dataclass(frozen=True)
class FilePiece:
    """What one task returns: its channels and how long the read took."""

    source: Source
    channels: tuple[ChannelPiece, ...]
    rows: int
    bytes: int
    seconds: float
    quantity: str
    power_semantics: str = "unknown"
    warnings: tuple[str, ...] = field(default=())


def grid(first_ns: int, last_ns: int, bucket_ns: int) -> Windows:
    """UTC-aligned buckets ``[k·size, (k+1)·size)`` covering ``[first_ns, last_ns]`` (at least one).

    >>> grid(5, 25, 10).tolist()
    [[0, 10], [10, 20], [20, 30]]
    >>> grid(10, 10, 10).tolist()
    [[10, 20]]
    """
    k0 = first_ns // bucket_ns
    k1 = max(-(-last_ns // bucket_ns), k0 + 1)
    k = np.arange(k0, k1, dtype=np.int64)
    return np.ascontiguousarray(np.stack([k * bucket_ns, (k + 1) * bucket_ns], axis=1))


def gap_threshold_ns(head_t_ns: npt.NDArray[np.int64], opts: OptionsData | None = None) -> int:
    """The core's automatic gap threshold for a channel starting with ``head_t_ns``.

    Asked of the core itself (a zero-power partial of the head), so the rule
    cannot drift from the one-machine path.

    >>> gap_threshold_ns(np.arange(0, 10, dtype=np.int64) * 10**9)
    5000000000
    """
    head = np.ascontiguousarray(head_t_ns[:HEAD_ROWS], dtype=np.int64)
    try:
        return int(_core.partial_channel(head, np.zeros(head.size), _core.Options(), 1).max_gap_ns)
    except EpcoreError:
        # Unsorted heads fail again, with the file and row, when the piece itself is integrated.
        return int(_core.partial_channel(head[:0], np.zeros(0), _core.Options(), 1).max_gap_ns)


def _options_data(params: Params, trace: PowerTrace, max_gap_ns: int) -> OptionsData:
    unit = trace.counter_unit_j
    modulus = trace.info.get("counter_modulus", params.counter_modulus) if unit is not None else None
    return OptionsData(
        rule="counter" if unit is not None else params.rule,
        max_gap_ns=max_gap_ns, strict=params.strict, negative_tolerance_w=params.negative_tolerance_w,
        max_power_w=params.max_power_w, counter_unit_j=1.0 if unit is None else float(unit),
        counter_modulus=None if modulus is None else float(modulus),
    )


def _read(source: Source, params: Params) -> PowerTrace:
    """``read_power`` on a file, or on a dataset fragment with its partition keys as columns."""
    kwargs = dict(params.read_kwargs)
    common: dict[str, Any] = dict(
        value=params.value, channel=params.channel_by, rule=params.rule, strict=params.strict,
        negative_tolerance_w=params.negative_tolerance_w, max_power_w=params.max_power_w,
        counter_modulus=params.counter_modulus,
        max_gap_s=None if params.max_gap_ns is None else params.max_gap_ns / 1e9,
    )
    if not source.partition:
        return read_power(source.path, format=params.format, tz=params.tz, prefer=params.prefer, **common,
                          **kwargs)
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(source.path)
    for key, val in source.partition:
        if key not in table.column_names:
            table = table.append_column(key, pa.array([val] * table.num_rows, type=pa.string()))
    return read_power(table, **common, **kwargs)


def _accepted(part: _core.Partial) -> tuple[tuple[int, float] | None, tuple[int, float] | None]:
    """The partial's first and last accepted samples (after its repairs), for stitching."""
    if part.first_t_ns is None or part.last_t_ns is None or part.first_value is None or part.last_value is None:
        return None, None
    return (part.first_t_ns, part.first_value), (part.last_t_ns, part.last_value)


def channel_piece(source: Source, params: Params, trace: PowerTrace, name: str,
                  max_gap_ns: int | None) -> ChannelPiece:
    """Integrate one channel of a read file with an explicit gap threshold (its own automatic one if None)."""
    s = trace.samples[name]
    head = np.ascontiguousarray(s.t_ns[:HEAD_ROWS])
    gap = max_gap_ns if max_gap_ns is not None else (
        params.max_gap_ns if params.max_gap_ns is not None else gap_threshold_ns(head))
    od = _options_data(params, trace, gap)
    opts = od.build()
    w: Windows | None = None
    if params.windows is not None:
        w = params.windows
    elif params.bucket_ns is not None and s.t_ns.size:
        w = grid(int(s.t_ns.min()), int(s.t_ns.max()), params.bucket_ns)
    try:
        arrays: tuple[Any, Any, Any] | None = None
        if w is None:
            # partial_channel: a piece may hold a single sample; the whole channel needs two (checked when stitched).
            part = _core.partial_channel(s.t_ns, s.values, opts, params.threads)
        else:
            try:
                part, arrays = _core.integrate_windows(s.t_ns, s.values, w, opts, params.threads)
            except EpcoreError as e:
                if e.code != "insufficient_samples":
                    raise
                # One sample spans no time: the piece adds nothing to any window, only its boundaries do.
                part = _core.partial_channel(s.t_ns, s.values, opts, params.threads)
                arrays = (np.zeros(len(w)), np.zeros(len(w), dtype=np.int64), np.zeros(len(w), dtype=np.uint64))
    except EpcoreError as e:
        line = int(s.line[e.index]) if e.index is not None and 0 <= e.index < s.line.size else None
        where = f"channel {name}" + (f", row {line}" if line is not None else "")
        raise in_file(type(e)(f"{where}: {e}", code=e.code, reason=e.reason, hint=e.hint, value=e.value,
                              line=line, index=e.index), source.path) from None
    first, last = _accepted(part)
    return ChannelPiece(
        source=source, channel=name, partial=part, options=od,
        t_min_ns=int(s.t_ns.min()) if s.t_ns.size else 0, t_max_ns=int(s.t_ns.max()) if s.t_ns.size else 0,
        first=first, last=last, head_t_ns=head, windows=w,
        window_energy_j=None if arrays is None else np.asarray(arrays[0], dtype=np.float64),
        window_covered_ns=None if arrays is None else np.asarray(arrays[1], dtype=np.int64),
        window_n_gaps=None if arrays is None else np.asarray(arrays[2], dtype=np.int64),
    )


def read_trace(source: Source, params: Params) -> PowerTrace:
    """Read a source, every failure as a typed error naming the file."""
    try:
        return _read(source, params)
    except EpcoreError as e:
        raise in_file(e, source.path) from None
    except OSError as e:
        raise io_error(e, source.path) from None


def read_piece(source: Source, params: Params) -> FilePiece:
    """The task run once per file: read it, then summarise each channel."""
    t0 = time.perf_counter()
    trace = read_trace(source, params)
    chans = tuple(channel_piece(source, params, trace, name, None) for name in trace.samples)
    try:
        size = os.path.getsize(source.path)
    except OSError:
        size = 0
    return FilePiece(
        source=source, channels=chans, rows=sum(len(s) for s in trace.samples.values()),
        bytes=size, seconds=time.perf_counter() - t0, quantity=trace.quantity,
        power_semantics=str(trace.info.get("power_semantics", "unknown")),
        warnings=tuple(str(w) for w in trace.info.get("warnings", ())),
    )


def recompute(source: Source, params: Params, name: str, max_gap_ns: int) -> ChannelPiece:
    """One channel of a file again, with the whole channel's gap threshold."""
    return channel_piece(source, params, read_trace(source, params), name, max_gap_ns)

