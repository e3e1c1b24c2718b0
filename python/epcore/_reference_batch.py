"""Plain-Python reference for :func:`epcore.batch`: one row at a time, no numpy, no Rust.

Each figure is written as the calculator defines it, in the same operation
order, so with IEEE doubles the reference and the Rust kernel agree to the
bit. A row is valid when every input is in its domain and every figure, at
both levels, is finite (energies also > 0); otherwise every figure is None.

>>> row = reference_row(5600.0, 2500.0)
>>> row["joules_per_token"], round(row["cost_per_query"], 10)
(2.24, 2.48889e-05)
>>> reference_row(5600.0, 0.0) is None
True
"""

from __future__ import annotations

import math

__all__ = ["FIGURES", "reference_row", "reference_batch"]

J_PER_WH = 3600.0
J_PER_KWH = 3.6e6
TOKENS_PER_MILLION = 1e6

FIGURES = (
    "joules_per_token", "wh_per_token", "kwh_per_million_tokens", "cost_per_million_tokens", "wh_per_query",
    "cost_per_query", "queries_per_kwh", "tokens_per_kwh", "g_co2_per_query", "g_co2_per_million_tokens",
)
_ENERGIES = ("joules_per_token", "wh_per_token", "kwh_per_million_tokens", "wh_per_query", "queries_per_kwh",
             "tokens_per_kwh")


def _figures(p: float, t: float, price: float, q: float, g: float | None) -> dict[str, float | None]:
    den = t * J_PER_KWH
    return {
        "joules_per_token": p / t,
        "wh_per_token": p / (t * J_PER_WH),
        "kwh_per_million_tokens": p * TOKENS_PER_MILLION / den,
        "cost_per_million_tokens": p * TOKENS_PER_MILLION * price / den,
        "wh_per_query": p * q / (t * J_PER_WH),
        "cost_per_query": p * q * price / den,
        "queries_per_kwh": den / (p * q) if p * q != 0 else math.inf,
        "tokens_per_kwh": den / p if p != 0 else math.inf,
        "g_co2_per_query": None if g is None else p * q * g / den,
        "g_co2_per_million_tokens": None if g is None else p * TOKENS_PER_MILLION * g / den,
    }


def _in_range(f: dict[str, float | None]) -> bool:
    for k, v in f.items():
        if v is None:
            continue
        if not math.isfinite(v) or (k in _ENERGIES and v <= 0):
            return False
    return True


def reference_row(power_w: float, tokens_per_s: float, price_per_kwh: float = 0.08, query_tokens: float = 500.0,
                  pue: float = 1.0, grid_g_co2_per_kwh: float | None = None,
                  allow_negative_price: bool = False) -> dict[str, float | None] | None:
    """IT figures under their names and facility figures as ``facility_<name>``; None for a bad row."""
    def positive(v: float) -> bool:
        return math.isfinite(v) and v > 0

    if not (positive(power_w) and positive(tokens_per_s) and positive(query_tokens)):
        return None
    if not math.isfinite(price_per_kwh) or (price_per_kwh < 0 and not allow_negative_price):
        return None
    if not (math.isfinite(pue) and pue >= 1):
        return None
    g = grid_g_co2_per_kwh
    if g is not None and not (math.isfinite(g) and g >= 0):
        return None
    try:
        it = _figures(power_w, tokens_per_s, price_per_kwh, query_tokens, g)
        fac = _figures(power_w * pue, tokens_per_s, price_per_kwh, query_tokens, g)
    except (OverflowError, ZeroDivisionError):
        return None
    if not _in_range(it) or not _in_range(fac):
        return None
    return {**it, **{f"facility_{k}": v for k, v in fac.items()}}


def reference_batch(columns: dict[str, list[float]], n: int, **scalars: float | None) -> list[dict[str, float | None] | None]:
    """:func:`reference_row` over ``n`` rows: ``columns`` holds per-row lists, ``scalars`` the rest."""
    return [reference_row(**{**scalars, **{k: v[i] for k, v in columns.items()}}) for i in range(n)]  # type: ignore[arg-type]
