"""``epcore record``: sample power and energy counters live into a file, around a command or for a while.

Registered on :data:`epcore.cli.app` when :mod:`epcore.cli` is imported. Three
ways to decide when the recording ends:

- ``epcore record --out run.parquet -- python bench.py``: while the command
  runs. It gets epcore's stdin, stdout and stderr; SIGINT, SIGTERM and SIGHUP
  sent to epcore are passed on to it (see :mod:`epcore.cli_signals`); epcore
  exits with its exit code (128 + N when a signal N killed it), or 1 when the
  command succeeded but the recording failed.
- ``--duration S``: for S seconds. Ctrl-C (or SIGTERM, SIGHUP) ends it early:
  the file is closed cleanly all the same, and the exit code is 128 + the
  signal (130 for Ctrl-C), so a script can tell a short run from a full one.
- neither: until Ctrl-C (or SIGTERM, SIGHUP), which is then the normal end:
  exit 0. A replay source also ends the recording when its file ends.

The report (energy from the counter and from integrated power per channel,
their difference, which one is preferred, and the sampler's timing and CPU
cost) goes to stdout, or to stderr while wrapping a command, whose stdout is
its own; ``--json`` prints it as one JSON object on stdout, ``--csv`` the
per-channel table (after the command's own output, if any). ``epcore record
--recover OUT`` turns the journal a killed Parquet recording left behind into
``OUT``.

>>> parse_gpus("0, 1"), parse_gpus("GPU-5c3a8f1e-aaaa-bbbb-cccc-123456789abc")
([0, 1], ['GPU-5c3a8f1e-aaaa-bbbb-cccc-123456789abc'])
"""

from __future__ import annotations

import subprocess
import sys
import time
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from .cli import (
    CSV_HELP,
    JSON_HELP,
    PANEL_MEASURED,
    _bad_input_exits_1,
    _one_output,
    _os_message,
    _out_kind,
    _print_csv,
    _print_json,
    _say,
    _usage,
    app,
)
from .cli_signals import StopSignals, exit_code, signal_name
from .display import fmt_number
from .exceptions import ConfigError, EpcoreError

if TYPE_CHECKING:
    from .record import Recorder, RecordReport

__all__ = ["CSV_COLUMNS", "parse_gpus", "record", "report_tables"]

# A shell's codes for a command that could not be run: not found, found but not executable.
_NOT_FOUND = 127
_NOT_EXECUTABLE = 126
# How often a --duration or open-ended recording looks at the clock, the signals and the source.
_STEP_S = 0.1


class SourceName(str, Enum):
    auto = "auto"
    nvml = "nvml"
    rapl = "rapl"
    replay = "replay"


def parse_gpus(text: str) -> list[int] | list[str]:
    """``--gpus``: NVML indices (``0,1``) or GPU UUIDs (``GPU-…``), comma-separated, not mixed."""
    items = [x.strip() for x in text.split(",") if x.strip()]
    if not items:
        raise typer.BadParameter("expected GPU indices (0,1) or UUIDs (GPU-…), got nothing", param_hint="--gpus")
    if all(x.isdigit() for x in items):
        return [int(x) for x in items]
    if any(x.isdigit() for x in items):
        raise typer.BadParameter(f"{text!r}: give indices or UUIDs, not both", param_hint="--gpus")
    return items


def _check_options(
    out: Path | None, source: SourceName, replay: Path | None, gpus: str | None, duration_s: float | None,
    interval_ms: float, replay_speed: float, command: list[str],
) -> None:
    """Contradicting or missing options: usage errors (exit 2) before anything is opened."""
    if out is None:
        _usage("Missing option '--out' (the file to record into: .parquet or .csv)")
    _out_kind(out, (".parquet", ".csv"))
    if not interval_ms > 0:
        raise typer.BadParameter(f"{interval_ms:g}: must be > 0", param_hint="--interval-ms")
    if duration_s is not None and not duration_s > 0:
        raise typer.BadParameter(f"{duration_s:g}: must be > 0", param_hint="--duration")
    if not replay_speed > 0:
        raise typer.BadParameter(f"{replay_speed:g}: must be > 0", param_hint="--replay-speed")
    if duration_s is not None and command:
        _usage("--duration and a command both decide when the recording ends: give one")
    if replay is not None and source not in (SourceName.auto, SourceName.replay):
        _usage(f"--replay plays a file back: it needs --source replay (or auto), not {source.value}")
    if source is SourceName.replay and replay is None:
        _usage("--source replay needs --replay FILE")
    if gpus is not None and (replay is not None or source in (SourceName.rapl, SourceName.replay)):
        _usage("--gpus selects NVML GPUs: it needs --source nvml (or auto)")


