"""``epcore attribute``: a power trace joined with a request log, energy per request and per token.

Registered on :data:`epcore.cli.app` when :mod:`epcore.cli` is imported. The
command reads both files (progress bar on big reads, like ``energy``), calls
:func:`epcore.attribute` and presents its :class:`~epcore.attribution.Attribution`:
rich tables by default, ``--json`` for the same names as the Python result
(``requests`` a list of objects), ``--csv`` for the per-request table on
stdout, ``--out`` to write that table as CSV, Parquet, JSON or JSON Lines.
Every :class:`~epcore.EpcoreError` is one ``error:`` line and exit 1; a bad
option value is a usage error (exit 2).

Times given on the command line are converted to integer nanoseconds exactly
(decimal arithmetic, never through a float): ``--offset-s 3600.000000001`` is
3,600,000,000,001 ns.

>>> _time_ns("1750000000.5", "--span"), _time_ns("2025-06-15T15:06:40.5Z", "--span")
(1750000000500000000, 1750000000500000000)
>>> _time_ns("2025-06-15T17:06:40+02:00", "--span"), _seconds_ns("-0.000000001", "--offset-s")
(1750000000000000000, -1)
"""

from __future__ import annotations

import calendar
import importlib.util
import json
import re
import sys
from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.table import Table

from .cli import (
    CSV_HELP,
    JSON_HELP,
    PANEL_MEASURED,
    FormatName,
    PreferName,
    RuleName,
    _bad_input_exits_1,
    _iso_ns,
    _one_output,
    _out_kind,
    _os_message,
    _print_json,
    _progress_for,
    _say,
    _stdout,
    app,
)
from .cli_options import POWER_CHANNEL, POWER_COLUMNS, POWER_FORMAT, POWER_MAX_GAP, POWER_VALUE, PREFER, RULE
from .display import fmt_number
from .exceptions import EpcoreError

if TYPE_CHECKING:
    from .attribution import Attribution

__all__ = ["attribute_command"]

_NS_PER_S = 1_000_000_000
_I64_MAX = (1 << 63) - 1
_J_PER_WH = 3600.0
# Per-request table writers, by the --out file's extension.
_OUT_KINDS = (".csv", ".parquet", ".json", ".jsonl")
# Requests listed in the "not fully measured" table before "… and N more".
_REASONS_SHOWN = 10


class RequestFormat(str, Enum):
    auto = "auto"
    csv = "csv"
    vllm = "vllm"
    sglang = "sglang"
    aiperf = "aiperf"
    ollama = "ollama"


class WeightName(str, Enum):
    tokens = "tokens"
    equal = "equal"
    phase = "phase"


# --- exact times from the command line ----------------------------------------------------

_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))"
)


def _seconds_ns(text: str, option: str) -> int:
    """Decimal seconds → integer ns, exactly; more precision than 1 ns is refused, not rounded."""
    s = text.strip()
    if _DECIMAL.fullmatch(s) is None:
        raise typer.BadParameter(f"{text!r} is not a number of seconds (e.g. 3600 or -0.25)", param_hint=option)
    try:
        ns = Decimal(s).scaleb(9)
    except InvalidOperation:  # pragma: no cover - the pattern admits only plain decimals
        raise typer.BadParameter(f"{text!r} is not a number of seconds", param_hint=option) from None
    if ns != ns.to_integral_value():
        raise typer.BadParameter(f"{text!r} is finer than 1 ns (at most 9 decimals)", param_hint=option)
    v = int(ns)
    if abs(v) > _I64_MAX:
        raise typer.BadParameter(f"{text!r} is outside the int64 nanosecond range", param_hint=option)
    return v


