"""The ``epcore`` command line: ``calc``, ``energy``, ``tokens``, ``runs`` and ``attribute``.

Human tables by default; on every command ``--json`` prints one JSON object and
``--csv`` the main table as CSV (machine values), both on stdout. Exit codes:
0 ok, 1 bad input (one ``error: ...`` line on stderr, never a traceback),
2 usage (one ``error: ... (see 'epcore CMD --help')`` line), 130 interrupted.
:func:`cli` runs a command in-process and returns its exit code, so tests need
no subprocess:

>>> import contextlib, sys
>>> cli("--version")
epcore ...
0
>>> with contextlib.redirect_stderr(sys.stdout):
...     cli("calc", "--power-w", "5600", "--tokens-per-s", "0")
error: tokens_per_s = 0: must be > 0
1
>>> with contextlib.redirect_stderr(sys.stdout):
...     cli("calc", "--power-w", "5600")
error: Missing option '--tokens-per-s'. (see 'epcore calc --help')
2
"""

from __future__ import annotations

import csv
import importlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import __version__
from .carbon import GridIntensity, grid_intensity
from .currency import Rates
from .display import CALC_ROWS, RATE_CAVEAT, figure, fmt_number, grid_line, rate_line
from .economics import SteadyState, SteadyStateFigures, steady_state
from .exceptions import EpcoreError
from .files import integrate_file
from .quality import QualityReport
from .results import IntegrationResult
from .run_summaries import RUN_FORMATS
from .scenarios import sensitivity

__all__ = ["app", "cli", "main"]

_GUIDE = """What each LLM token really costs in joules, money and carbon.

[bold]Steady state[/bold] turns two numbers you know (power, throughput) into J/token, cost and carbon.
[bold]Measured[/bold] reads power traces and request logs and splits the energy among requests.
[bold]Present[/bold] draws plots, writes a one-file HTML report, or opens the local web console.

Every command prints a table; [bold]--json[/bold] prints one JSON object and [bold]--csv[/bold] the main table \
as CSV (full-precision numbers) for scripts.
Run [bold]epcore COMMAND --help[/bold] for its options.
"""

_EXAMPLES = """[bold]Examples[/bold]

  epcore calc --power-w 5600 --tokens-per-s 2500 --price-per-kwh 0.08 --grid DE
      J/token, cost and carbon per token and per query on a German grid

  epcore sensitivity --power-w 5600 --tokens-per-s 2500 --csv > levers.csv
      what 2× throughput/W, batching, quantization, PUE or a cleaner grid change, as CSV

  epcore energy gpu_log.csv --tz Europe/Berlin --json
      energy of an nvidia-smi log written in Berlin local time, with its quality report

  epcore attribute --power power.csv --requests requests.csv --out per_request.parquet
      energy per request and per token, the per-request table written to Parquet

[bold]Exit codes[/bold]  0 ok, 1 bad input (one 'error:' line), 2 usage error, 130 interrupted.
"""

# The help panels of ``epcore --help``; ``plot``, ``report`` and ``console`` use "Present".
PANEL_STEADY = "Steady state"
PANEL_MEASURED = "Measured"
PANEL_PRESENT = "Present"

app = typer.Typer(
    name="epcore",
    help=_GUIDE,
    epilog=_EXAMPLES,
    rich_markup_mode="rich",
    no_args_is_help=True,
    add_completion=False,
    # A bug should show a plain traceback; locals could leak data into reports.
    pretty_exceptions_enable=False,
)

# Below this size a read takes well under a second even compressed: no bar at all.
_PROGRESS_MIN_BYTES = 4 << 20


def _stdout() -> Console:
    # Built per call, not at import, so a test runner's redirected streams are honoured.
    return Console(file=sys.stdout, highlight=False)


def _stderr() -> Console:
    return Console(file=sys.stderr, highlight=False, soft_wrap=True)


# Set by the root callback on every run: ``epcore --quiet ...`` keeps stderr for errors only.
_quiet = False


def _bars() -> bool:
    """Progress displays only on an interactive stderr, and not under ``--quiet``."""
    return not _quiet and sys.stderr.isatty()


def _say(prefix: str, message: str) -> None:
    # print(), not rich: the line must stay one line, unwrapped and unstyled, for grep and logs.
    if _quiet and prefix != "error":
        return
    print(f"{prefix}: {' '.join(message.splitlines())}", file=sys.stderr)


def _os_message(e: OSError) -> str:
    # "missing.csv: No such file or directory" rather than "[Errno 2] No such file ...: 'missing.csv'".
    if isinstance(e.filename, (str, bytes)) and e.strerror:
        return f"{os.fsdecode(e.filename)}: {e.strerror}"
    return str(e)


