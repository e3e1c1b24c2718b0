"""Scenarios: sensitivity, fleet, API floor, crossover and ranges against the exact
reference, hand-computed goldens, properties, and errors."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import epcore
from epcore._reference_scenarios import (
    corner_bounds,
    crossover_reference,
    fleet_reference,
    floor_reference,
    sensitivity_reference,
)
from epcore.economics import SteadyStateFigures
from epcore.scenarios import (
    SENSITIVITY_LEVERS,
    Interval,
    Scenario,
    api_floor,
    crossover,
    fleet,
    fleet_range,
    sensitivity,
    steady_state_range,
)

REL = 1e-12
NAMES = [f.name for f in dataclasses.fields(SteadyStateFigures)]


def close(got: float | None, want: float | None, rel: float = REL) -> bool:
    if want is None or got is None:
        return got is None and want is None
    return got == pytest.approx(want, rel=rel, abs=1e-300)


def assert_dict_close(got: dict[str, Any], want: dict[str, Any], rel: float = REL) -> None:
    assert set(got) >= set(want)
    for k, w in want.items():
        if isinstance(w, dict):
            assert_dict_close(got[k], w, rel)
        else:
            assert close(got[k], w, rel), (k, got[k], w)


# --- strategies ----------------------------------------------------------------------------

power = st.floats(1.0, 1e5)
throughput = st.floats(0.1, 1e5)
price = st.one_of(st.just(0.0), st.floats(1e-6, 1.0))
pue_s = st.floats(1.0, 3.0)
# Zero or normal-sized: subnormal inputs give subnormal figures, whose ratios are not exact.
grid = st.one_of(st.none(), st.just(0.0), st.floats(1e-3, 1000.0))
tokens = st.floats(1.0, 1e4)
factor = st.floats(0.01, 100.0)
utilization = st.one_of(st.just(0.0), st.floats(1e-6, 1.0))
# Zero or normal-sized: a subnormal energy makes price ÷ floor overflow, which the core refuses.
nonneg = st.one_of(st.just(0.0), st.floats(1e-6, 100.0))
mix = st.one_of(st.just(0.0), st.floats(1e-3, 1e5))


@st.composite
def steady_inputs(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "power_w": draw(power),
        "tokens_per_s": draw(throughput),
        "price_per_kwh": draw(price),
        "query_tokens": draw(tokens),
        "pue": draw(pue_s),
        "grid_g_co2_per_kwh": draw(grid),
    }


@st.composite
def fleet_inputs(draw: st.DrawFn) -> dict[str, Any]:
    p = draw(power)
    return {
        "nodes": draw(st.floats(1.0, 1e5)),
        "power_w_per_node": p,
        "idle_power_w_per_node": draw(st.one_of(st.just(0.0), st.floats(1e-6, 1.0))) * p,
        "utilization": draw(utilization),
        "hours": draw(st.floats(1.0, 1e5)),
        "pue": draw(pue_s),
        "price_per_kwh": draw(price),
        "grid_g_co2_per_kwh": draw(grid),
        "tokens_per_s_per_node": draw(st.one_of(st.none(), throughput)),
    }


@st.composite
def ranged(draw: st.DrawFn, inner: st.SearchStrategy[float]) -> tuple[float, float]:
    a, b = draw(inner), draw(inner)
    return (min(a, b), max(a, b))


# --- goldens -------------------------------------------------------------------------------


def test_seed_sensitivity_golden() -> None:
    s = sensitivity(power_w=5600, tokens_per_s=2500, price_per_kwh=0.08, grid_g_co2_per_kwh=400)
    assert s.base.joules_per_token == 2.24
    assert round(s.base.cost_per_million_tokens, 4) == 0.0498
    names = [r.scenario for r in s.rows]
    assert names == [
        "2× throughput/W",
        "batching ×1.5 throughput",
        "int8 quantization ×1.6 throughput/W",
        "PUE 1 → 1.1",
        "cleaner grid ×0.5",
    ]
    by = {r.scenario: r for r in s.rows}
    two = by["2× throughput/W"]
    assert two.figures.joules_per_token == 1.12
    for name in ("joules_per_token", "cost_per_million_tokens", "cost_per_query", "g_co2_per_query"):
        assert two.relative_change[name] == -0.5
    assert "illustrative" in (by["int8 quantization ×1.6 throughput/W"].note or "")
    assert by["PUE 1 → 1.1"].figures.joules_per_token == pytest.approx(2.464, rel=1e-15)
    grid_row = by["cleaner grid ×0.5"]
    assert grid_row.relative_change["g_co2_per_query"] == -0.5
    assert grid_row.relative_change["joules_per_token"] == 0.0


def test_pue_preset_from_the_industry_average() -> None:
    s = sensitivity(power_w=5600, tokens_per_s=2500, pue=1.56)
    row = s.rows[3]
    assert row.scenario == "PUE 1.56 → 1.1"
    assert row.relative_change["wh_per_query"] == pytest.approx(1.1 / 1.56 - 1, rel=1e-12)


def test_sensitivity_table_is_the_bar_data() -> None:
    s = sensitivity(power_w=5600, tokens_per_s=2500, scenarios={"price": 2.0, "power": 0.5})
    t = s.table()
    assert len(t) == 2 * len(NAMES)
    row = next(r for r in t if r["scenario"] == "price ×2" and r["figure"] == "cost_per_query")
    assert row["relative_change"] == 1.0 and row["value"] == pytest.approx(2 * row["base"], rel=1e-15)
    json.dumps(s.to_dict(), allow_nan=False)
    json.dumps(t, allow_nan=False)


def test_fleet_golden_1200_nodes() -> None:
    f = fleet(nodes=1200, power_w_per_node=5600, utilization=0.6, tokens_per_s_per_node=2500,
              price_per_kwh=0.08, currency="EUR", pue=1.56, grid_g_co2_per_kwh=400)
    assert f.currency == "EUR"
    assert f.draw_w_per_node == pytest.approx(3360, rel=1e-15)
    assert f.it.power_mw == pytest.approx(4.032, rel=1e-15)
    assert f.facility.power_mw == pytest.approx(6.28992, rel=1e-15)
    assert f.it.energy_mwh == pytest.approx(35_320.32, rel=1e-15)
    assert f.facility.energy_mwh == pytest.approx(55_099.6992, rel=1e-15)
    assert f.it.cost == pytest.approx(2_825_625.6, rel=1e-15)
    assert f.facility.cost == pytest.approx(4_407_975.936, rel=1e-15)
    assert f.it.t_co2 == pytest.approx(14_128.128, rel=1e-15)
    assert f.facility.t_co2 == pytest.approx(22_039.87968, rel=1e-15)
    assert f.tokens == pytest.approx(5.67648e13, rel=1e-15)
    assert f.it.joules_per_token == pytest.approx(2.24, rel=1e-15)
    assert f.it.cost_per_million_tokens is not None
    assert round(f.it.cost_per_million_tokens, 4) == 0.0498  # no idle power: the full-load cost
    assert f.facility.cost_per_million_tokens == pytest.approx(0.08 * 2.24 * 1.56 / 3.6, rel=1e-15)


def test_idle_hours_raise_cost_per_token() -> None:
    kw: dict[str, Any] = dict(nodes=1200, power_w_per_node=5600, idle_power_w_per_node=1600,
                              tokens_per_s_per_node=2500)
    costs = [fleet(utilization=u, **kw).it.cost_per_million_tokens or math.nan for u in (1.0, 0.6, 0.3, 0.1)]
    assert costs == sorted(costs)
    assert costs[0] == pytest.approx(0.08 * 2.24 / 3.6, rel=1e-15)
    # 0.3 load: 1600 + 0.3 × 4000 = 2800 W for 750 tok/s.
    assert costs[2] == pytest.approx(2800 / 750 * 0.08 / 3.6, rel=1e-15)
    zero = fleet(utilization=0.0, **kw)
    assert zero.tokens == 0.0 and zero.it.cost_per_million_tokens is None and zero.it.joules_per_token is None
    assert zero.it.power_mw == pytest.approx(1.92, rel=1e-15)


def test_floor_golden() -> None:
    f = api_floor(price_per_mtok=0.60, joules_per_token=2.24, price_per_kwh=0.08)
    o = f.output
    assert o.energy_cost_per_mtok == pytest.approx(0.0497777777777778, rel=1e-14)
    assert o.energy_share is not None and round(o.energy_share, 4) == 0.083
    assert o.margin_per_mtok == pytest.approx(0.6 - 0.0497777777777778, rel=1e-14)
    assert o.break_even_joules_per_token == pytest.approx(27.0, rel=1e-15)
    assert o.headroom == pytest.approx(27 / 2.24, rel=1e-14)
    assert f.blended == f.output  # default mix: 0 input tokens


def test_floor_separate_prices_and_mix() -> None:
    f = api_floor(input_price_per_mtok=0.15, output_price_per_mtok=0.60, input_joules_per_token=0.2,
                  output_joules_per_token=2.24, input_tokens=1500, output_tokens=500, pue=1.2)
    assert f.blended.price_per_mtok == pytest.approx(0.2625, rel=1e-15)
    assert f.input.break_even_joules_per_token == pytest.approx(0.15 * 3.6 / (1.2 * 0.08), rel=1e-14)
    # One shared price with one override.
    g = api_floor(price_per_mtok=0.6, output_price_per_mtok=2.4, joules_per_token=1.0)
    assert (g.input.price_per_mtok, g.output.price_per_mtok) == (0.6, 2.4)


def test_crossover_golden() -> None:
    c = crossover(training_mwh=1300, queries_per_day=5e7, joules_per_token=2.24, query_tokens=500)
    assert c.wh_per_query == pytest.approx(0.311111111111111, rel=1e-14)
    assert c.inference_mwh_per_day == pytest.approx(15.5555555555556, rel=1e-14)
    assert c.days_to_cross == pytest.approx(83.5714285714286, rel=1e-14)
    assert c.months_to_cross == pytest.approx(83.5714285714286 / 30.4375, rel=1e-14)
    assert c.ratio_after_months == pytest.approx(15.5555555555556 * 365.25 / 1300, rel=1e-14)
    none = crossover(training_mwh=1300, queries_per_day=0, wh_per_query=0.3)
    assert none.days_to_cross is None and none.months_to_cross is None and none.ratio_after_months == 0.0
    json.dumps(none.to_dict(), allow_nan=False)


def test_steady_state_range_golden() -> None:
    r = steady_state_range(power_w=(5000, 6000), tokens_per_s=(2000, 2500), pue=(1.1, 1.56),
                           grid_g_co2_per_kwh=(100, 400))
    assert r.it.joules_per_token == Interval(2.0, 3.0)
    assert r.facility.joules_per_token.min == pytest.approx(2.2, rel=1e-15)
    assert r.facility.joules_per_token.max == pytest.approx(4.68, rel=1e-15)
    g = r.it.g_co2_per_query
    assert g is not None and g.min == pytest.approx(5000 / 2500 * 500 / 3.6e6 * 100, rel=1e-14)
    d = r.to_dict()
    assert d["it"]["joules_per_token"] == {"min": 2.0, "max": 3.0}
    json.dumps(d, allow_nan=False)
    # Points give point intervals equal to the steady-state figures.
    p = steady_state_range(power_w=5600, tokens_per_s=2500)
    assert p.it.joules_per_token == Interval(2.24, 2.24)
    assert p.it.g_co2_per_query is None


def test_fleet_range_golden() -> None:
    r = fleet_range(nodes=(1000, 1200), power_w_per_node=5600, utilization=(0.5, 0.7),
                    idle_power_w_per_node=1600, tokens_per_s_per_node=2500)
    assert r.it.power_mw.min == pytest.approx(3.6, rel=1e-15)
    assert r.it.power_mw.max == pytest.approx(5.28, rel=1e-15)
    j = r.it.joules_per_token
    assert j is not None and j.max == pytest.approx(3600 / 1250, rel=1e-15)
    z = fleet_range(nodes=1, power_w_per_node=5600, utilization=(0.0, 1.0), idle_power_w_per_node=1000,
                    tokens_per_s_per_node=2500)
    assert z.it.joules_per_token is None  # unbounded towards zero load
    json.dumps(z.to_dict(), allow_nan=False)


def test_results_are_frozen_and_public() -> None:
    f = fleet(nodes=1, power_w_per_node=1, utilization=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.nodes = 2  # type: ignore[misc]
    for name in ("sensitivity", "fleet", "api_floor", "crossover", "steady_state_range", "fleet_range",
                 "Scenario", "Interval", "Fleet", "Floor", "Crossover", "Sensitivity"):
        assert name in epcore.__all__ and hasattr(epcore, name)


# --- properties against the reference -------------------------------------------------------


@given(x=steady_inputs(), lever=st.sampled_from(SENSITIVITY_LEVERS), f=factor)
def test_sensitivity_matches_reference(x: dict[str, Any], lever: str, f: float) -> None:
    try:
        want = sensitivity_reference(x, [(lever, "scale", f)])
    except ValueError:  # the scenario leaves the domain (PUE below 1): the core must refuse too
        with pytest.raises(epcore.ConfigError, match="^scenario "):
            sensitivity(**x, scenarios=[Scenario.scale(lever, f)])
        return
    s = sensitivity(**x, scenarios=[Scenario.scale(lever, f)])
    assert_dict_close(s.base.to_dict(), want["base"])
    row = s.rows[0]
    assert_dict_close(row.figures.to_dict(), want["rows"][0]["figures"])
    for k, w in want["rows"][0]["relative_change"].items():
        g = row.relative_change[k]
        assert (g is None) == (w is None), k
        if g is not None and w is not None:
            assert g == pytest.approx(w, rel=1e-9, abs=1e-12), k


@given(x=steady_inputs())
def test_doubling_throughput_per_watt_halves_energy_cost_carbon(x: dict[str, Any]) -> None:
    row = sensitivity(**x, scenarios=[Scenario.scale("throughput_per_watt", 2)]).rows[0]
    for k in ("joules_per_token", "wh_per_token", "kwh_per_million_tokens", "wh_per_query",
              "g_co2_per_query", "g_co2_per_million_tokens", "cost_per_query", "cost_per_million_tokens"):
        rel = row.relative_change[k]
        if rel is not None and getattr(row.figures, k) != 0:  # a zero price stays zero: change 0
            assert rel == pytest.approx(-0.5, abs=1e-14), k
    assert row.relative_change["tokens_per_kwh"] == pytest.approx(1.0, abs=1e-14)


@given(x=steady_inputs(), f=factor)
def test_linear_in_power_price_pue_and_intensity(x: dict[str, Any], f: float) -> None:
    assume(x["pue"] * f >= 1)
    s = sensitivity(**x, scenarios={"power": f, "price": f, "pue": f, "grid_intensity": f})
    power_row, price_row, pue_row, grid_row = s.rows
    for row, k in ((power_row, "joules_per_token"), (power_row, "g_co2_per_query"),
                   (price_row, "cost_per_query"), (pue_row, "wh_per_query"), (pue_row, "cost_per_million_tokens"),
                   (grid_row, "g_co2_per_million_tokens")):
        base, new = getattr(s.base, k), getattr(row.figures, k)
        if base is not None and new is not None:
            assert new == pytest.approx(base * f, rel=1e-12, abs=1e-300), k
    assert price_row.relative_change["joules_per_token"] == 0.0


@given(x=fleet_inputs())
def test_fleet_matches_reference(x: dict[str, Any]) -> None:
    want = fleet_reference(**x)
    got = fleet(**x).to_dict()
    assert_dict_close(got, want)


@given(x=fleet_inputs(), f=factor)
def test_fleet_linear_in_power_price_pue_and_nodes(x: dict[str, Any], f: float) -> None:
    base = fleet(**x)
    scaled = fleet(**{**x, "power_w_per_node": x["power_w_per_node"] * f,
                      "idle_power_w_per_node": x["idle_power_w_per_node"] * f})
    assert close(scaled.it.energy_mwh, base.it.energy_mwh * f)
    pricier = fleet(**{**x, "price_per_kwh": x["price_per_kwh"] * f})
    assert close(pricier.facility.cost, base.facility.cost * f)
    assert pricier.facility.energy_mwh == base.facility.energy_mwh
    more = fleet(**{**x, "nodes": x["nodes"] * f})
    assert close(more.it.t_co2, None if base.it.t_co2 is None else base.it.t_co2 * f)
    if base.it.joules_per_token is not None:
        assert close(more.it.joules_per_token, base.it.joules_per_token)
    assert close(base.facility.energy_mwh, base.it.energy_mwh * x["pue"])


@given(
    pi=nonneg, po=nonneg, ji=nonneg, jo=nonneg, c=st.one_of(st.just(0.0), st.floats(1e-6, 1.0)), k=pue_s, ni=mix, no=mix,
)
def test_floor_matches_reference(
    pi: float, po: float, ji: float, jo: float, c: float, k: float, ni: float, no: float
) -> None:
    assume(ni + no > 0)
    want = floor_reference(pi, po, ji, jo, c, k, ni, no)
    f = api_floor(input_price_per_mtok=pi, output_price_per_mtok=po, input_joules_per_token=ji,
                  output_joules_per_token=jo, price_per_kwh=c, pue=k, input_tokens=ni, output_tokens=no)
    for line in ("input", "output", "blended"):
        g = getattr(f, line).to_dict()
        for key, w in want[line].items():
            if key in ("margin_per_mtok", "margin_share") and w is not None:
                # A difference: compare in absolute terms against the larger operand.
                assert g[key] == pytest.approx(w, rel=1e-12, abs=1e-12 * max(1.0, abs(w))), (line, key)
            else:
                assert close(g[key], w, rel=1e-12), (line, key, g[key], w)


@given(
    t=st.floats(1e-3, 1e6), q=st.one_of(st.just(0.0), st.floats(1.0, 1e10)), wh=st.floats(1e-4, 100),
    k=pue_s, m=st.floats(0, 600),
)
def test_crossover_matches_reference(t: float, q: float, wh: float, k: float, m: float) -> None:
    want = crossover_reference(t, q, wh, k, m)
    c = crossover(training_mwh=t, queries_per_day=q, wh_per_query=wh, pue=k, months=m)
    assert_dict_close(c.to_dict(), want)
    if c.days_to_cross is not None:
        # Crossing days × daily inference energy = training energy.
        assert c.days_to_cross * c.inference_mwh_per_day == pytest.approx(t, rel=1e-12)


@given(
    p=ranged(power), t=ranged(throughput), c=ranged(price), q=ranged(tokens), k=ranged(pue_s),
    g=st.one_of(st.none(), ranged(st.one_of(st.just(0.0), st.floats(1e-3, 1000.0)))), u=st.lists(st.floats(0, 1), min_size=6, max_size=6),
)
def test_steady_range_contains_points_and_matches_corners(
    p: tuple[float, float], t: tuple[float, float], c: tuple[float, float], q: tuple[float, float],
    k: tuple[float, float], g: tuple[float, float] | None, u: list[float],
) -> None:
    r = steady_state_range(power_w=p, tokens_per_s=t, price_per_kwh=c, query_tokens=q, pue=k,
                           grid_g_co2_per_kwh=g)

    def lerp(b: tuple[float, float], w: float) -> float:
        return min(max(b[0] + w * (b[1] - b[0]), b[0]), b[1])

    point: dict[str, Any] = dict(power_w=lerp(p, u[0]), tokens_per_s=lerp(t, u[1]), price_per_kwh=lerp(c, u[2]),
                 query_tokens=lerp(q, u[3]), pue=lerp(k, u[4]),
                 grid_g_co2_per_kwh=None if g is None else lerp(g, u[5]))
    s = epcore.steady_state(**point)
    fac = s.facility or s.it
    for name in NAMES:
        for level, figs in ((r.it, s.it), (r.facility, fac)):
            v, iv = getattr(figs, name), getattr(level, name)
            if v is None:
                assert iv is None
            else:
                assert iv.min * (1 - 1e-12) - 1e-300 <= v <= iv.max * (1 + 1e-12) + 1e-300, name

    from epcore._reference import steady_state_reference

    def evaluate(x: dict[str, float]) -> dict[str, float | None]:
        kw: dict[str, Any] = {**x, "grid_g_co2_per_kwh": None if g is None else x["grid_g_co2_per_kwh"]}
        ref = steady_state_reference(**kw)
        out: dict[str, float | None] = ref["facility"] or ref["it"]
        return out

    ranges = {"power_w": p, "tokens_per_s": t, "price_per_kwh": c, "query_tokens": q, "pue": k,
              "grid_g_co2_per_kwh": g or (0.0, 0.0)}
    want = corner_bounds(ranges, evaluate)
    for name, w in want.items():
        got = getattr(r.facility, name)
        if w is None:
            assert got is None
        else:
            assert close(got.min, w[0]) and close(got.max, w[1]), name


@given(x=fleet_inputs(), spread=st.floats(1.0, 2.0), w=st.floats(0, 1))
def test_fleet_range_contains_points(x: dict[str, Any], spread: float, w: float) -> None:
    lo_u = x["utilization"] / spread
    rng: dict[str, Any] = {
        **x,
        "nodes": (x["nodes"] / spread, x["nodes"] * spread),
        "utilization": (lo_u, x["utilization"]),
        "hours": (x["hours"], x["hours"] * spread),
        "price_per_kwh": (x["price_per_kwh"] / spread, x["price_per_kwh"]),
    }
    r = fleet_range(**rng)
    pt = {**x, "nodes": x["nodes"] * (1 + w * (spread - 1)), "utilization": lo_u + w * (x["utilization"] - lo_u)}
    f = fleet(**pt)
    tol = 1e-12
    for level_r, level in ((r.it, f.it), (r.facility, f.facility)):
        for name, v in level.to_dict().items():
            iv = getattr(level_r, name)
            if iv is None:
                continue
            assert v is not None
            assert iv.min - tol * abs(iv.min) - 1e-300 <= v <= iv.max + tol * abs(iv.max) + 1e-300, name


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "start"),
    [
        ({"utilization": 60}, "utilization = 60: must be in [0, 1]"),
        ({"nodes": 0}, "nodes = 0: must be > 0"),
        ({"idle_power_w_per_node": 6000}, "idle_power_w_per_node = 6000: idle power above"),
        ({"pue": 0.9}, "pue = 0.9"),
        ({"currency": "eur"}, "currency = "),
        ({"hours": math.inf}, "hours = inf: must be a finite number"),
    ],
)
def test_fleet_errors(kw: dict[str, Any], start: str) -> None:
    args: dict[str, Any] = {"nodes": 1200, "power_w_per_node": 5600, "utilization": 0.6, **kw}
    with pytest.raises(epcore.ConfigError) as info:
        fleet(**args)
    assert str(info.value).startswith(start), str(info.value)
    assert info.value.code in ("invalid_argument", "unknown_code")


def test_scenario_errors() -> None:
    with pytest.raises(epcore.ConfigError, match=r"^scenario 'pue ×0.5': pue = 0.5"):
        sensitivity(power_w=5600, tokens_per_s=2500, scenarios={"pue": 0.5})
    with pytest.raises(epcore.ConfigError, match=r"^scenario 'power ×0': factor = 0"):
        sensitivity(power_w=5600, tokens_per_s=2500, scenarios={"power": 0})
    with pytest.raises(epcore.ConfigError) as info:
        sensitivity(power_w=5600, tokens_per_s=2500, scenarios={"speed": 2})
    assert info.value.code == "unknown_code"
    with pytest.raises(epcore.ConfigError, match="change = grow"):
        sensitivity(power_w=5600, tokens_per_s=2500,
                    scenarios=[Scenario("x", "power", "grow", 2.0)])  # type: ignore[arg-type]


def test_floor_and_crossover_errors() -> None:
    with pytest.raises(epcore.ConfigError, match=r"^input_price_per_mtok = None: give price_per_mtok"):
        api_floor(joules_per_token=2.24)
    with pytest.raises(epcore.ConfigError, match=r"^output_joules_per_token = None"):
        api_floor(price_per_mtok=0.6, input_joules_per_token=0.2)
    with pytest.raises(epcore.ConfigError, match=r"^input_tokens \+ output_tokens = 0"):
        api_floor(price_per_mtok=0.6, joules_per_token=2.24, output_tokens=0)
    with pytest.raises(epcore.ConfigError, match=r"^output_price_per_mtok = -1"):
        api_floor(price_per_mtok=0.6, output_price_per_mtok=-1, joules_per_token=2.24)
    with pytest.raises(epcore.ConfigError, match="not both"):
        crossover(training_mwh=1300, queries_per_day=1, wh_per_query=0.3, joules_per_token=2.0)
    with pytest.raises(epcore.ConfigError, match="not both"):
        crossover(training_mwh=1300, queries_per_day=1)
    with pytest.raises(epcore.ConfigError, match=r"^training_mwh = 0: must be > 0"):
        crossover(training_mwh=0, queries_per_day=1, wh_per_query=0.3)
    with pytest.raises(epcore.ConfigError, match=r"^query_tokens = 0: must be > 0"):
        crossover(training_mwh=1, queries_per_day=1, joules_per_token=2.0, query_tokens=0)


def test_range_errors() -> None:
    with pytest.raises(epcore.ConfigError, match=r"^power_w = \(6000, 5000\): the range's min is above its max"):
        steady_state_range(power_w=(6000, 5000), tokens_per_s=2500)
    with pytest.raises(epcore.ConfigError, match=r"^power_w = .*a range is \(min, max\)"):
        steady_state_range(power_w=(1, 2, 3), tokens_per_s=2500)  # type: ignore[arg-type]
    with pytest.raises(epcore.ConfigError, match=r"^pue = 0.9"):
        steady_state_range(power_w=5600, tokens_per_s=2500, pue=(0.9, 1.2))
    with pytest.raises(epcore.ConfigError, match=r"^idle_power_w_per_node = 6000"):
        fleet_range(nodes=1, power_w_per_node=(5000, 7000), utilization=0.5, idle_power_w_per_node=(0, 6000))
    with pytest.raises(epcore.ConfigError, match="finite"):
        steady_state_range(power_w=(1, math.nan), tokens_per_s=2500)
