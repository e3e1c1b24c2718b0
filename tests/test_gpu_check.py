"""``benches/gpu_check.py`` off the GPU: its skip line and exit codes, and its checks on a replayed recording.

The NVML path itself runs only on a GPU machine (``python benches/gpu_check.py``).
What can run here runs for real: the script's report checks and its read-back
through ``epcore energy`` and ``epcore attribute`` take a recording made with
the replay source, whose counter and power agree (or, on purpose, do not).
Nothing stands in for NVML.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

import epcore
from epcore.record import Recorder, ReplaySource, nvml_available

pytest.importorskip("pyarrow")

_SCRIPT = Path(__file__).resolve().parent.parent / "benches" / "gpu_check.py"


@pytest.fixture(scope="module")
def gpu_check() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gpu_check", _SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_no_gpu_is_a_clear_skip(gpu_check: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    if nvml_available() is None:
        pytest.skip("NVML works here: run the real check, python benches/gpu_check.py")
    assert gpu_check.main(["--out", "/nonexistent/never-written.parquet"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("skipped: no GPU (") and out.count("\n") == 1
    assert gpu_check.main(["--require-gpu"]) == 1


def _replay(path: Path, counter_w: float) -> Path:
    """One channel at a steady 300 W whose counter climbs at ``counter_w`` J/s, for 30 s (played at speed 1:
    a faster replay compresses the counter's time, not the power)."""
    rows = ["timestamp_ns,channel,power_w,energy_j"]
    for k in range(301):
        rows.append(f"{k * 100_000_000},gpu0,300.0,{counter_w * k / 10}")
    path.write_text("\n".join(rows) + "\n")
    return path


def _recorded(tmp_path: Path, counter_w: float) -> tuple[Recorder, Any, Path]:
    out = tmp_path / "run.parquet"
    rec = Recorder(ReplaySource(_replay(tmp_path / "replay.csv", counter_w)), interval_ms=20, out=out)
    with rec:
        time.sleep(0.2)
        start = time.time_ns()
        time.sleep(0.4)
        work = SimpleNamespace(start_ns=start, end_ns=time.time_ns(), n_matmuls=10, tflops=0.0)
        time.sleep(0.2)
    return rec, work, out


def _args(out: Path) -> argparse.Namespace:
    return argparse.Namespace(out=out, interval_ms=20.0, seconds=0.4, idle_s=0.2, tolerance_pct=5.0)


def test_checks_pass_when_counter_and_power_agree(gpu_check: ModuleType, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    rec, work, out = _recorded(tmp_path, counter_w=300.0)
    assert rec.info is not None
    failures = gpu_check._check_report(rec.report, rec.info, {}, {}, work, _args(out))
    failures += gpu_check._read_back(epcore, out, work, rec.report.energy_j, 5.0, {})
    printed = capsys.readouterr().out
    assert failures == [], printed
    assert "epcore attribute --power" in printed and "exit 0" in printed
    assert "difference" in printed and "sampler CPU" in printed


def test_checks_fail_when_counter_and_power_differ(gpu_check: ModuleType, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    rec, work, out = _recorded(tmp_path, counter_w=240.0)  # power integrates 25 % above the counter
    assert rec.info is not None
    failures = gpu_check._check_report(rec.report, rec.info, {}, {}, work, _args(out))
    assert len(failures) == 1 and "differ by +25" in failures[0], failures