@contextmanager
def _bad_input_exits_1(message: Callable[[EpcoreError], str] = str) -> Iterator[None]:
    """Bad input is a user's problem, not a bug: one line (``message(e)``) and exit 1."""
    try:
        yield
    except EpcoreError as e:
        _say("error", message(e))
        raise typer.Exit(1) from None
    except BrokenPipeError:
        raise  # stdout's reader left (``| head``): not bad input; cli() ends quietly
    except OSError as e:
        _say("error", _os_message(e))
        raise typer.Exit(1) from None


def _out_kind(out: Path, kinds: tuple[str, ...]) -> str:
    """The ``--out`` file's kind, by its extension; any other is a usage error (exit 2)."""
    kind = out.suffix.lower()
    if kind not in kinds:
        raise typer.BadParameter(
            f"{str(out)!r}: unknown extension {out.suffix or '(none)'!r}; use one of {', '.join(kinds)}",
            param_hint="--out",
        )
    return kind


def _print_json(d: dict[str, Any]) -> None:
    # allow_nan=False: a NaN that slipped through is a bug to surface, not a token to emit.
    print(json.dumps(d, indent=2, allow_nan=False))


# click's exception classes: typer's vendored copy of click (typer >= 0.20) or click itself.
_CLICK_ERRORS: Any = importlib.import_module(typer.BadParameter.__module__)


def _usage(message: str) -> NoReturn:
    """A usage error (exit 2) that names no single option: flags that contradict each other."""
    raise _CLICK_ERRORS.UsageError(message)


JSON_HELP = "Print one JSON object on stdout."
CSV_HELP = "Print the main table as CSV on stdout (header row, full-precision numbers)."


def _one_output(as_json: bool, as_csv: bool) -> None:
    """``--json`` and ``--csv`` both own stdout: asking for both is a usage error."""
    if as_json and as_csv:
        _usage("--json and --csv both print to stdout: pick one")


def _csv_value(v: Any) -> Any:
    """A CSV cell for a machine: shortest round-trip floats, empty for None or a non-finite number.

    >>> [_csv_value(x) for x in (2.24, 1/3, None, float("nan"), 7, True, "DE")]
    ['2.24', '0.3333333333333333', '', '', 7, 'true', 'DE']
    """
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v) if v == v and v not in (float("inf"), float("-inf")) else ""
    return v


def _print_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """The command's main table as CSV on stdout: a header row, then machine values."""
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow([_csv_value(v) for v in row])


def _grid_g_co2(grid: str | None, grid_g_co2_per_kwh: float | None) -> tuple[float | None, GridIntensity | None]:
    """``--grid CODE`` or ``--grid-g-co2-per-kwh N`` (not both) -> the intensity and its region, if any."""
    if grid is not None and grid_g_co2_per_kwh is not None:
        raise typer.BadParameter("give --grid or --grid-g-co2-per-kwh, not both", param_hint="--grid")
    if grid is None:
        return grid_g_co2_per_kwh, None
    with _bad_input_exits_1():
        region = grid_intensity(grid)
    return region.g_co2_per_kwh, region


GRID_REGION_HELP = ("Grid region from the shipped table (DE, DEU, US-CA, gcp:europe-west1…) instead of "
                    "--grid-g-co2-per-kwh; its year and source are shown.")


def _calc_table(r: SteadyState) -> Table:
    price_currency = r.price_currency or r.currency
    title = (
        f"{fmt_number(r.power_w)} W at {fmt_number(r.tokens_per_s)} tok/s, "
        f"{fmt_number(r.price_per_kwh)} {price_currency}/kWh, {fmt_number(r.query_tokens)}-token queries"
    )
    t = Table(title=title)
    t.add_column("figure")
    t.add_column("unit")
    t.add_column("IT", justify="right")
    levels: list[SteadyStateFigures] = [r.it]
    if r.facility is not None:
        t.add_column(f"facility (PUE {fmt_number(r.pue)})", justify="right")
        levels.append(r.facility)
    for name, label, unit in CALC_ROWS:
        values = [getattr(f, name) for f in levels]
        if all(v is None for v in values):
            continue
        t.add_row(label, unit.format(currency=r.currency), *(figure(name, v, r.currency) for v in values))
    return t


def _calc_csv(r: SteadyState) -> tuple[list[str], list[list[Any]]]:
    """``figure,unit,it,facility``: every figure by its Python name; facility empty at PUE 1."""
    rows: list[list[Any]] = []
    for name, _, unit in CALC_ROWS:
        it = getattr(r.it, name)
        fac = None if r.facility is None else getattr(r.facility, name)
        rows.append([name, unit.format(currency=r.currency), it, fac])
    return ["figure", "unit", "it", "facility"], rows


def _parse_rate(text: str) -> tuple[str, float]:
    """``BRL=6.3647`` -> ``("BRL", 6.3647)``; a malformed flag is a usage error (exit 2)."""
    code, sep, value = text.partition("=")
    try:
        if not sep:
            raise ValueError
        return code.strip(), float(value)
    except ValueError:
        raise typer.BadParameter(f"expected CODE=UNITS_PER_EUR such as BRL=6.3647, got '{text}'",
                                 param_hint="--rate") from None


