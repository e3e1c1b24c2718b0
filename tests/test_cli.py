"""The ``epcore`` command line: in-process through typer's runner and ``cli()``, and one real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import epcore
from epcore.cli import app, cli

runner = CliRunner()

SEED = ["--power-w", "5600", "--tokens-per-s", "2500", "--price-per-kwh", "0.08", "--currency", "USD",
        "--query-tokens", "500"]
CALC_KEYS = {
    "joules_per_token", "wh_per_token", "kwh_per_million_tokens", "cost_per_million_tokens", "wh_per_query",
    "cost_per_query", "queries_per_kwh", "tokens_per_kwh", "g_co2_per_query", "g_co2_per_million_tokens",
    "currency",
}
ENERGY_KEYS = {"energy_j", "duration_s", "mean_power_w", "samples", "channels", "quality"}

# The console script next to the interpreter running the tests (.venv/bin/epcore).
EPCORE_BIN = Path(sys.executable).with_name("epcore")


def assert_one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


def write(tmp_path: Path, text: str, name: str = "trace.csv") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode())
    return p


# --- calc ----------------------------------------------------------------------


def test_calc_json_seed() -> None:
    r = runner.invoke(app, ["calc", *SEED, "--json"])
    assert r.exit_code == 0, r.output
    assert r.stderr == ""
    d = json.loads(r.stdout)
    assert CALC_KEYS <= set(d)
    assert d["joules_per_token"] == 2.24
    assert round(d["cost_per_million_tokens"], 6) == 0.049778
    assert round(d["wh_per_query"], 5) == 0.31111
    assert round(d["queries_per_kwh"], 2) == 3214.29
    assert d["currency"] == "USD"
    assert d["facility"] is None
    assert d["g_co2_per_query"] is None


def test_calc_json_facility_and_carbon() -> None:
    r = runner.invoke(app, ["calc", *SEED, "--pue", "1.2", "--grid-g-co2-per-kwh", "400", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["facility"]["joules_per_token"] == 2.688
    assert CALC_KEYS - {"currency"} <= set(d["facility"])
    assert d["g_co2_per_query"] == pytest.approx(0.124444444444, rel=1e-10)


def test_calc_table() -> None:
    r = runner.invoke(app, ["calc", *SEED], env={"COLUMNS": "120"})
    assert r.exit_code == 0, r.output
    for text in ("2.24", "$0.0498", "0.311111", "$0.0000249", "3,214.29", "USD"):  # money: format_money
        assert text in r.stdout, text
    assert "facility" not in r.stdout
    assert "carbon" not in r.stdout  # no grid intensity, no carbon rows
    r = runner.invoke(app, ["calc", *SEED, "--pue", "1.2", "--grid-g-co2-per-kwh", "400"], env={"COLUMNS": "120"})
    assert "facility (PUE 1.2)" in r.stdout and "2.688" in r.stdout and "carbon per query" in r.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--power-w", "5600", "--tokens-per-s", "0"], "tokens_per_s = 0"),
        (["--power-w", "-5", "--tokens-per-s", "2500"], "power_w = -5"),
        (["--power-w", "5600", "--tokens-per-s", "nan"], "tokens_per_s = NaN"),
        (["--power-w", "inf", "--tokens-per-s", "2500"], "power_w = inf"),
        (["--power-w", "5600", "--tokens-per-s", "2500", "--currency", "usd"], "currency = usd"),
        (["--power-w", "5600", "--tokens-per-s", "2500", "--pue", "0.9"], "pue = 0.9"),
        (["--power-w", "5600", "--tokens-per-s", "2500", "--price-per-kwh", "-0.1"], "negative price"),
        (["--power-w", "5600", "--tokens-per-s", "2500", "--query-tokens", "0"], "query_tokens = 0"),
    ],
)
def test_calc_bad_input_is_one_line_exit_1(args: list[str], needle: str) -> None:
    r = runner.invoke(app, ["calc", *args, "--json"])
    assert r.exit_code == 1
    assert r.stdout == ""
    assert needle in assert_one_error_line(r.stderr)


def test_calc_negative_price_allowed_with_flag() -> None:
    r = runner.invoke(app, ["calc", *SEED[:4], "--price-per-kwh", "-0.1", "--allow-negative-price", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["cost_per_query"] < 0


@pytest.mark.parametrize(
    "args",
    [
        ["calc", "--power-w", "abc", "--tokens-per-s", "2500"],
        ["calc", "--tokens-per-s", "2500"],
        ["calc", "--power-w", "1", "--tokens-per-s", "1", "--no-such-flag"],
        ["nonsense"],
        ["energy"],
        ["energy", "x.csv", "--rule", "simpson"],
        ["energy", "x.csv", "--chunk-bytes", "0"],
    ],
)
def test_usage_errors_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    r = runner.invoke(app, args)
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    # Through cli() (what the console script runs): one line, not typer's boxed panel.
    assert cli(*args) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and "--help')" in err, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("--version") == 0
    assert capsys.readouterr().out.strip() == f"epcore {epcore.__version__}"


def test_cli_function_returns_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("calc", *SEED, "--json") == 0
    assert json.loads(capsys.readouterr().out)["joules_per_token"] == 2.24
    assert cli("calc", "--power-w", "5600", "--tokens-per-s", "0") == 1
    assert_one_error_line(capsys.readouterr().err)
    assert cli("calc") == 2


# --- energy (these need epcore.integrate_file) ----------------------------------

TRACE = "time_s,power_w\n0.0,250\n0.5,250\n1.0,350\n"


def test_energy_json(tmp_path: Path) -> None:
    p = write(tmp_path, TRACE)
    r = runner.invoke(app, ["energy", str(p), "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert ENERGY_KEYS <= set(d)
    assert d["energy_j"] == 275.0
    assert d["duration_s"] == 1.0
    assert d["mean_power_w"] == 275.0
    assert d["samples"] == 3
    assert [c["energy_j"] for c in d["channels"]] == [275.0]
    assert d["quality"]["n_gaps"] == 0


def test_energy_json_has_no_nan_tokens(tmp_path: Path) -> None:
    # Everything is one gap: nothing integrated, so the mean power is undefined: null, not NaN.
    p = write(tmp_path, "time_s,power_w\n0.0,250\n100.0,250\n")
    r = runner.invoke(app, ["energy", str(p), "--max-gap-s", "1", "--json"])
    assert r.exit_code == 0, r.output
    for token in ("NaN", "Infinity"):
        assert token not in r.stdout
    d = json.loads(r.stdout)
    assert d["energy_j"] == 0.0
    assert d["mean_power_w"] is None


def test_energy_rule_and_chunk_size(tmp_path: Path) -> None:
    p = write(tmp_path, TRACE)
    hold = runner.invoke(app, ["energy", str(p), "--rule", "hold", "--json"])
    assert hold.exit_code == 0, hold.output
    assert json.loads(hold.stdout)["energy_j"] == 250.0
    small = runner.invoke(app, ["energy", str(p), "--chunk-bytes", "7", "--json"])
    assert json.loads(small.stdout)["energy_j"] == 275.0


def test_energy_channels(tmp_path: Path) -> None:
    p = write(tmp_path, "timestamp_ns,channel,power_w\n0,gpu0,100\n0,gpu1,200\n1000000000,gpu0,100\n"
                        "1000000000,gpu1,200\n")
    r = runner.invoke(app, ["energy", str(p), "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["energy_j"] == 300.0
    assert sorted(c["energy_j"] for c in d["channels"]) == [100.0, 200.0]


def test_energy_max_gap_is_reported(tmp_path: Path) -> None:
    p = write(tmp_path, "time_s,power_w\n0,100\n1,100\n2,100\n10,100\n11,100\n")
    r = runner.invoke(app, ["energy", str(p), "--max-gap-s", "3", "--json"])
    assert r.exit_code == 0, r.output
    q = json.loads(r.stdout)["quality"]
    assert q["n_gaps"] == 1 and q["gap_s"] == 8.0


def test_energy_table(tmp_path: Path) -> None:
    p = write(tmp_path, TRACE)
    r = runner.invoke(app, ["energy", str(p)], env={"COLUMNS": "160"})
    assert r.exit_code == 0, r.output
    for text in ("275", "channels", "quality", "coverage", "gaps", "repairs", "100.00%"):
        assert text in r.stdout, text


def test_energy_missing_file_exit_1(tmp_path: Path) -> None:
    r = runner.invoke(app, ["energy", str(tmp_path / "missing.csv")])
    assert r.exit_code == 1
    assert "missing.csv" in assert_one_error_line(r.stderr)


def test_energy_directory_exit_1(tmp_path: Path) -> None:
    r = runner.invoke(app, ["energy", str(tmp_path)])
    assert r.exit_code == 1
    assert_one_error_line(r.stderr)


def test_energy_bad_value_names_file_and_line(tmp_path: Path) -> None:
    p = write(tmp_path, "time_s,power_w\n0.0,250\n0.5,1O3.5\n1.0,350\n")
    r = runner.invoke(app, ["energy", str(p), "--json"])
    assert r.exit_code == 1
    assert r.stdout == ""
    line = assert_one_error_line(r.stderr)
    assert "trace.csv:3" in line and "1O3.5" in line


@pytest.mark.parametrize(
    "text",
    [
        "",
        "time_s,power_w\n",
        "time_s,power_w\n0.0,250\n",
        "when,watts\n0,1\n1,2\n",
        "time_s,power_w\n1.0,250\n0.5,250\n",
        "time_s,power_w\n0.0,250\n1.0,-500\n",
    ],
    ids=["empty", "header-only", "one-sample", "unknown-columns", "unsorted", "negative"],
)
def test_energy_bad_files_exit_1(tmp_path: Path, text: str) -> None:
    p = write(tmp_path, text)
    r = runner.invoke(app, ["energy", str(p)])
    assert r.exit_code == 1, r.output
    assert_one_error_line(r.stderr)


def test_energy_strict_refuses_repairs(tmp_path: Path) -> None:
    p = write(tmp_path, "time_s,power_w\n0.0,250\n0.5,nan\n1.0,250\n")
    lenient = runner.invoke(app, ["energy", str(p), "--json"])
    assert lenient.exit_code == 0, lenient.output
    assert json.loads(lenient.stdout)["quality"]["n_nonfinite"] == 1
    strict = runner.invoke(app, ["energy", str(p), "--strict"])
    assert strict.exit_code == 1
    assert_one_error_line(strict.stderr)


def test_energy_warnings_go_to_stderr(tmp_path: Path) -> None:
    # A broken partial last line (a logger killed mid-write) is dropped with a warning.
    p = write(tmp_path, "time_s,power_w\n0.0,250\n0.5,250\n1.0,350\n1.5,")
    r = runner.invoke(app, ["energy", str(p), "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["quality"]["warnings"]
    lines = r.stderr.splitlines()
    assert lines and all(line.startswith("warning: ") for line in lines), r.stderr
    assert len(lines) == len(d["quality"]["warnings"])


def test_progress_bar_only_for_big_files_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from epcore import cli as cli_module

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    p = write(tmp_path, TRACE)
    monkeypatch.setattr(sys, "stderr", Terminal())
    with cli_module._progress_for(p) as progress:
        assert progress is None  # small file: no bar
    monkeypatch.setattr(cli_module, "_PROGRESS_MIN_BYTES", 1)
    with cli_module._progress_for(p) as progress:
        assert progress is not None
        progress(p.stat().st_size)
    assert cli("energy", str(p), "--json") == 0


# --- the installed console script, for real -------------------------------------


@pytest.mark.skipif(not EPCORE_BIN.exists(), reason="console script not installed next to this interpreter")
def test_console_script_subprocess(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "120"}
    ok = subprocess.run([str(EPCORE_BIN), "calc", *SEED, "--json"], capture_output=True, text=True, env=env,
                        timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert CALC_KEYS <= set(json.loads(ok.stdout))
    assert ok.stderr == ""

    bad = subprocess.run([str(EPCORE_BIN), "calc", "--power-w", "5600", "--tokens-per-s", "0"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 1
    assert bad.stdout == ""
    assert bad.stderr == "error: tokens_per_s = 0: must be > 0\n"

    usage = subprocess.run([str(EPCORE_BIN), "calc", "--power-w", "x"], capture_output=True, text=True, env=env,
                           timeout=60)
    assert usage.returncode == 2
    assert usage.stdout == ""
    line = assert_one_error_line(usage.stderr)
    assert "--power-w" in line and line.endswith("(see 'epcore calc --help')")

    missing = subprocess.run([str(EPCORE_BIN), "energy", str(tmp_path / "missing.csv")], capture_output=True,
                             text=True, env=env, timeout=60)
    assert missing.returncode == 1
    assert_one_error_line(missing.stderr)

    version = subprocess.run([str(EPCORE_BIN), "--version"], capture_output=True, text=True, env=env, timeout=60)
    assert version.returncode == 0 and version.stdout.strip() == f"epcore {epcore.__version__}"


GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("folder", ["nvidia_smi", "dmon", "zeus", "prometheus", "prometheus_json", "rapl",
                                    "codecarbon", "csv"])
def test_energy_reads_every_format_and_fails_in_one_line(folder: str) -> None:
    files = sorted(p for p in (GOLDEN / folder).iterdir() if not p.name.endswith(".expected.json"))
    ok = [p for p in files if p.name.startswith("ok_")]
    bad = [p for p in files if p.name.startswith("err_")]
    fmt = {"dmon": "nvidia-smi-dmon"}.get(folder, folder.replace("_", "-"))
    for p in ok[:3]:
        exp = json.loads((GOLDEN / folder / (p.name.split(".")[0] + ".expected.json")).read_text())
        if exp.get("options"):
            continue  # cases that need options are covered by the golden runners
        res = runner.invoke(app, ["energy", str(p), "--format", fmt, "--json"])
        assert res.exit_code == 0, res.output
        assert json.loads(res.stdout)["energy_j"] == pytest.approx(exp["energy_j"], rel=1e-12)
    for p in bad:
        exp = json.loads((GOLDEN / folder / (p.name.split(".")[0] + ".expected.json")).read_text())
        if exp.get("options"):
            continue
        res = runner.invoke(app, ["energy", str(p), "--format", fmt])
        assert res.exit_code == 1
        assert_one_error_line(res.stderr)


def test_runs_and_token_counters_commands(tmp_path: Path, vllm_counters: Path) -> None:
    s = tmp_path / "summary.json"
    s.write_text(json.dumps({"M1_total_energy_J": 900.0, "M2_total_tokens": 300, "M3_total_time_s": 3.0}))
    res = runner.invoke(app, ["runs", str(s), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["joules_per_output_token"] == 3.0
    s.write_text("{")
    res = runner.invoke(app, ["runs", str(s)])
    assert res.exit_code == 1
    assert_one_error_line(res.stderr)
    res = runner.invoke(app, ["tokens", str(vllm_counters), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["totals"]["m"]["prompt_tokens"] == 1000 and out["totals"]["m"]["generation_tokens"] == 500


def test_the_demo_samples_read_as_the_readme_says() -> None:
    data = Path(__file__).parent / "data"
    res = runner.invoke(app, ["energy", str(data / "sample_nvidia_smi.csv.gz"), "--tz", "Europe/Berlin", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert len(out["channels"]) == 2 and out["quality"]["compression"] == "gzip"
    assert out["quality"]["n_nonfinite"] > 0 and not out["quality"]["naive_time"]
    res = runner.invoke(app, ["tokens", str(data / "sample_requests.csv"), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["summary"]["n_requests"] == 12
