"""``epcore sensitivity``, ``fleet``, ``floor`` and ``crossover``, in-process through ``cli()``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from test_cli import assert_one_error_line
from cli_helpers import run

SEED = ["--power-w", "5600", "--tokens-per-s", "2500"]
FLEET = ["--nodes", "1200", "--power-w", "5600", "--utilization", "0.6", "--hours", "8760"]


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tables are checked by their text: a wide console keeps every cell on one line.
    monkeypatch.setenv("COLUMNS", "200")


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    assert err == ""
    return json.loads(out)


# --- sensitivity ---------------------------------------------------------------------------


def test_sensitivity_presets_json(capsys: pytest.CaptureFixture[str]) -> None:
    d = run_json(capsys, "sensitivity", *SEED, "--grid-g-co2-per-kwh", "400")
    assert d["base"]["joules_per_token"] == 2.24
    rows = {r["scenario"]: r for r in d["rows"]}
    assert rows["2× throughput/W"]["relative_change"]["cost_per_million_tokens"] == -0.5
    assert rows["cleaner grid ×0.5"]["relative_change"]["g_co2_per_query"] == -0.5
    assert "illustrative" in rows["int8 quantization ×1.6 throughput/W"]["note"]


def test_sensitivity_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sensitivity", *SEED, "--pue", "1.56")
    assert code == 0
    for text in ("2× throughput/W", "-50.0%", "PUE 1.56 → 1.1", "-29.5%", "illustrative assumption", "3.4944"):
        assert text in out, text
    assert "gCO2/query" not in out  # no intensity, no carbon column


def test_sensitivity_custom_levers(capsys: pytest.CaptureFixture[str]) -> None:
    d = run_json(capsys, "sensitivity", *SEED, "--scale", "price=2", "--set", "throughput_per_watt=1")
    assert [r["scenario"] for r in d["rows"]] == ["price ×2", "throughput_per_watt = 1"]
    assert d["rows"][0]["relative_change"]["cost_per_query"] == 1.0
    assert d["rows"][1]["figures"]["joules_per_token"] == 1.0


@pytest.mark.parametrize("bad", ["price", "speed=2", "price=x"])
def test_sensitivity_bad_lever_is_usage(capsys: pytest.CaptureFixture[str], bad: str) -> None:
    code, out, err = run(capsys, "sensitivity", *SEED, "--scale", bad)
    assert code == 2 and out == ""
    assert "--scale" in assert_one_error_line(err)


def test_sensitivity_out_of_domain_is_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "sensitivity", *SEED, "--scale", "pue=0.5")
    assert code == 1 and out == ""
    assert "scenario 'pue ×0.5': pue = 0.5" in assert_one_error_line(err)


# --- fleet ---------------------------------------------------------------------------------


def test_fleet_json_golden(capsys: pytest.CaptureFixture[str]) -> None:
    d = run_json(capsys, "fleet", *FLEET, "--currency", "EUR", "--tokens-per-s", "2500", "--pue", "1.56")
    assert d["currency"] == "EUR"
    assert d["it"]["power_mw"] == pytest.approx(4.032, rel=1e-15)
    assert d["facility"]["power_mw"] == pytest.approx(4.032 * 1.56, rel=1e-15)
    assert d["it"]["energy_mwh"] == pytest.approx(35_320.32, rel=1e-15)
    assert d["it"]["cost"] == pytest.approx(2_825_625.6, rel=1e-15)
    assert d["tokens"] == pytest.approx(5.67648e13, rel=1e-15)
    assert round(d["it"]["cost_per_million_tokens"], 4) == 0.0498
    assert d["it"]["t_co2"] is None


def test_fleet_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "fleet", *FLEET, "--currency", "EUR", "--pue", "1.56", "--grid-g-co2-per-kwh", "400")
    assert code == 0
    for text in ("4.032", "6.28992", "35,320.3", "€2,825,625.60", "14,128.1", "per year", "facility"):
        assert text in out, text
    assert "energy per token" not in out  # no throughput given


def test_fleet_ranges(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["fleet", "--nodes", "1000..1200", "--power-w", "5600", "--utilization", "0.5..0.7",
            "--idle-power-w", "1600", "--tokens-per-s", "2500"]
    d = run_json(capsys, *args)
    assert d["it"]["power_mw"] == {"min": pytest.approx(3.6), "max": pytest.approx(5.28)}
    assert d["it"]["joules_per_token"]["max"] == pytest.approx(2.88, rel=1e-15)
    code, out, _ = run(capsys, *args)
    assert code == 0 and "3.6 – 5.28" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--utilization", "60"], "utilization = 60: must be in [0, 1]"),
        (["--idle-power-w", "6000"], "idle_power_w_per_node = 6000"),
        (["--pue", "0.9"], "pue = 0.9"),
        (["--currency", "eur"], "currency"),
        (["--power-w", "6000..5000"], "power_w_per_node = (6000, 5000)"),
    ],
)
def test_fleet_bad_input_is_one_line_exit_1(capsys: pytest.CaptureFixture[str], args: list[str], needle: str) -> None:
    code, out, err = run(capsys, "fleet", *FLEET, *args)
    assert code == 1 and out == ""
    assert needle in assert_one_error_line(err)


def test_fleet_malformed_number_is_usage(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "fleet", *FLEET, "--nodes", "lots")
    assert code == 2 and out == "" and "MIN..MAX" in assert_one_error_line(err)


def test_fleet_help_mentions_pue_average_and_idle_default(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "fleet", "--help")
    assert code == 0
    flat = " ".join(out.split())
    assert "1.56" in flat and "IT energy" in flat and "idle" in flat


# --- floor ---------------------------------------------------------------------------------


def test_floor_json_golden(capsys: pytest.CaptureFixture[str]) -> None:
    d = run_json(capsys, "floor", "--api-price-per-mtok", "0.60", "--currency", "USD", *SEED)
    o = d["output"]
    assert o["joules_per_token"] == 2.24
    assert o["energy_cost_per_mtok"] == pytest.approx(0.0497777777777778, rel=1e-14)
    assert round(o["energy_share"], 4) == 0.083
    assert o["break_even_joules_per_token"] == pytest.approx(27.0, rel=1e-15)
    assert d["blended"] == o


def test_floor_separate_prices_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "floor", "--api-input-price-per-mtok", "0.15", "--api-output-price-per-mtok", "0.6",
                       "--input-joules-per-token", "0.2", "--output-joules-per-token", "2.24",
                       "--input-tokens", "1500", "--output-tokens", "500")
    assert code == 0
    for text in ("0.0497778", "0.2625", "8.3%", "27", "6.75", "mix 1,500 input : 500 output"):
        assert text in out, text


@pytest.mark.parametrize(
    "args",
    [
        ["--joules-per-token", "2.24"],  # no price
        ["--api-price-per-mtok", "0.6"],  # no energy
        ["--api-price-per-mtok", "0.6", "--power-w", "5600"],  # half a pair
        ["--api-price-per-mtok", "0.6", "--joules-per-token", "2", *SEED],  # two energies
    ],
)
def test_floor_missing_or_conflicting_options_are_usage(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, out, err = run(capsys, "floor", *args)
    assert code == 2 and out == ""
    assert assert_one_error_line(err).endswith("(see 'epcore floor --help')")


def test_floor_bad_values_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "floor", "--api-price-per-mtok", "-1", "--joules-per-token", "2")
    assert code == 1 and "input_price_per_mtok = -1" in assert_one_error_line(err)
    code, _, err = run(capsys, "floor", "--api-price-per-mtok", "1", "--power-w", "5600", "--tokens-per-s", "0")
    assert code == 1 and "tokens_per_s = 0" in assert_one_error_line(err)


# --- crossover -----------------------------------------------------------------------------


def test_crossover_json_golden(capsys: pytest.CaptureFixture[str]) -> None:
    d = run_json(capsys, "crossover", "--training-mwh", "1300", "--queries-per-day", "5e7", *SEED)
    assert d["wh_per_query"] == pytest.approx(2.24 * 500 / 3600, rel=1e-15)
    assert d["days_to_cross"] == pytest.approx(83.5714285714286, rel=1e-14)
    assert d["months"] == 12
    assert d["ratio_after_months"] == pytest.approx(15.5555555555556 * 365.25 / 1300, rel=1e-14)


def test_crossover_table_and_never(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "crossover", "--training-mwh", "1300", "--queries-per-day", "5e7",
                       "--wh-per-query", "0.3", "--pue", "1.1", "--months", "6")
    assert code == 0
    for text in ("78.7879", "after 6 months", "16.5"):
        assert text in out, text
    code, out, _ = run(capsys, "crossover", "--training-mwh", "1300", "--queries-per-day", "0", "--wh-per-query", "0.3")
    assert code == 0 and "never (no queries)" in out
    d = run_json(capsys, "crossover", "--training-mwh", "1300", "--queries-per-day", "0", "--wh-per-query", "0.3")
    assert d["days_to_cross"] is None


def test_crossover_errors(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(capsys, "crossover", "--training-mwh", "1300", "--queries-per-day", "1")
    assert code == 2
    code, _, _ = run(capsys, "crossover", "--training-mwh", "1300", "--queries-per-day", "1", "--wh-per-query", "1",
                     "--joules-per-token", "2")
    assert code == 2
    code, out, err = run(capsys, "crossover", "--training-mwh", "0", "--queries-per-day", "1", "--wh-per-query", "1")
    assert code == 1 and out == "" and "training_mwh = 0: must be > 0" in assert_one_error_line(err)
    code, _, err = run(capsys, "crossover", "--training-mwh", "1", "--queries-per-day", "-5", "--wh-per-query", "1")
    assert code == 1 and "queries_per_day = -5: must be >= 0" in assert_one_error_line(err)


# --- --csv and --grid, as on calc ----------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["sensitivity", *SEED],
    ["fleet", *FLEET],
    ["floor", "--api-price-per-mtok", "0.6", "--joules-per-token", "2.24"],
    ["crossover", "--training-mwh", "1287", "--queries-per-day", "1e7", "--wh-per-query", "0.3"],
])
def test_csv_and_json_together_is_usage(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, out, err = run(capsys, *args, "--csv")
    assert code == 0 and err == "" and out.count("\n") > 2
    code, out, err = run(capsys, *args, "--csv", "--json")
    assert code == 2 and out == "" and "pick one" in assert_one_error_line(err)


def test_sensitivity_and_fleet_take_a_grid_region(capsys: pytest.CaptureFixture[str]) -> None:
    d = run_json(capsys, "sensitivity", *SEED, "--grid", "DE")
    assert d["base"]["g_co2_per_query"] is not None
    f = run_json(capsys, "fleet", *FLEET, "--grid", "DE")
    assert f["it"]["t_co2"] is not None
    code, _, err = run(capsys, "fleet", *FLEET, "--grid", "DE", "--grid-g-co2-per-kwh", "300")
    assert code == 2 and "not both" in assert_one_error_line(err)