def _error_line(e: EpcoreError) -> str:
    """The error and its way out on one line: ``no NVML GPU found (...); use --source rapl or --replay FILE``."""
    message = str(e)
    return f"{message}; {e.hint}" if e.hint and e.hint not in message else message


def _open_recorder(
    out: Path, source: SourceName, replay: Path | None, replay_speed: float, gpus: list[int] | list[str] | None,
    interval_ms: float, rapl_root: Path, command: list[str],
) -> Recorder:
    """The recorder for the chosen source, not started. Imported here: ``epcore --help`` loads none of it."""
    from .record import Recorder, journal_path, open_source

    journal = journal_path(out)
    if journal.exists():
        raise ConfigError(
            f"{journal} holds a recording that was never closed; recording again would overwrite it",
            code="journal_exists", path=str(journal),
            hint=f"epcore record --recover {out} (or delete the journal)",
        )
    src = open_source(source.value, gpus=gpus, replay=replay, replay_speed=replay_speed, rapl_root=rapl_root)
    # The command goes into the file's metadata: a recording says what it measured.
    return Recorder(src, interval_ms=interval_ms, out=out, metadata={"command": command} if command else None)


def _spawn(command: list[str]) -> subprocess.Popen[bytes]:
    """The wrapped command on epcore's own stdin, stdout and stderr, in epcore's process group."""
    return subprocess.Popen(command)


def _run_command(rec: Recorder, sig: StopSignals, command: list[str]) -> tuple[int, str]:
    """Record while ``command`` runs: (exit code to pass on, how the run ended)."""
    if sig.received:  # stopped while the recorder was starting: the command never runs
        return 128 + sig.received[0], f"{signal_name(sig.received[0])} before the command started"
    try:
        child = _spawn(command)
    except FileNotFoundError:
        _say("error", f"{command[0]}: command not found")
        return _NOT_FOUND, "command not found"
    except PermissionError:
        _say("error", f"{command[0]}: permission denied")
        return _NOT_EXECUTABLE, "command not executable"
    sig.forward_to(child)  # with any signal that came while it was being spawned
    code = exit_code(_wait_child(rec, child))
    ended = f"command exited {code}" if code < 128 else f"command killed by {signal_name(code - 128)}"
    return code, ended


def _wait_child(rec: Recorder, child: subprocess.Popen[bytes]) -> int:
    """The child's return code, once it ends; says at once if the recording stops before it does."""
    warned = False
    while True:
        try:
            # Signal handlers run during the wait (PEP 475) and forward; the wait then goes on.
            return child.wait(timeout=_STEP_S)
        except subprocess.TimeoutExpired:
            pass
        if not warned and not rec.running:
            warned = True  # a replay that played out, or a failed source (its error comes at the end)
            why = rec.stats.error or "the source ended"
            _say("warning", f"the recording stopped while the command still runs ({why}); waiting for the command")


def _run_for(rec: Recorder, sig: StopSignals, duration_s: float | None) -> tuple[int, str]:
    """Record for ``duration_s`` (None: until a signal) or until the source ends: (exit code, how it ended)."""
    started = time.monotonic()
    while not sig.received:
        left = None if duration_s is None else duration_s - (time.monotonic() - started)
        if left is not None and left <= 0:
            return 0, f"{fmt_number(duration_s)} s recorded"
        # The handler only sets a flag, so a short wait notices a signal within a step.
        if rec.wait(_STEP_S if left is None else min(_STEP_S, left)):
            return 0, "source ended"  # a replay played out, or the source failed (stop() says which)
    name = signal_name(sig.received[0])
    if duration_s is None:
        return 0, f"stopped by {name}"  # the one way to end an open-ended recording: not an error
    took = fmt_number(time.monotonic() - started)
    return 128 + sig.received[0], f"{name} after {took} s of --duration {fmt_number(duration_s)} s"