def _time_ns(text: str, option: str) -> int:
    """Epoch seconds (decimal) or RFC 3339 with ``Z`` or an offset → integer ns since the epoch, exactly."""
    s = text.strip()
    if _DECIMAL.fullmatch(s) is not None:
        return _seconds_ns(s, option)
    m = _RFC3339.fullmatch(s)
    if m is None:
        raise typer.BadParameter(
            f"{text!r} is neither epoch seconds nor RFC 3339 with a zone (e.g. 2025-06-15T15:06:40.5Z)",
            param_hint=option,
        )
    y, mo, d, h, mi, sec = (int(m.group(k)) for k in range(1, 7))
    try:
        datetime(y, mo, d, h, mi, sec)  # range check only
    except ValueError as e:
        raise typer.BadParameter(f"{text!r}: {e}", param_hint=option) from None
    frac = m.group(7) or ""
    if len(frac) > 9 and frac[9:].strip("0"):
        raise typer.BadParameter(f"{text!r} is finer than 1 ns (at most 9 decimals)", param_hint=option)
    offset_s = 0
    if m.group(9) is not None:
        oh, om = int(m.group(10)), int(m.group(11))
        if oh > 23 or om > 59:
            raise typer.BadParameter(f"{text!r}: UTC offset out of range", param_hint=option)
        offset_s = (oh * 3600 + om * 60) * (-1 if m.group(9) == "-" else 1)
    seconds = calendar.timegm((y, mo, d, h, mi, sec, 0, 0, 0)) - offset_s
    v = seconds * _NS_PER_S + int((frac[:9] or "0").ljust(9, "0"))
    if abs(v) > _I64_MAX:
        raise typer.BadParameter(f"{text!r} is outside the int64 nanosecond range", param_hint=option)
    return v


def _ns_as_seconds(ns: int) -> str:
    """Integer ns as the shortest exact decimal seconds: ``-259202000000000`` → ``-259202``."""
    return format(Decimal(ns).scaleb(-9).normalize(), "f")


def _utc(ns: int) -> str:
    """Exact UTC time, fraction trimmed: ``2025-06-15T15:06:40Z``, ``2025-06-15T15:06:40.5Z``."""
    s = _iso_ns(ns)
    day, frac = s[:-1].split(".")
    frac = frac.rstrip("0")
    return f"{day}.{frac}Z" if frac else f"{day}Z"


# --- option parsing ----------------------------------------------------------------------


def _idle_option(text: str) -> Literal["auto", "off"] | float | dict[str, float]:
    """``auto``, ``off``, watts for every channel, or ``CH=W,CH=W``."""
    s = text.strip()
    if s.lower() == "auto":
        return "auto"
    if s.lower() == "off":
        return "off"

    def watts(v: str, where: str) -> float:
        try:
            w = float(v)
        except ValueError:
            raise typer.BadParameter(f"{where}: {v!r} is not a number of watts", param_hint="--idle-w") from None
        if w != w or w in (float("inf"), float("-inf")):
            raise typer.BadParameter(f"{where}: {v!r} is not a finite number of watts", param_hint="--idle-w")
        return w

    if "=" not in s:
        return watts(s, "--idle-w")
    out: dict[str, float] = {}
    for item in s.split(","):
        name, eq, v = item.rpartition("=")
        name = name.strip()
        if not eq or not name:
            raise typer.BadParameter(f"{item!r}: expected CHANNEL=WATTS", param_hint="--idle-w")
        out[name] = watts(v.strip(), f"channel {name!r}")
    return out


def _channel_map(items: list[str] | None) -> dict[str, list[str]] | None:
    """``MODEL=CH1,CH2`` (repeatable) → ``{model: [ch1, ch2]}``."""
    if not items:
        return None
    out: dict[str, list[str]] = {}
    for item in items:
        model, eq, chs = item.rpartition("=")
        model = model.strip()
        names = [c.strip() for c in chs.split(",") if c.strip()]
        if not eq or not model or not names:
            raise typer.BadParameter(f"{item!r}: expected MODEL=CHANNEL[,CHANNEL...]", param_hint="--channel-map")
        if model in out:
            raise typer.BadParameter(f"model {model!r} is mapped twice", param_hint="--channel-map")
        out[model] = names
    return out


def _out_table_kind(out: Path | None) -> str | None:
    if out is None:
        return None
    kind = _out_kind(out, _OUT_KINDS)
    if kind == ".parquet" and importlib.util.find_spec("pyarrow") is None:
        _say("error", f"{out}: writing Parquet needs pyarrow (pip install 'epcore[parquet]')")
        raise typer.Exit(1)
    return kind


# --- errors --------------------------------------------------------------------------------


