"""Energy of in-memory power traces and energy counters.

The integration itself runs in the Rust core with the GIL released; this
module coerces inputs, splits channels and builds typed results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from . import _core
from ._arrays import Float64Array, Int64Array, check_len, split_channels, timestamps_ns, values_f64, windows_ns
from .exceptions import ConfigError, EpcoreError
from .results import ChannelEnergy, IntegrationResult

__all__ = ["integrate", "partial", "merge", "options", "Rule", "COUNTER_UNITS_J"]

Rule = Literal["trapezoid", "hold"]

#: Joules per counter unit for the units energy counters come in.
COUNTER_UNITS_J: dict[str, float] = {"J": 1.0, "mJ": 1e-3, "uJ": 1e-6, "µJ": 1e-6, "kJ": 1e3, "Wh": 3600.0}


def options(
    *,
    rule: str = "trapezoid",
    max_gap_s: float | None = None,
    strict: bool = False,
    negative_tolerance_w: float = 1.0,
    max_power_w: float = 100_000.0,
    counter_unit: str = "J",
    counter_modulus: float | None = None,
) -> _core.Options:
    """Build integration options (validated in the core).

    ``max_gap_s=None`` is the documented default: intervals longer than
    ``max(5 × median interval of the first 1024, 2 s)`` are gaps, reported and
    never bridged for power (a counter's difference across a gap is kept).
    """
    if counter_unit not in COUNTER_UNITS_J:
        raise ConfigError(
            f"counter_unit = {counter_unit!r}: expected one of {sorted(COUNTER_UNITS_J)}",
            code="invalid_argument", value=counter_unit,
        )
    max_gap_ns = None
    if max_gap_s is not None:
        # Beyond 9.2e9 s the threshold does not fit int64 nanoseconds (and no interval can exceed it anyway).
        if not np.isfinite(max_gap_s) or max_gap_s <= 0 or max_gap_s >= 9.2e9:
            raise ConfigError(
                f"max_gap_s = {max_gap_s}: must be finite, > 0 and below 9.2e9 s (292 years)",
                code="invalid_argument",
                value=str(max_gap_s),
            )
        max_gap_ns = max(1, round(max_gap_s * 1e9))
    return _core.Options(
        rule=rule,
        max_gap_ns=max_gap_ns,
        strict=strict,
        negative_tolerance_w=negative_tolerance_w,
        max_power_w=max_power_w,
        counter_unit_j=COUNTER_UNITS_J[counter_unit],
        counter_modulus=counter_modulus,
    )


def integrate(
    t: npt.ArrayLike,
    power_w: npt.ArrayLike | Mapping[str, npt.ArrayLike] | None = None,
    *,
    energy_counter: npt.ArrayLike | Mapping[str, npt.ArrayLike] | None = None,
    counter_unit: str = "J",
    counter_modulus: float | None = None,
    windows: Sequence[tuple[Any, Any]] | npt.ArrayLike | None = None,
    channel: npt.ArrayLike | None = None,
    rule: Rule = "trapezoid",
    max_gap_s: float | None = None,
    strict: bool = False,
    negative_tolerance_w: float = 1.0,
    max_power_w: float = 100_000.0,
    on_unsorted: Literal["error", "sort"] = "error",
    power_semantics: str = "unknown",
    threads: int | None = None,
) -> IntegrationResult:
    """Energy of a power trace (or energy counter), in total and per window.

    ``t`` is ``datetime64``, int64 nanoseconds or float seconds. ``power_w`` is
    one channel (1-D), several (2-D ``(n, channels)`` or a ``{name: array}``
    mapping), or 1-D rows labelled by ``channel``. Pass ``energy_counter``
    instead of ``power_w`` for cumulative counters (``counter_unit`` "J", "mJ"
    or "uJ"; ``counter_modulus`` in counter units if it wraps).

    ``rule`` is ``"trapezoid"`` (instantaneous samples, the default) or
    ``"hold"`` (each value holds until the next sample). Windows are
    ``(start, end)`` pairs in the same time form as ``t``; their edges are
    interpolated, so adjacent windows add up to their union.

    >>> import numpy as np, epcore
    >>> t = np.arange(0, 11) * 0.1                  # 1 s at 10 Hz, float seconds
    >>> r = epcore.integrate(t, np.full(11, 300.0), windows=[(0.0, 0.25), (0.25, 1.0)])
    >>> r.energy_j, r.window_energy_j.tolist()
    (300.0, [75.0, 225.0])
    >>> r.quality.n_gaps, r.method
    (0, 'trapezoid')
    """
    if (power_w is None) == (energy_counter is None):
        raise ConfigError("pass exactly one of power_w and energy_counter", code="invalid_argument")
    if on_unsorted not in ("error", "sort"):
        raise ConfigError(f"on_unsorted = {on_unsorted!r}: expected 'error' or 'sort'", code="invalid_argument",
                          value=str(on_unsorted))
    is_counter = energy_counter is not None
    opts = options(
        rule="counter" if is_counter else rule,
        max_gap_s=max_gap_s,
        strict=strict,
        negative_tolerance_w=negative_tolerance_w,
        max_power_w=max_power_w,
        counter_unit=counter_unit,
        counter_modulus=counter_modulus,
    )
    t_ns = timestamps_ns(t)
    what = "energy_counter" if is_counter else "power_w"
    chans = split_channels(energy_counter if is_counter else power_w, channel, len(t_ns), what)
    w = None if windows is None else windows_ns(windows)
    n_threads = 0 if threads is None else int(threads)

    results: list[ChannelEnergy] = []
    per_window: list[tuple[Float64Array, npt.NDArray[np.int64], npt.NDArray[np.uint64]]] = []
    for name, values, rows in chans:
        ct = t_ns if rows is None else np.ascontiguousarray(t_ns[rows])
        n_reordered = 0
        order: npt.NDArray[np.intp] | None = None
        if on_unsorted == "sort" and ct.size > 1 and bool(np.any(ct[1:] < ct[:-1])):
            order = np.argsort(ct, kind="stable")
            n_reordered = int(np.count_nonzero(order != np.arange(order.size)))
            ct, values = np.ascontiguousarray(ct[order]), np.ascontiguousarray(values[order])
        try:
            if w is None:
                part = _core.integrate_channel(ct, values, opts, n_threads)
            else:
                part, arrays = _core.integrate_windows(ct, values, w, opts, n_threads)
                per_window.append(arrays)
        except EpcoreError as e:
            raise _in_input_rows(e, name if len(chans) > 1 else None, rows, order) from None
        results.append(ChannelEnergy.from_partial(name, part, power_semantics, n_reordered=n_reordered))

    base = IntegrationResult.from_channels(results)
    if w is None:
        return base
    return _with_windows(base, w, per_window, results)


def _in_input_rows(
    e: EpcoreError, channel: str | None, rows: npt.NDArray[np.intp] | None, order: npt.NDArray[np.intp] | None
) -> EpcoreError:
    """The core names a row of the channel as integrated; name the caller's row (and channel) instead."""
    if e.index is None or (channel is None and rows is None and order is None):
        return e
    index = e.index
    if order is not None:
        index = int(order[index])
    if rows is not None:
        index = int(rows[index])
    where = f"index {index}" if channel is None else f"channel {channel}: index {index}"
    message = str(e).replace(f"index {e.index}", where, 1)
    return type(e)(
        message,
        code=e.code,
        reason=e.reason,
        hint=e.hint,
        value=e.value,
        path=e.path,
        line=e.line,
        column=e.column,
        byte_offset=e.byte_offset,
        index=index,
    )


def _with_windows(
    base: IntegrationResult,
    w: Int64Array,
    per_window: list[tuple[Float64Array, npt.NDArray[np.int64], npt.NDArray[np.uint64]]],
    channels: list[ChannelEnergy],
) -> IntegrationResult:
    energy = np.vstack([e for e, _, _ in per_window])
    # Exact int64 lengths; only a window longer than the int64 range (the difference
    # wraps negative, since end >= start is checked) falls back to float.
    diff = w[:, 1] - w[:, 0]
    length = np.where(diff >= 0, diff.astype(np.float64), w[:, 1].astype(np.float64) - w[:, 0].astype(np.float64))
    coverages = []
    for (_, covered, _), ch in zip(per_window, channels):
        inside = (w[:, 0] >= ch.first_t_ns) & (w[:, 0] <= ch.last_t_ns)
        with np.errstate(divide="ignore", invalid="ignore"):
            # A zero-length window is covered if it sits inside the trace.
            cov = np.where(length > 0, covered / np.where(length > 0, length, 1.0), inside.astype(np.float64))
        coverages.append(cov)
    gaps = np.vstack([g for _, _, g in per_window]).astype(np.int64)
    return replace(
        base,
        window_energy_j=np.sum(energy, axis=0) if energy.shape[0] > 1 else energy[0].copy(),
        window_channel_energy_j=energy,
        window_coverage=np.min(np.vstack(coverages), axis=0),
        window_n_gaps=np.sum(gaps, axis=0),
    )


def partial(
    t: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    rule: str = "trapezoid",
    max_gap_s: float | None = None,
    strict: bool = False,
    negative_tolerance_w: float = 1.0,
    max_power_w: float = 100_000.0,
    counter_unit: str = "J",
    counter_modulus: float | None = None,
    threads: int | None = None,
) -> _core.Partial:
    """The mergeable integration state of one channel's rows.

    Pieces integrated separately merge into the state of the whole with
    :func:`merge`; give every piece the same explicit ``max_gap_s`` (the
    automatic threshold looks at each piece's own head).

    >>> import numpy as np, epcore
    >>> t = np.arange(10) * 0.5
    >>> p = np.linspace(100.0, 190.0, 10)
    >>> a = epcore.partial(t[:4], p[:4], max_gap_s=5.0)
    >>> b = epcore.partial(t[4:], p[4:], max_gap_s=5.0)
    >>> epcore.merge(a, b).energy_j == epcore.partial(t, p, max_gap_s=5.0).energy_j
    True
    """
    opts = options(
        rule=rule,
        max_gap_s=max_gap_s,
        strict=strict,
        negative_tolerance_w=negative_tolerance_w,
        max_power_w=max_power_w,
        counter_unit=counter_unit,
        counter_modulus=counter_modulus,
    )
    t_ns = timestamps_ns(t)
    v = values_f64(values, "values")
    check_len(v, len(t_ns), "values")
    return _core.partial_channel(t_ns, v, opts, 0 if threads is None else int(threads))


def merge(*parts: _core.Partial) -> _core.Partial:
    """Merge partials of adjacent pieces, in time order."""
    if not parts:
        raise ConfigError("merge needs at least one partial", code="invalid_argument")
    acc = parts[0]
    for p in parts[1:]:
        acc = acc.merge(p)
    return acc