def _calc_rates(fx_file: Path | None, fx_date: str | None, rate: list[str] | None) -> Rates | None:
    """The table ``calc`` converts with: an ECB file, ``--rate`` entries on top of it, or None (bundled)."""
    given = dict(_parse_rate(x) for x in rate or [])
    if fx_file is None:
        if fx_date is not None:
            raise typer.BadParameter("needs --fx-file", param_hint="--fx-date")
        if not given:
            return None
        return Rates.from_mapping(given, source=f"--rate {', '.join(f'{c}={v:g}' for c, v in given.items())}")
    table = Rates.from_file(fx_file, date=fx_date)
    if not given:
        return table
    return Rates.from_mapping(
        {**table.per_eur, **given},
        date=table.date,
        source=f"{table.source}; {', '.join(given)} from --rate",
    )


@app.command(rich_help_panel=PANEL_STEADY)
def calc(
    power_w: Annotated[float, typer.Option(help="Mean power of the serving hardware, W.")],
    tokens_per_s: Annotated[float, typer.Option(help="Output throughput at that power, tokens/s.")],
    price_per_kwh: Annotated[
        float, typer.Option(help="Electricity price per kWh, in --price-currency.")
    ] = 0.08,
    currency: Annotated[str, typer.Option(help="ISO 4217 code the results are shown in (any active code).")] = "USD",
    price_currency: Annotated[
        str | None, typer.Option(help="ISO 4217 code of --price-per-kwh (default: --currency).")
    ] = None,
    fx_file: Annotated[
        Path | None,
        typer.Option(help="ECB eurofxref rates file (CSV or XML) instead of the bundled ECB table of 2025-05-09."),
    ] = None,
    fx_date: Annotated[
        str | None, typer.Option(help="Reference day to take from --fx-file, YYYY-MM-DD (newest on or before).")
    ] = None,
    rate: Annotated[
        list[str] | None,
        typer.Option(help="CODE=UNITS_PER_EUR, repeatable; used alone, or over --fx-file.", metavar="CODE=RATE"),
    ] = None,
    query_tokens: Annotated[float, typer.Option(help="Tokens in one query.")] = 500,
    pue: Annotated[
        float,
        typer.Option(help="Power usage effectiveness; > 1 adds facility figures. Default 1.0: IT energy only; "
                          "the industry average is about 1.56 (Uptime Institute 2024), hyperscale 1.1."),
    ] = 1.0,
    grid_g_co2_per_kwh: Annotated[
        float | None, typer.Option(help="Grid carbon intensity, gCO2/kWh; adds carbon figures.")
    ] = None,
    grid: Annotated[str | None, typer.Option(help=GRID_REGION_HELP)] = None,
    allow_negative_price: Annotated[
        bool, typer.Option("--allow-negative-price", help="Accept a negative price.")
    ] = False,
    show_sensitivity: Annotated[
        bool,
        typer.Option("--sensitivity", help="Also show what each lever (2× throughput/W, batching, quantization, "
                                           "PUE, cleaner grid) does to every figure (in --json; "
                                           "`epcore sensitivity --csv` for the table as CSV)."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help=CSV_HELP + " Rows: figure, unit, IT, facility.")] = False,
) -> None:
    """Steady-state energy, cost and carbon per token and per query.

    A price in one currency shown in another (--price-currency USD --currency BRL) is converted
    with the bundled ECB euro reference rates of 2025-05-09, an ECB file (--fx-file) or --rate;
    the rate, its date and source are shown. They are indicative rates, for information only.
    """
    _one_output(as_json, as_csv)
    if as_csv and show_sensitivity:
        _usage("--csv prints one table: use `epcore sensitivity --csv` for the levers")
    grid_g_co2_per_kwh, region = _grid_g_co2(grid, grid_g_co2_per_kwh)
    with _bad_input_exits_1():
        rates = _calc_rates(fx_file, fx_date, rate)
        r = steady_state(
            power_w=power_w,
            tokens_per_s=tokens_per_s,
            price_per_kwh=price_per_kwh,
            currency=currency,
            query_tokens=query_tokens,
            pue=pue,
            grid_g_co2_per_kwh=grid_g_co2_per_kwh,
            allow_negative_price=allow_negative_price,
            price_currency=price_currency,
            rates=rates,
        )
        levers = None
        if show_sensitivity:
            # The levers act on the figures as shown: the price already in the result's currency.
            levers = sensitivity(
                power_w=power_w, tokens_per_s=tokens_per_s, price_per_kwh=r.price_per_kwh * r.rate,
                currency=r.currency, query_tokens=query_tokens, pue=pue, grid_g_co2_per_kwh=grid_g_co2_per_kwh,
                allow_negative_price=allow_negative_price,
            )
    if as_json:
        d = r.to_dict()
        d["rate_note"] = None if rate_line(r) is None else RATE_CAVEAT
        d["grid"] = None if region is None else region.to_dict()
        if levers is not None:
            d["sensitivity"] = levers.to_dict()
        _print_json(d)
    elif as_csv:
        _print_csv(*_calc_csv(r))
    else:
        _stdout().print(_calc_table(r))
        line = rate_line(r)
        if line is not None:
            print(line)  # one unwrapped line: the rate, its date and source stay greppable
        if region is not None:
            print(grid_line(region))
        if levers is not None:
            from .cli_economics import sensitivity_table  # that module imports this one

            _stdout().print(sensitivity_table(levers))


