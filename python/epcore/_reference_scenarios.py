"""Reference oracle for the scenarios: plain, slow, obviously correct Python.

Sensitivity, fleet, API floor, crossover and ranges restated literally, with
exact :class:`fractions.Fraction` arithmetic on the exact values of the float
inputs, so every figure here is the float nearest the true value. The Rust
results (:mod:`epcore.scenarios`) are compared against these by the property
tests in ``tests/test_scenarios.py``. Domain errors are ``ValueError`` here;
the exact messages are the core's business.

Never used on the hot path; when the core changes its semantics, change this
file in the most literal way.

>>> fleet_reference(1200, 5600, 0.6)["it"]["power_mw"]
4.032
>>> floor_reference(0.6, 0.6, 2.24, 2.24)["output"]["break_even_joules_per_token"]
27.0
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Any

from ._reference import steady_state_reference

__all__ = [
    "apply_scenario",
    "corner_bounds",
    "crossover_reference",
    "fleet_reference",
    "floor_reference",
    "sensitivity_reference",
]

J_PER_WH = 3600
WH_PER_MWH = 1_000_000
DAYS_PER_MONTH = Fraction(36525, 1200)


def _f(x: float) -> Fraction:
    return Fraction(x)


def _out(x: Fraction | None) -> float | None:
    return None if x is None else float(x)


# --- sensitivity -----------------------------------------------------------------------------


def apply_scenario(base: Mapping[str, Any], lever: str, change: str, amount: float) -> dict[str, Any]:
    """The base steady-state keyword arguments with one lever moved."""
    x = dict(base)
    if change == "scale" and not (math.isfinite(amount) and amount > 0):
        raise ValueError(f"factor must be finite and > 0, got {amount}")

    def to(v: float) -> float:
        return v * amount if change == "scale" else amount

    if lever == "throughput_per_watt":
        x["tokens_per_s"] = base["tokens_per_s"] * amount if change == "scale" else amount * base["power_w"]
    elif lever == "power":
        x["power_w"] = to(base["power_w"])
    elif lever == "price":
        x["price_per_kwh"] = to(base["price_per_kwh"])
    elif lever == "pue":
        x["pue"] = to(base["pue"])
    elif lever == "grid_intensity":
        g = base.get("grid_g_co2_per_kwh")
        x["grid_g_co2_per_kwh"] = (None if g is None else to(g)) if change == "scale" else amount
    elif lever == "query_tokens":
        x["query_tokens"] = to(base["query_tokens"])
    else:
        raise ValueError(f"unknown lever {lever!r}")
    return x


def _facility(kw: Mapping[str, Any]) -> dict[str, float | None]:
    r = steady_state_reference(**kw)
    fac: dict[str, float | None] | None = r["facility"]
    it: dict[str, float | None] = r["it"]
    return it if fac is None else fac


def sensitivity_reference(
    base: Mapping[str, Any], scenarios: Sequence[tuple[str, str, float]]
) -> dict[str, Any]:
    """``base`` holds :func:`steady_state_reference`'s keyword arguments;
    each scenario is ``(lever, "scale" | "set", amount)``. Figures are
    facility-level (IT at PUE 1); relative change is ``new / base − 1``, 0 when
    equal, None when unknown or the base is 0."""
    b = _facility(base)
    rows = []
    for lever, change, amount in scenarios:
        new = _facility(apply_scenario(base, lever, change, amount))
        rel: dict[str, float | None] = {}
        for k, v in new.items():
            bv = b[k]
            if v is None or bv is None:
                rel[k] = None
            elif v == bv:
                rel[k] = 0.0
            elif bv == 0:
                rel[k] = None
            else:
                rel[k] = float(Fraction(v) / Fraction(bv) - 1)
        rows.append({"figures": new, "relative_change": rel})
    return {"base": b, "rows": rows}


# --- fleet -----------------------------------------------------------------------------------


def fleet_reference(
    nodes: float,
    power_w_per_node: float,
    utilization: float,
    idle_power_w_per_node: float = 0.0,
    hours: float = 8760.0,
    pue: float = 1.0,
    price_per_kwh: float = 0.08,
    grid_g_co2_per_kwh: float | None = None,
    tokens_per_s_per_node: float | None = None,
) -> dict[str, Any]:
    """Draw per node = idle + u × (power − idle); tokens/s = nodes × u × tokens/s at full load."""
    if not (nodes > 0 and power_w_per_node > 0 and hours > 0):
        raise ValueError("nodes, power and hours must be > 0")
    if not (0 <= idle_power_w_per_node <= power_w_per_node and 0 <= utilization <= 1):
        raise ValueError("idle power in [0, power], utilization in [0, 1]")
    n, p, idle, u, h = map(_f, (nodes, power_w_per_node, idle_power_w_per_node, utilization, hours))
    draw = idle + u * (p - idle)
    tps = None if tokens_per_s_per_node is None else n * u * _f(tokens_per_s_per_node)
    tokens = None if tps is None else tps * h * 3600
    out: dict[str, Any] = {"draw_w_per_node": float(draw), "tokens_per_s": _out(tps), "tokens": _out(tokens)}
    for level, k in (("it", Fraction(1)), ("facility", _f(pue))):
        w = n * draw * k
        wh = w * h
        kwh = wh / 1000
        per_token_j = None if not tokens else wh * J_PER_WH / tokens
        g = None if grid_g_co2_per_kwh is None else _f(grid_g_co2_per_kwh)
        out[level] = {
            "power_mw": float(w / 1_000_000),
            "energy_mwh": float(wh / WH_PER_MWH),
            "cost": float(kwh * _f(price_per_kwh)),
            "t_co2": None if g is None else float(kwh * g / 1_000_000),
            "joules_per_token": _out(per_token_j),
            "cost_per_million_tokens": (
                None if per_token_j is None else float(per_token_j * 1_000_000 / 3_600_000 * _f(price_per_kwh))
            ),
            "g_co2_per_million_tokens": (
                None if per_token_j is None or g is None else float(per_token_j * 1_000_000 / 3_600_000 * g)
            ),
        }
    return out


# --- API floor -------------------------------------------------------------------------------


def _line(price: Fraction, jpt: Fraction, pue: Fraction, kwh_price: Fraction) -> dict[str, float | None]:
    # A million tokens: J/token × 10⁶ J → ÷ 3.6·10⁶ J/kWh → × PUE × price.
    floor = jpt * 1_000_000 / 3_600_000 * pue * kwh_price
    share = None if price == 0 else floor / price
    return {
        "price_per_mtok": float(price),
        "joules_per_token": float(jpt),
        "energy_cost_per_mtok": float(floor),
        "energy_share": _out(share),
        "margin_per_mtok": float(price - floor),
        "margin_share": None if share is None else float(1 - share),
        "break_even_joules_per_token": (
            None if kwh_price <= 0 else float(price * 3_600_000 / 1_000_000 / (pue * kwh_price))
        ),
        "headroom": None if floor <= 0 else float(price / floor),
    }


def floor_reference(
    input_price_per_mtok: float,
    output_price_per_mtok: float,
    input_joules_per_token: float,
    output_joules_per_token: float,
    price_per_kwh: float = 0.08,
    pue: float = 1.0,
    input_tokens: float = 0.0,
    output_tokens: float = 500.0,
) -> dict[str, Any]:
    """The floor per input, output and blended (token-weighted) million tokens."""
    pi, po, ji, jo, c, k, ni, no = map(
        _f, (input_price_per_mtok, output_price_per_mtok, input_joules_per_token, output_joules_per_token,
             price_per_kwh, pue, input_tokens, output_tokens)
    )
    if ni + no <= 0:
        raise ValueError("the token mix needs some tokens")
    return {
        "input": _line(pi, ji, k, c),
        "output": _line(po, jo, k, c),
        "blended": _line((ni * pi + no * po) / (ni + no), (ni * ji + no * jo) / (ni + no), k, c),
    }


# --- crossover -------------------------------------------------------------------------------


def crossover_reference(
    training_mwh: float, queries_per_day: float, wh_per_query: float, pue: float = 1.0, months: float = 12.0
) -> dict[str, float | None]:
    """Days until Σ daily inference energy reaches the training energy; the ratio after ``months``."""
    per_day_mwh = _f(queries_per_day) * _f(wh_per_query) * _f(pue) / WH_PER_MWH
    days = None if per_day_mwh == 0 else _f(training_mwh) / per_day_mwh
    after = per_day_mwh * _f(months) * DAYS_PER_MONTH
    return {
        "inference_mwh_per_day": float(per_day_mwh),
        "days_to_cross": _out(days),
        "months_to_cross": None if days is None else float(days / DAYS_PER_MONTH),
        "inference_mwh_after_months": float(after),
        "ratio_after_months": float(after / _f(training_mwh)),
    }


# --- ranges ----------------------------------------------------------------------------------


def corner_bounds(
    ranges: Mapping[str, tuple[float, float]],
    evaluate: Callable[[dict[str, float]], Mapping[str, float | None]],
) -> dict[str, tuple[float, float] | None]:
    """Least and greatest value of each output over every corner of the box
    (None for an output some corner lacks)."""
    names = list(ranges)
    seen: dict[str, list[float | None]] = {}
    for corner in itertools.product(*(sorted(set(ranges[n])) for n in names)):
        for k, v in evaluate(dict(zip(names, corner))).items():
            seen.setdefault(k, []).append(v)
    out: dict[str, tuple[float, float] | None] = {}
    for k, vs in seen.items():
        present = [v for v in vs if v is not None]
        out[k] = None if len(present) < len(vs) else (min(present), max(present))
    return out
