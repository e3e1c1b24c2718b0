"""The ``epcore`` command line: ``calc``, ``energy``, ``tokens``, ``runs`` and ``attribute``.

Human tables by default, ``--json`` for scripts. Exit codes: 0 ok, 1 bad
input (one ``error: ...`` line on stderr, never a traceback), 2 usage.
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
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from . import __version__
from .carbon import grid_intensity
from .currency import Rates, format_money
from .economics import SteadyState, SteadyStateFigures, steady_state
from .exceptions import EpcoreError
from .files import integrate_file
from .results import IntegrationResult
from .scenarios import sensitivity

__all__ = ["app", "cli", "main"]

app = typer.Typer(
    name="epcore",
    help="What each LLM token really costs in joules, money and carbon.",
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


def _say(prefix: str, message: str) -> None:
    # print(), not rich: the line must stay one line, unwrapped and unstyled, for grep and logs.
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


def fmt_number(v: float | int | None) -> str:
    """Six significant figures in positional notation, for tables.

    >>> fmt_number(2.24), fmt_number(2.488888888888889e-05), fmt_number(3214.2857142857)
    ('2.24', '0.0000248889', '3,214.29')
    >>> fmt_number(None), fmt_number(0.0), fmt_number(1607142.857), fmt_number(1e-12)
    ('—', '0', '1,607,143', '1e-12')
    """
    if v is None:
        return "—"
    if isinstance(v, int):
        return f"{v:,}"
    if v == 0:
        return "0"
    a = abs(v)
    if not 1e-9 <= a < 1e15:
        return f"{v:.6g}"
    decimals = max(0, 5 - _floor_log10(a))
    s = f"{v:,.{decimals}f}"
    return s.rstrip("0").rstrip(".") if "." in s else s


def _floor_log10(a: float) -> int:
    # Decimal of the shortest repr is exact where math.log10 rounds (log10(1000) may be 2.9999...).
    return Decimal(repr(a)).adjusted()


_CALC_ROWS: tuple[tuple[str, str, str], ...] = (
    ("joules_per_token", "energy per token", "J"),
    ("wh_per_token", "energy per token", "Wh"),
    ("kwh_per_million_tokens", "energy per million tokens", "kWh"),
    ("cost_per_million_tokens", "cost per million tokens", "{currency}"),
    ("wh_per_query", "energy per query", "Wh"),
    ("cost_per_query", "cost per query", "{currency}"),
    ("queries_per_kwh", "queries per kWh", ""),
    ("tokens_per_kwh", "tokens per kWh", ""),
    ("g_co2_per_query", "carbon per query", "gCO2"),
    ("g_co2_per_million_tokens", "carbon per million tokens", "gCO2"),
)


_MONEY_ROWS = frozenset({"cost_per_million_tokens", "cost_per_query"})

#: Said wherever a converted figure is shown: the rates are the ECB's reference rates, not a quote.
RATE_CAVEAT = "indicative rates, for information only"


def _calc_cell(name: str, v: float | None, currency: str) -> str:
    # Money in the currency's own decimals, and significant figures below a cent: never $0.00.
    if name in _MONEY_ROWS and v is not None:
        return format_money(v, currency)
    return fmt_number(v)


def _rate_line(r: SteadyState) -> str | None:
    """``1 USD = 5.68427 BRL (rate of 2025-05-09, European Central Bank …; indicative rates …)``."""
    if r.price_currency is None or r.price_currency == r.currency:
        return None
    when = f"rate of {r.rate_date}" if r.rate_date else "rate without a date"
    return (f"1 {r.price_currency} = {fmt_number(r.rate)} {r.currency} ({when}, {r.rate_source}; "
            f"{RATE_CAVEAT})")


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
    for name, label, unit in _CALC_ROWS:
        values = [getattr(f, name) for f in levels]
        if all(v is None for v in values):
            continue
        t.add_row(label, unit.format(currency=r.currency), *(_calc_cell(name, v, r.currency) for v in values))
    return t


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


@app.command()
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
    grid: Annotated[
        str | None,
        typer.Option(help="Grid region from the shipped table (DE, DEU, US-CA, gcp:europe-west1…) instead of "
                          "--grid-g-co2-per-kwh; its year and source are shown."),
    ] = None,
    allow_negative_price: Annotated[
        bool, typer.Option("--allow-negative-price", help="Accept a negative price.")
    ] = False,
    show_sensitivity: Annotated[
        bool,
        typer.Option("--sensitivity", help="Also show what each lever (2× throughput/W, batching, quantization, "
                                           "PUE, cleaner grid) does to every figure."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Steady-state energy, cost and carbon per token and per query.

    A price in one currency shown in another (--price-currency USD --currency BRL) is converted
    with the bundled ECB euro reference rates of 2025-05-09, an ECB file (--fx-file) or --rate;
    the rate, its date and source are shown. They are indicative rates, for information only.
    """
    if grid is not None and grid_g_co2_per_kwh is not None:
        raise typer.BadParameter("give --grid or --grid-g-co2-per-kwh, not both", param_hint="--grid")
    with _bad_input_exits_1():
        region = None if grid is None else grid_intensity(grid)
        if region is not None:
            grid_g_co2_per_kwh = region.g_co2_per_kwh
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
        d["rate_note"] = None if _rate_line(r) is None else RATE_CAVEAT
        d["grid"] = None if region is None else region.to_dict()
        if levers is not None:
            d["sensitivity"] = levers.to_dict()
        _print_json(d)
    else:
        _stdout().print(_calc_table(r))
        line = _rate_line(r)
        if line is not None:
            print(line)  # one unwrapped line: the rate, its date and source stay greppable
        if region is not None:
            print(f"grid {region.code} ({region.name}): {fmt_number(region.g_co2_per_kwh)} gCO2e/kWh, "
                  f"{region.year}, {region.source} ({region.licence})")
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
    if size < _PROGRESS_MIN_BYTES or not sys.stderr.isatty():
        yield None
        return
    started = time.monotonic()
    with Progress(console=_stderr(), transient=True, disable=False, auto_refresh=False) as bar:
        task = bar.add_task(f"reading {path.name}", total=size, visible=False)

        def update(bytes_read: int) -> None:
            # Reads under a second finish before a bar would be readable.
            shown = time.monotonic() - started > 1.0
            bar.update(task, completed=bytes_read, visible=shown)
            if shown:
                bar.refresh()

        yield update


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