class RuleName(str, Enum):
    trapezoid = "trapezoid"
    hold = "hold"


def _energy_tables(r: IntegrationResult) -> list[Table]:
    totals = Table(title=f"energy of {r.source}" if r.source else "energy", show_header=False)
    totals.add_column("quantity")
    totals.add_column("value", justify="right")
    totals.add_row("energy (J)", fmt_number(r.energy_j))
    totals.add_row("energy (Wh)", fmt_number(r.energy_wh))
    totals.add_row("duration (s)", fmt_number(r.duration_s))
    totals.add_row("mean power (W)", fmt_number(r.mean_power_w))
    totals.add_row("samples", fmt_number(r.samples))
    totals.add_row("method", r.method)
    fmt = r.quality.format or "csv"
    totals.add_row("format", fmt if r.quality.compression is None else f"{fmt} ({r.quality.compression})")

    channels = Table(title="channels")
    for col in ("channel", "energy (J)", "duration (s)", "mean (W)", "min (W)", "max (W)", "samples", "gaps"):
        channels.add_column(col, justify="left" if col == "channel" else "right")
    for c in r.channels:
        channels.add_row(
            c.name,
            fmt_number(c.energy_j),
            fmt_number(c.duration_s),
            fmt_number(c.mean_power_w),
            fmt_number(c.min_power_w),
            fmt_number(c.max_power_w),
            fmt_number(c.quality.n_samples),
            fmt_number(c.quality.n_gaps),
        )

    q = r.quality
    quality = Table(title="quality", show_header=False)
    quality.add_column("check")
    quality.add_column("value")
    coverage = "—" if q.coverage is None else f"{q.coverage:.2%}"
    quality.add_row("coverage", coverage)
    quality.add_row("gaps", f"{q.n_gaps} ({fmt_number(q.gap_s)} s, threshold {fmt_number(q.max_gap_s)} s)")
    kinds = {
        "non-finite": q.n_nonfinite,
        "clamped": q.n_negative_clamped,
        "duplicate": q.n_duplicate_identical,
        "reordered": q.n_reordered,
        "truncated tail": int(q.truncated_tail),
    }
    detail = ", ".join(f"{kind} {n}" for kind, n in kinds.items() if n)
    quality.add_row("repairs", f"{q.n_repairs} ({detail})" if detail else "0")
    quality.add_row("counter resets / wraps", f"{q.n_resets} / {q.n_wraps}")
    if q.naive_time or q.tz:
        quality.add_row("time zone", q.tz if q.tz else "none in the file: read as UTC (--tz to place it)")
    if q.n_unit_normalized:
        quality.add_row("unit conversions", fmt_number(q.n_unit_normalized))
    if q.skipped:
        quality.add_row("rows skipped", ", ".join(f"{k} {n:,}" for k, n in q.skipped))
    quality.add_row("power semantics", q.power_semantics)
    quality.add_row("complete", "yes" if q.complete else "no")
    return [totals, channels, quality]


@contextmanager
def _progress_for(path: Path) -> Iterator[Callable[[int], None] | None]:
    """A transient progress bar on an interactive stderr, shown once a read has taken a second."""
    try:
        size = path.stat().st_size
    except OSError:
        size = 0  # the reader reports the real error
    if size < _PROGRESS_MIN_BYTES or not _bars():
        yield None
        return
    started = time.monotonic()
    with Progress(console=_stderr(), transient=True, disable=False, auto_refresh=False, redirect_stdout=False,
                  redirect_stderr=False) as bar:
        task = bar.add_task(f"reading {path.name}", total=size, visible=False)

        def update(bytes_read: int) -> None:
            # Reads under a second finish before a bar would be readable.
            shown = time.monotonic() - started > 1.0
            bar.update(task, completed=bytes_read, visible=shown)
            if shown:
                bar.refresh()

        yield update


class _LateProgress(Progress):
    """A progress display that stays blank for its first second: quick steps never flash a bar."""

    def __init__(self, *columns: Any, **kwargs: Any) -> None:
        self._shown_after = time.monotonic() + 1.0  # before Progress.__init__, which renders once
        # stdout is the data (--csv, --json): rich must not capture it into the display on stderr.
        kwargs.setdefault("redirect_stdout", False)
        kwargs.setdefault("redirect_stderr", False)
        super().__init__(*columns, **kwargs)

    def start(self) -> None:
        self._shown_after = time.monotonic() + 1.0
        super().start()

    def get_renderables(self) -> Any:
        if time.monotonic() < self._shown_after:
            return
        yield from super().get_renderables()


