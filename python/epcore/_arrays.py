"""Input coercion: whatever users hold becomes canonical int64-ns and float64 arrays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core
from .exceptions import SchemaError, TraceError

Int64Array = npt.NDArray[np.int64]
Float64Array = npt.NDArray[np.float64]


def timestamps_ns(t: Any, what: str = "t") -> Int64Array:
    """``datetime64`` (any unit), int64 nanoseconds, or float seconds → int64 ns.

    >>> timestamps_ns(np.array(["2024-05-01T12:00:00.5"], dtype="datetime64[ms]"))
    array([1714564800500000000])
    >>> timestamps_ns(np.array([1.5]))
    array([1500000000])
    """
    a = np.asarray(t)
    if a.ndim != 1:
        raise SchemaError(f"{what} must be one-dimensional, got shape {a.shape}", code="schema")
    if a.dtype.kind == "M":
        ns = a.astype("datetime64[ns]")
        nat = np.isnat(ns)
        if nat.any():
            i = int(np.argmax(nat))
            raise TraceError(
                f"index {i}: {what} is NaT", code="non_finite", index=i, value="NaT",
                hint="drop or repair rows without a timestamp",
            )
        return np.ascontiguousarray(ns.view(np.int64))
    if a.dtype.kind in "iu":
        if a.dtype.kind == "u" and a.size and int(a.max()) > np.iinfo(np.int64).max:
            raise TraceError(f"{what} exceeds the int64 nanosecond range", code="timestamp_overflow")
        return np.ascontiguousarray(a, dtype=np.int64)
    if a.dtype.kind == "f":
        return _core.seconds_to_ns(np.ascontiguousarray(a, dtype=np.float64))
    raise SchemaError(
        f"{what} has dtype {a.dtype}; expected datetime64, int64 nanoseconds or float seconds",
        code="schema", value=str(a.dtype),
        hint="convert timestamps with numpy.asarray(..., dtype='datetime64[ns]')",
    )


def values_f64(v: Any, what: str) -> Float64Array:
    """Numeric 1-D input → contiguous float64."""
    a = np.asarray(v)
    if a.dtype.kind not in "iuf":
        raise SchemaError(
            f"{what} has dtype {a.dtype}; expected numbers", code="schema", value=str(a.dtype),
            hint="parse the column to float first",
        )
    return np.ascontiguousarray(a, dtype=np.float64)


ChannelRows = tuple[str, Float64Array, npt.NDArray[np.intp] | None]


def split_channels(values: Any, channel: Any, n: int, what: str) -> list[ChannelRows]:
    """One ``(name, values, row_selection)`` per channel.

    ``values`` is 1-D (one channel, or rows labelled by ``channel``), 2-D
    ``(n, channels)``, or a mapping of names to 1-D arrays.
    """
    if isinstance(values, Mapping):
        if channel is not None:
            raise SchemaError("pass either a mapping of channels or a channel column, not both", code="schema")
        out: list[ChannelRows] = []
        for name, col in values.items():
            arr = values_f64(col, f"{what}[{name!r}]")
            check_len(arr, n, f"{what}[{name!r}]")
            out.append((str(name), arr, None))
        if not out:
            raise SchemaError(f"{what} has no channels", code="schema")
        return out
    arr = np.asarray(values)
    if arr.ndim == 2:
        if channel is not None:
            raise SchemaError("pass either a 2-D array or a channel column, not both", code="schema")
        check_len(arr, n, what)
        return [(str(c), values_f64(arr[:, c], what), None) for c in range(arr.shape[1])]
    if arr.ndim != 1:
        raise SchemaError(f"{what} must be 1-D or 2-D, got shape {arr.shape}", code="schema")
    flat = values_f64(arr, what)
    check_len(flat, n, what)
    if channel is None:
        return [("0", flat, None)]
    labels = np.asarray(channel)
    check_len(labels, n, "channel")
    names, inverse = np.unique(labels, return_inverse=True)
    # A stable sort keeps each channel's rows in their original order.
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(names) + 1))
    return [
        (str(names[k]), np.ascontiguousarray(flat[order[bounds[k] : bounds[k + 1]]]), order[bounds[k] : bounds[k + 1]])
        for k in range(len(names))
    ]


def windows_ns(windows: Sequence[tuple[Any, Any]] | npt.ArrayLike) -> Int64Array:
    """``[(start, end), ...]`` in any timestamp form → ``(n, 2)`` int64 ns."""
    w = np.asarray(windows)
    if w.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if w.ndim != 2 or w.shape[1] != 2:
        raise SchemaError(f"windows must be (start, end) pairs, got shape {w.shape}", code="schema")
    return np.ascontiguousarray(
        np.stack([timestamps_ns(w[:, 0], "window start"), timestamps_ns(w[:, 1], "window end")], axis=1)
    )


def check_len(a: Any, n: int, what: str) -> None:
    if len(a) != n:
        raise SchemaError(
            f"{what} has {len(a)} rows but the timestamps have {n}", code="length_mismatch",
            value=str(len(a)), hint="every value needs exactly one timestamp",
        )