@app.command()
def energy(
    file: Annotated[Path, typer.Argument(help="Power or energy file: CSV, nvidia-smi, dmon, Zeus, Prometheus "
                                               "scrape or query_range JSON, RAPL, CodeCarbon, Parquet; "
                                               ".gz/.zst read directly.")],
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
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Energy of a power trace or energy-counter file, with its quality report."""
    with _bad_input_exits_1():
        with _progress_for(file) as progress:
            r = integrate_file(
                file, format=None if format is FormatName.auto else format.value, tz=tz, value=value,
                channel=channel, prefer=None if prefer is None else prefer.value, columns=columns, rule=rule.value,
                max_gap_s=max_gap_s, strict=strict, chunk_bytes=chunk_bytes, progress=progress,
            )
    for w in r.quality.warnings:
        _say("warning", w)
    if r.quality.naive_time:
        _say("note", "timestamps have no zone and were read as UTC (durations and energy are exact); "
                     "pass --tz to place them in time")
    if as_json:
        _print_json(r.to_dict())
    else:
        out = _stdout()
        for t in _energy_tables(r):
            out.print(t)


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


@app.command()
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
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Also write the requests table to this file "
                                                                "(canonical CSV, integer ns).")] = None,
) -> None:
    """Requests and tokens of a request or benchmark log, with what was skipped or repaired.

    vLLM/SGLang ``/metrics`` scrapes and Prometheus query JSON give token counter totals per model instead.
    """
    from ._core import sniff_format
    from .request_logs import read_requests

    if format in (RequestFormatName.prometheus, RequestFormatName.prometheus_json) or (
        format is RequestFormatName.auto and _sniffs_prometheus(file, sniff_format)
    ):
        _token_counters(file, None if format is RequestFormatName.auto else format.value, as_json)
        return
    with _bad_input_exits_1():
        with _progress_for(file) as progress:
            r = read_requests(
                file, format=None if format is RequestFormatName.auto else format.value, anchor_ns=anchor_ns,
                phase=None if all_phases else "profiling", progress=progress,
            )
        if csv_out is not None:
            r.to_csv(csv_out)
    for w in r.quality.warnings:
        _say("warning", w)
    if as_json:
        _print_json({"summary": r.summary(), "quality": r.quality.to_dict()})
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
    out = _stdout()
    out.print(totals)
    out.print(quality)


def _sniffs_prometheus(file: Path, sniff: Callable[[str], str | None]) -> bool:
    try:
        return sniff(str(file)) in ("prometheus", "prometheus-json")
    except (EpcoreError, OSError):
        return False  # the request reader reports the real problem


def _token_counters(file: Path, format: str | None, as_json: bool) -> None:
    from .token_counters import read_token_counters

    with _bad_input_exits_1():
        with _progress_for(file) as progress:
            tc = read_token_counters(file, format, progress=progress)
    for w in tc.warnings:
        _say("warning", w)
    if as_json:
        _print_json(tc.to_dict())
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


@app.command()
def runs(
    file: Annotated[Path, typer.Argument(help="Run summary: ML.ENERGY leaderboard JSON/CSV, CodeCarbon-vLLM "
                                               "output_N.csv or summary.csv, llm-energy-bench summary.csv, "
                                               "summary JSON, vLLM bench JSON with energy keys.")],
    format: Annotated[str | None, typer.Option("--format", "-f", help="Summary format (default: sniffed).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Run-level energy and tokens as a harness reported them, with J per output token (ΣJ / Σtokens)."""
    from .run_summaries import read_runs

    with _bad_input_exits_1():
        rs = read_runs(file, format=format)
    if as_json:
        _print_json({"runs": [r.to_dict() for r in rs], "energy_j": rs.energy_j,
                     "output_tokens": rs.output_tokens, "joules_per_output_token": rs.joules_per_output_token})
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


def _version(value: bool) -> None:
    if value:
        print(f"epcore {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """What each LLM token really costs in joules, money and carbon."""


from . import cli_attribute  # noqa: E402, F401  (registers ``attribute`` on app; imports names defined above)
from . import cli_batch  # noqa: E402, F401  (registers ``batch``)
from . import cli_carbon  # noqa: E402, F401  (registers ``carbon``)
from . import cli_economics  # noqa: E402, F401  (registers ``sensitivity``, ``fleet``, ``floor``, ``crossover``)


def cli(*args: str) -> int:
    """Run ``epcore`` with ``args`` in-process and return the exit code."""
    try:
        app(args=list(args), prog_name="epcore", standalone_mode=True)
    except SystemExit as e:
        code = e.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


def main() -> NoReturn:
    """The ``epcore`` console script."""
    sys.exit(cli(*sys.argv[1:]))