def _late_progress() -> _LateProgress:
    return _LateProgress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                         console=_stderr(), transient=True)


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """A transient spinner on an interactive stderr while a reader without a byte callback runs."""
    if not _bars():
        yield
        return
    with _late_progress() as bar:
        bar.add_task(f"reading {path.name}", total=None)
        yield


class FormatName(str, Enum):
    auto = "auto"
    csv = "csv"
    nvidia_smi = "nvidia-smi"
    dmon = "nvidia-smi-dmon"
    zeus = "zeus"
    prometheus = "prometheus"
    prometheus_json = "prometheus-json"
    rapl = "rapl"
    codecarbon = "codecarbon"
    parquet = "parquet"


class PreferName(str, Enum):
    power = "power"
    energy = "energy"


class ByName(str, Enum):
    hour = "hour"
    day = "day"


# The options of ``epcore energy`` that only the fleet path (many files, on Dask) takes.
PANEL_FLEET = "Many files (Dask)"


@app.command(rich_help_panel=PANEL_MEASURED)
def energy(
    files: Annotated[list[Path], typer.Argument(
        metavar="FILE",
        help="Power or energy file: CSV, nvidia-smi, dmon, Zeus, Prometheus scrape or query_range JSON, RAPL, "
             "CodeCarbon, Parquet; .gz/.zst read directly. Several files, a quoted glob ('telemetry/*.csv.gz') "
             "or a Parquet dataset directory with --dask are integrated as one fleet, channel by channel.")],
    format: Annotated[FormatName, typer.Option("--format", "-f", help="Input format (auto: sniffed).")] = (
        FormatName.auto
    ),
    tz: Annotated[str | None, typer.Option(help="IANA zone of naive local timestamps (nvidia-smi, Zeus); "
                                                "default: read as UTC, flagged.")] = None,
    value: Annotated[str | None, typer.Option(help="Column or metric to read when there are several.")] = None,
    channel: Annotated[str | None, typer.Option(help="Column or label naming the device.")] = None,
    prefer: Annotated[PreferName | None, typer.Option(help="power or energy, when a source has both.")] = None,
    columns: Annotated[str | None, typer.Option(help="Column list of an nvidia-smi log written with noheader "
                                                     "(the --query-gpu list).")] = None,
    rule: Annotated[RuleName, typer.Option(help="trapezoid for instantaneous samples, hold for held ones.")] = (
        RuleName.trapezoid
    ),
    max_gap_s: Annotated[
        float | None, typer.Option(help="Intervals longer than this are gaps (default: automatic).")
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Refuse to repair: any repair is an error.")] = False,
    chunk_bytes: Annotated[int, typer.Option(min=1, help="Read size; the result does not depend on it.")] = 1 << 20,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help=CSV_HELP + " One row per channel (per bucket with --by).")
                      ] = False,
    dask: Annotated[str | None, typer.Option(
        metavar="ADDRESS|local[N]", rich_help_panel=PANEL_FLEET,
        help="Run one task per file on Dask: a scheduler address (tcp://host:8786), or local[N] for N worker "
             "processes on this machine. Default with several files: in this process, one file at a time.")] = None,
    by: Annotated[ByName | None, typer.Option(rich_help_panel=PANEL_FLEET,
                                              help="Also the energy per channel per UTC hour or day.")] = None,
    channel_by: Annotated[str | None, typer.Option(
        rich_help_panel=PANEL_FLEET, help="Column naming the channel (GPU) of each row, when files hold several; "
                                          "a channel may span many files.")] = None,
) -> None:
    """Energy of a power trace or energy-counter file, with its quality report.

    Several files or a glob: the energy of the whole fleet, per channel and (--by) per hour or day, equal to
    reading everything on one machine; --dask spreads the files over a Dask cluster.
    """
    _one_output(as_json, as_csv)
    if len(files) != 1 or dask is not None or by is not None or channel_by is not None or _is_pattern(files[0]):
        _energy_fleet(files, dask=dask, by=by, channel_by=channel_by, channel=channel,
                      format=None if format is FormatName.auto else format.value, tz=tz, value=value,
                      prefer=None if prefer is None else prefer.value, columns=columns, rule=rule.value,
                      max_gap_s=max_gap_s, strict=strict, chunk_bytes=chunk_bytes, as_json=as_json, as_csv=as_csv)
        return
    file = files[0]
    with _bad_input_exits_1():
        with _progress_for(file) as progress:
            r = integrate_file(
                file, format=None if format is FormatName.auto else format.value, tz=tz, value=value,
                channel=channel, prefer=None if prefer is None else prefer.value, columns=columns, rule=rule.value,
                max_gap_s=max_gap_s, strict=strict, chunk_bytes=chunk_bytes, progress=progress,
            )
    _quality_notes(r.quality)
    if as_json:
        _print_json(r.to_dict())
    elif as_csv:
        _print_csv(*_energy_csv(r))
    else:
        out = _stdout()
        for t in _energy_tables(r):
            out.print(t)