def _cli_message(e: EpcoreError) -> str:
    """The error's message in command-line terms: the hint it needs, options named as on the command line."""
    msg = str(e)
    if e.code == "naive_time":
        return (f"{msg}; hint: pass --tz <IANA zone of the logging host> (e.g. --tz Europe/Berlin, "
                "or --tz UTC if its clock was UTC)")
    if e.code == "clock_mismatch":
        m = re.search(r"(-?[0-9]+) ns would align", msg)
        if m is not None:
            seconds = _ns_as_seconds(int(m.group(1)))
            msg = f"{msg[:m.end(1)]} ns (--offset-s {seconds}){msg[m.end(1) + 3:]}"
        elif "--offset-s" not in msg:
            msg = f"{msg}; hint: shift the requests onto the trace's clock with --offset-s SECONDS"
        return msg
    if e.hint and e.hint not in msg:
        msg = f"{msg}; hint: {e.hint}"
    return msg


# --- writing the per-request table ---------------------------------------------------------


def _write_out(a: Attribution, path: Path, kind: str) -> None:
    if kind == ".csv":
        a.requests.to_csv(path)
    elif kind == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(a.requests.to_arrow(), path)
    elif kind == ".json":
        with open(path, "w", encoding="utf-8") as f:
            json.dump(list(a.requests.rows()), f, indent=2, allow_nan=False)
            f.write("\n")
    else:
        with open(path, "w", encoding="utf-8") as f:
            for row in a.requests.rows():
                f.write(json.dumps(row, allow_nan=False))
                f.write("\n")


def _print_csv(a: Attribution) -> None:
    # Through RequestEnergies.to_csv, so stdout and --out x.csv are the same bytes.
    a.requests.to_csv(sys.stdout)


# --- human tables --------------------------------------------------------------------------


def _share(part: float, whole: float) -> str:
    return "—" if whole == 0 else f"{part / whole:.1%}"


def _pm(v: float, se: float) -> str:
    return f"{fmt_number(v)} ± {fmt_number(se)}"


def _energy_table(a: Attribution, title: str) -> Table:
    t = Table(title=title)
    for col in ("energy", "J", "Wh", "share of total"):
        t.add_column(col, justify="left" if col == "energy" else "right")
    total = a.total_energy_j
    rows: list[tuple[str, float]] = [
        ("total (trace, in the span)", total),
        ("attributed to requests", a.attributed_energy_j),
        ("unattributed (no request active)", a.unattributed_energy_j),
        ("dynamic (requests' part above idle)", a.dynamic_energy_j),
        ("idle (idle W × covered time)", a.idle_energy_j),
        ("prefill (start → first token)", a.prefill_energy_j),
        ("decode (first token → end)", a.decode_energy_j),
    ]
    if a.unsplit_energy_j or int(a.requests["first_token_ns"].count()) < len(a.requests):
        rows.append(("unsplit (requests without a first token)", a.unsplit_energy_j))
    for label, v in rows:
        t.add_row(label, fmt_number(v), fmt_number(v / _J_PER_WH), _share(v, total))
    return t


def _per_token_table(a: Attribution) -> Table:
    reg = a.regression
    counted = "tokens" if a.span_kind == "whole" else "tokens processed inside the span (prorated)"
    t = Table(title="J per token", caption=f"sweep: ΣJ ÷ Σ{counted} of the measured requests; regression: "
                                           "marginal J per token, static power excluded")
    for col in ("figure", "J/token", "J", "tokens", "regression"):
        t.add_column(col, justify="left" if col == "figure" else "right")
    t.add_row("input (prefill ÷ input)", fmt_number(a.joules_per_input_token),
              fmt_number(a.prefill_energy_j), fmt_number(a.counted_prefill_tokens),
              "—" if reg is None else _pm(reg.joules_per_input_token, reg.stderr_joules_per_input_token))
    t.add_row("decode (÷ N−1 after 1st)", fmt_number(a.decode_joules_per_token),
              fmt_number(a.decode_energy_j), fmt_number(a.counted_decode_tokens),
              "—" if reg is None else _pm(reg.joules_per_output_token, reg.stderr_joules_per_output_token))
    t.add_row("output (all ÷ output)", fmt_number(a.joules_per_output_token),
              fmt_number(a.attributed_energy_j), fmt_number(a.counted_output_tokens), "")
    t.add_row("total (all ÷ input+output)", fmt_number(a.joules_per_token),
              fmt_number(a.attributed_energy_j), fmt_number(a.counted_input_tokens + a.counted_output_tokens), "")
    t.add_row("dynamic ÷ output", fmt_number(a.dynamic_joules_per_output_token),
              fmt_number(a.dynamic_energy_j), fmt_number(a.counted_output_tokens), "")
    return t