@app.command(
    rich_help_panel=PANEL_MEASURED,
    # Everything after the first plain argument is the command's own, options included: `-- python -c ...`.
    context_settings={"allow_interspersed_args": False},
)
def record(
    command: Annotated[list[str] | None, typer.Argument(
        help="Command to run while recording (after --); its exit code becomes epcore's.", show_default=False,
        metavar="-- COMMAND")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="File to record into: .parquet or .csv "
                                                                 "(canonical schema, written as it goes).")] = None,
    interval_ms: Annotated[float, typer.Option(help="Sampling interval, ms.")] = 20.0,
    source: Annotated[SourceName, typer.Option(help="Where the samples come from: auto (NVML, else RAPL), nvml, "
                                                    "rapl, or replay (a recorded file, with --replay).")] = (
        SourceName.auto),
    replay: Annotated[Path | None, typer.Option(help="Play this power file back as the source "
                                                     "(tests and demos).")] = None,
    replay_speed: Annotated[float, typer.Option(help="Replay this many times faster than recorded.")] = 1.0,
    gpus: Annotated[str | None, typer.Option(help="NVML GPUs to record: indices (0,1) or UUIDs "
                                                  "(default: CUDA_VISIBLE_DEVICES, else all).")] = None,
    rapl_root: Annotated[Path, typer.Option(help="RAPL powercap tree to read.")] = Path("/sys/class/powercap"),
    duration_s: Annotated[float | None, typer.Option("--duration", help="Record this many seconds "
                                                                        "(Ctrl-C ends early: exit 130).")] = None,
    recover: Annotated[Path | None, typer.Option(help="Turn OUT's journal, left by a killed Parquet recording, "
                                                      "into OUT, and exit.", metavar="OUT")] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help=CSV_HELP + " One row per channel.")] = False,
) -> None:
    """Record GPU (NVML) or CPU (RAPL) power and energy counters into a file, while a command runs or for a time.

    The file feeds `epcore energy` and `epcore attribute --power`. At the end a report compares, per
    channel, the energy from the hardware counter with the energy from integrated power samples.
    """
    cmd = list(command or [])
    _one_output(as_json, as_csv)
    if recover is not None:
        if out is not None or cmd or duration_s is not None:
            _usage("--recover OUT converts a journal and exits: give no --out, --duration or command with it")
        _recover(recover, as_json)
        return
    _check_options(out, source, replay, gpus, duration_s, interval_ms, replay_speed, cmd)
    assert out is not None  # _check_options said so
    gpu_list = None if gpus is None else parse_gpus(gpus)
    with _bad_input_exits_1(_error_line):
        rec = _open_recorder(out, source, replay, replay_speed, gpu_list, interval_ms, rapl_root, cmd)
    code, ended, report = _record(rec, cmd, duration_s)
    if report is not None:
        if as_json:
            _print_json({**report.to_dict(), "ended": ended, "exit_code": code, "command": cmd or None})
        elif as_csv:
            _print_csv(CSV_COLUMNS, ([getattr(c, k) for k in CSV_COLUMNS] for c in report.channels))
        else:
            # While wrapping a command, stdout is the command's (often its results, redirected): report on stderr.
            console = Console(file=sys.stderr if cmd else sys.stdout, highlight=False)
            for t in report_tables(report, ended):
                console.print(t)
    if code:
        raise typer.Exit(code)