def _is_pattern(path: Path) -> bool:
    """``telemetry/*.csv`` (quoted, so the shell left it alone) is a pattern; ``gpu[0].csv`` that exists is a file."""
    return any(c in str(path) for c in "*?[") and not path.exists()


def _energy_fleet(files: list[Path], *, dask: str | None, by: ByName | None, channel_by: str | None,
                  channel: str | None, chunk_bytes: int, columns: str | None, as_json: bool, as_csv: bool,
                  **options: Any) -> None:
    """The fleet path of ``epcore energy``: :mod:`epcore.cli_fleet` (which imports this module)."""
    from .cli_fleet import energy_fleet

    if channel is not None and channel_by is not None and channel != channel_by:
        _usage("--channel and --channel-by both name the channel column: give one")
    # Reader options the fleet API takes through **read_kwargs: passed only when given.
    read_kwargs: dict[str, Any] = dict(options)
    if columns is not None:
        read_kwargs["columns"] = columns
    if chunk_bytes != 1 << 20:
        read_kwargs["chunk_bytes"] = chunk_bytes
    energy_fleet(files, dask=dask, by=by, channel_by=channel_by if channel_by is not None else channel,
                 read_kwargs=read_kwargs, as_json=as_json, as_csv=as_csv)


_ENERGY_CSV = ("channel", "energy_j", "energy_wh", "duration_s", "mean_power_w", "min_power_w", "max_power_w",
               "first_time", "last_time", "first_t_ns", "last_t_ns", "samples", "gaps", "coverage")


def _energy_csv(r: IntegrationResult) -> tuple[tuple[str, ...], list[list[Any]]]:
    """One row per channel: its energy, power figures, exact first/last sample times and quality counts."""
    rows: list[list[Any]] = []
    for c in r.channels:
        d = c.to_dict()
        first, last = d.get("first_t_ns"), d.get("last_t_ns")
        rows.append([c.name, c.energy_j, c.energy_wh, c.duration_s, c.mean_power_w, c.min_power_w, c.max_power_w,
                     None if first is None else _iso_ns(first), None if last is None else _iso_ns(last),
                     first, last, c.quality.n_samples, c.quality.n_gaps, c.quality.coverage])
    return _ENERGY_CSV, rows


def _quality_notes(q: QualityReport) -> None:
    """A trace's warnings, and the note that naive timestamps were read as UTC, on stderr."""
    for w in q.warnings:
        _say("warning", w)
    if q.naive_time:
        _say("note", "timestamps have no zone and were read as UTC (durations and energy are exact); "
                     "pass --tz to place them in time")


class RequestFormatName(str, Enum):
    auto = "auto"
    csv = "csv"
    vllm = "vllm"
    sglang = "sglang"
    aiperf = "aiperf"
    ollama = "ollama"
    prometheus = "prometheus"
    prometheus_json = "prometheus-json"


def _iso_ns(ns: int) -> str:
    """Exact UTC time of integer ns: ``2025-06-15T15:06:40.123456789Z``."""
    s, frac = divmod(ns, 1_000_000_000)
    day = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s))
    return f"{day}.{frac:09d}Z"


