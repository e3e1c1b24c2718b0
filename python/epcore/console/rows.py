"""Display rows for the console: every number the page shows, formatted here, in Python.

The page does no arithmetic and no formatting: these functions turn the
results of :mod:`epcore` into strings the way the ``epcore`` tables do
(:mod:`epcore.display`: money in the currency's decimals, six significant
figures for the rest, ``—`` for unknown).

>>> import epcore
>>> r = epcore.steady_state(power_w=5600, tokens_per_s=2500)
>>> [(x["label"], x["it"]) for x in calc_rows(r)][:4]  # doctest: +NORMALIZE_WHITESPACE
[('energy per token', '2.24'), ('energy per token', '0.000622222'),
 ('energy per million tokens', '0.622222'), ('cost per million tokens', '$0.0498')]
"""

from __future__ import annotations

from typing import Any

from ..display import CALC_ROWS, DASH, FLEET_ROWS, SENS_COLUMNS, figure, fmt_number, pct, span
from ..economics import SteadyState, SteadyStateFigures
from ..scenarios import Crossover, Fleet, FleetRange, Floor, Sensitivity

__all__ = ["calc_rows", "crossover_rows", "fleet_rows", "floor_rows", "sensitivity_rows"]

def calc_rows(r: SteadyState) -> list[dict[str, Any]]:
    """The ``epcore calc`` table: ``name, label, unit, it, facility`` (facility None at PUE 1)."""
    out: list[dict[str, Any]] = []
    for name, label, unit in CALC_ROWS:
        it = getattr(r, name)
        fac = None if r.facility is None else getattr(r.facility, name)
        if it is None and fac is None:
            continue
        out.append({
            "name": name, "label": label, "unit": unit.format(currency=r.currency),
            "it": figure(name, it, r.currency),
            "facility": None if r.facility is None else figure(name, fac, r.currency),
        })
    return out


def sensitivity_rows(s: Sensitivity) -> dict[str, Any]:
    """``columns`` [{name, label}] and ``rows`` [{scenario, note, values {name: str}, changes {name: str}}],
    base first; columns without a value (carbon without a grid) are left out."""
    shown = [(k, label) for k, label in SENS_COLUMNS if getattr(s.base, k) is not None]

    def values(f: SteadyStateFigures) -> dict[str, str]:
        return {k: figure(k, getattr(f, k), s.currency) for k, _ in shown}

    rows = [{"scenario": "base", "lever": None, "note": None, "values": values(s.base),
             "changes": {k: "" for k, _ in shown}}]
    for r in s.rows:
        rows.append({"scenario": r.scenario, "lever": r.lever, "note": r.note, "values": values(r.figures),
                     "changes": {k: pct(r.relative_change.get(k)) for k, _ in shown}})
    return {"columns": [{"name": k, "label": label} for k, label in shown], "rows": rows}


def fleet_rows(f: Fleet | FleetRange) -> list[dict[str, Any]]:
    """``name, label, unit, it, facility`` rows of a fleet (ranges as ``min – max``).

    >>> from epcore import fleet_range
    >>> fleet_rows(fleet_range(nodes=(1000, 1200), power_w_per_node=5600, utilization=0.5))[1]["it"]
    '2.8 – 3.36'
    """
    out: list[dict[str, Any]] = [{"name": "draw_w_per_node", "label": "mean draw per node", "unit": "W",
                                  "it": span(f.draw_w_per_node), "facility": None}]
    for key, label, unit in FLEET_ROWS:
        it, fac = getattr(f.it, key), getattr(f.facility, key)
        if it is None and fac is None:
            continue
        cur = f.currency if unit == "{currency}" else None
        out.append({"name": key, "label": label, "unit": unit.format(currency=f.currency),
                    "it": span(it, cur), "facility": span(fac, cur)})
    if f.tokens is not None:
        out.append({"name": "tokens", "label": "tokens", "unit": "", "it": span(f.tokens), "facility": None})
    return out


def floor_rows(f: Floor) -> list[dict[str, Any]]:
    """``name, label, input, output, blended`` rows of an API floor (per million tokens).

    >>> from epcore import api_floor
    >>> floor_rows(api_floor(price_per_mtok=0.60, joules_per_token=2.24))[2]["output"]
    '0.0497778'
    """
    cur = f.currency
    lines = {"input": f.input, "output": f.output, "blended": f.blended}

    def share(v: float | None) -> str:
        return DASH if v is None else f"{v:.1%}"

    def headroom(v: float | None) -> str:
        return DASH if v is None else f"{fmt_number(v)}×"

    # Six significant figures, not the currency's cents: a floor of 0.0498 must not read 0.05.
    spec: tuple[tuple[str, str, Any], ...] = (
        ("price_per_mtok", f"API price ({cur})", fmt_number),
        ("joules_per_token", "energy per token (J)", fmt_number),
        ("energy_cost_per_mtok", f"energy cost, the floor ({cur})", fmt_number),
        ("energy_share", "energy share of the price", share),
        ("margin_per_mtok", f"margin above energy ({cur})", fmt_number),
        ("margin_share", "margin share", share),
        ("break_even_joules_per_token", "break-even energy per token (J)", fmt_number),
        ("headroom", "headroom (break-even ÷ J/token)", headroom),
    )
    return [{"name": key, "label": label, **{k: fmt(getattr(line, key)) for k, line in lines.items()}}
            for key, label, fmt in spec]


def crossover_rows(c: Crossover) -> list[dict[str, Any]]:
    """``name, label, value`` rows of inference against training energy.

    >>> from epcore import crossover
    >>> crossover_rows(crossover(training_mwh=1300, queries_per_day=5e7, wh_per_query=0.3))[5]["value"]
    '86.6667'
    """
    months = fmt_number(c.months)
    rows = [
        ("training_mwh", "training energy (MWh)", fmt_number(c.training_mwh)),
        ("queries_per_day", "queries per day", fmt_number(c.queries_per_day)),
        ("wh_per_query", "energy per query (Wh, IT)", fmt_number(c.wh_per_query)),
        ("pue", "PUE", fmt_number(c.pue)),
        ("inference_mwh_per_day", "inference energy per day (MWh)", fmt_number(c.inference_mwh_per_day)),
        ("days_to_cross", "days until inference passes training",
         "never (no queries)" if c.days_to_cross is None else fmt_number(c.days_to_cross)),
        ("months_to_cross", "months until inference passes training",
         "never (no queries)" if c.months_to_cross is None else fmt_number(c.months_to_cross)),
        ("inference_mwh_after_months", f"inference energy after {months} months (MWh)",
         fmt_number(c.inference_mwh_after_months)),
        ("ratio_after_months", f"inference ÷ training after {months} months", f"{fmt_number(c.ratio_after_months)}×"),
    ]
    return [{"name": n, "label": label, "value": v} for n, label, v in rows]
