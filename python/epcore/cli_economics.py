"""``epcore sensitivity``, ``fleet``, ``floor`` and ``crossover``: scenarios on the command line.

Registered on :data:`epcore.cli.app` when :mod:`epcore.cli` is imported. Each
command calls one function of :mod:`epcore.scenarios` and prints a rich table,
with ``--json`` the result's ``to_dict()``, or with ``--csv`` the table as CSV
(figure names as in Python, full-precision numbers). Every
:class:`~epcore.EpcoreError` is one ``error:`` line and exit 1; a missing or
malformed option is a usage error (exit 2). ``--currency`` is a label of every
price and cost here: nothing is converted.

``fleet`` takes any number as a range ``MIN..MAX`` and then shows each figure
as ``min – max`` (see :func:`epcore.scenarios.fleet_range`):

>>> _num_or_range("5600", "--power-w"), _num_or_range("5000..6000", "--power-w")
(5600.0, (5000.0, 6000.0))
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

import typer
from rich.table import Table

from .display import FLEET_ROWS, SENS_COLUMNS, figure, fmt_number, pct, span
from .cli import (
    CSV_HELP,
    GRID_REGION_HELP,
    JSON_HELP,
    PANEL_STEADY,
    _bad_input_exits_1,
    _grid_g_co2,
    _one_output,
    _print_csv,
    _print_json,
    _stdout,
    app,
)
from .economics import SteadyStateFigures, steady_state
from .scenarios import (
    SENSITIVITY_LEVERS,
    Crossover,
    Fleet,
    FleetRange,
    Floor,
    Interval,
    Scenario,
    Sensitivity,
    api_floor,
    crossover,
    fleet,
    fleet_range,
    sensitivity,
)

__all__ = ["crossover_command", "fleet_command", "floor_command", "print_sensitivity", "sensitivity_command"]

PUE_HELP = (
    "Power usage effectiveness (facility ÷ IT power). The default 1.0 means IT energy only; "
    "the industry average is about 1.56 (Uptime 2024), hyperscale about 1.1."
)
CURRENCY_HELP = "ISO 4217 code of every price and cost (a label: nothing is converted)."
GRID_HELP = "Grid carbon intensity, gCO2/kWh; adds carbon figures."



def _parse_scenario(text: str, change: str, option: str) -> Scenario:
    lever, sep, value = text.partition("=")
    lever = lever.strip()
    try:
        if not sep:
            raise ValueError
        amount = float(value)
    except ValueError:
        raise typer.BadParameter(f"expected LEVER=NUMBER such as pue=1.1, got {text!r}", param_hint=option) from None
    if lever not in SENSITIVITY_LEVERS:
        raise typer.BadParameter(f"unknown lever {lever!r}; one of {', '.join(SENSITIVITY_LEVERS)}",
                                 param_hint=option)
    return Scenario.scale(lever, amount) if change == "scale" else Scenario.set(lever, amount)


def sensitivity_table(s: Sensitivity) -> Table:
    """One row per scenario: each shown figure's new value and its change against the base."""
    notes = [f"* {r.scenario}: {r.note}" for r in s.rows if r.note]
    t = Table(title="sensitivity: one lever at a time (facility level; IT at PUE 1)",
              caption="\n".join(["change = new ÷ base − 1", *notes]))
    t.add_column("scenario", ratio=None, overflow="fold")
    shown = [(k, label) for k, label in SENS_COLUMNS if getattr(s.base, k) is not None]
    for _, label in shown:
        t.add_column(label, justify="right")

    def cell(f: SteadyStateFigures, k: str) -> str:
        return figure(k, getattr(f, k), s.currency)

    t.add_row("base", *(cell(s.base, k) for k, _ in shown))
    for r in s.rows:
        name = r.scenario + (" *" if r.note else "")
        t.add_row(name, *(f"{cell(r.figures, k)}\n{pct(r.relative_change[k])}" for k, _ in shown))
    return t


_SENS_CSV = ("scenario", "lever", "change", "amount", "figure", "base", "value", "relative_change")


