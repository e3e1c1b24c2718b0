"""Scenarios on top of the steady-state calculator: sensitivity, fleet scaling,
the energy floor under an API price, inference vs training, and ranges.

The arithmetic lives in the Rust core (``rust/epcore-core/src/economics/``:
``sensitivity.rs``, ``fleet.rs``, ``floor.rs``, ``crossover.rs``,
``ranges.rs``); this module names the results and keeps them frozen. Money is
a currency code plus an amount: ``currency`` is a label here, nothing is
converted. PUE defaults to 1.0, which gives IT energy; the industry average is
about 1.56 (Uptime 2024).

>>> s = sensitivity(power_w=5600, tokens_per_s=2500)
>>> [(r.scenario, round(r.relative_change["joules_per_token"], 3)) for r in s.rows][:2]
[('2× throughput/W', -0.5), ('batching ×1.5 throughput', -0.333)]
>>> f = fleet(nodes=1200, power_w_per_node=5600, utilization=0.6, tokens_per_s_per_node=2500)
>>> round(f.it.power_mw, 3), round(f.it.energy_mwh, 2), round(f.it.cost, 1)
(4.032, 35320.32, 2825625.6)
>>> round(api_floor(price_per_mtok=0.60, joules_per_token=2.24).output.energy_share, 4)
0.083
>>> round(crossover(training_mwh=1300, queries_per_day=5e7, joules_per_token=2.24).days_to_cross, 2)
83.57
>>> steady_state_range(power_w=(5000, 6000), tokens_per_s=2500).it.joules_per_token
Interval(min=2.0, max=2.4)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal, NamedTuple

from . import _core
from .economics import SteadyStateFigures
from .exceptions import ConfigError

__all__ = [
    "Crossover",
    "Fleet",
    "FleetLevel",
    "FleetLevelRange",
    "FleetRange",
    "Floor",
    "FloorLine",
    "FiguresRange",
    "Interval",
    "SENSITIVITY_LEVERS",
    "Scenario",
    "Sensitivity",
    "SensitivityRow",
    "SteadyStateRange",
    "api_floor",
    "crossover",
    "fleet",
    "fleet_range",
    "sensitivity",
    "steady_state_range",
]

#: The levers a :class:`Scenario` can move.
SENSITIVITY_LEVERS = ("throughput_per_watt", "power", "price", "pue", "grid_intensity", "query_tokens")

_FIGURE_NAMES = tuple(f.name for f in fields(SteadyStateFigures))


def _bad(name: str, value: object, reason: str) -> ConfigError:
    # The core's message shape, so Python-side checks read like Rust-side ones.
    return ConfigError(f"{name} = {value}: {reason}", code="invalid_argument", reason=reason, value=str(value))


# --- sensitivity ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One lever moved: ``change="scale"`` multiplies it by ``amount``, ``"set"`` replaces it.

    Levers (:data:`SENSITIVITY_LEVERS`): ``throughput_per_watt`` (tokens/s at the
    same power; ``set`` takes tokens/s per W), ``power`` (at the same
    throughput), ``price``, ``pue``, ``grid_intensity`` and ``query_tokens``.

    >>> Scenario.scale("price", 1.5)
    Scenario(name='price ×1.5', lever='price', change='scale', amount=1.5, note=None)
    """

    name: str
    lever: str
    change: Literal["scale", "set"]
    amount: float
    note: str | None = None

    @classmethod
    def scale(cls, lever: str, factor: float, name: str | None = None, note: str | None = None) -> Scenario:
        """``lever × factor`` (factor finite and > 0)."""
        return cls(name or f"{lever} ×{factor:g}", lever, "scale", float(factor), note)

    @classmethod
    def set(cls, lever: str, value: float, name: str | None = None, note: str | None = None) -> Scenario:
        """``lever = value``."""
        return cls(name or f"{lever} = {value:g}", lever, "set", float(value), note)