def _record(rec: Recorder, cmd: list[str], duration_s: float | None) -> tuple[int, str, RecordReport | None]:
    """Start, wait for the end the options chose, stop: (exit code, how it ended, the report if recorded)."""
    with StopSignals() as sig:
        with _bad_input_exits_1(_error_line):
            rec.start()
        try:
            code, ended = _run_command(rec, sig, cmd) if cmd else _run_for(rec, sig, duration_s)
        finally:
            # Always stop, whatever happened while waiting: the file is closed (Parquet written) and synced.
            report, failure = _stop(rec)
    if sig.not_forwarded:
        _say("note", "Ctrl-C reached the command from the terminal directly; epcore did not send it again")
    if failure is not None:
        _say("error", f"recording failed: {failure} (what was sampled before is in {rec.out})")
        # The command's own failure wins; a successful command whose recording failed must not look fine.
        return (code or 1), ended, None
    return code, ended, report


def _stop(rec: Recorder) -> tuple[RecordReport | None, str | None]:
    """Stop the recorder: (its report, None), or (None, the one-line reason it or its source failed)."""
    try:
        return rec.stop(), None
    except EpcoreError as e:
        return None, _error_line(e)
    except OSError as e:
        return None, _os_message(e)


def _recover(out: Path, as_json: bool) -> None:
    from .record import journal_path, read_metadata, recover

    journal = journal_path(out)
    had_journal = journal.exists()
    with _bad_input_exits_1(_error_line):
        path = recover(out)
        meta = read_metadata(path)
    what = f"recovered {journal} into {path}" if had_journal else f"{path} needs no recovery: it is readable as is"
    if as_json:
        _print_json({"out": str(path), "recovered": had_journal, "metadata": meta})
    else:
        print(what)


#: ``--csv``: one row per channel, these ChannelReport fields (machine values: empty where unknown).
CSV_COLUMNS = ("name", "energy_j", "preferred", "energy_counter_j", "energy_power_j", "difference_j",
               "difference_percent", "n_samples", "n_missing", "power_semantics", "power_field", "energy_field")


def report_tables(report: RecordReport, ended: str) -> list[Table]:
    """The final report: the run and the sampler's timing, then energy per channel, counter beside power.

    >>> import pathlib, tempfile, time
    >>> from epcore.record import Recorder, ReplaySource
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("timestamp_ns,channel,power_w,energy_j\\n0,gpu0,300,0\\n10000000000,gpu0,300,3000\\n")
    >>> with Recorder(ReplaySource(p, speed=10), interval_ms=20) as rec:
    ...     time.sleep(0.3)
    >>> run, channels = report_tables(rec.report, "doctest")
    >>> [c.header for c in channels.columns]
    ['channel', 'counter (J)', 'power (J)', 'difference (J)', 'difference', 'preferred', 'power from']
    """
    s = report.stats
    run = Table(title=f"recorded {report.source}" + (f" into {report.out}" if report.out else ""), show_header=False)
    run.add_column("quantity")
    run.add_column("value", justify="right")
    run.add_row("ended", ended)
    run.add_row("duration (s)", fmt_number(report.duration_s))
    run.add_row("energy (J)", fmt_number(report.energy_j))
    run.add_row("samples", fmt_number(s.n_samples))
    run.add_row("achieved rate (Hz)", f"{fmt_number(s.achieved_hz)} (target {fmt_number(1e3 / s.interval_ms)})")
    run.add_row("interval p50 / p99 / max (ms)",
                " / ".join(fmt_number(x) for x in (s.interval_p50_ms, s.interval_p99_ms, s.interval_max_ms)))
    run.add_row("late / skipped", f"{s.n_late:,} / {s.n_skipped:,}")
    run.add_row("sampler CPU", f"{s.cpu_percent:.2f} % of one core ({fmt_number(s.cpu_s)} s)")
    channels = Table(title="energy per channel: the counter is preferred where present")
    for col in ("channel", "counter (J)", "power (J)", "difference (J)", "difference", "preferred", "power from"):
        channels.add_column(col, justify="left" if col in ("channel", "preferred", "power from") else "right")
    for c in report.channels:
        pct = "—" if c.difference_percent is None else f"{c.difference_percent:+.2f} %"
        power_from = "—" if c.power_field is None else f"{c.power_field} ({c.power_semantics})"
        channels.add_row(c.name, fmt_number(c.energy_counter_j), fmt_number(c.energy_power_j),
                         fmt_number(c.difference_j), pct, c.preferred or "—", power_from)
    return [run, channels]