def _regression_table(a: Attribution) -> Table:
    t = Table(title="regression of power on token rates", show_header=False)
    t.add_column("quantity")
    t.add_column("value", justify="right")
    t.add_row("model", "W = c + a × prefill tok/s + b × decode tok/s")
    reg = a.regression
    if reg is None:
        t.add_row("not estimated", a.regression_reason or "turned off (--no-regression)")
        return t
    t.add_row("a: J per input token", _pm(reg.joules_per_input_token, reg.stderr_joules_per_input_token))
    t.add_row("b: J per decode token", _pm(reg.joules_per_output_token, reg.stderr_joules_per_output_token))
    t.add_row("c: intercept (W)", _pm(reg.intercept_w, reg.stderr_intercept_w))
    t.add_row("idle, all channels (W)", fmt_number(sum(a.idle_w.values())))
    t.add_row("R²", fmt_number(reg.r_squared))
    t.add_row("residual std (W)", fmt_number(reg.residual_std_w))
    t.add_row("bins", f"{reg.n_bins:,} × {fmt_number(reg.bin_s)} s")
    return t


_DISTRIBUTION_ROWS = (
    ("energy_j", "J/request"),
    ("joules_per_output_token", "J/output token"),
    ("decode_joules_per_token", "J/decode token"),
)


def _distribution_table(a: Attribution) -> Table:
    t = Table(title="distribution over requests")
    for col in ("figure", "n", "p50", "p90", "p99", "mean", "max"):
        t.add_column(col, justify="left" if col == "figure" else "right")
    dist = a.distribution
    for key, label in _DISTRIBUTION_ROWS:
        d = dist[key]
        t.add_row(label, fmt_number(d["n"]), *(fmt_number(d[k]) for k in ("p50", "p90", "p99", "mean", "max")))
    return t


_IDLE_SOURCES = {
    "idle_segments": "median while no request ran",
    "percentile": "5th percentile (< 5 idle samples)",
    "given": "given (--idle-w)",
    "off": "off (--idle-w off)",
}


def _idle_table(a: Attribution) -> Table:
    t = Table(title="idle power")
    t.add_column("channel", overflow="fold")
    t.add_column("idle (W)", justify="right")
    t.add_column("source")
    for name in a.channels:
        src = a.idle_source.get(name, "")
        t.add_row(name, fmt_number(a.idle_w.get(name)), _IDLE_SOURCES.get(src, src))
    return t


def _steady_table(a: Attribution) -> Table | None:
    w = a.steady_state
    if w is None:
        return None
    t = Table(title="steady state (ML.ENERGY window: B-th first token → (N−B)-th end)", show_header=False)
    t.add_column("quantity")
    t.add_column("value", justify="right")
    t.add_row("start (UTC)", _utc(w.start_ns))
    t.add_row("end (UTC)", _utc(w.end_ns))
    t.add_row("duration (s)", fmt_number(w.duration_s))
    how = "the most requests in flight at once" if w.batch_size_observed else "given (--batch-size)"
    t.add_row("batch size B", f"{w.batch_size:,}, {how}")
    return t


def _requests_table(a: Attribution, offset_ns: int) -> Table:
    t = Table(title="requests", show_header=False)
    t.add_column("quantity")
    t.add_column("value", justify="right")
    t.add_row("requests", fmt_number(a.n_requests))
    t.add_row("attributed (energy measured)", fmt_number(a.n_attributed))
    t.add_row("outside (no energy)", fmt_number(a.n_outside))
    t.add_row("partial (coverage < 1)", fmt_number(a.n_partial))
    t.add_row("input / output tokens", f"{a.input_tokens:,} / {a.output_tokens:,}")
    t.add_row("decode tokens (Σ N−1)", fmt_number(a.decode_tokens))
    weight = a.weight if a.weight == "equal" else f"{a.weight} (prefill weight {fmt_number(a.prefill_weight)})"
    t.add_row("weight", weight)
    t.add_row("span start (UTC)", _utc(a.span_ns[0]))
    t.add_row("span end (UTC)", _utc(a.span_ns[1]))
    t.add_row("span (s)", fmt_number(a.span_s))
    if offset_ns:
        t.add_row("offset applied to requests (s)", _ns_as_seconds(offset_ns))
    t.add_row("channels", ", ".join(a.channels))
    return t


