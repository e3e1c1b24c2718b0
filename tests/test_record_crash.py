"""Crash safety: a recording process killed with SIGKILL mid-run leaves a readable file
holding all but at most about the last second (rows are flushed and fsync-ed every second)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import epcore
from epcore.record import journal_path, read_metadata, recover

pytest.importorskip("pyarrow")

CHILD = """
import sys, time
import epcore
src = epcore.ReplaySource(sys.argv[1])
rec = epcore.Recorder(src, interval_ms=20, out=sys.argv[2]).start()
print("recording", flush=True)
time.sleep(600)
"""
INTERVAL_S = 0.02


def kill_mid_run(tmp_path: Path, out: Path, run_s: float = 2.5) -> float:
    """Start a recording child, SIGKILL it after ``run_s``; the seconds it was recording."""
    trace = tmp_path / "long.csv"
    trace.write_text("timestamp_ns,channel,power_w\n0,gpu0,300\n600000000000,gpu0,300\n")
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(trace), str(out)], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "recording"
        started = time.monotonic()
        time.sleep(run_s)
        os.kill(child.pid, signal.SIGKILL)
        elapsed = time.monotonic() - started
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return elapsed


def check_kept(tr: epcore.PowerTrace, elapsed: float) -> None:
    """At least (elapsed - 1.2 s) of samples survived, and they integrate to 300 W over their span."""
    n = tr.quality.n_samples
    assert n >= (elapsed - 1.2) / INTERVAL_S, (n, elapsed)
    assert tr.duration_s >= elapsed - 1.2, (tr.duration_s, elapsed)
    assert tr.energy_j == pytest.approx(300.0 * tr.duration_s, rel=1e-6)


def test_kill9_csv_is_readable(tmp_path: Path) -> None:
    out = tmp_path / "run.csv"
    elapsed = kill_mid_run(tmp_path, out)
    tr = epcore.read_power(out)  # a cut last line is dropped with a warning
    check_kept(tr, elapsed)
    meta = read_metadata(out)
    assert meta["source"] == "replay" and "anchor_wall_ns" in meta and not meta.get("complete")
    assert recover(out) == out and read_metadata(out)["recovered"] is True


def test_kill9_parquet_journal_is_readable_and_recovers(tmp_path: Path) -> None:
    out = tmp_path / "run.parquet"
    elapsed = kill_mid_run(tmp_path, out)
    assert not out.exists()
    jp = journal_path(out)
    from_journal = epcore.read_power(jp)
    check_kept(from_journal, elapsed)
    assert recover(out) == out
    assert not jp.exists()
    tr = epcore.read_power(out)
    check_kept(tr, elapsed)
    assert tr.quality.n_samples == from_journal.quality.n_samples
    meta = read_metadata(out)
    assert meta["recovered"] is True and meta["source"] == "replay" and meta["interval_ms"] == 20.0