def print_sensitivity(s: Sensitivity, as_json: bool, as_csv: bool = False) -> None:
    """Print a :class:`~epcore.scenarios.Sensitivity` as ``sensitivity`` does (for ``calc --sensitivity``).

    ``--csv`` is the long form of :meth:`~epcore.scenarios.Sensitivity.table`, one row per
    (scenario, figure), with the scenario's change and amount.
    """
    if as_json:
        _print_json(s.to_dict())
    elif as_csv:
        how = {r.scenario: (r.change, r.amount) for r in s.rows}
        _print_csv(_SENS_CSV, ([d["scenario"], d["lever"], *how[d["scenario"]], d["figure"], d["base"], d["value"],
                                d["relative_change"]] for d in s.table()))
    else:
        _stdout().print(sensitivity_table(s))


@app.command("sensitivity", rich_help_panel=PANEL_STEADY)
def sensitivity_command(
    power_w: Annotated[float, typer.Option(help="Mean power of the serving hardware, W.")],
    tokens_per_s: Annotated[float, typer.Option(help="Output throughput at that power, tokens/s.")],
    price_per_kwh: Annotated[float, typer.Option(help="Electricity price per kWh, in --currency.")] = 0.08,
    currency: Annotated[str, typer.Option(help=CURRENCY_HELP)] = "USD",
    query_tokens: Annotated[float, typer.Option(help="Tokens in one query.")] = 500,
    pue: Annotated[float, typer.Option(help=PUE_HELP)] = 1.0,
    grid_g_co2_per_kwh: Annotated[float | None, typer.Option(help=GRID_HELP)] = None,
    grid: Annotated[str | None, typer.Option(help=GRID_REGION_HELP)] = None,
    allow_negative_price: Annotated[
        bool, typer.Option("--allow-negative-price", help="Accept a negative price.")
    ] = False,
    scale: Annotated[list[str] | None, typer.Option(
        help=f"LEVER=FACTOR, repeatable, instead of the presets; levers: {', '.join(SENSITIVITY_LEVERS)}.",
        metavar="LEVER=FACTOR")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="LEVER=VALUE, repeatable (throughput_per_watt in tokens/s per W).",
        metavar="LEVER=VALUE")] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help=CSV_HELP + " One row per scenario and figure.")] = False,
) -> None:
    """What each lever does to every figure: 2× throughput/W, batching, int8 quantization, PUE, cleaner grid.

    The presets: 2× throughput/W; batching ×1.5 throughput at the same power;
    int8 quantization ×1.6 throughput/W (an illustrative assumption, not a
    measurement); PUE → 1.1; cleaner grid ×0.5. --scale and --set replace them.
    """
    _one_output(as_json, as_csv)
    grid_g_co2_per_kwh, _ = _grid_g_co2(grid, grid_g_co2_per_kwh)
    given = [_parse_scenario(x, "scale", "--scale") for x in scale or []]
    given += [_parse_scenario(x, "set", "--set") for x in set_ or []]
    with _bad_input_exits_1():
        s = sensitivity(
            power_w=power_w, tokens_per_s=tokens_per_s, price_per_kwh=price_per_kwh, currency=currency,
            query_tokens=query_tokens, pue=pue, grid_g_co2_per_kwh=grid_g_co2_per_kwh,
            allow_negative_price=allow_negative_price, scenarios=given or None,
        )
    print_sensitivity(s, as_json, as_csv)


# --- fleet ---------------------------------------------------------------------------------

_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_RANGE = re.compile(rf"\s*({_NUMBER})\s*\.\.\s*({_NUMBER})\s*")