def _reasons_table(a: Attribution) -> Table | None:
    rows = [r for r in a.requests.rows() if r["reason"]]
    if not rows:
        return None
    t = Table(title="requests not fully measured")
    for col in ("request", "coverage", "energy (J)", "reason"):
        t.add_column(col, justify="right" if col in ("coverage", "energy (J)") else "left")
    for r in rows[:_REASONS_SHOWN]:
        t.add_row(str(r["request_id"]), f"{r['coverage']:.2f}", fmt_number(r["energy_j"]), str(r["reason"]))
    if len(rows) > _REASONS_SHOWN:
        t.caption = f"… and {len(rows) - _REASONS_SHOWN:,} more (--out or --csv for all)"
    return t


def _quality_table(a: Attribution) -> Table:
    t = Table(title="quality", show_header=False)
    t.add_column("check")
    t.add_column("value")
    tq: Mapping[str, Any] = a.quality.get("trace", {})
    rq: Mapping[str, Any] = a.quality.get("requests", {})
    fmt = tq.get("format") or "?"
    t.add_row("trace", f"{fmt}, {tq.get('n_samples', 0):,} samples, {tq.get('n_gaps', 0):,} gaps, "
                       f"{tq.get('n_repairs', 0):,} repairs")
    if tq.get("naive_time"):
        t.add_row("trace time zone", "none in the file: read as UTC, placed by --offset-s")
    elif tq.get("tz"):
        t.add_row("trace time zone", str(tq["tz"]))
    skipped = rq.get("skipped") or {}
    skipped_text = ", ".join(f"{k} {n:,}" for k, n in dict(skipped).items())
    t.add_row("request log", f"{rq.get('format', '?')}, {rq.get('n_requests', 0):,} requests, times from "
                             f"{rq.get('timing', '?')}" + (f", skipped {skipped_text}" if skipped_text else ""))
    residual = a.attributed_energy_j + a.unattributed_energy_j - a.total_energy_j
    t.add_row("conservation", f"attributed + unattributed − total = {fmt_number(residual)} J")
    n_warn = len(a.quality.get("warnings", ())) + len(tq.get("warnings", ())) + len(rq.get("warnings", ()))
    t.add_row("warnings", f"{n_warn} (on stderr)" if n_warn else "none")
    return t


def _print_tables(a: Attribution, title: str, offset_ns: int) -> None:
    out = _stdout()
    tables = [
        _energy_table(a, title),
        _per_token_table(a),
        _regression_table(a),
        _distribution_table(a),
        _idle_table(a),
        _steady_table(a),
        _requests_table(a, offset_ns),
        _reasons_table(a),
        _quality_table(a),
    ]
    for t in tables:
        if t is not None:
            out.print(t)


def _warnings(a: Attribution) -> list[str]:
    q = a.quality
    return [*q.get("trace", {}).get("warnings", ()), *q.get("requests", {}).get("warnings", ()),
            *q.get("warnings", ())]


# --- the command ---------------------------------------------------------------------------


