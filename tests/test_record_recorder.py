"""The Recorder end to end with the replay source: traces, report (counter vs power), files read back
by epcore.read_power, `epcore energy` and `epcore attribute --power`, metadata, errors."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run

import epcore
from epcore.exceptions import ConfigError
from epcore.record import Reading, Recorder, ReplaySource, SourceInfo, read_metadata
from epcore.record.source import ChannelInfo

pytest.importorskip("pyarrow")


def both_columns(path: Path, seconds: float = 20.0, step_s: float = 0.01) -> Path:
    """Two GPUs, power varying smoothly (1 Hz and 0.3 Hz waves), and exact energy counters of it."""
    t = np.arange(0.0, seconds + step_s / 2, step_s)
    rows = ["timestamp_ns,channel,power_w,energy_j"]
    for name, base, amp, hz in (("gpu0", 400.0, 150.0, 1.0), ("gpu1", 250.0, 80.0, 0.3)):
        p = base + amp * np.sin(2 * np.pi * hz * t)
        e = 5000.0 + base * t - amp / (2 * np.pi * hz) * (np.cos(2 * np.pi * hz * t) - 1.0)
        rows += [f"{int(round(ti * 1e9))},{name},{float(pi)!r},{float(ei)!r}" for ti, pi, ei in zip(t, p, e)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_report_counter_and_power_agree_on_a_replay(tmp_path: Path) -> None:
    src = ReplaySource(both_columns(tmp_path / "both.csv"), speed=4.0)
    with Recorder(src, interval_ms=10) as rec:
        time.sleep(1.5)  # 6 s of the file
    rep = rec.report
    assert [c.name for c in rep.channels] == ["gpu0", "gpu1"]
    for c in rep.channels:
        assert c.preferred == "counter" and c.energy_j == c.energy_counter_j
        assert c.energy_counter_j is not None and c.energy_power_j is not None
        assert c.difference_j == pytest.approx(c.energy_power_j - c.energy_counter_j)
        # At 4x speed 10 ms samples are 40 ms of the file: trapezoid error of a 1 Hz wave stays < 0.5 %.
        assert c.difference_percent is not None and abs(c.difference_percent) < 0.5, c
        assert c.power_field == "power_w" and c.energy_field == "energy_j" and c.n_missing == 0
    # Power keeps its watts when replayed at 4x (the counter is scaled to match): ~400 W over the run on gpu0.
    assert rep.channels[0].energy_j == pytest.approx(400.0 * rep.duration_s, rel=0.1)
    assert rep.energy_j == pytest.approx(sum(c.energy_counter_j or 0 for c in rep.channels))
    assert rec.power_trace is not None and rec.counter_trace is not None and rec.trace is rec.power_trace
    assert rec.counter_trace.energy_j == pytest.approx(rep.energy_j)
    d = rep.to_dict()
    json.dumps(d)
    assert d["channels"][0]["preferred"] == "counter" and d["sampler"]["n_samples"] == rep.n_samples
    assert 80 <= rep.achieved_hz <= 101 and rep.interval_p99_ms is not None
    assert "gpu0" in str(rep) and "sampler CPU" in str(rep)


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_file_equals_the_in_memory_trace(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"run.{suffix}"
    src = ReplaySource(both_columns(tmp_path / "both.csv"), speed=2.0)
    with Recorder(src, interval_ms=20, out=out, metadata={"command": ["python", "bench.py"]}) as rec:
        time.sleep(0.6)
    tr = epcore.read_power(out)
    assert rec.power_trace is not None
    assert tr.channels == rec.power_trace.channels
    assert tr.energy_j == rec.power_trace.energy_j  # same floats, same integrator: bit for bit
    assert tr.samples["gpu0"].t_ns.tolist() == rec.power_trace.samples["gpu0"].t_ns.tolist()
    meta = read_metadata(out)
    assert meta["source"] == "replay" and meta["interval_ms"] == 20.0 and meta["complete"] is True
    assert meta["command"] == ["python", "bench.py"] and meta["epcore_version"] == epcore.__version__
    assert meta["anchor_wall_ns"] == rec.stats.anchor_wall_ns and meta["sampler"]["n_samples"] == rec.stats.n_samples
    assert [c["name"] for c in meta["channels"]] == ["gpu0", "gpu1"] and meta["host"]
    if suffix == "parquet":
        counter = epcore.read_power(out, value="energy_j")
        assert rec.counter_trace is not None and counter.energy_j == pytest.approx(rec.counter_trace.energy_j)


def test_cli_energy_and_attribute_read_recordings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "flat.csv"
    trace.write_text("timestamp_ns,channel,power_w,energy_j\n0,gpu0,300,0\n100000000000,gpu0,300,30000\n")
    outs = [tmp_path / "run.csv", tmp_path / "run.parquet"]
    for out in outs:
        with Recorder(ReplaySource(trace, speed=1.0), interval_ms=20, out=out) as rec:
            time.sleep(1.2)
        code, text, err = run(capsys, "energy", str(out), "--json")
        assert code == 0, err
        assert json.loads(text)["energy_j"] == pytest.approx(rec.report.channels[0].energy_power_j, rel=1e-9)
        t0 = rec.stats.anchor_wall_ns / 1e9
        req = tmp_path / f"req_{out.suffix[1:]}.csv"
        req.write_text("request_id,start_time,end_time,input_tokens,output_tokens\n"
                       f"r1,{t0 + 0.2:.6f},{t0 + 0.7:.6f},10,20\n")
        code, text, err = run(capsys, "attribute", "--power", str(out), "--requests", str(req), "--json")
        assert code == 0, err
        j = json.loads(text)
        # 0.5 s inside the recording at a constant 300 W.
        assert j["n_attributed"] == 1 and j["attributed_energy_j"] == pytest.approx(150.0, rel=0.01)


def test_in_memory_and_wait_for_replay_end(tmp_path: Path) -> None:
    trace = tmp_path / "short.csv"
    trace.write_text("timestamp_ns,power_w\n0,100\n1000000000,100\n")
    rec = Recorder(ReplaySource(trace, speed=5.0), interval_ms=10).start()
    assert rec.wait(timeout_s=5)
    assert not rec.running
    rep = rec.stop()
    assert rec.stop() is rep and rec.stats.ended
    assert rep.out is None and rep.channels[0].preferred == "power" and rep.channels[0].energy_counter_j is None
    assert rec.trace.energy_j == pytest.approx(100.0 * rec.trace.duration_s)


def test_results_before_stop_and_misuse(tmp_path: Path) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp_ns,power_w\n0,100\n10000000000,100\n")
    rec = Recorder(ReplaySource(trace), interval_ms=10)
    with pytest.raises(ConfigError, match="start"):
        rec.stop()
    rec.start()
    with pytest.raises(ConfigError, match="after stop"):
        rec.report
    with pytest.raises(ConfigError, match="already started"):
        rec.start()
    assert rec.stats.n_samples >= 1
    rec.stop()
    with pytest.raises(ConfigError, match="gpus"):
        Recorder(ReplaySource(trace), gpus=[0])
    with pytest.raises(ConfigError, match="unknown source"):
        Recorder("cuda")


class Breaks:
    """A source that fails after a few reads."""

    def __init__(self) -> None:
        self.n = 0

    def open(self) -> SourceInfo:
        return SourceInfo("breaks", (ChannelInfo("x", "p", None),))

    def read(self) -> Reading:
        self.n += 1
        if self.n > 5:
            raise OSError("sensor unplugged")
        return Reading((10.0,), (None,))

    def close(self) -> None:
        pass


def test_source_error_surfaces_and_file_is_closed(tmp_path: Path) -> None:
    out = tmp_path / "run.parquet"
    rec = Recorder(Breaks(), interval_ms=5, out=out).start()
    assert rec.wait(timeout_s=5)
    with pytest.raises(OSError, match="sensor unplugged"):
        rec.stop()
    assert out.exists()  # what was recorded is kept, converted
    meta = read_metadata(out)
    assert meta["sampler"]["error"] == "OSError: sensor unplugged"
    assert epcore.read_power(out).quality.n_samples == 5


def test_report_after_a_source_error_and_cheap_import() -> None:
    rec = Recorder(Breaks(), interval_ms=5).start()
    rec.wait(timeout_s=5)
    with pytest.raises(OSError):
        rec.stop()
    assert rec.report.n_samples == 5 and rec.report.stats.error is not None
    import subprocess
    import sys

    code = "import sys, epcore; print('pynvml' in sys.modules, 'epcore.record' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert out.split() == ["False", "False"]


def test_exit_without_stop_closes_the_file(tmp_path: Path) -> None:
    import subprocess
    import sys

    trace = tmp_path / "t.csv"
    trace.write_text("timestamp_ns,power_w\n0,100\n100000000000,100\n")
    out = tmp_path / "run.parquet"
    code = ("import sys, time, epcore\n"
            "epcore.Recorder(epcore.ReplaySource(sys.argv[1]), interval_ms=10, out=sys.argv[2]).start()\n"
            "time.sleep(0.3)\n")
    r = subprocess.run([sys.executable, "-c", code, str(trace), str(out)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert out.exists() and read_metadata(out)["complete"] is True
    assert epcore.read_power(out).quality.n_samples >= 10
