"""Energy of power-trace files, streamed in constant memory by the Rust core."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy.typing as npt

from .integration import Rule
from .results import IntegrationResult
from .trace import _file_options, integrate_source

__all__ = ["integrate_file"]


def integrate_file(
    path: str | os.PathLike[str] | Any,
    *,
    format: str | None = None,
    windows: Sequence[tuple[Any, Any]] | npt.ArrayLike | None = None,
    tz: str | None = None,
    value: str | None = None,
    channel: str | None = None,
    prefer: str | None = None,
    time: str | None = None,
    columns: str | None = None,
    rule: Rule = "trapezoid",
    max_gap_s: float | None = None,
    strict: bool = False,
    negative_tolerance_w: float = 1.0,
    max_power_w: float = 100_000.0,
    counter_modulus: float | None = None,
    chunk_bytes: int = 1 << 20,
    max_decompressed_bytes: int | None = None,
    max_ratio: float = 250.0,
    progress: Callable[[int], None] | None = None,
) -> IntegrationResult:
    """Integrate a power or energy file without loading it: memory stays flat at any size.

    Every format :func:`epcore.read_power` reads is accepted (sniffed from the
    content, or named with ``format``), compressed or not. The result equals
    the in-memory integral of the same rows bit for bit, for any
    ``chunk_bytes``. ``windows`` (``(start, end)`` pairs: int64 ns,
    datetime64 or float seconds) are integrated in the same pass, in memory
    proportional to the number of windows. ``progress(bytes_read)`` is
    called between chunks; Ctrl-C interrupts within a chunk.

    >>> import epcore, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "trace.csv"
    >>> _ = p.write_text("time_s,power_w\\n0.0,250\\n0.5,250\\n1.0,350\\n")
    >>> r = epcore.integrate_file(p, windows=[(0.0, 0.5), (0.5, 1.0)])
    >>> r.energy_j, r.duration_s, r.quality.n_samples, r.window_energy_j.tolist()
    (275.0, 1.0, 3, [125.0, 150.0])
    """
    opts = _file_options(rule, max_gap_s, strict, negative_tolerance_w, max_power_w, counter_modulus)
    return integrate_source(
        path, opts, windows, format=format, tz=tz, value=value, channel=channel, prefer=prefer, time=time,
        columns=columns,
        chunk_bytes=chunk_bytes, max_decompressed_bytes=max_decompressed_bytes, max_ratio=max_ratio,
        progress=progress,
    )
