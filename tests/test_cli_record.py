"""``epcore record``: command wrapping (exit codes, signal forwarding), --duration, --recover, --json.

Every recording here plays a trace back with the replay source, so no GPU or
RAPL is needed. Signals are tested on a real ``epcore`` process (a
subprocess with stdin from /dev/null, so no terminal is involved): the test
signals epcore, and the wrapped command writes down what it received.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import epcore
from epcore.cli import cli

from cli_helpers import one_line, read_csv, run

pytest.importorskip("pyarrow")  # Parquet output, and the replay of a CSV's energy_j column

# epcore as a real process, whichever way the package is installed.
EPCORE = [sys.executable, "-c", "from epcore.cli import main; main()"]


def _trace(path: Path, seconds: float, step_s: float = 0.05) -> Path:
    """A canonical CSV of two GPUs with power and a cumulative energy counter that agree."""
    rows = ["timestamp_ns,channel,power_w,energy_j"]
    energy = [0.0, 0.0]
    n = int(round(seconds / step_s)) + 1
    t0 = 1_750_000_000_000_000_000
    for k in range(n):
        for ch, base in enumerate((300.0, 120.0)):
            p = base + 50.0 * (k % 10) / 10
            if k:
                energy[ch] += p * step_s  # held-ish counter: close enough to the trapezoid for a replay
            rows.append(f"{t0 + int(k * step_s * 1e9)},gpu{ch},{p},{energy[ch]}")
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def short_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _trace(tmp_path_factory.mktemp("replay") / "short.csv", 2.0)


@pytest.fixture(scope="module")
def long_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _trace(tmp_path_factory.mktemp("replay") / "long.csv", 120.0, step_s=0.1)


def _child(code: str) -> list[str]:
    return ["--", sys.executable, "-c", textwrap.dedent(code)]


# --- exit codes, in-process -------------------------------------------------------------------------------


def test_child_exit_code_passes_through(capfd: pytest.CaptureFixture[str], tmp_path: Path, long_trace: Path) -> None:
    out = tmp_path / "run.csv"
    code = cli("record", "--out", str(out), "--replay", str(long_trace), "--interval-ms", "10",
               *_child("import time, sys; time.sleep(0.4); print('child says hi'); sys.exit(3)"))
    r = capfd.readouterr()
    assert code == 3
    assert "child says hi" in r.out
    # The report goes to stderr while wrapping: the command's stdout stays its own.
    assert "child says hi" == r.out.strip()
    assert "gpu0" in r.err and "exited 3" in r.err
    tr = epcore.read_power(out)
    assert set(tr.samples) == {"gpu0", "gpu1"}
    assert tr.duration_s == pytest.approx(0.4, abs=0.35)


def test_child_killed_by_signal_exits_128_plus_n(capfd: pytest.CaptureFixture[str], tmp_path: Path,
                                                   long_trace: Path) -> None:
    code = cli("record", "--out", str(tmp_path / "run.csv"), "--replay", str(long_trace),
               *_child("import os, signal, time; time.sleep(0.2); os.kill(os.getpid(), signal.SIGKILL)"))
    assert code == 128 + signal.SIGKILL
    assert "killed by SIGKILL" in capfd.readouterr().err


def test_a_recording_that_ends_before_the_command_says_so(capfd: pytest.CaptureFixture[str], tmp_path: Path,
                                                           short_trace: Path) -> None:
    code = cli("record", "--out", str(tmp_path / "run.csv"), "--replay", str(short_trace), "--replay-speed", "8",
               *_child("import time; time.sleep(1.2)"))
    err = capfd.readouterr().err
    assert code == 0
    assert "warning: the recording stopped while the command still runs (the source ended)" in err
    assert epcore.read_power(tmp_path / "run.csv").quality.n_samples > 5


def test_command_not_found_is_127(capfd: pytest.CaptureFixture[str], tmp_path: Path, long_trace: Path) -> None:
    code = cli("record", "--out", str(tmp_path / "run.csv"), "--replay", str(long_trace),
               "--", str(tmp_path / "no-such-program"))
    assert code == 127
    assert "error: " + str(tmp_path / "no-such-program") + ": command not found" in capfd.readouterr().err


# --- signals, on a real epcore process ---------------------------------------------------------------------

# Writes "ready" once its handlers are in place, then the name of each signal it gets, and exits 7 on one.
_HANDLER_CHILD = """
import signal, sys, time
from pathlib import Path
marker = Path(sys.argv[1])
def handle(signum, frame):
    marker.write_text(signal.Signals(signum).name)
    sys.exit(7)
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(s, handle)
marker.write_text("ready")
time.sleep(60)
sys.exit(0)
"""


def _start(args: list[str]) -> subprocess.Popen[str]:
    # stdin from /dev/null: no terminal, so every signal epcore gets is forwarded (see epcore.cli_signals).
    return subprocess.Popen([*EPCORE, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"})


def _wait_for(cond: Callable[[], bool], timeout_s: float = 30.0) -> None:
    end = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


@pytest.mark.parametrize(("signum", "suffix"), [(signal.SIGTERM, ".parquet"), (signal.SIGINT, ".csv"),
                                                 (signal.SIGHUP, ".csv")])
def test_signal_is_forwarded_to_the_command(tmp_path: Path, long_trace: Path, signum: int, suffix: str) -> None:
    out, marker = tmp_path / f"run{suffix}", tmp_path / "marker"
    p = _start(["record", "--out", str(out), "--replay", str(long_trace), "--interval-ms", "10", "--",
                sys.executable, "-c", _HANDLER_CHILD, str(marker)])
    _wait_for(lambda: marker.exists() and marker.read_text() == "ready")
    time.sleep(0.3)  # some samples
    p.send_signal(signum)
    stdout, stderr = p.communicate(timeout=60)
    assert marker.read_text() == signal.Signals(signum).name, stderr  # the child got exactly this signal
    assert p.returncode == 7, stderr  # the child's code, not epcore's
    assert "Traceback" not in stderr
    # The recording was closed cleanly: Parquet written and its journal gone, CSV complete with its sidecar.
    assert not Path(f"{out}.journal.csv").exists()
    tr = epcore.read_power(out)
    assert set(tr.samples) == {"gpu0", "gpu1"} and tr.quality.n_samples > 20
    assert not tr.quality.warnings, tr.quality.warnings  # no cut last line
    meta = epcore.record.read_metadata(out)
    assert meta.get("complete") is True
    assert meta["command"][-1] == str(marker)  # the file says what it measured


# Counts the SIGINTs it gets in the half second after the first one, writes the count, exits 7.
_COUNTING_CHILD = """
import signal, sys, time
from pathlib import Path
marker = Path(sys.argv[1])
got = []
signal.signal(signal.SIGINT, lambda s, f: got.append(s))
marker.write_text("ready")
while not got:
    time.sleep(0.01)
