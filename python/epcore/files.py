"""Energy of power-trace files, streamed in constant memory by the Rust core."""

from __future__ import annotations

import os
from collections.abc import Callable

from . import _core
from .integration import Rule, options
from .results import ChannelEnergy, IntegrationResult

__all__ = ["integrate_file"]


def integrate_file(
    path: str | os.PathLike[str],
    *,
    rule: Rule = "trapezoid",
    max_gap_s: float | None = None,
    strict: bool = False,
    negative_tolerance_w: float = 1.0,
    max_power_w: float = 100_000.0,
    chunk_bytes: int = 1 << 22,
    power_semantics: str = "unknown",
    progress: Callable[[int], None] | None = None,
) -> IntegrationResult:
    """Integrate a power CSV without loading it: memory stays flat at any size.

    The canonical CSV has a time column ``timestamp_ns`` (integer ns) or
    ``time_s`` (decimal seconds, read exactly), a value column ``power_w``
    (or ``power_mw``, or a cumulative ``energy_j`` / ``energy_mj`` counter), and
    optionally ``channel``. The result equals :func:`epcore.integrate` on the
    same rows, bit for bit, for any ``chunk_bytes``. ``progress(bytes_read)`` is
    called between chunks; Ctrl-C interrupts within a chunk.

    >>> import epcore, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "trace.csv"
    >>> _ = p.write_text("time_s,power_w\\n0.0,250\\n0.5,250\\n1.0,350\\n")
    >>> r = epcore.integrate_file(p)
    >>> r.energy_j, r.duration_s, r.quality.n_samples
    (275.0, 1.0, 3)
    """
    opts = options(
        rule=rule,
        max_gap_s=max_gap_s,
        strict=strict,
        negative_tolerance_w=negative_tolerance_w,
        max_power_w=max_power_w,
    )
    channels, info = _core.integrate_csv(os.fspath(path), opts, chunk_bytes, 1 << 20, progress)
    results = [ChannelEnergy.from_partial(name, part, power_semantics) for name, part in channels]
    return IntegrationResult.from_channels(
        results,
        source=str(info["path"]),
        had_bom=bool(info["had_bom"]),
        unterminated_final_line=bool(info["unterminated_final_line"]),
        truncated_tail=bool(info["truncated_tail"]),
        warnings=tuple(str(w) for w in info["warnings"]),
    )
