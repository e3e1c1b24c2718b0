"""A plain, obviously correct reference of the series integral, for property tests.

Each trace segment ``[t0, t1]`` is clipped to each series interval ``[a, b)``
and its energy there computed directly: the held value × time (``hold``), or
the mean of the two interpolated end values × time (``trapezoid``). Nothing is
vectorised, compensated or clever; it is slow and meant for small inputs.

>>> ref = series_integral({"a": ([0, 3600 * 10**9], [100.0, 100.0])}, [0], [3600 * 10**9], [400.0])
>>> round(ref["total"], 9), ref["coverage"]
(40.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

J_PER_KWH = 3.6e6
NS = 1e9


def _segment_in(t0: int, p0: float, t1: int, p1: float, a: int, b: int, rule: str) -> tuple[float, int]:
    """Energy (J) and time (ns) of the segment ``[t0, t1]`` inside ``[a, b)``."""
    lo, hi = max(t0, a), min(t1, b)
    if hi <= lo:
        return 0.0, 0
    if rule == "hold":
        return p0 * (hi - lo) / NS, hi - lo

    def at(t: int) -> float:
        return p0 + (p1 - p0) * (t - t0) / (t1 - t0)

    return (at(lo) + at(hi)) / 2 * (hi - lo) / NS, hi - lo


def series_integral(
    channels: Mapping[str, tuple[Sequence[int], Sequence[float]]],
    start_ns: Sequence[int],
    end_ns: Sequence[int],
    values: Sequence[float],
    *,
    rule: str = "trapezoid",
    pue: float = 1.0,
) -> dict[str, Any]:
    """Σ_k E_k/3.6e6 × v_k × pue over intervals, the naive figure and coverage.

    Traces are gap-free (every segment is integrated); intervals are disjoint.
    """
    n = len(values)
    energy = [0.0] * n
    covered = [0] * n
    whole_j = 0.0
    trace_ns = 0
    for t, p in channels.values():
        for i in range(len(t) - 1):
            t0, t1 = int(t[i]), int(t[i + 1])
            whole_j += _segment_in(t0, float(p[i]), t1, float(p[i + 1]), t0, t1, rule)[0]
            trace_ns += t1 - t0
            for k in range(n):
                e, c = _segment_in(t0, float(p[i]), t1, float(p[i + 1]), int(start_ns[k]), int(end_ns[k]), rule)
                energy[k] += e
                covered[k] += c
    it_total = sum(e / J_PER_KWH * v for e, v in zip(energy, values))
    covered_j = sum(energy)
    covered_ns = sum(covered)
    time_mean = sum(c * v for c, v in zip(covered, values)) / covered_ns if covered_ns else None
    naive = None if time_mean is None else covered_j / J_PER_KWH * pue * time_mean
    total = it_total * pue
    return {
        "energy_j": whole_j,
        "covered_energy_j": covered_j,
        "interval_energy_j": energy,
        "total": total,
        "it_total": it_total,
        "time_mean": time_mean,
        "naive_total": naive,
        "difference": None if naive is None else total - naive,
        "coverage": covered_ns / trace_ns if trace_ns else 1.0,
    }


def constant_emissions_g(energy_j: float, g_co2_per_kwh: float, pue: float = 1.0) -> float:
    """The constant formula: energy (kWh) × PUE × intensity.

    >>> constant_emissions_g(3.6e6, 400.0, 1.5)
    600.0
    """
    return energy_j / J_PER_KWH * pue * g_co2_per_kwh