time.sleep(0.5)
marker.write_text(str(len(got)))
sys.exit(7)
"""


def test_ctrl_c_at_a_terminal_reaches_the_command_once(tmp_path: Path, long_trace: Path) -> None:
    """A real terminal (a pty): Ctrl-C goes to the whole foreground group; epcore must not send it again."""
    pty = pytest.importorskip("pty")
    import select

    marker = tmp_path / "marker"
    argv = [*EPCORE, "record", "--out", str(tmp_path / "run.csv"), "--replay", str(long_trace), "--",
            sys.executable, "-c", _COUNTING_CHILD, str(marker)]
    pid, fd = pty.fork()
    if pid == 0:  # the child: epcore, session leader with the pty as its controlling terminal
        try:
            os.execv(sys.executable, argv)
        finally:
            os._exit(127)
    output = b""
    try:
        _wait_for(lambda: marker.exists() and marker.read_text() == "ready")
        os.write(fd, b"\x03")  # Ctrl-C, typed
        end = time.monotonic() + 60
        while time.monotonic() < end:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # EIO: every process holding the pty has gone
                    break
                if not chunk:
                    break
                output += chunk
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 7, output.decode(errors="replace")
    assert marker.read_text() == "1"  # once, from the terminal; not again from epcore
    assert b"did not send it again" in output


def test_child_without_handler_killed_by_forwarded_sigterm(tmp_path: Path, long_trace: Path) -> None:
    marker = tmp_path / "ready"
    p = _start(["record", "--out", str(tmp_path / "run.csv"), "--replay", str(long_trace), "--",
                sys.executable, "-c", "import sys, time; open(sys.argv[1], 'w').close(); time.sleep(60)",
                str(marker)])
    _wait_for(marker.exists)
    p.send_signal(signal.SIGTERM)
    _, stderr = p.communicate(timeout=60)
    assert p.returncode == 128 + signal.SIGTERM, stderr
    assert "killed by SIGTERM" in stderr


def test_ctrl_c_ends_a_duration_run_early_with_130(tmp_path: Path, long_trace: Path) -> None:
    out = tmp_path / "run.parquet"
    p = _start(["record", "--out", str(out), "--replay", str(long_trace), "--duration", "60", "--json"])
    _wait_for(lambda: Path(f"{out}.journal.csv").exists())
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=60)
    assert p.returncode == 130, stderr
    d = json.loads(stdout)
    assert d["exit_code"] == 130 and "SIGINT" in d["ended"]
    assert epcore.read_power(out).quality.n_samples > 10  # closed cleanly: the Parquet file is complete


def test_ctrl_c_ends_an_open_ended_run_with_0(tmp_path: Path, long_trace: Path) -> None:
    out = tmp_path / "run.csv"
    p = _start(["record", "--out", str(out), "--replay", str(long_trace)])
    _wait_for(lambda: out.exists() and out.stat().st_size > 200)
    p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=60)
    assert p.returncode == 0, stderr
    assert "stopped by SIGINT" in stdout
    assert epcore.read_power(out).quality.n_samples > 2


# --- duration, JSON, recover --------------------------------------------------------------------------------


def test_duration_json(capsys: pytest.CaptureFixture[str], tmp_path: Path, long_trace: Path) -> None:
    out = tmp_path / "run.csv"
    code, stdout, _ = run(capsys, "record", "--out", str(out), "--replay", str(long_trace), "--duration", "0.6",
                          "--interval-ms", "20", "--json")
    assert code == 0
    d = json.loads(stdout)
    assert d["out"] == str(out) and d["exit_code"] == 0
    tr = epcore.read_power(out)
    assert tr.duration_s == pytest.approx(0.6, abs=0.25)
    assert d == json.loads(json.dumps(d, allow_nan=False))


def test_csv_one_row_per_channel(capsys: pytest.CaptureFixture[str], tmp_path: Path, long_trace: Path) -> None:
    code, stdout, _ = run(capsys, "record", "--out", str(tmp_path / "run.csv"), "--replay", str(long_trace),
                          "--duration", "0.4", "--csv")
    assert code == 0
    rows = read_csv(stdout)
    assert [r["name"] for r in rows] == ["gpu0", "gpu1"]
    for r in rows:  # the replayed file has both: the counter is preferred, and agrees with the power
        assert r["preferred"] == "counter" and r["energy_j"] == r["energy_counter_j"]
        assert abs(float(r["difference_percent"])) < 10


def test_replay_ends_the_recording_when_its_file_ends(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                      short_trace: Path) -> None:
    code, stdout, _ = run(capsys, "record", "--out", str(tmp_path / "run.csv"), "--replay", str(short_trace),
                          "--replay-speed", "4")
    assert code == 0
    assert "source ended" in stdout


def test_recover_a_killed_parquet_recording(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                            long_trace: Path) -> None:
    out = tmp_path / "run.parquet"
    journal = Path(f"{out}.journal.csv")
    p = _start(["record", "--out", str(out), "--replay", str(long_trace), "--interval-ms", "10"])
    _wait_for(lambda: journal.exists() and journal.stat().st_size > 2000)
    p.kill()  # SIGKILL: no handler runs, the journal is all there is
    p.communicate(timeout=30)
    assert not out.exists()
    # Recording again over an unrecovered journal is refused, with the way out.
    code, _, err = run(capsys, "record", "--out", str(out), "--replay", str(long_trace), "--duration", "0.1")
    assert code == 1
    assert "--recover" in one_line(err)
    code, stdout, _ = run(capsys, "record", "--recover", str(out))
    assert code == 0 and "recovered" in stdout
    assert not journal.exists()
    assert epcore.read_power(out).quality.n_samples > 20
    assert epcore.record.read_metadata(out).get("recovered") is True


# --- usage and input errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["--replay", "x.csv"],  # no --out
    ["--out", "run.txt", "--replay", "x.csv"],
    ["--out", "run.csv", "--source", "replay"],
    ["--out", "run.csv", "--replay", "x.csv", "--gpus", "0"],
    ["--out", "run.csv", "--replay", "x.csv", "--source", "rapl"],
    ["--out", "run.csv", "--replay", "x.csv", "--duration", "1", "--", "true"],
    ["--out", "run.csv", "--replay", "x.csv", "--duration", "0"],
    ["--out", "run.csv", "--replay", "x.csv", "--interval-ms", "0"],
    ["--recover", "run.parquet", "--out", "run.csv"],
    ["--out", "run.csv", "--replay", "x.csv", "--json", "--csv"],
])
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, _, err = run(capsys, "record", *args)
    assert code == 2
    assert "epcore record --help" in one_line(err)


def test_nvml_without_gpu_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    try:
        import pynvml

        pynvml.nvmlInit()
        pynvml.nvmlShutdown()
        pytest.skip("NVML initialises here: this test is about machines without a GPU")
    except ImportError:
        pass
    except Exception:  # pynvml.NVMLError: no driver or library, which is what this test needs
        pass
    code, _, err = run(capsys, "record", "--out", str(tmp_path / "run.csv"), "--source", "nvml", "--duration", "1")
    assert code == 1
    line = one_line(err)
    assert line.startswith("error: ") and "--source rapl or --replay FILE" in line
    assert not (tmp_path / "run.csv").exists()


def test_rapl_tree_records_energy(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """--rapl-root: the real RAPL source reading a sysfs-like tree made here (this VM has no powercap)."""
    root = tmp_path / "powercap"
    zone = root / "intel-rapl:0"
    zone.mkdir(parents=True)
    (zone / "name").write_text("package-0\n")
    (zone / "energy_uj").write_text("1000000\n")
    (zone / "max_energy_range_uj").write_text("262143328850\n")
    out = tmp_path / "rapl.csv"
    code, stdout, _ = run(capsys, "record", "--out", str(out), "--source", "rapl", "--rapl-root", str(root),
                          "--duration", "0.3", "--json")
    assert code == 0, stdout
    d = json.loads(stdout)
    assert d["exit_code"] == 0
    tr = epcore.read_power(out)
    assert tr.energy_j == 0.0  # the counter never moved