def _num_or_range(text: str, option: str) -> float | tuple[float, float]:
    """``5600`` → 5600.0; ``5000..6000`` → (5000.0, 6000.0); anything else is a usage error."""
    m = _RANGE.fullmatch(text)
    if m is not None:
        return (float(m.group(1)), float(m.group(2)))
    try:
        v = float(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is neither a number nor a range MIN..MAX", param_hint=option) from None
    if math.isnan(v):
        raise typer.BadParameter(f"{text!r} is not a number", param_hint=option)
    return v


def _opt(text: str | None, option: str) -> float | tuple[float, float] | None:
    return None if text is None else _num_or_range(text, option)


def fleet_table(f: Fleet | FleetRange, title: str, period: str, show_facility: bool) -> Table:
    """IT and (when PUE > 1) facility figures; ranges as ``min – max``; ``period`` e.g. "per year"."""
    t = Table(title=title, caption=f"energy, cost, emissions and tokens {period}")
    t.add_column("figure")
    t.add_column("unit")
    t.add_column("IT", justify="right")
    levels = [f.it]
    if show_facility:
        t.add_column("facility", justify="right")
        levels.append(f.facility)
    t.add_row("mean draw per node", "W", span(f.draw_w_per_node), *([""] if show_facility else []))
    for key, label, unit in FLEET_ROWS:
        values = [getattr(level, key) for level in levels]
        if all(v is None for v in values):
            continue
        money = f.currency if unit == "{currency}" else None
        t.add_row(label, unit.format(currency=f.currency), *(span(v, money) for v in values))
    if f.tokens is not None:
        t.add_row("tokens", "", span(f.tokens), *([""] if show_facility else []))
    return t


def fleet_csv(f: Fleet | FleetRange) -> tuple[list[str], list[list[Any]]]:
    """``figure,unit,it,facility``; a :class:`FleetRange` has ``it_min,it_max,facility_min,facility_max``."""
    ranged = isinstance(f, FleetRange)
    levels = ["it_min", "it_max", "facility_min", "facility_max"] if ranged else ["it", "facility"]
    header = ["figure", "unit", *levels]

    def cells(v: Interval | float | None) -> list[Any]:
        if not ranged:
            return [v]
        if isinstance(v, Interval):
            return [v.min, v.max]
        return [v, v]

    rows: list[list[Any]] = [["draw_w_per_node", "W", *cells(f.draw_w_per_node), *cells(None)]]
    for key, _, unit in FLEET_ROWS:
        rows.append([key, unit.format(currency=f.currency), *cells(getattr(f.it, key)),
                     *cells(getattr(f.facility, key))])
    rows.append(["tokens_per_s", "tokens/s", *cells(f.tokens_per_s), *cells(None)])
    rows.append(["tokens", "", *cells(f.tokens), *cells(None)])
    return header, rows


@app.command("fleet", rich_help_panel=PANEL_STEADY)
def fleet_command(
    nodes: Annotated[str, typer.Option(help="Number of nodes (or MIN..MAX).", metavar="N")],
    power_w: Annotated[str, typer.Option(help="Power of one node at full load, W (or MIN..MAX).", metavar="W")],
    utilization: Annotated[str, typer.Option(help="Mean load, a fraction 0–1 (or MIN..MAX).", metavar="U")],
    idle_power_w: Annotated[str, typer.Option(
        help="Power of one idle node, W (or MIN..MAX). The default 0 makes the cost per token independent "
             "of load; give the measured idle draw to see idle hours raise it. Draw = idle + utilization × "
             "(power − idle).", metavar="W")] = "0",
    hours: Annotated[str, typer.Option(help="Length of the period, hours (8760 = a year).", metavar="H")] = "8760",
    pue: Annotated[str, typer.Option(help=PUE_HELP + " Or MIN..MAX.", metavar="PUE")] = "1.0",
    price_per_kwh: Annotated[str, typer.Option(help="Electricity price per kWh, in --currency (or MIN..MAX).",
                                               metavar="PRICE")] = "0.08",
    currency: Annotated[str, typer.Option(help=CURRENCY_HELP)] = "USD",
    grid_g_co2_per_kwh: Annotated[str | None, typer.Option(help=GRID_HELP + " Or MIN..MAX.", metavar="G")] = None,
    grid: Annotated[str | None, typer.Option(help=GRID_REGION_HELP)] = None,
    tokens_per_s: Annotated[str | None, typer.Option(
        help="Tokens/s of one node at full load (or MIN..MAX); adds tokens and per-token figures.",
        metavar="TPS")] = None,
    allow_negative_price: Annotated[
        bool, typer.Option("--allow-negative-price", help="Accept a negative price.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help=CSV_HELP + " Rows: figure, unit, IT, facility (min and max "
                                                                  "columns for ranges).")] = False,
) -> None:
    """A fleet of nodes over a year: MW, MWh, cost, tCO2, tokens and cost per Mtok at that load."""
    _one_output(as_json, as_csv)
    grid_g = _opt(grid_g_co2_per_kwh, "--grid-g-co2-per-kwh")
    if grid is not None:
        if grid_g is not None:
            raise typer.BadParameter("give --grid or --grid-g-co2-per-kwh, not both", param_hint="--grid")
        grid_g, _ = _grid_g_co2(grid, None)
    kw: dict[str, Any] = {
        "nodes": _num_or_range(nodes, "--nodes"),
        "power_w_per_node": _num_or_range(power_w, "--power-w"),
        "utilization": _num_or_range(utilization, "--utilization"),
        "idle_power_w_per_node": _num_or_range(idle_power_w, "--idle-power-w"),
        "hours": _num_or_range(hours, "--hours"),
        "pue": _num_or_range(pue, "--pue"),
        "price_per_kwh": _num_or_range(price_per_kwh, "--price-per-kwh"),
        "grid_g_co2_per_kwh": grid_g,
        "tokens_per_s_per_node": _opt(tokens_per_s, "--tokens-per-s"),
    }
    ranged = any(isinstance(v, tuple) for v in kw.values())
    with _bad_input_exits_1():
        f: Fleet | FleetRange = (fleet_range if ranged else fleet)(
            **kw, currency=currency, allow_negative_price=allow_negative_price
        )
    if as_json:
        _print_json(f.to_dict())
        return
    if as_csv:
        _print_csv(*fleet_csv(f))
        return
    h = kw["hours"]
    period = "per year" if h == 8760 else f"over {hours} h"
    pue_hi = kw["pue"][1] if isinstance(kw["pue"], tuple) else kw["pue"]
    title = (f"{nodes} nodes × {power_w} W at {utilization} load (idle {idle_power_w} W), "
             f"{price_per_kwh} {currency}/kWh, PUE {pue}")
    _stdout().print(fleet_table(f, title, period, show_facility=pue_hi > 1))


# --- API floor -----------------------------------------------------------------------------


def _joules_per_token(power_w: float, tokens_per_s: float) -> float:
    # Through the steady-state calculator, so bad values get calc's messages and exit 1.
    with _bad_input_exits_1():
        return steady_state(power_w=power_w, tokens_per_s=tokens_per_s).joules_per_token


def floor_table(f: Floor) -> Table:
    """Input, output and blended columns: price, floor, shares, margin, break-even."""
    mix = f"mix {fmt_number(f.input_tokens)} input : {fmt_number(f.output_tokens)} output tokens per query"
    t = Table(title=f"energy floor under the API price ({fmt_number(f.price_per_kwh)} {f.currency}/kWh, "
                    f"PUE {fmt_number(f.pue)})", caption=f"blended: {mix}")
    t.add_column("per million tokens")
    for col in ("input", "output", "blended"):
        t.add_column(col, justify="right")
    lines = (f.input, f.output, f.blended)
    cur = f.currency

    def share(v: float | None) -> str:
        return "—" if v is None else f"{v:.1%}"

    # Six significant figures, not the currency's cents: a floor of 0.0498 must not read 0.05.
    t.add_row(f"API price ({cur})", *(fmt_number(x.price_per_mtok) for x in lines))
    t.add_row("energy per token (J)", *(fmt_number(x.joules_per_token) for x in lines))
    t.add_row(f"energy cost, the floor ({cur})", *(fmt_number(x.energy_cost_per_mtok) for x in lines))
    t.add_row("energy share of the price", *(share(x.energy_share) for x in lines))
    t.add_row(f"margin above energy ({cur})", *(fmt_number(x.margin_per_mtok) for x in lines))
    t.add_row("margin share", *(share(x.margin_share) for x in lines))
    t.add_row("break-even energy per token (J)", *(fmt_number(x.break_even_joules_per_token) for x in lines))
    t.add_row("headroom (break-even ÷ J/token)",
              *("—" if x.headroom is None else f"{fmt_number(x.headroom)}×" for x in lines))
    return t


_FLOOR_CSV = (
    ("price_per_mtok", "{currency}/Mtok"),
    ("joules_per_token", "J"),
    ("energy_cost_per_mtok", "{currency}/Mtok"),
    ("energy_share", ""),
    ("margin_per_mtok", "{currency}/Mtok"),
    ("margin_share", ""),
    ("break_even_joules_per_token", "J"),
    ("headroom", ""),
)


def floor_csv(f: Floor) -> tuple[list[str], list[list[Any]]]:
    """One row per :class:`~epcore.scenarios.FloorLine` figure, columns input, output and blended."""
    rows = [[k, unit.format(currency=f.currency), *(getattr(x, k) for x in (f.input, f.output, f.blended))]
            for k, unit in _FLOOR_CSV]
    return ["figure", "unit", "input", "output", "blended"], rows


@app.command("floor", rich_help_panel=PANEL_STEADY)
def floor_command(
    api_price_per_mtok: Annotated[float | None, typer.Option(
        help="API price per million tokens, in --currency (both kinds of token).")] = None,
    api_input_price_per_mtok: Annotated[float | None, typer.Option(
        help="API price per million input tokens (overrides --api-price-per-mtok).")] = None,
    api_output_price_per_mtok: Annotated[float | None, typer.Option(
        help="API price per million output tokens (overrides --api-price-per-mtok).")] = None,
    joules_per_token: Annotated[float | None, typer.Option(
        help="Energy per token, J (both kinds; overstates input tokens, whose prefill costs less).")] = None,
    input_joules_per_token: Annotated[float | None, typer.Option(help="Energy per input token, J.")] = None,
    output_joules_per_token: Annotated[float | None, typer.Option(help="Energy per output token, J.")] = None,
    power_w: Annotated[float | None, typer.Option(
        help="With --tokens-per-s: energy per token = power ÷ throughput (instead of --joules-per-token).")] = None,
    tokens_per_s: Annotated[float | None, typer.Option(help="Throughput at --power-w, tokens/s.")] = None,
    price_per_kwh: Annotated[float, typer.Option(help="Electricity price per kWh, in --currency.")] = 0.08,
    currency: Annotated[str, typer.Option(help=CURRENCY_HELP)] = "USD",
    pue: Annotated[float, typer.Option(help=PUE_HELP)] = 1.0,
    input_tokens: Annotated[float, typer.Option(help="Input tokens per query, for the blend.")] = 0,
    output_tokens: Annotated[float, typer.Option(help="Output tokens per query, for the blend.")] = 500,
    allow_negative_price: Annotated[
        bool, typer.Option("--allow-negative-price", help="Accept a negative electricity price.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help=CSV_HELP + " Rows: figure, unit, input, output, "
                                                                  "blended.")] = False,
) -> None:
    """The electricity cost floor under an API price, the share energy takes, the margin, and the break-even J/token."""
    _one_output(as_json, as_csv)
    if api_price_per_mtok is None and (api_input_price_per_mtok is None or api_output_price_per_mtok is None):
        raise typer.BadParameter("give --api-price-per-mtok, or both --api-input-price-per-mtok and "
                                 "--api-output-price-per-mtok", param_hint="--api-price-per-mtok")
    if (power_w is None) != (tokens_per_s is None):
        raise typer.BadParameter("--power-w and --tokens-per-s go together", param_hint="--power-w")
    shared_j = joules_per_token
    if power_w is not None and tokens_per_s is not None:
        if joules_per_token is not None:
            raise typer.BadParameter("give --joules-per-token or --power-w/--tokens-per-s, not both",
                                     param_hint="--joules-per-token")
        shared_j = _joules_per_token(power_w, tokens_per_s)
    if shared_j is None and (input_joules_per_token is None or output_joules_per_token is None):
        raise typer.BadParameter("give --joules-per-token (or --power-w with --tokens-per-s), or both "
                                 "--input-joules-per-token and --output-joules-per-token",
                                 param_hint="--joules-per-token")
    with _bad_input_exits_1():
        f = api_floor(
            price_per_mtok=api_price_per_mtok, joules_per_token=shared_j,
            input_price_per_mtok=api_input_price_per_mtok, output_price_per_mtok=api_output_price_per_mtok,
            input_joules_per_token=input_joules_per_token, output_joules_per_token=output_joules_per_token,
            price_per_kwh=price_per_kwh, currency=currency, pue=pue, input_tokens=input_tokens,
            output_tokens=output_tokens, allow_negative_price=allow_negative_price,
        )
    if as_json:
        _print_json(f.to_dict())
    elif as_csv:
        _print_csv(*floor_csv(f))
    else:
        _stdout().print(floor_table(f))


# --- crossover -----------------------------------------------------------------------------


def crossover_table(c: Crossover) -> Table:
    t = Table(title="inference vs training energy", show_header=False,
              caption="inference × PUE; training energy as given; a month is 365.25/12 days")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    t.add_row("training energy (MWh)", fmt_number(c.training_mwh))
    t.add_row("queries per day", fmt_number(c.queries_per_day))
    t.add_row("energy per query (Wh, IT)", fmt_number(c.wh_per_query))
    t.add_row("PUE", fmt_number(c.pue))
    t.add_row("inference energy per day (MWh)", fmt_number(c.inference_mwh_per_day))
    if c.days_to_cross is None:
        t.add_row("inference passes training", "never (no queries)")
    else:
        t.add_row("days until inference passes training", fmt_number(c.days_to_cross))
        t.add_row("months until inference passes training", fmt_number(c.months_to_cross))
    t.add_row(f"inference energy after {fmt_number(c.months)} months (MWh)", fmt_number(c.inference_mwh_after_months))
    t.add_row(f"inference ÷ training after {fmt_number(c.months)} months", f"{fmt_number(c.ratio_after_months)}×")
    return t


_CROSSOVER_CSV = (
    ("training_mwh", "MWh"), ("queries_per_day", ""), ("wh_per_query", "Wh"), ("pue", ""), ("months", "months"),
    ("inference_mwh_per_day", "MWh"), ("days_to_cross", "days"), ("months_to_cross", "months"),
    ("inference_mwh_after_months", "MWh"), ("ratio_after_months", ""),
)


@app.command("crossover", rich_help_panel=PANEL_STEADY)
def crossover_command(
    training_mwh: Annotated[float, typer.Option(help="Energy of the training run, MWh (as published; "
                                                     "usually facility-level).")],
    queries_per_day: Annotated[float, typer.Option(help="Queries served per day.")],
    wh_per_query: Annotated[float | None, typer.Option(help="IT energy of one query, Wh.")] = None,
    joules_per_token: Annotated[float | None, typer.Option(
        help="Energy per token, J (with --query-tokens, instead of --wh-per-query).")] = None,
    power_w: Annotated[float | None, typer.Option(
        help="With --tokens-per-s: energy per token = power ÷ throughput.")] = None,
    tokens_per_s: Annotated[float | None, typer.Option(help="Throughput at --power-w, tokens/s.")] = None,
    query_tokens: Annotated[float, typer.Option(help="Tokens in one query.")] = 500,
    pue: Annotated[float, typer.Option(help=PUE_HELP)] = 1.0,
    months: Annotated[float, typer.Option(help="Horizon of the ratio, months.")] = 12,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help=CSV_HELP + " Rows: figure, value, unit.")] = False,
) -> None:
    """Days until cumulative inference energy passes training energy, and the ratio after N months."""
    _one_output(as_json, as_csv)
    if (power_w is None) != (tokens_per_s is None):
        raise typer.BadParameter("--power-w and --tokens-per-s go together", param_hint="--power-w")
    sources = [x is not None for x in (wh_per_query, joules_per_token, power_w)]
    if sum(sources) != 1:
        raise typer.BadParameter("give exactly one of --wh-per-query, --joules-per-token, or --power-w with "
                                 "--tokens-per-s", param_hint="--wh-per-query")
    j = joules_per_token
    if power_w is not None and tokens_per_s is not None:
        j = _joules_per_token(power_w, tokens_per_s)
    with _bad_input_exits_1():
        c = crossover(training_mwh=training_mwh, queries_per_day=queries_per_day, wh_per_query=wh_per_query,
                      joules_per_token=j, query_tokens=query_tokens, pue=pue, months=months)
    if as_json:
        _print_json(c.to_dict())
    elif as_csv:
        _print_csv(("figure", "value", "unit"), ([k, getattr(c, k), unit] for k, unit in _CROSSOVER_CSV))
    else:
        _stdout().print(crossover_table(c))
