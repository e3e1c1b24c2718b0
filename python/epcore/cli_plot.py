"""``epcore plot`` and ``epcore report``: figures as PNG/SVG, and a one-file HTML report.

Registered on :data:`epcore.cli.app` when :mod:`epcore.cli` is imported.
matplotlib (``epcore[plot]``) is imported only when a figure is drawn:
without it, ``--json`` still prints the plot data, and drawing is one
``error: ... epcore[plot]`` line and exit 1.

``epcore plot --kind``:

``power`` (default)
    power of each channel over time; with ``--requests``, the request windows
    shaded and the requests in flight.
``jpt``
    energy per output token in time bins (``--bin-s``); needs ``--requests``.
``histogram``
    the distribution of a per-request figure (``--column``, ``--bins``) of the
    attribution; needs ``--requests``.
``phases``
    prefill, decode and unattributed energy, which add up to the total;
    needs ``--requests``.
``sensitivity``
    the steady-state levers, from ``--power-w`` and ``--tokens-per-s`` (and
    ``--price-per-kwh``, ``--pue``, ``--grid``... as in ``epcore
    sensitivity``); takes no file.

``--out`` names a ``.png`` or ``.svg`` file (any other extension is a usage
error, exit 2); ``--json`` prints the plot data (the same names as
:mod:`epcore.plot_data`), with or without ``--out``.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from .cli import (
    GRID_REGION_HELP,
    PANEL_PRESENT,
    FormatName,
    _bad_input_exits_1,
    _grid_g_co2,
    _out_kind,
    _print_json,
    _progress_for,
    app,
)
from .cli_attribute import WeightName, _cli_message, _seconds_ns
from .cli_options import POWER_FORMAT

__all__ = ["plot_command", "report_command"]


class PlotKind(str, Enum):
    power = "power"
    jpt = "jpt"
    histogram = "histogram"
    phases = "phases"
    sensitivity = "sensitivity"


_NEEDS_REQUESTS = (PlotKind.jpt, PlotKind.histogram, PlotKind.phases)

# Options that ``plot`` and ``report`` share (each command keeps its own type and default).
_POWER = typer.Option(help="Power or energy file (every format `epcore energy` reads).", exists=True,
                      dir_okay=False)
_TZ = typer.Option(help="IANA zone of the power file's naive local timestamps.")
_OFFSET_S = typer.Option(help="Seconds added to every request time (as in `epcore attribute`).")


def _idle(text: str) -> Any:
    """``auto``, ``off`` or watts for every channel (as ``epcore attribute --idle-w``)."""
    t = text.strip().lower()
    if t in ("auto", "off"):
        return t
    try:
        return float(t)
    except ValueError:
        raise typer.BadParameter(f"{text!r}: expected auto, off or a number of watts", param_hint="--idle-w") from None


def _read(power: Path, requests: Path | None, format: FormatName, tz: str | None) -> tuple[Any, Any]:
    from .request_logs import read_requests
    from .trace import read_power

    with _progress_for(power) as progress:
        trace = read_power(power, format=None if format is FormatName.auto else format.value, tz=tz,
                           progress=progress)
    reqs = None
    if requests is not None:
        with _progress_for(requests) as progress:
            reqs = read_requests(requests, progress=progress)
    return trace, reqs


@app.command("plot", rich_help_panel=PANEL_PRESENT)
def plot_command(
    out: Annotated[Path | None, typer.Option(help="Figure to write: .png or .svg.")] = None,
    kind: Annotated[PlotKind, typer.Option(help="power, jpt (J per output token over time), histogram, phases "
                                                 "or sensitivity.")] = PlotKind.power,
    power: Annotated[Path | None, _POWER] = None,
    requests: Annotated[Path | None, typer.Option(help="Request log (every format `epcore tokens` reads).",
                                                  exists=True, dir_okay=False)] = None,
    format: Annotated[FormatName, POWER_FORMAT] = FormatName.auto,
    tz: Annotated[str | None, _TZ] = None,
    offset_s: Annotated[str | None, _OFFSET_S] = None,
    weight: Annotated[WeightName, typer.Option(help="histogram, phases: how a segment's energy is split "
                                                    "among the requests active in it.")] = WeightName.tokens,
    idle_w: Annotated[str, typer.Option(help="histogram, phases: idle power, auto, off or watts.")] = "auto",
    bin_s: Annotated[float | None, typer.Option(help="jpt: bin width, s (default: about 60 bins).")] = None,
    column: Annotated[str, typer.Option(help="histogram: the per-request figure (energy_j, "
                                             "joules_per_output_token...).")] = "energy_j",
    bins: Annotated[int, typer.Option(help="histogram: number of bins.", min=1, max=10_000)] = 30,
    max_points: Annotated[int, typer.Option(help="power: most points drawn per channel (min and max of each "
                                                 "bucket kept).", min=4)] = 2000,
    power_w: Annotated[float | None, typer.Option(help="sensitivity: mean power, W.")] = None,
    tokens_per_s: Annotated[float | None, typer.Option(help="sensitivity: output throughput, tokens/s.")] = None,
    price_per_kwh: Annotated[float, typer.Option(help="sensitivity: electricity price per kWh.")] = 0.08,
    currency: Annotated[str, typer.Option(help="sensitivity: ISO 4217 code of the price.")] = "USD",
    query_tokens: Annotated[float, typer.Option(help="sensitivity: tokens in one query.")] = 500,
    pue: Annotated[float, typer.Option(help="sensitivity: power usage effectiveness.")] = 1.0,
    grid_g_co2_per_kwh: Annotated[float | None, typer.Option(help="sensitivity: grid carbon intensity, "
                                                                  "gCO2/kWh.")] = None,
    grid: Annotated[str | None, typer.Option(help="sensitivity: " + GRID_REGION_HELP)] = None,
    title: Annotated[str | None, typer.Option(help="Figure title.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plot data as one JSON object.")] = False,
) -> None:
    """Draw one figure as PNG or SVG: power over time, J per token over time, a histogram, phases, or levers.

    Example: epcore plot --power power.csv --requests requests.csv --kind power --out power.svg
    """
    if out is None and not as_json:
        raise typer.BadParameter("give --out FILE.png|FILE.svg, or --json for the plot data", param_hint="--out")
    if out is not None:
        _out_kind(out, (".png", ".svg"))
    from . import plot_data

    data: Any
    if kind is PlotKind.sensitivity:
        if power_w is None or tokens_per_s is None:
            raise typer.BadParameter("--kind sensitivity needs --power-w and --tokens-per-s", param_hint="--kind")
        g, _ = _grid_g_co2(grid, grid_g_co2_per_kwh)
        from .scenarios import sensitivity

        with _bad_input_exits_1(_cli_message):
            data = plot_data.sensitivity_bars(sensitivity(
                power_w=power_w, tokens_per_s=tokens_per_s, price_per_kwh=price_per_kwh, currency=currency,
                query_tokens=query_tokens, pue=pue, grid_g_co2_per_kwh=g))
    else:
        if power is None:
            raise typer.BadParameter(f"--kind {kind.value} needs --power FILE", param_hint="--power")
        if kind in _NEEDS_REQUESTS and requests is None:
            raise typer.BadParameter(f"--kind {kind.value} needs --requests FILE", param_hint="--requests")
        offset_ns = 0 if offset_s is None else _seconds_ns(offset_s, "--offset-s")
        idle = _idle(idle_w)
        with _bad_input_exits_1(_cli_message):
            trace, reqs = _read(power, requests, format, tz)
            if kind is PlotKind.power:
                data = plot_data.power_plot(trace, reqs, offset_ns=offset_ns, max_points=max_points)
            elif kind is PlotKind.jpt:
                data = plot_data.joules_per_token_plot(trace, reqs, bin_s=bin_s, offset_ns=offset_ns)
            else:
                from .attribution import attribute

                a = attribute(trace, reqs, weight=weight.value, idle_w=idle, offset_ns=offset_ns)
                data = (plot_data.energy_histogram(a, column=column, bins=bins) if kind is PlotKind.histogram
                        else plot_data.phase_split(a))
    if out is not None:
        with _bad_input_exits_1(_cli_message):
            _draw(kind, data, out, title)
    if as_json:
        _print_json({"kind": kind.value, **data.to_dict()})
    elif out is not None:
        print(f"wrote {out}")


def _draw(kind: PlotKind, data: Any, out: Path, title: str | None) -> None:
    from . import plots

    draws: dict[PlotKind, Callable[..., Any]] = {
        PlotKind.power: plots.plot_power,
        PlotKind.jpt: plots.plot_joules_per_token,
        PlotKind.histogram: plots.plot_energy_histogram,
        PlotKind.phases: plots.plot_phases,
        PlotKind.sensitivity: plots.plot_sensitivity,
    }
    plots.save(draws[kind](data, title=title), out)


@app.command("report", rich_help_panel=PANEL_PRESENT)
def report_command(
    power: Annotated[Path, _POWER],
    out: Annotated[Path, typer.Option(help="The report to write: one self-contained .html file.")],
    requests: Annotated[Path | None, typer.Option(help="Request log: adds J per token, phases and the "
                                                       "per-request distribution.", exists=True,
                                                  dir_okay=False)] = None,
    title: Annotated[str | None, typer.Option(help="Report title (default: from the power file's name).")] = None,
    format: Annotated[FormatName, POWER_FORMAT] = FormatName.auto,
    tz: Annotated[str | None, _TZ] = None,
    offset_s: Annotated[str | None, _OFFSET_S] = None,
    weight: Annotated[WeightName, typer.Option(help="How a segment's energy is split among the requests active "
                                                    "in it.")] = WeightName.tokens,
    idle_w: Annotated[str, typer.Option(help="Idle power: auto, off or watts.")] = "auto",
) -> None:
    """Write one self-contained HTML report: headline figures, plots, distribution, quality and warnings.

    No scripts and no external links: it opens offline and can be mailed as it is.

    Example: epcore report --power power.csv --requests requests.csv --out report.html
    """
    _out_kind(out, (".html", ".htm"))
    offset_ns = 0 if offset_s is None else _seconds_ns(offset_s, "--offset-s")
    idle = _idle(idle_w)
    from .report import report

    with _bad_input_exits_1(_cli_message):
        trace, reqs = _read(power, requests, format, tz)
        kwargs: dict[str, Any] = {}
        if reqs is not None:
            kwargs = {"weight": weight.value, "idle_w": idle, "offset_ns": offset_ns}
        path = report(trace, reqs, out=out, title=title, **kwargs)
    print(f"wrote {path}")
