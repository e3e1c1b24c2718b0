"""The steady-state calculator across currencies: golden seed figures in USD and BRL, and ``calc`` flags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

import epcore
from epcore.cli import app
from epcore.currency import Rates

runner = CliRunner()
DATA = Path(__file__).parent / "data" / "ecb"
SEED = ["--power-w", "5600", "--tokens-per-s", "2500", "--price-per-kwh", "0.08"]
FIXED = Rates.from_mapping({"USD": 1.1252, "BRL": 6.3957}, date="2025-05-09", source="fixed for the test")
BRL_PER_USD = 6.3957 / 1.1252


def one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


# --- golden seed figures --------------------------------------------------------


def test_seed_in_usd() -> None:
    r = epcore.steady_state(power_w=5600, tokens_per_s=2500, price_per_kwh=0.08)
    assert (r.currency, r.price_currency, r.rate, r.rate_date, r.rate_source) == ("USD", "USD", 1.0, None, None)
    assert r.cost_per_query == pytest.approx(2.4888888888888889e-05, rel=1e-15)
    assert epcore.format_money(r.cost_per_query, r.currency) == "$0.0000249"
    assert epcore.format_money(r.cost_per_million_tokens, r.currency, symbol=False) == "0.0498 USD"


def test_seed_in_brl_with_a_fixed_rate() -> None:
    usd = epcore.steady_state(power_w=5600, tokens_per_s=2500, price_per_kwh=0.08)
    r = epcore.steady_state(
        power_w=5600, tokens_per_s=2500, price_per_kwh=0.08, price_currency="USD", currency="BRL", rates=FIXED
    )
    assert (r.currency, r.price_currency, r.rate_date, r.rate_source) == ("BRL", "USD", "2025-05-09", "fixed for the test")
    assert r.rate == BRL_PER_USD
    # 0.08 USD/kWh x 5.68405... BRL/USD = 0.454725 BRL/kWh; x 0.311111 Wh/query.
    assert r.cost_per_query == pytest.approx(0.08 * BRL_PER_USD * 5600 * 500 / 2500 / 3.6e6, rel=1e-15)
    assert r.cost_per_query == pytest.approx(1.4147e-4, rel=1e-4)
    assert r.cost_per_million_tokens == pytest.approx(usd.cost_per_million_tokens * BRL_PER_USD, rel=1e-15)
    assert epcore.format_money(r.cost_per_query, "BRL") == "R$0.000141"
    # Energy does not depend on money.
    assert (r.joules_per_token, r.wh_per_query) == (usd.joules_per_token, usd.wh_per_query)
    assert r.price_per_kwh == 0.08  # as typed, in price_currency


def test_bundled_rate_by_default() -> None:
    r = epcore.steady_state(power_w=5600, tokens_per_s=2500, price_currency="USD", currency="EUR", pue=1.5)
    assert r.rate == 1 / 1.1252 and r.rate_date == "2025-05-09"
    assert r.rate_source is not None and "European Central Bank" in r.rate_source
    assert r.facility is not None
    assert r.facility.cost_per_query == pytest.approx(r.cost_per_query * 1.5, rel=1e-14)
    d = r.to_dict()
    assert (d["rate"], d["rate_date"], d["price_currency"]) == (1 / 1.1252, "2025-05-09", "USD")
    json.dumps(d, allow_nan=False)


def test_conversion_errors() -> None:
    with pytest.raises(epcore.ConfigError, match="no AED rate"):
        epcore.steady_state(power_w=5600, tokens_per_s=2500, price_currency="USD", currency="AED")
    # The same currency needs no rate, even one the ECB does not quote.
    assert epcore.steady_state(power_w=5600, tokens_per_s=2500, currency="AED").rate == 1.0
    with pytest.raises(epcore.ConfigError, match="^price_currency = usd"):
        epcore.steady_state(power_w=5600, tokens_per_s=2500, price_currency="usd")
    with pytest.raises(epcore.ConfigError, match="did you mean"):
        epcore.steady_state(power_w=5600, tokens_per_s=2500, price_currency="USX")


prices = st.one_of(st.just(0.0), st.floats(min_value=1e-6, max_value=10.0))  # no subnormal costs
codes = st.sampled_from(sorted(Rates.bundled().per_eur))


@given(price=prices, a=codes, b=codes)
def test_price_conversion_is_linear(price: float, a: str, b: str) -> None:
    base = epcore.steady_state(power_w=700, tokens_per_s=1800, price_per_kwh=price, currency=a)
    r = epcore.steady_state(power_w=700, tokens_per_s=1800, price_per_kwh=price, price_currency=a, currency=b)
    assert r.cost_per_query == pytest.approx(base.cost_per_query * Rates.bundled().rate(a, b), rel=1e-14, abs=0.0)


# --- calc flags --------------------------------------------------------------------


def test_calc_seed_table_never_shows_zero_cents() -> None:
    r = runner.invoke(app, ["calc", *SEED], env={"COLUMNS": "120"})
    assert r.exit_code == 0, r.output
    assert "$0.0000249" in r.stdout and "$0.00 " not in r.stdout
    assert "indicative" not in r.stdout  # no conversion, no rate line


def test_calc_brl_table_shows_rate_date_and_caveat() -> None:
    r = runner.invoke(app, ["calc", *SEED, "--price-currency", "USD", "--currency", "BRL"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "R$0.000141" in r.stdout
    assert "1 USD = 5.65651 BRL" in r.stdout and "2025-05-09" in r.stdout
    assert "indicative rates" in r.stdout and "European Central Bank" in r.stdout


def test_calc_json_rate_fields() -> None:
    r = runner.invoke(app, ["calc", *SEED, "--price-currency", "USD", "--currency", "BRL", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["rate"] == 6.3647 / 1.1252 and d["rate_date"] == "2025-05-09"
    assert "European Central Bank" in d["rate_source"] and "indicative" in d["rate_note"]
    assert (d["currency"], d["price_currency"]) == ("BRL", "USD")
    same = json.loads(runner.invoke(app, ["calc", *SEED, "--json"]).stdout)
    assert (same["rate"], same["rate_date"], same["rate_source"], same["rate_note"]) == (1.0, None, None, None)


def test_calc_rate_flags() -> None:
    args = ["calc", *SEED, "--price-currency", "USD", "--currency", "BRL", "--rate", "USD=1.1252", "--rate",
            "BRL=6.3957", "--json"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["rate"] == BRL_PER_USD and d["rate_date"] is None
    assert d["rate_source"] == "--rate USD=1.1252, BRL=6.3957"


def test_calc_fx_file_and_date() -> None:
    xml = str(DATA / "eurofxref-hist-90d.xml")
    r = runner.invoke(app, ["calc", *SEED, "--price-currency", "USD", "--currency", "GBP", "--fx-file", xml,
                            "--fx-date", "2025-05-08", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["rate"] == 0.8476 / 1.1297 and d["rate_date"] == "2025-05-08"
    assert "eurofxref-hist-90d.xml" in d["rate_source"]
    # --rate adds what the file lacks.
    r = runner.invoke(app, ["calc", *SEED, "--price-currency", "USD", "--currency", "AED", "--fx-file", xml,
                            "--rate", "AED=4.13", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["rate"] == 4.13 / 1.1252 and d["rate_date"] == "2025-05-09"
    assert "AED from --rate" in d["rate_source"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--currency", "USX"], "unknown currency 'USX'; hint: did you mean UGX, USD, USN, UAH, UYI?"),
        (["--price-currency", "BRR"], "did you mean BRL"),
        (["--price-currency", "USD", "--currency", "AED"], "no AED rate in the table of 2025-05-09"),
        (["--rate", "USD=-1"], "rates[USD] = -1"),
        (["--fx-file", str(DATA / "bad_rate.csv"), "--currency", "GBP", "--price-currency", "USD"],
         "bad_rate.csv:2: column GBP: cannot read '0.8x77'"),
        (["--fx-file", "no-such-file.csv"], "no-such-file.csv"),
        (["--fx-file", str(DATA / "eurofxref.csv"), "--fx-date", "2000-01-01"], "starts on 2025-05-09"),
    ],
)
def test_calc_bad_currency_input_is_one_line_exit_1(args: list[str], needle: str) -> None:
    r = runner.invoke(app, ["calc", *SEED, *args, "--json"])
    assert r.exit_code == 1, r.output
    assert r.stdout == ""
    assert needle in one_error_line(r.stderr)


@pytest.mark.parametrize("args", [["--rate", "USD"], ["--rate", "USD=abc"], ["--fx-date", "2025-05-09"]])
def test_calc_malformed_rate_flags_are_usage_errors(args: list[str]) -> None:
    r = runner.invoke(app, ["calc", *SEED, *args])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