@app.command(rich_help_panel=PANEL_MEASURED)
def tokens(
    file: Annotated[Path, typer.Argument(help="Request log: canonical CSV, vLLM bench JSON, SGLang bench JSONL, "
                                               "AIPerf profile_export.jsonl, Ollama JSONL; .gz/.zst read directly.")],
    format: Annotated[RequestFormatName, typer.Option("--format", "-f", help="Input format (auto: sniffed).")] = (
        RequestFormatName.auto
    ),
    anchor_ns: Annotated[int | None, typer.Option(help="vLLM/SGLang: wall-clock ns since the epoch at which the "
                                                       "first request was sent (for perf_counter start_times).")] = None,
    all_phases: Annotated[bool, typer.Option("--all-phases", help="AIPerf: keep every benchmark phase, "
                                                                   "not only profiling.")] = False,
    out: Annotated[Path | None, typer.Option(help="Also write the requests table to this file: .csv "
                                                  "(canonical CSV, integer ns).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help=CSV_HELP + " The canonical requests table (integer ns), "
                                                                  "or one row per model for token counters.")] = False,
) -> None:
    """Requests and tokens of a request or benchmark log, with what was skipped or repaired.

    vLLM/SGLang ``/metrics`` scrapes and Prometheus query JSON give token counter totals per model instead.
    """
    from ._core import sniff_format
    from .request_logs import read_requests

    _one_output(as_json, as_csv)
    if out is not None:
        _out_kind(out, (".csv",))
    if format in (RequestFormatName.prometheus, RequestFormatName.prometheus_json) or (
        format is RequestFormatName.auto and _sniffs_prometheus(file, sniff_format)
    ):
        if out is not None:
            _usage("token counters have no requests table to write: drop --out")
        _token_counters(file, None if format is RequestFormatName.auto else format.value, as_json, as_csv)
        return
    with _bad_input_exits_1():
        with _progress_for(file) as progress:
            r = read_requests(
                file, format=None if format is RequestFormatName.auto else format.value, anchor_ns=anchor_ns,
                phase=None if all_phases else "profiling", progress=progress,
            )
        if out is not None:
            r.to_csv(out)
    for w in r.quality.warnings:
        _say("warning", w)
    if as_json:
        _print_json({"summary": r.summary(), "quality": r.quality.to_dict()})
        return
    if as_csv:
        # Through Requests.to_csv, so stdout and --out x.csv are the same bytes.
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d) / "requests.csv"
            r.to_csv(tmp)
            sys.stdout.write(tmp.read_text(encoding="utf-8"))
        return
    s, q = r.summary(), r.quality
    totals = Table(title=f"requests in {q.source}", show_header=False)
    totals.add_column("quantity")
    totals.add_column("value", justify="right")
    totals.add_row("requests", fmt_number(s["n_requests"]))
    totals.add_row("ok / failed", f"{s['n_ok']:,} / {s['n_failed']:,}")
    totals.add_row("input tokens", fmt_number(s["total_input_tokens"]))
    totals.add_row("output tokens", fmt_number(s["total_output_tokens"]))
    totals.add_row("with a first token", fmt_number(s["n_with_first_token"]))
    totals.add_row("first start (UTC)", _iso_ns(s["start_ns"]))
    totals.add_row("last end (UTC)", _iso_ns(s["end_ns"]))
    totals.add_row("span (s)", fmt_number(s["duration_s"]))
    totals.add_row("token source", ", ".join(f"{k} {v:,}" for k, v in s["token_sources"].items()))
    if s["models"]:
        totals.add_row("models", ", ".join(s["models"]))
    fmt = q.format if q.compression is None else f"{q.format} ({q.compression})"
    totals.add_row("format", fmt)
    quality = Table(title="quality", show_header=False)
    quality.add_column("check")
    quality.add_column("value")
    quality.add_row("records read", fmt_number(q.n_records))
    quality.add_row("start times from", q.timing)
    skipped = ", ".join(f"{k} {v:,}" for k, v in q.skipped)
    quality.add_row("skipped", f"{q.n_skipped:,} ({skipped})" if skipped else "0")
    quality.add_row("exact repeats dropped", fmt_number(q.n_duplicate_identical))
    quality.add_row("cut last line dropped", "yes" if q.truncated_tail else "no")
    console = _stdout()
    console.print(totals)
    console.print(quality)


def _sniffs_prometheus(file: Path, sniff: Callable[[str], str | None]) -> bool:
    try:
        return sniff(str(file)) in ("prometheus", "prometheus-json")
    except (EpcoreError, OSError):
        return False  # the request reader reports the real problem


def _token_counters(file: Path, format: str | None, as_json: bool, as_csv: bool) -> None:
    from .token_counters import read_token_counters

    with _bad_input_exits_1():
        with _progress_for(file) as progress:
            tc = read_token_counters(file, format, progress=progress)
    for w in tc.warnings:
        _say("warning", w)
    if as_json:
        _print_json(tc.to_dict())
        return
    if as_csv:
        _print_csv(
            ("model", "advance", "prompt_tokens", "generation_tokens", "series", "resets", "first_t_ns", "last_t_ns",
             "lower_bound", "reason"),
            ([name, m.advance, m.prompt_tokens, m.generation_tokens, m.n_series, m.n_resets, m.first_t_ns,
              m.last_t_ns, m.lower_bound, m.reason] for name, m in tc.totals.items()),
        )
        return
    t = Table(title=f"token counters in {tc.source}")
    for col in ("model", "advance", "prompt tokens", "generation tokens", "series", "resets", "span (s)", "note"):
        t.add_column(col, justify="left" if col in ("model", "advance", "note") else "right")
    for name, m in tc.totals.items():
        span = None if m.first_t_ns is None or m.last_t_ns is None else (m.last_t_ns - m.first_t_ns) / 1e9
        t.add_row(name, m.advance, fmt_number(m.prompt_tokens), fmt_number(m.generation_tokens),
                  fmt_number(m.n_series), fmt_number(m.n_resets), fmt_number(span),
                  ("lower bound" if m.lower_bound else "") + (f" {m.reason}" if m.reason else ""))
    _stdout().print(t)


