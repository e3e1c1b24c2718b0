"""Steady-state economics: the Rust path against the exact oracle, the seed figures, errors."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import epcore
from epcore._reference import steady_state_reference
from epcore.economics import SteadyStateFigures

NAMES = [f.name for f in dataclasses.fields(SteadyStateFigures)]
REL = 1e-12


def assert_figures_close(got: SteadyStateFigures, want: dict[str, float | None]) -> None:
    assert set(want) == set(NAMES)
    for name in NAMES:
        g, w = getattr(got, name), want[name]
        if w is None:
            assert g is None, name
        else:
            assert g == pytest.approx(w, rel=REL, abs=0.0), name


# --- the seed scenario -------------------------------------------------------


def test_seed_figures() -> None:
    r = epcore.steady_state(power_w=5600, tokens_per_s=2500, price_per_kwh=0.08, currency="USD", query_tokens=500)
    assert r.joules_per_token == 2.24  # exactly: power_w / tokens_per_s is one rounding
    assert round(r.cost_per_million_tokens, 6) == 0.049778
    assert r.cost_per_million_tokens == pytest.approx(0.049777777777777775, rel=1e-15)
    assert round(r.wh_per_query, 5) == 0.31111
    assert f"{r.cost_per_query:.10f}" == "0.0000248889"
    assert round(r.queries_per_kwh, 2) == 3214.29
    assert r.currency == "USD"
    assert r.facility is None
    assert r.g_co2_per_query is None and r.g_co2_per_million_tokens is None


def test_defaults_are_the_seed() -> None:
    a = epcore.steady_state(power_w=5600, tokens_per_s=2500)
    b = epcore.steady_state(power_w=5600, tokens_per_s=2500, price_per_kwh=0.08, currency="USD", query_tokens=500)
    assert a == b
    assert (a.price_per_kwh, a.query_tokens, a.pue, a.grid_g_co2_per_kwh) == (0.08, 500.0, 1.0, None)


def test_facility_and_carbon() -> None:
    r = epcore.steady_state(power_w=5600, tokens_per_s=2500, pue=1.2, grid_g_co2_per_kwh=400)
    assert r.facility is not None
    assert r.facility.joules_per_token == 2.688
    assert r.g_co2_per_query == pytest.approx(0.31111111111111 * 0.4, rel=1e-12)
    assert r.facility.g_co2_per_query == pytest.approx(r.g_co2_per_query * 1.2, rel=1e-14)
    assert r.it == SteadyStateFigures(**{n: getattr(r, n) for n in NAMES})


def test_to_dict_is_json_safe() -> None:
    d = epcore.steady_state(power_w=5600, tokens_per_s=2500).to_dict()
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert set(NAMES) <= set(back)
    assert back["currency"] == "USD"
    assert back["g_co2_per_query"] is None
    assert back["facility"] is None
    d2 = epcore.steady_state(power_w=5600, tokens_per_s=2500, pue=1.5, grid_g_co2_per_kwh=0).to_dict()
    assert set(d2["facility"]) == set(NAMES)
    assert d2["g_co2_per_query"] == 0.0
    json.dumps(d2, allow_nan=False)


def test_results_are_frozen() -> None:
    r = epcore.steady_state(power_w=5600, tokens_per_s=2500)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.joules_per_token = 1.0  # type: ignore[misc]


def test_public_api() -> None:
    for name in ("steady_state", "SteadyState", "SteadyStateFigures"):
        assert name in epcore.__all__
        assert hasattr(epcore, name)


# --- errors ------------------------------------------------------------------

BAD_POSITIVE = [0, 0.0, -0.0, -1, -2500.0, math.nan, math.inf, -math.inf]


@pytest.mark.parametrize("bad", BAD_POSITIVE)
@pytest.mark.parametrize("name", ["power_w", "tokens_per_s", "query_tokens"])
def test_non_positive_or_non_finite_inputs_are_config_errors(name: str, bad: float) -> None:
    kw = {"power_w": 5600.0, "tokens_per_s": 2500.0, name: bad}
    with pytest.raises(epcore.ConfigError) as info:
        epcore.steady_state(**kw)
    e = info.value
    assert e.code == "invalid_argument"
    assert str(e).startswith(f"{name} = ")
    assert isinstance(e, ValueError)


@pytest.mark.parametrize(
    "code", ["usd", "US", "USDX", "", "U$D", "ÜSD", " USD", "E\nR"]
)
def test_bad_currency_code(code: str) -> None:
    with pytest.raises(epcore.ConfigError, match=r"^currency = .*ISO 4217") as info:
        epcore.steady_state(power_w=5600, tokens_per_s=2500, currency=code)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("pue", [0.99, 0.0, -1.0, math.nan, math.inf])
def test_pue_below_one_or_non_finite(pue: float) -> None:
    with pytest.raises(epcore.ConfigError, match=r"^pue = "):
        epcore.steady_state(power_w=5600, tokens_per_s=2500, pue=pue)


@pytest.mark.parametrize("grid", [-1.0, math.nan, math.inf])
def test_bad_grid_intensity(grid: float) -> None:
    with pytest.raises(epcore.ConfigError, match=r"^grid_g_co2_per_kwh = "):
        epcore.steady_state(power_w=5600, tokens_per_s=2500, grid_g_co2_per_kwh=grid)


def test_negative_price_is_refused_unless_allowed() -> None:
    with pytest.raises(epcore.ConfigError, match="negative price") as info:
        epcore.steady_state(power_w=5600, tokens_per_s=2500, price_per_kwh=-0.01)
    assert info.value.code == "invalid_argument"
    r = epcore.steady_state(power_w=5600, tokens_per_s=2500, price_per_kwh=-0.01, allow_negative_price=True)
    assert r.cost_per_query < 0
    with pytest.raises(epcore.ConfigError, match="^price_per_kwh = "):
        epcore.steady_state(power_w=5600, tokens_per_s=2500, price_per_kwh=math.nan, allow_negative_price=True)


def test_zero_price_is_free() -> None:
    r = epcore.steady_state(power_w=5600, tokens_per_s=2500, price_per_kwh=0)
    assert r.cost_per_query == 0.0 and r.cost_per_million_tokens == 0.0


@pytest.mark.parametrize(("power_w", "tokens_per_s"), [(1e300, 1e-300), (1e-300, 1e300), (1.7e308, 1.0)])
def test_out_of_range_is_an_error_not_inf(power_w: float, tokens_per_s: float) -> None:
    with pytest.raises(epcore.ConfigError, match="double precision"):
        epcore.steady_state(power_w=power_w, tokens_per_s=tokens_per_s)


# --- against the oracle --------------------------------------------------------

positive = st.floats(min_value=1e-3, max_value=1e7, allow_nan=False, allow_infinity=False)
prices = st.floats(min_value=0.0, max_value=10.0, allow_nan=False)
pues = st.one_of(st.just(1.0), st.floats(min_value=1.0, max_value=3.0))
grids = st.one_of(st.none(), st.floats(min_value=0.0, max_value=2000.0))
query_tokens = st.one_of(st.integers(min_value=1, max_value=100_000), st.floats(min_value=0.5, max_value=1e5))


@settings(max_examples=300, deadline=None)
@given(p=positive, t=positive, price=prices, q=query_tokens, pue=pues, grid=grids)
def test_matches_reference(p: float, t: float, price: float, q: float, pue: float, grid: float | None) -> None:
    r = epcore.steady_state(
        power_w=p, tokens_per_s=t, price_per_kwh=price, query_tokens=q, pue=pue, grid_g_co2_per_kwh=grid
    )
    ref = steady_state_reference(p, t, price_per_kwh=price, query_tokens=q, pue=pue, grid_g_co2_per_kwh=grid)
    assert_figures_close(r.it, ref["it"])
    if pue > 1:
        assert r.facility is not None
        assert_figures_close(r.facility, ref["facility"])
    else:
        assert r.facility is None and ref["facility"] is None


@settings(max_examples=200, deadline=None)
@given(p=positive, t=positive, price=prices, q=query_tokens, pue=pues)
def test_scaling_laws(p: float, t: float, price: float, q: float, pue: float) -> None:
    kw = {"price_per_kwh": price, "query_tokens": q, "pue": pue}
    a = epcore.steady_state(power_w=p, tokens_per_s=t, **kw)
    b = epcore.steady_state(power_w=p, tokens_per_s=2 * t, **kw)
    # Twice the throughput halves energy and cost per token.
    assert b.joules_per_token * 2 == pytest.approx(a.joules_per_token, rel=1e-14)
    assert b.cost_per_million_tokens * 2 == pytest.approx(a.cost_per_million_tokens, rel=1e-14)
    # Power and throughput scaled together change nothing.
    c = epcore.steady_state(power_w=3 * p, tokens_per_s=3 * t, **kw)
    assert c.joules_per_token == pytest.approx(a.joules_per_token, rel=1e-14)
    for f in [a.it] + ([a.facility] if a.facility else []):
        assert f.queries_per_kwh * f.wh_per_query == pytest.approx(1000.0, rel=1e-14)
        assert f.tokens_per_kwh * f.wh_per_token == pytest.approx(1000.0, rel=1e-14)
        assert f.wh_per_query == pytest.approx(f.wh_per_token * q, rel=1e-14)
    if a.facility is not None:
        assert a.facility.wh_per_query == pytest.approx(a.wh_per_query * pue, rel=1e-14)
        assert a.facility.queries_per_kwh == pytest.approx(a.queries_per_kwh / pue, rel=1e-14)


@settings(max_examples=200, deadline=None)
@given(p=st.floats(), t=st.floats(), q=st.floats())
def test_never_inf_or_nan(p: float, t: float, q: float) -> None:
    try:
        r = epcore.steady_state(power_w=p, tokens_per_s=t, query_tokens=q)
    except epcore.ConfigError:
        return
    json.dumps(r.to_dict(), allow_nan=False)