@app.command("attribute", rich_help_panel=PANEL_MEASURED)
def attribute_command(
    power: Annotated[Path, typer.Option("--power", help="Power or energy file (every format `epcore energy` "
                                                        "reads).", show_default=False)],
    requests: Annotated[Path, typer.Option("--requests", help="Request log (every format `epcore tokens` reads).",
                                           show_default=False)],
    format: Annotated[FormatName, POWER_FORMAT] = FormatName.auto,
    tz: Annotated[str | None, typer.Option(help="IANA zone of the power file's naive local timestamps "
                                                "(nvidia-smi, Zeus).")] = None,
    value: Annotated[str | None, POWER_VALUE] = None,
    channel: Annotated[str | None, POWER_CHANNEL] = None,
    prefer: Annotated[PreferName | None, PREFER] = None,
    columns: Annotated[str | None, POWER_COLUMNS] = None,
    rule: Annotated[RuleName, RULE] = RuleName.trapezoid,
    max_gap_s: Annotated[float | None, POWER_MAX_GAP] = None,
    requests_format: Annotated[RequestFormat, typer.Option(help="Request log format (auto: sniffed).")] = (
        RequestFormat.auto
    ),
    anchor_ns: Annotated[int | None, typer.Option(help="vLLM/SGLang: wall-clock ns since the epoch at which the "
                                                       "first request was sent.")] = None,
    all_phases: Annotated[bool, typer.Option("--all-phases", help="AIPerf: keep every benchmark phase, "
                                                                   "not only profiling.")] = False,
    weight: Annotated[WeightName, typer.Option(help="How a segment's energy is split among the requests active "
                                                    "in it: tokens/s in their phase, equal, or by phase.")] = (
        WeightName.tokens
    ),
    prefill_weight: Annotated[float, typer.Option(help="Weight of a prompt token against an output token "
                                                       "(tokens, phase).")] = 1.0,
    idle_w: Annotated[str, typer.Option(help="Idle power: auto (estimated per channel), off, watts for every "
                                             "channel, or CH=W,CH=W.")] = "auto",
    steady_state: Annotated[bool, typer.Option(
        "--steady-state", help="Only the ML.ENERGY steady-state window (B-th first token to (N−B)-th end).")] = False,
    batch_size: Annotated[int | None, typer.Option(min=1, help="B of --steady-state (default: the most "
                                                               "requests in flight at once).")] = None,
    span: Annotated[tuple[str, str] | None, typer.Option(help="Only START END (epoch seconds or RFC 3339 "
                                                              "with a zone).", show_default=False)] = None,
    offset_s: Annotated[str | None, typer.Option(help="Seconds added to every request time to put the log on "
                                                      "the trace's clock (exact to the ns).")] = None,
    regression_bin_s: Annotated[float | None, typer.Option(help="Bin width of the regression estimate "
                                                                "(default: max(1 s, 5 × sample interval)).")] = None,
    no_regression: Annotated[bool, typer.Option("--no-regression", help="Skip the regression estimate.")] = False,
    channel_map: Annotated[list[str] | None, typer.Option(help="MODEL=CH1,CH2: the channels a model's requests "
                                                                "run on (repeatable; default: every channel).")] = (
        None
    ),
    out: Annotated[Path | None, typer.Option(help="Write the per-request table: .csv, .parquet, .json "
                                                  "or .jsonl.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP + " Requests included.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help=CSV_HELP + " The per-request table.")] = False,
) -> None:
    """Energy per request and per token: a power trace split among the requests that ran during it."""
    _one_output(as_json, as_csv)
    kind = _out_table_kind(out)
    idle = _idle_option(idle_w)
    chans = _channel_map(channel_map)
    offset_ns = 0 if offset_s is None else _seconds_ns(offset_s, "--offset-s")
    span_ns = None
    if span is not None and all(s is not None for s in span):
        span_ns = (_time_ns(span[0], "--span"), _time_ns(span[1], "--span"))
        if span_ns[1] < span_ns[0]:
            raise typer.BadParameter(f"END {span[1]!r} is before START {span[0]!r}", param_hint="--span")
    if span_ns is not None and steady_state:
        raise typer.BadParameter("--span and --steady-state both choose the window: pick one", param_hint="--span")

    from .attribution import attribute
    from .request_logs import read_requests
    from .trace import read_power

    with _bad_input_exits_1(_cli_message):
        with _progress_for(power) as progress:
            trace = read_power(
                power, format=None if format is FormatName.auto else format.value, tz=tz, value=value,
                channel=channel, prefer=None if prefer is None else prefer.value, columns=columns,
                rule=rule.value, max_gap_s=max_gap_s, progress=progress,
            )
        with _progress_for(requests) as progress:
            reqs = read_requests(
                requests, format=None if requests_format is RequestFormat.auto else requests_format.value,
                anchor_ns=anchor_ns, phase=None if all_phases else "profiling", progress=progress,
            )
        a = attribute(
            trace, reqs, weight=weight.value, prefill_weight=prefill_weight, idle_w=idle, span=span_ns,
            steady_state=steady_state, batch_size=batch_size, offset_ns=offset_ns, channels=chans,
            regression=not no_regression, regression_bin_s=regression_bin_s,
        )
        if out is not None and kind is not None:
            _write_out(a, out, kind)
    for w in _warnings(a):
        _say("warning", w)
    if trace.naive_time:
        _say("note", "the trace's timestamps have no zone and were read as UTC; --offset-s placed the requests "
                     "on that clock")
    if as_json:
        _print_json(a.to_dict())
    elif as_csv:
        _print_csv(a)
    else:
        title = f"energy per request: {trace.source or power} × {reqs.quality.source or requests}"
        _print_tables(a, title, offset_ns)

