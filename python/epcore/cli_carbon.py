"""``epcore carbon``: a power trace against grid intensity (and prices), integrated over time.

Registered on :data:`epcore.cli.app` when :mod:`epcore.cli` is imported.
Exactly one intensity source: ``--intensity FILE`` (an hourly or any-step
series: Electricity Maps, WattTime/Zeus or ``timestamp,g_co2_per_kwh``),
``--grid CODE`` (the shipped table: ``DE``, ``gcp:europe-west1``…) or
``--grid-g-co2-per-kwh N`` (``--g-co2-per-kwh``, its older name, still works).
``--prices FILE`` or ``--price-per-kwh N`` add the electricity cost. The table
shows the integrated figure beside average × average and their difference;
``--json`` prints the same names as :class:`epcore.CarbonResult` and
:class:`epcore.CostResult`, ``--csv`` the same figures one per row
(``result,figure,value``).

>>> import contextlib, sys
>>> from epcore.cli import cli
>>> with contextlib.redirect_stderr(sys.stdout):
...     cli("carbon", "--power", "missing.csv", "--grid", "DE")
error: missing.csv: No such file or directory...
1
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from .carbon import CarbonResult, CostResult, carbon, electricity_cost, read_intensity, read_prices
from .cli import (
    CSV_HELP,
    JSON_HELP,
    PANEL_MEASURED,
    FormatName,
    PreferName,
    RuleName,
    _bad_input_exits_1,
    _one_output,
    _print_csv,
    _print_json,
    _progress_for,
    _reading,
    _stdout,
    app,
)
from .cli_options import POWER_CHANNEL, POWER_COLUMNS, POWER_FORMAT, POWER_MAX_GAP, POWER_VALUE, PREFER, RULE
from .display import fmt_number
from .exceptions import EpcoreError
from .trace import read_power

__all__ = ["carbon_command"]


def _message(e: EpcoreError) -> str:
    msg = str(e)
    msg = msg.replace("allow_partial=True (CLI --allow-partial)", "--allow-partial")
    msg = msg.replace("allow_negative_price=True (CLI --allow-negative-price)", "--allow-negative-price")
    if e.hint and e.hint not in msg:
        msg = f"{msg}; hint: {e.hint}"
    return msg


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:+.3g} %"


def _carbon_table(r: CarbonResult) -> Table:
    t = Table(title="carbon (location-based)")
    t.add_column("figure")
    t.add_column("value", justify="right")
    t.add_column("unit")
    t.add_row("energy, IT (whole trace)", fmt_number(r.energy_kwh), "kWh")
    if r.pue != 1.0:
        t.add_row(f"energy, facility (PUE {fmt_number(r.pue)})", fmt_number(r.facility_energy_kwh), "kWh")
    t.add_row("emissions, integrated ∑ E·I", fmt_number(r.emissions_g), "gCO2e")
    t.add_row("emissions, average × average", fmt_number(r.naive_average_g), "gCO2e")
    t.add_row("difference (integrated − average)", fmt_number(r.difference_g), "gCO2e")
    t.add_row("difference", _pct(r.difference_pct), "")
    t.add_row("intensity, energy-weighted", fmt_number(r.mean_g_co2_per_kwh), "gCO2e/kWh")
    t.add_row("intensity, time-average", fmt_number(r.time_mean_g_co2_per_kwh), "gCO2e/kWh")
    if r.market_emissions_g is not None:
        t.add_row("emissions, market-based", fmt_number(r.market_emissions_g), "gCO2e")
    _coverage_rows(t, r)
    if r.kind == "grid":
        t.add_row("grid", f"{r.region} ({r.year}, {r.licence})", "")
        t.add_row("source", r.source or "", "")
    elif r.kind == "series":
        t.add_row("series", ", ".join(x for x in (r.path, r.layout, r.zone, r.basis, r.method) if x), "")
    return t


def _cost_table(r: CostResult) -> Table:
    t = Table(title=f"electricity cost ({r.currency})")
    t.add_column("figure")
    t.add_column("value", justify="right")
    t.add_column("unit")
    t.add_row("cost, integrated ∑ E·price", fmt_number(r.cost), r.currency)
    t.add_row("cost, average × average", fmt_number(r.naive_average_cost), r.currency)
    t.add_row("difference (integrated − average)", fmt_number(r.difference), r.currency)
    t.add_row("difference", _pct(r.difference_pct), "")
    t.add_row("price, energy-weighted", fmt_number(r.mean_price_per_kwh), f"{r.currency}/kWh")
    t.add_row("price, time-average", fmt_number(r.time_mean_price_per_kwh), f"{r.currency}/kWh")
    _coverage_rows(t, r)
    if r.kind == "series":
        t.add_row("series", ", ".join(x for x in (r.path, r.layout, r.zone) if x), "")
    return t


def _coverage_rows(t: Table, r: CarbonResult | CostResult) -> None:
    t.add_row("coverage of the trace", f"{r.coverage:.2%}", "")
    if r.outside_energy_kwh:
        t.add_row("energy outside the series (not counted)", fmt_number(r.outside_energy_kwh), "kWh")


def _csv_rows(c: CarbonResult, cost: CostResult | None) -> Iterator[list[Any]]:
    # Every scalar figure by its Python name; the series' metadata stays in --json.
    for name, r in (("carbon", c), ("cost", cost)):
        if r is None:
            continue
        for k, v in r.to_dict().items():
            if k != "series":
                yield [name, k, v]


@app.command("carbon", rich_help_panel=PANEL_MEASURED)
def carbon_command(
    power: Annotated[Path, typer.Option("--power", help="Power or energy trace (any format epcore reads).")],
    format: Annotated[FormatName, POWER_FORMAT] = FormatName.auto,
    value: Annotated[str | None, POWER_VALUE] = None,
    channel: Annotated[str | None, POWER_CHANNEL] = None,
    prefer: Annotated[PreferName | None, PREFER] = None,
    columns: Annotated[str | None, POWER_COLUMNS] = None,
    rule: Annotated[RuleName, RULE] = RuleName.trapezoid,
    max_gap_s: Annotated[float | None, POWER_MAX_GAP] = None,
    intensity: Annotated[
        Path | None, typer.Option("--intensity", help="Intensity series CSV (Electricity Maps, WattTime/Zeus, "
                                                       "timestamp,g_co2_per_kwh).")
    ] = None,
    grid: Annotated[
        str | None, typer.Option("--grid", help="Shipped grid code: DE, DEU, gcp:europe-west1, US-CA…")
    ] = None,
    g_co2_per_kwh: Annotated[float | None, typer.Option("--grid-g-co2-per-kwh", "--g-co2-per-kwh",
                                                        help="A constant intensity, gCO2/kWh.")] = None,
    basis: Annotated[
        str, typer.Option("--basis", help="lifecycle (default) or direct (Electricity Maps).")
    ] = "lifecycle",
    prices: Annotated[
        Path | None, typer.Option("--prices", help="Price series CSV (timestamp,price_per_kwh; ENTSO-E MTU (UTC)).")
    ] = None,
    price_per_kwh: Annotated[float | None, typer.Option("--price-per-kwh", help="A constant price.")] = None,
    currency: Annotated[
        str | None, typer.Option("--currency", help="Currency of the prices (default: the file's, else USD).")
    ] = None,
    pue: Annotated[float, typer.Option("--pue", help="Facility ÷ IT energy; default 1.0 (IT only); "
                                                   "industry average about 1.56 (Uptime 2024).")] = 1.0,
    market_g_co2_per_kwh: Annotated[
        float | None, typer.Option("--market-g-co2-per-kwh", help="Market-based factor (contracts), reported beside.")
    ] = None,
    allow_partial: Annotated[
        bool, typer.Option("--allow-partial", help="Count only the trace time the series covers.")
    ] = False,
    allow_negative_price: Annotated[
        bool, typer.Option("--allow-negative-price", help="Accept negative prices.")
    ] = False,
    tz: Annotated[str | None, typer.Option("--tz", help="IANA zone of a trace logged in local time.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help=CSV_HELP + " Rows: result, figure, value.")] = False,
) -> None:
    """Carbon (and cost) of a power trace: time-varying intensity integrated against it."""
    _one_output(as_json, as_csv)
    given = [x for x in (intensity, grid, g_co2_per_kwh) if x is not None]
    if len(given) != 1:
        raise typer.BadParameter("give exactly one of --intensity, --grid, --grid-g-co2-per-kwh",
                                 param_hint="--intensity")
    if prices is not None and price_per_kwh is not None:
        raise typer.BadParameter("give one of --prices, --price-per-kwh", param_hint="--prices")
    if basis not in ("lifecycle", "direct"):
        raise typer.BadParameter(f"{basis!r}: expected lifecycle or direct", param_hint="--basis")
    with _bad_input_exits_1(_message):
        with _progress_for(power) as progress:
            trace = read_power(
                power, format=None if format is FormatName.auto else format.value, tz=tz, value=value,
                channel=channel, prefer=None if prefer is None else prefer.value, columns=columns,
                rule=rule.value, max_gap_s=max_gap_s, progress=progress,
            )
        source: Any = grid if grid is not None else g_co2_per_kwh
        if intensity is not None:
            with _reading(intensity):
                source = read_intensity(intensity, basis)
        c = carbon(trace, source, pue=pue, allow_partial=allow_partial, market_g_co2_per_kwh=market_g_co2_per_kwh)
        cost: CostResult | None = None
        if prices is not None:
            with _reading(prices):
                series = read_prices(prices, currency, allow_negative_price=allow_negative_price)
            cost = electricity_cost(trace, series, pue=pue, allow_partial=allow_partial)
        elif price_per_kwh is not None:
            if price_per_kwh < 0 and not allow_negative_price:
                raise typer.BadParameter("negative price: add --allow-negative-price", param_hint="--price-per-kwh")
            cost = electricity_cost(trace, price_per_kwh, currency=currency, pue=pue)
    if as_json:
        _print_json({"carbon": c.to_dict(), "cost": None if cost is None else cost.to_dict()})
        return
    if as_csv:
        _print_csv(("result", "figure", "value"), _csv_rows(c, cost))
        return
    out = _stdout()
    out.print(_carbon_table(c))
    if cost is not None:
        out.print(_cost_table(cost))
