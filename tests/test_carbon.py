"""Carbon and electricity price: the shipped grid table, series readers, the
∫P·I integral against its plain reference, the CodeCarbon chain, and the CLI."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import epcore
from epcore._reference_carbon import constant_emissions_g, series_integral
from epcore.carbon import IntervalSeries
from epcore.cli import cli

DATA = Path(__file__).parent / "data" / "carbon"
H_NS = 3_600_000_000_000
T0_NS = 1_704_067_200 * 10**9  # 2024-01-01T00:00:00Z


def trace_of(channels: dict[str, tuple[Any, Any]], rule: str = "trapezoid") -> epcore.PowerTrace:
    # A huge gap threshold: the reference integrates every segment.
    return epcore.PowerTrace.from_samples(channels, rule=rule, max_gap_s=1e9)


# ------------------------------------------------------------------ grid table


def test_germany_by_iso2_and_iso3_is_the_2023_figure() -> None:
    for code in ("DE", "de", "DEU", "deu"):
        g = epcore.grid_intensity(code)
        assert g.code == "DEU" and g.alias == "DE" and g.name == "Germany"
        assert g.g_co2_per_kwh == 380.95  # FORMATS.md rounds it to 381.0 (2023)
        assert g.g_co2_per_kwh == pytest.approx(381.0, abs=0.051)
        assert g.year == 2023


@pytest.mark.parametrize(("code", "iso3", "g"), [
    ("US", "USA", 369.5), ("FR", "FRA", 56.0), ("GB", "GBR", 237.6), ("IE", "IRL", 290.8), ("IN", "IND", 713.4),
    ("CN", "CHN", 582.3), ("JP", "JPN", 485.4), ("SE", "SWE", 40.7), ("CA", "CAN", 170.0),
])
def test_formats_md_2023_figures(code: str, iso3: str, g: float) -> None:
    r = epcore.grid_intensity(code)
    assert (r.code, r.year) == (iso3, 2023)
    assert r.g_co2_per_kwh == pytest.approx(g, abs=0.051)


def test_licence_and_attribution_travel_with_every_row() -> None:
    rows = epcore.grid_regions()
    assert len(rows) == len(epcore.GRID_REGIONS) > 300
    assert len(set(epcore.GRID_REGIONS)) == len(epcore.GRID_REGIONS)
    for r in rows:
        assert r.source and r.licence in ("CC-BY-4.0", "MIT") and r.url.startswith("https://")
        assert math.isfinite(r.g_co2_per_kwh) and r.g_co2_per_kwh >= 0
    countries = [r for r in rows if r.kind == "country"]
    assert len(countries) == 213
    assert all(r.licence == "CC-BY-4.0" and "OWID" in r.source for r in countries)
    notice = Path(epcore.__file__).resolve().parents[2] / "rust" / "epcore-core" / "data" / "NOTICE.md"
    text = notice.read_text(encoding="utf-8")
    assert "CC BY 4.0" in text and "MIT" in text and "Ember" in text


def test_cloud_regions_states_and_zones() -> None:
    assert epcore.grid_intensity("gcp:europe-west1").g_co2_per_kwh == 122.0
    assert epcore.grid_intensity("GCP:US-CENTRAL1").g_co2_per_kwh == 430.0
    ca = epcore.grid_intensity("US-CA")
    assert ca.g_co2_per_kwh == pytest.approx(452.541 * 0.453592, abs=1e-3)  # lbs/MWh → g/kWh
    assert epcore.grid_intensity("se1").code == "SE-SE1"
    assert epcore.grid_intensity("WORLD").g_co2_per_kwh == 475.0


def test_unknown_region_suggests_close_codes() -> None:
    with pytest.raises(epcore.ConfigError) as e:
        epcore.grid_intensity("DEX")
    assert e.value.code == "unknown_code"
    assert e.value.hint is not None and "DEU" in e.value.hint
    with pytest.raises(epcore.ConfigError) as e:
        epcore.grid_intensity("gcp:europe-west99")
    assert e.value.hint is not None and "gcp:europe-west9" in e.value.hint


def test_the_table_matches_its_codecarbon_sources(shared_data: Path) -> None:
    mix = json.loads((shared_data / "codecarbon" / "private_infra" / "global_energy_mix.json").read_text())
    for iso3, row in mix.items():
        g = epcore.grid_intensity(iso3)
        assert (g.g_co2_per_kwh, g.year) == (row["carbon_intensity"], row["year"]), iso3
    with open(shared_data / "codecarbon" / "cloud" / "impact.csv", encoding="utf-8-sig") as f:
        for r in csv.DictReader(f):
            assert epcore.grid_intensity(f"{r['provider']}:{r['region']}").g_co2_per_kwh == float(r["impact"])


# ------------------------------------------------------------------ readers


def test_electricity_maps_lifecycle_by_default_direct_on_request() -> None:
    s = epcore.read_intensity(DATA / "electricity_maps_DE_hourly.csv")
    assert s.value.tolist() == [200.0, 400.0]
    assert s.start_ns.tolist() == [T0_NS, T0_NS + H_NS]
    assert s.end_ns.tolist() == [T0_NS + H_NS, T0_NS + 2 * H_NS]  # the last holds one step
    assert (s.layout, s.basis, s.zone, s.n_estimated, s.unit) == (
        "electricity_maps", "lifecycle", "DE", 1, "g_co2_per_kwh")
    d = epcore.read_intensity(DATA / "electricity_maps_DE_hourly.csv", basis="direct")
    assert d.value.tolist() == [150.0, 350.0]


def test_zeus_watttime_lbs_per_mwh_are_converted() -> None:
    s = epcore.read_intensity(DATA / "zeus_carbon_hist.csv")
    assert s.value == pytest.approx([800 * 0.453592, 600 * 0.453592, 700 * 0.453592, 900 * 0.453592])
    assert (s.end_ns - s.start_ns).tolist() == [1_800_000_000_000] * 4
    assert (s.converted_from, s.method, s.zone) == ("lbs/MWh", "marginal", "MISO_MASON_CITY")


def test_generic_epoch_seconds_and_assumed_unit() -> None:
    s = epcore.read_intensity(DATA / "intensity_epoch.csv")
    assert s.start_ns.tolist() == [T0_NS, T0_NS + H_NS]
    assert s.unit_assumed and s.layout == "generic"


def test_prices_entsoe_and_generic() -> None:
    p = epcore.read_prices(DATA / "entsoe_day_ahead_utc.csv")
    assert p.value.tolist() == [0.05, 0.15]
    assert (p.currency, p.layout, p.unit) == ("EUR", "entsoe_day_ahead", "per_kwh")
    with pytest.raises(epcore.ConfigError, match="priced in EUR"):
        epcore.read_prices(DATA / "entsoe_day_ahead_utc.csv", currency="USD")
    g = epcore.read_prices(DATA / "prices_per_kwh.csv")
    assert (g.value.tolist(), g.currency) == ([0.1, 0.3], "USD")
    assert epcore.read_prices(DATA / "prices_per_kwh.csv", currency="BRL").currency == "BRL"


def test_bad_series_files_are_typed_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,g_co2_per_kwh\n2024-01-01T00:00:00Z,1\n2024-01-01T01:00:00Z,abc\n")
    with pytest.raises(epcore.ParseError) as e:
        epcore.read_intensity(bad)
    assert (e.value.line, e.value.column) == (3, "g_co2_per_kwh")
    bad.write_text("when,g_co2_per_kwh\n1,2\n")
    with pytest.raises(epcore.SchemaError):
        epcore.read_intensity(bad)
    bad.write_text("timestamp,price_per_kwh\n0,0.1\n3600,-0.02\n")
    with pytest.raises(epcore.ParseError, match="allow_negative_price"):
        epcore.read_prices(bad)
    assert epcore.read_prices(bad, allow_negative_price=True).value.tolist() == [0.1, -0.02]
    with pytest.raises(FileNotFoundError):
        epcore.read_intensity(tmp_path / "missing.csv")


# ------------------------------------------------------------------ integration


def test_hand_computed_integral_differs_from_average_times_average() -> None:
    # 100 W in the first hour, 300 W in the second (hold); 200 then 400 g/kWh.
    tr = trace_of({"gpu": ([0, H_NS, 2 * H_NS], [100.0, 300.0, 300.0])}, rule="hold")
    s = IntervalSeries.from_labels([0, H_NS], [200.0, 400.0])
    r = epcore.carbon(tr, s)
    # 0.1 kWh × 200 + 0.3 kWh × 400 = 140 g; average × average: 0.4 kWh × 300 = 120 g.
    assert r.emissions_g == pytest.approx(140.0, rel=1e-12)
    assert r.naive_average_g == pytest.approx(120.0, rel=1e-12)
    assert r.difference_g == pytest.approx(20.0, rel=1e-9)
    assert r.difference_pct == pytest.approx(100 * 20 / 120, rel=1e-9)
    assert r.mean_g_co2_per_kwh == pytest.approx(350.0)
    assert r.time_mean_g_co2_per_kwh == pytest.approx(300.0)
    assert r.energy_kwh == pytest.approx(0.4)
    assert (r.coverage, r.kind, r.outside_energy_kwh) == (1.0, "series", 0.0)


def test_file_trace_against_file_series() -> None:
    tr = epcore.read_power(DATA / "trace_2h.csv")
    r = epcore.carbon(tr, epcore.read_intensity(DATA / "electricity_maps_DE_hourly.csv"), pue=1.2)
    # Hour 0: 3000 s at 100 W + a 600 s ramp to 300 W = 420 kJ; hour 1: 1080 kJ.
    it = 420_000 / 3.6e6 * 200 + 1_080_000 / 3.6e6 * 400
    assert r.it_emissions_g == pytest.approx(it, rel=1e-12)
    assert r.emissions_g == pytest.approx(1.2 * it, rel=1e-12)
    assert r.naive_average_g == pytest.approx(1.2 * 1_500_000 / 3.6e6 * 300, rel=1e-12)
    assert r.facility_energy_kwh == pytest.approx(0.5)
    c = epcore.electricity_cost(tr, epcore.read_prices(DATA / "entsoe_day_ahead_utc.csv"))
    assert c.currency == "EUR"
    assert c.cost == pytest.approx(420_000 / 3.6e6 * 0.05 + 1_080_000 / 3.6e6 * 0.15, rel=1e-12)


def test_trace_outside_the_series_is_an_error_unless_partial() -> None:
    tr = epcore.read_power(DATA / "trace_2h.csv")
    half = epcore.read_intensity(DATA / "intensity_half.csv")  # 00:00-01:00 only
    with pytest.raises(epcore.ConfigError, match="allow_partial"):
        epcore.carbon(tr, half)
    r = epcore.carbon(tr, half, allow_partial=True)
    assert r.coverage == pytest.approx(0.5)
    assert r.covered_energy_kwh == pytest.approx(420_000 / 3.6e6)
    assert r.outside_energy_kwh == pytest.approx(1_080_000 / 3.6e6)
    assert r.emissions_g == pytest.approx(420_000 / 3.6e6 * 200)


def test_constant_region_and_number_agree() -> None:
    tr = epcore.read_power(DATA / "trace_2h.csv")
    by_code = epcore.carbon(tr, "DE", pue=1.5)
    by_number = epcore.carbon(tr, 380.95, pue=1.5)
    assert by_code.emissions_g == by_number.emissions_g
    assert by_code.emissions_g == pytest.approx(constant_emissions_g(tr.energy_j, 380.95, 1.5), rel=1e-12)
    assert (by_code.region, by_code.year, by_code.licence) == ("DEU", 2023, "CC-BY-4.0")
    assert by_code.difference_g == pytest.approx(0.0, abs=1e-9)
    m = epcore.carbon(tr, "FR", market_g_co2_per_kwh=0.0)
    assert m.market_emissions_g == 0.0 and m.emissions_g > 0
    d = by_code.to_dict()
    assert json.dumps(d, allow_nan=False) and d["emissions_kg"] == d["emissions_g"] / 1000


def test_bad_arguments() -> None:
    tr = epcore.read_power(DATA / "trace_2h.csv")
    with pytest.raises(epcore.ConfigError):
        epcore.carbon(tr, 400.0, pue=0.9)
    with pytest.raises(epcore.ConfigError):
        epcore.carbon(tr, -1.0)
    with pytest.raises(epcore.ConfigError):
        epcore.carbon(tr, epcore.read_prices(DATA / "prices_per_kwh.csv"))
    with pytest.raises(epcore.ConfigError):
        epcore.electricity_cost(tr, 0.1, currency="usd")
    with pytest.raises(epcore.ConfigError):
        epcore.carbon(tr.result, 400.0)  # type: ignore[arg-type]


# ------------------------------------------------------------------ properties against the reference

_powers = st.lists(st.floats(0.0, 2000.0, allow_nan=False), min_size=2, max_size=12)
_values = st.lists(st.floats(0.0, 1500.0, allow_nan=False), min_size=1, max_size=8)


@st.composite
def _case(draw: st.DrawFn) -> tuple[list[int], list[float], list[int], list[float], str]:
    p = draw(_powers)
    steps = draw(st.lists(st.integers(1, 5_000_000_000), min_size=len(p) - 1, max_size=len(p) - 1))
    t = [0]
    for s in steps:
        t.append(t[-1] + s)
    v = draw(_values)
    # Labels that cover the trace: the first at or before its start, steps that reach past its end.
    first = draw(st.integers(-2_000_000_000, 0))
    span = t[-1] - first
    step = span // len(v) + 1 + draw(st.integers(0, 1_000_000_000))
    labels = [first + i * step for i in range(len(v))]
    rule = draw(st.sampled_from(["trapezoid", "hold"]))
    return t, p, labels, v, rule


_Case = tuple[list[int], list[float], list[int], list[float], str]


@given(_case())
def test_series_integral_matches_the_reference(case: _Case) -> None:
    t, p, labels, v, rule = case
    if len(v) == 1:
        labels, v = [labels[0], labels[0] + 10 * (t[-1] - labels[0] + 1)], [v[0], v[0]]
    tr = trace_of({"a": (t, p)}, rule=rule)
    s = IntervalSeries.from_labels(labels, v)
    r = epcore.carbon(tr, s, pue=1.3)
    ref = series_integral({"a": (t, p)}, s.start_ns.tolist(), s.end_ns.tolist(), s.value.tolist(),
                          rule=rule, pue=1.3)
    scale = max(ref["energy_j"], 1.0) / 3.6e6 * max(v) * 1.3
    assert r.emissions_g == pytest.approx(ref["total"], abs=1e-9 * scale + 1e-12)
    assert r.energy_kwh * 3.6e6 == pytest.approx(ref["energy_j"], rel=1e-9, abs=1e-9)
    assert r.coverage == 1.0
    if ref["naive_total"] is not None and r.naive_average_g is not None:
        assert r.naive_average_g == pytest.approx(ref["naive_total"], abs=1e-9 * scale + 1e-12)


@given(_powers, st.floats(0.0, 2000.0, allow_nan=False), st.integers(1, 30), st.floats(1.0, 3.0))
def test_constant_series_equals_the_constant_formula(p: list[float], g: float, n: int, pue: float) -> None:
    t = [i * 1_000_000_000 for i in range(len(p))]
    tr = trace_of({"a": (t, p)})
    step = t[-1] // n + 1
    s = IntervalSeries.from_labels([i * step for i in range(n + 1)], [g] * (n + 1))
    r = epcore.carbon(tr, s, pue=pue)
    want = constant_emissions_g(tr.energy_j, g, pue)
    assert r.emissions_g == pytest.approx(want, rel=1e-12, abs=1e-12)
    assert r.difference_g == pytest.approx(0.0, abs=1e-9 * max(want, 1.0))
    assert epcore.carbon(tr, g, pue=pue).emissions_g == pytest.approx(want, rel=1e-12, abs=1e-12)


@given(_case(), st.floats(0.0, 10.0, allow_nan=False))
def test_linear_in_intensity(case: _Case, k: float) -> None:
    t, p, labels, v, rule = case
    if len(v) == 1:
        labels, v = [labels[0], labels[0] + 10 * (t[-1] - labels[0] + 1)], [v[0], v[0]]
    tr = trace_of({"a": (t, p)}, rule=rule)
    base = epcore.carbon(tr, IntervalSeries.from_labels(labels, v))
    scaled = epcore.carbon(tr, IntervalSeries.from_labels(labels, [k * x for x in v]))
    assert scaled.emissions_g == pytest.approx(k * base.emissions_g, rel=1e-9, abs=1e-12)


# ------------------------------------------------------------------ CodeCarbon golden chain


def test_codecarbon_vllm_chain(shared_data: Path) -> None:
    """energy × PUE × 0.43 kg/kWh = their emissions, for every run of every model."""
    root = shared_data / "codecarbon-vllm-inference"
    files = sorted(root.glob("*/output/output_*.csv"))
    assert len(files) >= 75
    for f in files:
        with open(f, encoding="utf-8", newline="") as fh:
            m = {row[0]: row[1] for row in csv.reader(fh) if len(row) == 2}
        raw_kwh = float(m["Raw IT energy before PUE (kWh)"])
        pue = float(m["PUE used"])
        g = float(m["Carbon intensity used (kgCO2eq/kWh)"]) * 1000.0
        assert g == 430.0
        emissions_kg = float(m["Total amount of emissions (kgCO2eq)"])
        # A trace holding the run's raw IT energy: 1 h at raw_kwh kW.
        tr = trace_of({"node": ([0, H_NS], [raw_kwh * 1000.0] * 2)})
        r = epcore.carbon(tr, g, pue=pue)
        # Their figures are rounded to 1e-6 kWh before the product: half a unit, times PUE, times 0.43.
        assert r.emissions_kg == pytest.approx(emissions_kg, abs=0.5e-6 * pue * 0.43 * 2)
        total_kwh = float(m["Total energy after PUE (kWh)"])
        after = epcore.carbon(trace_of({"node": ([0, H_NS], [total_kwh * 1000.0] * 2)}), g)
        assert after.emissions_kg == pytest.approx(emissions_kg, abs=0.5e-6 * 0.43 + 1e-15)


# ------------------------------------------------------------------ CLI


def test_cli_table_shows_integrated_and_average(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli("carbon", "--power", str(DATA / "trace_2h.csv"),
               "--intensity", str(DATA / "electricity_maps_DE_hourly.csv"),
               "--prices", str(DATA / "prices_per_kwh.csv"))
    out = capsys.readouterr().out
    assert code == 0
    assert "average × average" in out and "143.333" in out and "125" in out and "USD" in out


def test_cli_json_grid_and_constant(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("carbon", "--power", str(DATA / "trace_2h.csv"), "--grid", "DE", "--pue", "1.56", "--json") == 0
    d = json.loads(capsys.readouterr().out)
    assert d["carbon"]["region"] == "DEU" and d["carbon"]["licence"] == "CC-BY-4.0" and d["cost"] is None
    assert d["carbon"]["emissions_g"] == pytest.approx(1_500_000 / 3.6e6 * 1.56 * 380.95)
    assert cli("carbon", "--power", str(DATA / "trace_2h.csv"), "--g-co2-per-kwh", "400",
               "--price-per-kwh", "0.2", "--currency", "EUR", "--json") == 0
    d = json.loads(capsys.readouterr().out)
    assert d["carbon"]["emissions_g"] == pytest.approx(1_500_000 / 3.6e6 * 400)
    assert d["cost"]["currency"] == "EUR" and d["cost"]["cost"] == pytest.approx(1_500_000 / 3.6e6 * 0.2)


def test_cli_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("carbon", "--power", str(DATA / "trace_2h.csv")) == 2
    assert cli("carbon", "--power", str(DATA / "trace_2h.csv"), "--grid", "DE", "--g-co2-per-kwh", "1") == 2
    capsys.readouterr()
    assert cli("carbon", "--power", str(DATA / "trace_2h.csv"), "--grid", "DEX") == 1
    err = capsys.readouterr().err
    assert err.startswith("error: unknown grid region 'DEX'") and "DEU" in err and err.count("\n") == 1
    assert cli("carbon", "--power", str(DATA / "trace_2h.csv"), "--intensity", str(DATA / "intensity_half.csv")) == 1
    err = capsys.readouterr().err
    assert "--allow-partial" in err and "allow_partial=True" not in err
    assert cli("carbon", "--power", str(DATA / "trace_2h.csv"), "--intensity", str(DATA / "intensity_half.csv"),
               "--allow-partial") == 0
    assert "50.00%" in capsys.readouterr().out
    assert cli("carbon", "--power", str(DATA / "missing.csv"), "--grid", "DE") == 1
    assert "missing.csv" in capsys.readouterr().err