@dataclass(frozen=True)
class SensitivityRow:
    """A scenario's answer: its inputs, every figure, and each figure's relative change.

    ``relative_change[name]`` is ``new / base − 1`` (−0.5 halves it), 0.0 when
    unchanged, None when the figure is unknown (carbon without an intensity)
    or its base is 0.
    """

    scenario: str
    lever: str
    change: str
    amount: float
    note: str | None
    inputs: dict[str, float | None]
    figures: SteadyStateFigures
    relative_change: dict[str, float | None]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["figures"] = self.figures.to_dict()
        return d


@dataclass(frozen=True)
class Sensitivity:
    """The base figures and one row per scenario. Figures are facility-level
    (energy × PUE), which is the IT level at PUE 1: PUE is one of the levers."""

    currency: str
    base: SteadyStateFigures
    rows: tuple[SensitivityRow, ...]

    def table(self) -> list[dict[str, Any]]:
        """Long form, one dict per (scenario, figure): the data for bars.

        Keys: ``scenario, lever, figure, base, value, relative_change``.
        """
        out: list[dict[str, Any]] = []
        for r in self.rows:
            for name in _FIGURE_NAMES:
                out.append({
                    "scenario": r.scenario,
                    "lever": r.lever,
                    "figure": name,
                    "base": getattr(self.base, name),
                    "value": getattr(r.figures, name),
                    "relative_change": r.relative_change[name],
                })
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: ``currency``, ``base`` and ``rows``."""
        return {"currency": self.currency, "base": self.base.to_dict(), "rows": [r.to_dict() for r in self.rows]}


def _scenario_tuples(
    scenarios: Sequence[Scenario] | Mapping[str, float] | None,
) -> list[tuple[str, str, str, float, str | None]] | None:
    if scenarios is None:
        return None
    if isinstance(scenarios, Mapping):
        scenarios = [Scenario.scale(lever, float(f)) for lever, f in scenarios.items()]
    return [(s.name, s.lever, s.change, float(s.amount), s.note) for s in scenarios]


def sensitivity(
    *,
    power_w: float,
    tokens_per_s: float,
    price_per_kwh: float = 0.08,
    currency: str = "USD",
    query_tokens: float = 500,
    pue: float = 1.0,
    grid_g_co2_per_kwh: float | None = None,
    allow_negative_price: bool = False,
    scenarios: Sequence[Scenario] | Mapping[str, float] | None = None,
) -> Sensitivity:
    """Every steady-state figure under each scenario, and its relative change.

    The inputs are :func:`epcore.steady_state`'s. ``scenarios`` is a list of
    :class:`Scenario`, a mapping ``{lever: multiplier}``, or None for the
    presets: 2× throughput/W; batching ×1.5 throughput (same power);
    int8 quantization ×1.6 throughput/W (an illustrative assumption, not a
    measurement); PUE → 1.1 (hyperscale; the average is about 1.56); cleaner
    grid ×0.5. A scenario that pushes an input out of its domain raises
    :class:`epcore.ConfigError` naming the scenario.

    >>> s = sensitivity(power_w=5600, tokens_per_s=2500, grid_g_co2_per_kwh=400,
    ...                 scenarios={"throughput_per_watt": 2, "price": 1.25})
    >>> r = s.rows[0]
    >>> r.figures.joules_per_token, r.relative_change["cost_per_query"], r.relative_change["g_co2_per_query"]
    (1.12, -0.5, -0.5)
    >>> s.rows[1].relative_change["cost_per_million_tokens"], s.rows[1].relative_change["joules_per_token"]
    (0.25, 0.0)
    >>> sensitivity(power_w=5600, tokens_per_s=2500, scenarios=[Scenario.set("pue", 0.5)])
    Traceback (most recent call last):
    epcore.exceptions.ConfigError: scenario 'pue = 0.5': pue = 0.5: power usage effectiveness must be >= 1 (facility power over IT power)
    """
    raw: dict[str, Any] = _core.sensitivity(
        float(power_w),
        float(tokens_per_s),
        price_per_kwh=float(price_per_kwh),
        currency=currency,
        query_tokens=float(query_tokens),
        pue=float(pue),
        grid_g_co2_per_kwh=None if grid_g_co2_per_kwh is None else float(grid_g_co2_per_kwh),
        allow_negative_price=allow_negative_price,
        scenarios=_scenario_tuples(scenarios),
    )
    rows = tuple(
        SensitivityRow(
            scenario=r["scenario"], lever=r["lever"], change=r["change"], amount=r["amount"], note=r["note"],
            inputs=r["inputs"], figures=SteadyStateFigures(**r["figures"]), relative_change=r["relative_change"],
        )
        for r in raw["rows"]
    )
    return Sensitivity(currency=raw["currency"], base=SteadyStateFigures(**raw["base"]), rows=rows)


# --- fleet ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FleetLevel:
    """Fleet figures at one level (IT, or facility = IT × PUE), over the period.

    Per-token figures are None without a throughput or at zero load;
    carbon figures are None without a grid intensity.
    """

    power_mw: float
    energy_mwh: float
    cost: float
    t_co2: float | None
    joules_per_token: float | None
    cost_per_million_tokens: float | None
    g_co2_per_million_tokens: float | None

    def to_dict(self) -> dict[str, float | None]:
        return asdict(self)


@dataclass(frozen=True)
class Fleet:
    """A fleet over ``hours`` (a year at the default 8760): the inputs, the mean
    draw of one node, tokens, and the :class:`FleetLevel` figures at IT and
    facility level. ``cost`` figures are in ``currency``."""

    nodes: float
    power_w_per_node: float
    idle_power_w_per_node: float
    utilization: float
    hours: float
    pue: float
    price_per_kwh: float
    currency: str
    grid_g_co2_per_kwh: float | None
    tokens_per_s_per_node: float | None
    draw_w_per_node: float
    tokens_per_s: float | None
    tokens: float | None
    it: FleetLevel
    facility: FleetLevel

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fleet(
    *,
    nodes: float,
    power_w_per_node: float,
    utilization: float,
    idle_power_w_per_node: float = 0.0,
    hours: float = 8760.0,
    pue: float = 1.0,
    price_per_kwh: float = 0.08,
    currency: str = "USD",
    grid_g_co2_per_kwh: float | None = None,
    tokens_per_s_per_node: float | None = None,
    allow_negative_price: bool = False,
) -> Fleet:
    """Power, energy, cost, carbon and tokens of ``nodes`` nodes over ``hours``.

    A node draws ``idle + utilization × (power − idle)`` W and makes
    ``utilization × tokens_per_s_per_node`` tokens/s. ``idle_power_w_per_node``
    defaults to **0 W**, which makes the cost per token independent of
    utilization; give the measured idle draw to see idle hours raise it.
    ``utilization`` is a fraction in [0, 1]. Out-of-domain inputs raise
    :class:`epcore.ConfigError`.

    >>> f = fleet(nodes=1200, power_w_per_node=5600, utilization=0.6, idle_power_w_per_node=1600,
    ...           tokens_per_s_per_node=2500, pue=1.56, grid_g_co2_per_kwh=400)
    >>> f.draw_w_per_node, round(f.facility.power_mw, 4), round(f.it.joules_per_token, 4)
    (4000.0, 7.488, 2.6667)
    >>> round(f.facility.t_co2)
    26238
    """
    raw: dict[str, Any] = _core.fleet(
        float(nodes), float(power_w_per_node), float(utilization),
        idle_power_w_per_node=float(idle_power_w_per_node), hours=float(hours), pue=float(pue),
        price_per_kwh=float(price_per_kwh), currency=currency,
        grid_g_co2_per_kwh=None if grid_g_co2_per_kwh is None else float(grid_g_co2_per_kwh),
        tokens_per_s_per_node=None if tokens_per_s_per_node is None else float(tokens_per_s_per_node),
        allow_negative_price=allow_negative_price,
    )
    return Fleet(
        nodes=float(nodes), power_w_per_node=float(power_w_per_node),
        idle_power_w_per_node=float(idle_power_w_per_node), utilization=float(utilization), hours=float(hours),
        pue=float(pue), price_per_kwh=float(price_per_kwh), currency=raw["currency"],
        grid_g_co2_per_kwh=None if grid_g_co2_per_kwh is None else float(grid_g_co2_per_kwh),
        tokens_per_s_per_node=None if tokens_per_s_per_node is None else float(tokens_per_s_per_node),
        draw_w_per_node=raw["draw_w_per_node"], tokens_per_s=raw["tokens_per_s"], tokens=raw["tokens"],
        it=FleetLevel(**raw["it"]), facility=FleetLevel(**raw["facility"]),
    )


# --- API floor -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FloorLine:
    """The energy floor under one price (input, output or blended), per million tokens.

    ``energy_share`` = floor ÷ price and ``margin_share`` = 1 − that (None at
    a zero price); ``break_even_joules_per_token`` is the J/token at which
    energy alone would eat the price (None when electricity is free);
    ``headroom`` = price ÷ floor, how many times the energy could grow first
    (None when the floor is 0 or below).
    """

    price_per_mtok: float
    joules_per_token: float
    energy_cost_per_mtok: float
    energy_share: float | None
    margin_per_mtok: float
    margin_share: float | None
    break_even_joules_per_token: float | None
    headroom: float | None

    def to_dict(self) -> dict[str, float | None]:
        return asdict(self)


@dataclass(frozen=True)
class Floor:
    """The floor under input, output and blended tokens; money in ``currency``.
    The blend weights by ``input_tokens : output_tokens`` per query."""

    currency: str
    price_per_kwh: float
    pue: float
    input_tokens: float
    output_tokens: float
    input: FloorLine
    output: FloorLine
    blended: FloorLine

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _either(name: str, specific: float | None, shared: float | None, shared_name: str) -> float:
    v = specific if specific is not None else shared
    if v is None:
        raise _bad(name, None, f"give {shared_name} or {name}")
    return float(v)


def api_floor(
    *,
    price_per_mtok: float | None = None,
    joules_per_token: float | None = None,
    input_price_per_mtok: float | None = None,
    output_price_per_mtok: float | None = None,
    input_joules_per_token: float | None = None,
    output_joules_per_token: float | None = None,
    price_per_kwh: float = 0.08,
    currency: str = "USD",
    pue: float = 1.0,
    input_tokens: float = 0.0,
    output_tokens: float = 500.0,
    allow_negative_price: bool = False,
) -> Floor:
    """The electricity cost floor under an API price, the share it takes, the
    margin above it, and the break-even J/token.

    ``price_per_mtok`` and ``joules_per_token`` serve both kinds of token;
    ``input_*`` / ``output_*`` override them. One J/token for both overstates
    the input floor (prefill costs far less per token than decode). The mix
    defaults to the steady-state query, 0 input : 500 output tokens, so the
    blend equals the output line until ``input_tokens`` is given. API prices
    and ``price_per_kwh`` are in ``currency``. The floor is at ``pue`` (1.0: IT
    energy only; the industry average is about 1.56).

    >>> f = api_floor(price_per_mtok=0.60, joules_per_token=2.24)
    >>> round(f.output.energy_cost_per_mtok, 6), round(f.output.margin_per_mtok, 6)
    (0.049778, 0.550222)
    >>> round(f.output.break_even_joules_per_token, 9), round(f.output.headroom, 3)
    (27.0, 12.054)
    >>> b = api_floor(input_price_per_mtok=0.15, output_price_per_mtok=0.60, input_joules_per_token=0.2,
    ...               output_joules_per_token=2.24, input_tokens=1500, output_tokens=500)
    >>> b.blended.price_per_mtok, round(b.blended.joules_per_token, 12)
    (0.2625, 0.71)
    """
    raw: dict[str, Any] = _core.api_floor(
        _either("input_price_per_mtok", input_price_per_mtok, price_per_mtok, "price_per_mtok"),
        _either("output_price_per_mtok", output_price_per_mtok, price_per_mtok, "price_per_mtok"),
        _either("input_joules_per_token", input_joules_per_token, joules_per_token, "joules_per_token"),
        _either("output_joules_per_token", output_joules_per_token, joules_per_token, "joules_per_token"),
        price_per_kwh=float(price_per_kwh), currency=currency, pue=float(pue),
        input_tokens=float(input_tokens), output_tokens=float(output_tokens),
        allow_negative_price=allow_negative_price,
    )
    return Floor(
        currency=raw["currency"], price_per_kwh=float(price_per_kwh), pue=float(pue),
        input_tokens=float(input_tokens), output_tokens=float(output_tokens),
        input=FloorLine(**raw["input"]), output=FloorLine(**raw["output"]), blended=FloorLine(**raw["blended"]),
    )


# --- inference vs training ------------------------------------------------------------------


@dataclass(frozen=True)
class Crossover:
    """Inference energy against training energy.

    ``days_to_cross`` (and ``months_to_cross``, of 365.25/12 days) is None when
    there are no queries: inference never catches up.
    """

    training_mwh: float
    queries_per_day: float
    wh_per_query: float
    pue: float
    months: float
    inference_mwh_per_day: float
    days_to_cross: float | None
    months_to_cross: float | None
    inference_mwh_after_months: float
    ratio_after_months: float

    def to_dict(self) -> dict[str, float | None]:
        return asdict(self)


def crossover(
    *,
    training_mwh: float,
    queries_per_day: float,
    wh_per_query: float | None = None,
    joules_per_token: float | None = None,
    query_tokens: float = 500,
    pue: float = 1.0,
    months: float = 12,
) -> Crossover:
    """Days until cumulative inference energy passes training energy, and the
    ratio inference ÷ training after ``months``.

    Give ``wh_per_query`` (IT energy of one query), or ``joules_per_token`` and
    ``query_tokens`` (``wh_per_query = J/token × tokens ÷ 3600``). Inference
    energy is × ``pue``; training energy is taken as given (published figures
    usually include the facility, so set ``pue`` to match).

    >>> c = crossover(training_mwh=1300, queries_per_day=5e7, wh_per_query=0.3, pue=1.1)
    >>> round(c.inference_mwh_per_day, 6), round(c.days_to_cross, 3), round(c.ratio_after_months, 4)
    (16.5, 78.788, 4.6359)
    >>> crossover(training_mwh=1300, queries_per_day=0, wh_per_query=0.3).days_to_cross is None
    True
    """
    if (wh_per_query is None) == (joules_per_token is None):
        raise _bad("wh_per_query", wh_per_query, "give wh_per_query or joules_per_token (with query_tokens), not both")
    if wh_per_query is None:
        assert joules_per_token is not None
        for name, v in (("joules_per_token", joules_per_token), ("query_tokens", query_tokens)):
            if not (math.isfinite(v) and v > 0):
                raise _bad(name, v, "must be > 0" if math.isfinite(v) else "must be a finite number")
        wh = float(joules_per_token) * float(query_tokens) / 3600.0
    else:
        wh = float(wh_per_query)
    raw: dict[str, Any] = _core.crossover(
        float(training_mwh), float(queries_per_day), wh, pue=float(pue), months=float(months)
    )
    return Crossover(
        training_mwh=float(training_mwh), queries_per_day=float(queries_per_day), wh_per_query=wh,
        pue=float(pue), months=float(months), **raw,
    )


# --- ranges --------------------------------------------------------------------------------


class Interval(NamedTuple):
    """A closed range ``[min, max]``; a point when they are equal."""

    min: float
    max: float

    def contains(self, v: float) -> bool:
        """Whether ``v`` lies in ``[min, max]``."""
        return self.min <= v <= self.max


RangeLike = float | tuple[float, float]


def _pair(name: str, v: RangeLike) -> tuple[float, float]:
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise _bad(name, v, "a range is (min, max)")
        return (float(v[0]), float(v[1]))
    if isinstance(v, (int, float)):
        return (float(v), float(v))
    raise _bad(name, v, "expected a number or a (min, max) pair")


def _opt_pair(name: str, v: RangeLike | None) -> tuple[float, float] | None:
    return None if v is None else _pair(name, v)


def _iv(p: tuple[float, float] | list[float] | None) -> Interval | None:
    return None if p is None else Interval(float(p[0]), float(p[1]))


def _range_dict(obj: Any) -> dict[str, Any]:
    # Intervals as {"min", "max"} in JSON, as EcoLogits writes them.
    out: dict[str, Any] = {}
    for f in fields(obj):
        v = getattr(obj, f.name)
        if isinstance(v, Interval):
            out[f.name] = {"min": v.min, "max": v.max}
        elif hasattr(v, "__dataclass_fields__"):
            out[f.name] = _range_dict(v)
        else:
            out[f.name] = v
    return out


@dataclass(frozen=True)
class FiguresRange:
    """The steady-state figures as :class:`Interval` (carbon None without an intensity)."""

    joules_per_token: Interval
    wh_per_token: Interval
    kwh_per_million_tokens: Interval
    cost_per_million_tokens: Interval
    wh_per_query: Interval
    cost_per_query: Interval
    queries_per_kwh: Interval
    tokens_per_kwh: Interval
    g_co2_per_query: Interval | None
    g_co2_per_million_tokens: Interval | None

    def to_dict(self) -> dict[str, Any]:
        return _range_dict(self)


@dataclass(frozen=True)
class SteadyStateRange:
    """Steady-state figures over ranged inputs, at IT and facility level (equal where PUE is 1)."""

    currency: str
    it: FiguresRange
    facility: FiguresRange

    def to_dict(self) -> dict[str, Any]:
        return _range_dict(self)


def _figures_range(d: dict[str, Any]) -> FiguresRange:
    iv: dict[str, Any] = {k: _iv(v) for k, v in d.items()}
    return FiguresRange(**iv)


def steady_state_range(
    *,
    power_w: RangeLike,
    tokens_per_s: RangeLike,
    price_per_kwh: RangeLike = 0.08,
    currency: str = "USD",
    query_tokens: RangeLike = 500,
    pue: RangeLike = 1.0,
    grid_g_co2_per_kwh: RangeLike | None = None,
    allow_negative_price: bool = False,
) -> SteadyStateRange:
    """:func:`epcore.steady_state` with any numeric input a ``(min, max)`` pair.

    Each figure is monotone in each input, so its range is the least and
    greatest value over the corners of the input box (all of them are
    evaluated, which stays right when a negative price flips a direction).
    Power raises energy, cost and carbon; throughput lowers them; price
    raises cost; query size raises the per-query figures; PUE raises the
    facility figures; intensity raises carbon.

    >>> r = steady_state_range(power_w=(5000, 6000), tokens_per_s=(2000, 2500), price_per_kwh=(0.05, 0.1))
    >>> r.it.joules_per_token, r.it.joules_per_token.contains(2.24)
    (Interval(min=2.0, max=3.0), True)
    >>> [round(v, 6) for v in r.it.cost_per_million_tokens]
    [0.027778, 0.083333]
    """
    raw: dict[str, Any] = _core.steady_state_range(
        _pair("power_w", power_w), _pair("tokens_per_s", tokens_per_s),
        price_per_kwh=_pair("price_per_kwh", price_per_kwh), currency=currency,
        query_tokens=_pair("query_tokens", query_tokens), pue=_pair("pue", pue),
        grid_g_co2_per_kwh=_opt_pair("grid_g_co2_per_kwh", grid_g_co2_per_kwh),
        allow_negative_price=allow_negative_price,
    )
    return SteadyStateRange(
        currency=raw["currency"], it=_figures_range(raw["it"]), facility=_figures_range(raw["facility"])
    )


@dataclass(frozen=True)
class FleetLevelRange:
    """:class:`FleetLevel` as :class:`Interval`. A per-token figure is None when
    some corner has none (no throughput, or utilization reaching 0 where it is unbounded)."""

    power_mw: Interval
    energy_mwh: Interval
    cost: Interval
    t_co2: Interval | None
    joules_per_token: Interval | None
    cost_per_million_tokens: Interval | None
    g_co2_per_million_tokens: Interval | None

    def to_dict(self) -> dict[str, Any]:
        return _range_dict(self)


@dataclass(frozen=True)
class FleetRange:
    """:class:`Fleet` over ranged inputs."""

    currency: str
    draw_w_per_node: Interval
    tokens_per_s: Interval | None
    tokens: Interval | None
    it: FleetLevelRange
    facility: FleetLevelRange

    def to_dict(self) -> dict[str, Any]:
        return _range_dict(self)


def _level_range(d: dict[str, Any]) -> FleetLevelRange:
    iv: dict[str, Any] = {k: _iv(v) for k, v in d.items()}
    return FleetLevelRange(**iv)


def fleet_range(
    *,
    nodes: RangeLike,
    power_w_per_node: RangeLike,
    utilization: RangeLike,
    idle_power_w_per_node: RangeLike = 0.0,
    hours: RangeLike = 8760.0,
    pue: RangeLike = 1.0,
    price_per_kwh: RangeLike = 0.08,
    currency: str = "USD",
    grid_g_co2_per_kwh: RangeLike | None = None,
    tokens_per_s_per_node: RangeLike | None = None,
    allow_negative_price: bool = False,
) -> FleetRange:
    """:func:`fleet` with any numeric input a ``(min, max)`` pair.

    Nodes, power, idle power, utilization and hours raise MW, MWh, cost and
    carbon; utilization and throughput lower the per-token figures when there
    is idle power; price raises cost; intensity raises carbon. Every corner
    must be valid: an idle range reaching above the power range is an error.

    >>> r = fleet_range(nodes=(1000, 1200), power_w_per_node=5600, utilization=(0.5, 0.7),
    ...                 idle_power_w_per_node=1600, tokens_per_s_per_node=2500)
    >>> r.it.power_mw
    Interval(min=3.6, max=5.28)
    >>> [round(v, 4) for v in r.it.joules_per_token]
    [2.5143, 2.88]
    """
    raw: dict[str, Any] = _core.fleet_range(
        _pair("nodes", nodes), _pair("power_w_per_node", power_w_per_node), _pair("utilization", utilization),
        idle_power_w_per_node=_pair("idle_power_w_per_node", idle_power_w_per_node), hours=_pair("hours", hours),
        pue=_pair("pue", pue), price_per_kwh=_pair("price_per_kwh", price_per_kwh), currency=currency,
        grid_g_co2_per_kwh=_opt_pair("grid_g_co2_per_kwh", grid_g_co2_per_kwh),
        tokens_per_s_per_node=_opt_pair("tokens_per_s_per_node", tokens_per_s_per_node),
        allow_negative_price=allow_negative_price,
    )
    return FleetRange(
        currency=raw["currency"], draw_w_per_node=Interval(*raw["draw_w_per_node"]),
        tokens_per_s=_iv(raw["tokens_per_s"]), tokens=_iv(raw["tokens"]),
        it=_level_range(raw["it"]), facility=_level_range(raw["facility"]),
    )
