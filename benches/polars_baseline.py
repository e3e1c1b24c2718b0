"""The polars baseline: ``scan_csv`` plus a trapezoid expression, streaming engine.

Imports nothing but polars, so a fresh process running it measures polars'
own peak RSS. Gap intervals (longer than 2 s, epcore's threshold for these
traces) are excluded, as epcore does, so the energies can be compared.
"""

from __future__ import annotations

from typing import Any

MAX_GAP_S = 2.0


def trapezoid_expr(max_gap_s: float = MAX_GAP_S) -> Any:
    """Trapezoid over ``time_s`` (float seconds) and ``power_w``, gap intervals excluded."""
    import polars as pl

    dt = pl.col("time_s").diff()
    term = (pl.col("power_w") + pl.col("power_w").shift(1)) * dt
    return (pl.when(dt <= max_gap_s).then(term).otherwise(0.0).sum() * 0.5).alias("energy_j")


def scan_energy(path: str, max_gap_s: float = MAX_GAP_S) -> float:
    """``pl.scan_csv(path).select(trapezoid).collect(engine="streaming")`` → joules."""
    import polars as pl

    out = pl.scan_csv(path).select(trapezoid_expr(max_gap_s)).collect(engine="streaming")
    return float(out["energy_j"][0])
