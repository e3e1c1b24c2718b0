"""Currency: ISO codes, ECB rate files (CSV and XML), conversion, display; Rust against the oracle."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import epcore
from epcore._reference_currency import format_money_reference, rate_reference, read_ecb_csv_reference
from epcore.currency import CURRENCIES, Rates, currency_decimals, format_money

DATA = Path(__file__).parent / "data" / "ecb"
SEED_COST_PER_QUERY = 2.488888888888889e-05
ECB_HIST = "ecb-eurofxref/eurofxref-hist.csv"


# --- the ISO table -------------------------------------------------------------


def test_iso_table() -> None:
    assert len(CURRENCIES) > 150
    assert list(CURRENCIES) == sorted(CURRENCIES)
    assert (CURRENCIES["USD"], CURRENCIES["JPY"], CURRENCIES["KWD"], CURRENCIES["CLF"]) == (2, 0, 3, 4)
    assert "HRK" not in CURRENCIES  # replaced by the euro in 2023
    with pytest.raises(TypeError):
        CURRENCIES["USD"] = 3  # type: ignore[index]


@pytest.mark.parametrize(
    ("code", "suggestions"),
    [
        ("USX", ["UGX", "USD", "USN", "UAH", "UYI"]),
        ("EUD", ["AUD", "EUR", "EGP", "ERN", "ETB"]),
        ("BRR", ["BRL", "IRR", "BAM", "BBD", "BDT"]),
        ("QQQ", ["QAR"]),
    ],
)
def test_unknown_code_lists_close_matches(code: str, suggestions: list[str]) -> None:
    with pytest.raises(epcore.ConfigError) as info:
        currency_decimals(code)
    e = info.value
    assert e.code == "unknown_code"
    assert e.value == code
    assert e.hint == f"did you mean {', '.join(suggestions)}?"
    assert "\n" not in str(e)


def test_unknown_code_in_steady_state_and_rates() -> None:
    with pytest.raises(epcore.ConfigError, match="did you mean UGX, USD"):
        epcore.steady_state(power_w=5600, tokens_per_s=2500, currency="USX")
    with pytest.raises(epcore.ConfigError, match="unknown currency 'ERU'"):
        Rates.bundled().rate("ERU", "USD")


# --- the bundled table -----------------------------------------------------------


def test_bundled_table_is_the_newest_ecb_row(shared_data: Path) -> None:
    newest = next(iter(read_ecb_csv_reference(shared_data / ECB_HIST).items()))
    b = Rates.bundled()
    assert (b.date, dict(b.per_eur)) == newest
    assert b.date == "2025-05-09"
    assert "European Central Bank" in b.source and "ecb.europa.eu" in b.source
    assert (b.per_eur["USD"], b.per_eur["GBP"], b.per_eur["JPY"], b.per_eur["CHF"]) == (1.1252, 0.8477, 163.36, 0.9353)


def test_bundled_table_without_shared_data() -> None:
    b = Rates.bundled()
    assert len(b.per_eur) == 31 and b.per_eur["EUR"] == 1.0
    assert all(code in CURRENCIES for code in b.per_eur)


def test_not_quoted_by_the_ecb_says_to_pass_a_rate() -> None:
    with pytest.raises(epcore.ConfigError) as info:
        Rates.bundled().convert(1.0, "USD", "AED")
    assert info.value.code == "invalid_argument"
    assert "no AED rate in the table of 2025-05-09" in str(info.value)
    assert "pass a rate" in str(info.value) and "--rate AED=" in str(info.value)


# --- cross rates -------------------------------------------------------------------


def test_cross_rate_usd_to_gbp_is_gbp_over_usd() -> None:
    r = Rates.bundled()
    assert r.rate("USD", "GBP") == 0.8477 / 1.1252
    assert r.rate("EUR", "USD") == 1.1252
    assert r.rate("USD", "EUR") == 1 / 1.1252
    assert r.rate("JPY", "JPY") == 1.0
    assert r.convert(100, "EUR", "JPY") == pytest.approx(16336.0, rel=1e-15)


codes = st.sampled_from(sorted(Rates.bundled().per_eur))
amounts = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False).filter(lambda x: abs(x) > 1e-300 or x == 0)


@given(a=codes, b=codes, x=amounts)
def test_round_trip_a_to_b_to_a(a: str, b: str, x: float) -> None:
    r = Rates.bundled()
    back = r.convert(r.convert(x, a, b), b, a)
    assert back == pytest.approx(x, rel=1e-12, abs=0.0)


@given(a=codes, b=codes)
def test_rate_matches_the_exact_reference(a: str, b: str) -> None:
    r = Rates.bundled()
    want = rate_reference(dict(r.per_eur), a, b)
    assert r.rate(a, b) == pytest.approx(float(want), rel=2**-52, abs=0.0)
    assert r.rate(a, b) * r.rate(b, a) == pytest.approx(1.0, rel=1e-15)


def test_from_mapping() -> None:
    fixed = Rates.from_mapping({"USD": 1.1252, "BRL": 6.3957}, date="2025-05-09")
    assert fixed.rate("USD", "BRL") == 6.3957 / 1.1252
    assert fixed.per_eur["EUR"] == 1.0 and fixed.source == "user-supplied rates"
    usd = Rates.from_mapping({"EUR": 0.8887, "BRL": 5.6842}, base="USD", source="x")
    assert usd.rate("USD", "BRL") == pytest.approx(5.6842, rel=1e-15)
    assert usd.rate("USD", "EUR") == pytest.approx(0.8887, rel=1e-15)
    for bad in ({"USD": 0.0}, {"USD": -1.0}, {"USD": math.nan}, {"USD": math.inf}, {"usd": 1.0}, {"EUR": 2.0}):
        with pytest.raises(epcore.ConfigError):
            Rates.from_mapping(bad)
    with pytest.raises(epcore.ConfigError, match="needs an EUR entry"):
        Rates.from_mapping({"GBP": 0.75}, base="USD")
    with pytest.raises(epcore.ConfigError, match="^date = "):
        Rates.from_mapping({"USD": 1.0}, date="9 May 2025")


def test_rates_are_frozen_and_hashable() -> None:
    r = Rates.bundled()
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.date = "2020-01-01"  # type: ignore[misc]
    with pytest.raises(TypeError):
        r.per_eur["USD"] = 2.0  # type: ignore[index]
    assert r == Rates.bundled() and hash(r) == hash(Rates.bundled())
    assert r.to_dict()["per_eur"]["USD"] == 1.1252


# --- ECB files ------------------------------------------------------------------------


def test_daily_csv() -> None:
    r = Rates.from_file(DATA / "eurofxref.csv")
    assert r.date == "2025-05-09"
    assert r == Rates(date="2025-05-09", source=r.source, per_eur=Rates.bundled().per_eur)
    assert "eurofxref.csv" in r.source


def test_xml_newest_and_requested_dates() -> None:
    path = DATA / "eurofxref-hist-90d.xml"
    assert Rates.from_file(path).date == "2025-05-09"
    assert Rates.from_file(path).per_eur["BRL"] == 6.3647
    assert Rates.from_file(path, date="2025-05-08").per_eur["USD"] == 1.1297
    # A Sunday takes the last reference day before it.
    assert Rates.from_file(path, date="2025-05-11").date == "2025-05-09"
    import datetime

    assert Rates.from_file(path, date=datetime.date(2025, 5, 7)).per_eur["GBP"] == 0.8511
    with pytest.raises(epcore.ConfigError, match="starts on 2025-05-07"):
        Rates.from_file(path, date="2025-05-01")
    assert [t.date for t in Rates.all_from_file(path)] == ["2025-05-09", "2025-05-08", "2025-05-07"]


def test_xml_agrees_with_csv_history(shared_data: Path) -> None:
    ref = read_ecb_csv_reference(shared_data / ECB_HIST)
    for t in Rates.all_from_file(DATA / "eurofxref-hist-90d.xml"):
        assert t.date is not None
        assert all(ref[t.date][c] == v for c, v in t.per_eur.items())


def test_bad_rate_names_line_column_value() -> None:
    with pytest.raises(epcore.ParseError) as info:
        Rates.from_file(DATA / "bad_rate.csv")
    e = info.value
    assert (e.code, e.line, e.column, e.value) == ("bad_value", 2, "GBP", "0.8x77")
    assert "bad_rate.csv:2: column GBP: cannot read '0.8x77' as a rate" in str(e)


@pytest.mark.parametrize(
    ("text", "code", "needle"),
    [
        ("Date,USD,\n2025-05-09,abc,\n", "bad_value", "<text>:2: column USD"),
        ("Date,USD,\n2025-05-09,1.1,2.2,\n", "unequal_lengths", "<text>:2"),
        ("Date,USD,\n2025-02-30,1.1,\n", "bad_value", "column Date"),
        ("Day,USD,\n2025-05-09,1.1,\n", "schema", "<text>:1"),
        ("Date,US,\n2025-05-09,1.1,\n", "schema", "column 2 'US'"),
        ("<Cube><Cube time='2025-05-09'><Cube currency='USD' rate='-1'/></Cube></Cube>", "bad_value", "column rate"),
        ("<Cube><Cube time='2025-13-09'></Cube></Cube>", "bad_value", "column time"),
        ("<Cube currency='USD' rate='1.1'/>", "schema", "outside any dated cube"),
        ("<a><b/></a>", "unrecognized_format", "no <Cube time="),
        ("<Cube><Cube time='2025-05-09'><Cube currency='USD' rate=1.1/></Cube></Cube>", "bad_value", "attributes"),
        ("<Cube><Cube time='2025-05-09'", "corrupt_input", "ends inside a tag"),
        ("   \n", "empty_input", ""),
    ],
)
def test_bad_ecb_text(text: str, code: str, needle: str) -> None:
    with pytest.raises(epcore.EpcoreError) as info:
        Rates.from_text(text)
    assert info.value.code == code
    assert needle in str(info.value)


def test_missing_file_is_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Rates.from_file(tmp_path / "nope.csv")


# --- the real ECB history -------------------------------------------------------------


def test_real_history_every_row(shared_data: Path) -> None:
    path = shared_data / ECB_HIST
    tables = Rates.all_from_file(path)
    ref = read_ecb_csv_reference(path)
    assert len(tables) == len(ref) == 6747
    assert (tables[0].date, tables[-1].date) == ("2025-05-09", "1999-01-04")
    assert all(t.date == d and dict(t.per_eur) == want for t, (d, want) in zip(tables, ref.items()))


def test_real_history_dates_and_na(shared_data: Path) -> None:
    path = shared_data / ECB_HIST
    first = Rates.from_file(path, date="1999-01-04")
    assert first.per_eur["USD"] == 1.1789 and first.per_eur["CYP"] == 0.58231
    # BRL has no rate in 1999 (N/A), RUB none in 2025: refused, not zero.
    with pytest.raises(epcore.ConfigError, match="no BRL rate in the table of 1999-01-04"):
        first.convert(1.0, "USD", "BRL")
    with pytest.raises(epcore.ConfigError, match="no RUB rate in the table of 2025-05-09"):
        Rates.from_file(path).rate("EUR", "RUB")
    # A historic code converts on a day the ECB quoted it.
    assert first.rate("EUR", "CYP") == 0.58231
    # A weekend takes the Friday before.
    assert Rates.from_file(path, date="2025-05-10").date == "2025-05-09"
    with pytest.raises(epcore.ConfigError, match="starts on 1999-01-04"):
        Rates.from_file(path, date="1998-12-31")


# --- display -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "code", "symbol", "want"),
    [
        (SEED_COST_PER_QUERY, "USD", True, "$0.0000249"),
        (SEED_COST_PER_QUERY, "USD", False, "0.0000249 USD"),
        (1234.5, "EUR", True, "€1,234.50"),
        (1234.5, "EUR", False, "1,234.50 EUR"),
        (163.36, "JPY", True, "¥163"),
        (1234.5, "JPY", False, "1,234 JPY"),
        (0.25, "JPY", True, "¥0.25"),
        (0.049777777777777775, "USD", True, "$0.0498"),
        (0.01, "USD", True, "$0.01"),
        (0.009999, "USD", True, "$0.01"),
        (0.0, "BRL", True, "R$0.00"),
        (1.41e-4, "BRL", True, "R$0.000141"),
        (12.5, "INR", True, "₹12.50"),
        (12.5, "CNY", True, "CN¥12.50"),
        (12.5, "GBP", True, "£12.50"),
        (-3.0, "GBP", True, "-£3.00"),
        (1.2345, "KWD", True, "1.234 KWD"),
        (2.49e-12, "USD", False, "2.49e-12 USD"),
        (1e9, "USD", True, "$1,000,000,000.00"),
    ],
)
def test_format_money_table(amount: float, code: str, symbol: bool, want: str) -> None:
    assert format_money(amount, code, symbol=symbol) == want


@given(
    x=st.floats(min_value=-1e15, max_value=1e15, allow_nan=False),
    code=st.sampled_from(["USD", "EUR", "JPY", "KWD", "CLF", "BRL", "CHF"]),
    symbol=st.booleans(),
)
def test_format_money_matches_reference(x: float, code: str, symbol: bool) -> None:
    if x == 0:
        x = 0.0  # -0.0 shows as 0
    assert format_money(x, code, symbol=symbol) == format_money_reference(x, CURRENCIES[code], code, symbol)


def test_format_money_errors() -> None:
    with pytest.raises(epcore.ConfigError, match="finite"):
        format_money(math.nan, "USD")
    with pytest.raises(epcore.ConfigError, match="did you mean"):
        format_money(1.0, "USX")


def test_public_api() -> None:
    for name in ("Rates", "format_money", "CURRENCIES"):
        assert name in epcore.__all__ and hasattr(epcore, name)