@app.command(rich_help_panel=PANEL_MEASURED)
def runs(
    file: Annotated[Path, typer.Argument(help="Run summary: ML.ENERGY leaderboard JSON/CSV, CodeCarbon-vLLM "
                                               "output_N.csv or summary.csv, llm-energy-bench summary.csv, "
                                               "summary JSON, vLLM bench JSON with energy keys.")],
    format: Annotated[str | None, typer.Option("--format", "-f", help=f"Summary format (default: sniffed): one of "
                                                                      f"{', '.join(RUN_FORMATS)}.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help=CSV_HELP + " One row per run.")] = False,
) -> None:
    """Run-level energy and tokens as a harness reported them, with J per output token (ΣJ / Σtokens)."""
    from .run_summaries import read_runs

    _one_output(as_json, as_csv)
    with _bad_input_exits_1(), _reading(file):
        rs = read_runs(file, format=format)
    if as_json:
        _print_json({"runs": [r.to_dict() for r in rs], "energy_j": rs.energy_j,
                     "output_tokens": rs.output_tokens, "joules_per_output_token": rs.joules_per_output_token})
        return
    if as_csv:
        _print_csv(_RUNS_CSV, ([getattr(r, k) for k in _RUNS_CSV] for r in rs))
        return
    t = Table(title=f"runs in {file}")
    for col in ("run", "energy (J)", "facility (J)", "mean power (W)", "output tokens", "tok/s", "J/token",
                "reported J/token"):
        t.add_column(col, justify="left" if col == "run" else "right")
    for r in rs:
        t.add_row(r.label, fmt_number(r.energy_j), fmt_number(r.facility_energy_j), fmt_number(r.avg_power_w),
                  fmt_number(r.output_tokens), fmt_number(r.output_tokens_per_s),
                  fmt_number(r.joules_per_output_token), fmt_number(r.reported_joules_per_output_token))
    out = _stdout()
    out.print(t)
    if len(rs) > 1:
        out.print(f"all runs: {fmt_number(rs.joules_per_output_token)} J per output token (ΣJ / Σtokens)")


_RUNS_CSV = ("label", "source", "line", "model", "hardware", "energy_j", "facility_energy_j", "pue", "duration_s",
             "avg_power_w", "output_tokens", "input_tokens", "output_tokens_per_s", "joules_per_output_token",
             "reported_joules_per_output_token", "steady_state")


def _version(value: bool) -> None:
    if value:
        print(f"epcore {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Errors only on stderr: no warnings, notes or progress bars.")
    ] = False,
) -> None:
    """What each LLM token really costs in joules, money and carbon."""
    global _quiet
    _quiet = quiet


from . import cli_attribute  # noqa: E402, F401  (registers ``attribute`` on app; imports names defined above)
from . import cli_batch  # noqa: E402, F401  (registers ``batch``)
from . import cli_carbon  # noqa: E402, F401  (registers ``carbon``)
from . import cli_economics  # noqa: E402, F401  (registers ``sensitivity``, ``fleet``, ``floor``, ``crossover``)
from . import cli_console  # noqa: E402, F401  (registers ``console``)
from . import cli_plot  # noqa: E402, F401  (registers ``plot`` and ``report``)
from . import cli_record  # noqa: E402, F401  (registers ``record``)


def _usage_message(e: Any) -> str:
    """click's error as one line, pointing at the help of the command it concerns."""
    ctx = getattr(e, "ctx", None)
    where = f" (see '{ctx.command_path} --help')" if ctx is not None and isinstance(e, _CLICK_ERRORS.UsageError) else ""
    return f"{' '.join(e.format_message().split())}{where}"


def _interrupted() -> int:
    # Ctrl-C is the user's choice, not an error: one plain line and 130 (128 + SIGINT), no traceback.
    print("interrupted", file=sys.stderr)
    return 130


def cli(*args: str) -> int:
    """Run ``epcore`` with ``args`` in-process and return the exit code (0, 1, 2 or 130).

    click runs without its standalone mode, so a usage error comes back here as an
    exception and is printed as one ``error:`` line instead of click's boxed panel.
    """
    try:
        code = app(args=list(args), prog_name="epcore", standalone_mode=False)
    except _CLICK_ERRORS.ClickException as e:
        if type(e).__name__ == "NoArgsIsHelpError":
            # Plain ``epcore``: the guide (typer's rich help prints itself while the error is built).
            message = e.format_message()
            if message:
                print(message)
            return int(e.exit_code)
        _say("error", _usage_message(e))
        return int(e.exit_code)
    except (KeyboardInterrupt, typer.Abort, getattr(_CLICK_ERRORS, "Abort", typer.Abort)):
        return _interrupted()
    except SystemExit as e:  # a command that exits the process its own way
        c = e.code
        return c if isinstance(c, int) else (0 if c is None else 1)
    if code == 130:  # typer turns Ctrl-C into Exit(130), silently
        return _interrupted()
    return code if isinstance(code, int) else 0


def main() -> NoReturn:
    """The ``epcore`` console script."""
    code = cli(*sys.argv[1:])
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        # ``epcore ... --csv | head``: the reader left early, which is not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(code)
