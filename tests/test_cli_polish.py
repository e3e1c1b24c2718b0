"""The command line as a whole: ``--json`` and ``--csv`` on every command, one-line errors with
their exit codes (0, 1, 2, 130), ``epcore --help`` as a guide, ``--quiet`` and progress displays.

Everything runs in-process through :func:`epcore.cli.cli`, the function the console script calls.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

import epcore
from epcore import cli as cli_module
from epcore.cli import app
from cli_helpers import one_line, read_csv, run

DATA = Path(__file__).parent / "data"
SEED = ["--power-w", "5600", "--tokens-per-s", "2500", "--price-per-kwh", "0.08"]
POWER = str(DATA / "sample_attribution_power.csv")
REQUESTS = str(DATA / "sample_attribution_requests.csv")


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tables and help are checked by their text: a wide console keeps every line whole.
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def scenarios(tmp_path: Path) -> Path:
    p = tmp_path / "scenarios.csv"
    p.write_text("power_w,tokens_per_s\n5600,2500\n700,100\n")
    return p


@pytest.fixture
def runs_file(tmp_path: Path) -> Path:
    p = tmp_path / "summary.json"
    p.write_text(json.dumps({"M1_total_energy_J": 900.0, "M2_total_tokens": 300, "M3_total_time_s": 3.0}))
    return p


# Every subcommand with arguments that succeed, and the first columns of its CSV header.
COMMANDS: dict[str, tuple[list[str], list[str]]] = {
    "calc": (["calc", *SEED], ["figure", "unit", "it", "facility"]),
    "energy": (["energy", str(DATA / "sample_trace.csv")], ["channel", "energy_j", "energy_wh", "duration_s"]),
    "tokens": (["tokens", str(DATA / "sample_requests.csv")], ["request_id", "start_ns", "first_token_ns"]),
    "runs": (["runs", "{runs}"], ["label", "source", "line", "model"]),
    "attribute": (["attribute", "--power", POWER, "--requests", REQUESTS], ["request_id"]),
    "carbon": (["carbon", "--power", str(DATA / "sample_trace.csv"), "--grid", "DE"], ["result", "figure", "value"]),
    "batch": (["batch", "{scenarios}", "--out", "{scenarios}.out.parquet"],
              ["power_w", "tokens_per_s", "joules_per_token"]),
    "sensitivity": (["sensitivity", *SEED], ["scenario", "lever", "change", "amount", "figure", "base"]),
    "fleet": (["fleet", "--nodes", "1000", "--power-w", "5600", "--utilization", "0.6"], ["figure", "unit", "it"]),
    "floor": (["floor", "--api-price-per-mtok", "10", "--joules-per-token", "2.24"], ["figure", "unit", "input"]),
    "crossover": (["crossover", "--training-mwh", "1000", "--queries-per-day", "1e6", "--wh-per-query", "0.3"],
                  ["figure", "value", "unit"]),
}


@pytest.fixture
def command_args(scenarios: Path, runs_file: Path) -> Any:
    def args(name: str) -> list[str]:
        return [a.format(scenarios=scenarios, runs=runs_file) for a in COMMANDS[name][0]]

    return args


def test_every_command_is_covered() -> None:
    names = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    assert set(COMMANDS) <= names
    # plot, report and console come from other modules, record (a live recording) has its own
    # tests (test_cli_record.py, --json and --csv included); every other command is covered here.
    assert names - set(COMMANDS) <= {"plot", "report", "console", "record"}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_json_is_one_object(capsys: pytest.CaptureFixture[str], command_args: Any, name: str) -> None:
    code, out, err = run(capsys, *command_args(name), "--json")
    assert code == 0, err
    assert isinstance(json.loads(out), dict)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_csv_is_a_table_with_a_header(capsys: pytest.CaptureFixture[str], command_args: Any, name: str) -> None:
    code, out, err = run(capsys, *command_args(name), "--csv")
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    header = COMMANDS[name][1]
    assert rows[0][: len(header)] == header
    assert len(rows) >= 2 and all(len(r) == len(rows[0]) for r in rows), out
    assert "—" not in out and "nan" not in out.lower()  # machine values: no display dashes, no NaN


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_json_and_csv_together_is_one_usage_line(capsys: pytest.CaptureFixture[str], command_args: Any,
                                                 name: str) -> None:
    code, out, err = run(capsys, *command_args(name), "--json", "--csv")
    assert code == 2 and out == ""
    assert one_line(err) == f"error: --json and --csv both print to stdout: pick one (see 'epcore {name} --help')"


# --- CSV values are the JSON's, at full precision -------------------------------------------


def test_calc_csv_values(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "calc", *SEED, "--pue", "1.3", "--grid", "DE", "--csv")
    rows = {r["figure"]: r for r in read_csv(out)}
    assert rows["joules_per_token"]["it"] == "2.24" and rows["cost_per_query"]["unit"] == "USD"
    assert float(rows["cost_per_query"]["it"]) == 2.488888888888889e-05  # not "$0.0000249"
    _, js, _ = run(capsys, "calc", *SEED, "--pue", "1.3", "--grid", "DE", "--json")
    d = json.loads(js)
    for name, row in rows.items():  # the JSON's floats, to the last bit (IT figures sit at the top level)
        assert float(row["it"]) == d[name] and float(row["facility"]) == d["facility"][name], name
    _, out, _ = run(capsys, "calc", *SEED, "--csv")
    assert {r["facility"] for r in read_csv(out)} == {""}  # PUE 1: no facility level
    assert {r["it"] for r in read_csv(out) if r["figure"].startswith("g_co2")} == {""}  # no grid: unknown


def test_energy_csv_matches_json(capsys: pytest.CaptureFixture[str]) -> None:
    f = str(DATA / "sample_trace.csv")
    _, out, _ = run(capsys, "energy", f, "--csv")
    _, js, _ = run(capsys, "energy", f, "--json")
    d = json.loads(js)
    rows = read_csv(out)
    assert [r["channel"] for r in rows] == [c["name"] for c in d["channels"]]
    assert sum(float(r["energy_j"]) for r in rows) == pytest.approx(d["energy_j"], rel=1e-12)
    assert rows[0]["first_time"].endswith("Z") and int(rows[0]["first_t_ns"]) == d["channels"][0]["first_t_ns"]


def test_tokens_csv_is_the_out_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = str(DATA / "sample_requests.csv")
    out_file = tmp_path / "r.csv"
    code, out, err = run(capsys, "tokens", f, "--out", str(out_file), "--csv")
    assert code == 0, err
    assert out == out_file.read_text()
    assert len(read_csv(out)) == 12
    assert len(epcore.read_requests(out_file)) == 12
    code, _, err = run(capsys, "tokens", f, "--out", str(tmp_path / "r.xlsx"))
    assert code == 2 and "--out" in one_line(err)


def test_tokens_csv_of_token_counters(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                      vllm_counters: Path) -> None:
    code, out, err = run(capsys, "tokens", str(vllm_counters), "--csv")
    assert code == 0, err
    (row,) = read_csv(out)
    assert (row["model"], row["prompt_tokens"], row["generation_tokens"]) == ("m", "1000", "500")
    code, _, err = run(capsys, "tokens", str(vllm_counters), "--out", str(tmp_path / "r.csv"))
    assert code == 2 and "drop --out" in one_line(err)


def test_runs_csv(capsys: pytest.CaptureFixture[str], runs_file: Path) -> None:
    _, out, _ = run(capsys, "runs", str(runs_file), "--csv")
    (row,) = read_csv(out)
    assert float(row["joules_per_output_token"]) == 3.0 and row["steady_state"] == "false"


def test_carbon_csv_matches_json(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["carbon", "--power", str(DATA / "sample_trace.csv"), "--grid-g-co2-per-kwh", "400",
            "--price-per-kwh", "0.1"]
    _, out, _ = run(capsys, *args, "--csv")
    _, js, _ = run(capsys, *args, "--json")
    d = json.loads(js)
    got = {(r["result"], r["figure"]): r["value"] for r in read_csv(out)}
    assert float(got["carbon", "emissions_g"]) == d["carbon"]["emissions_g"]
    assert float(got["cost", "cost"]) == d["cost"]["cost"]
    # The older name of the constant-intensity flag still works.
    _, old, _ = run(capsys, "carbon", "--power", str(DATA / "sample_trace.csv"), "--g-co2-per-kwh", "400", "--json")
    assert json.loads(old)["carbon"]["emissions_g"] == d["carbon"]["emissions_g"]


def test_batch_csv_is_the_out_file(capsys: pytest.CaptureFixture[str], scenarios: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "r.csv"
    code, out, err = run(capsys, "batch", str(scenarios), "--out", str(out_file), "--csv")
    assert code == 0, err
    assert out == out_file.read_text()
    rows = read_csv(out)
    assert rows[0]["joules_per_token"] == "2.24" and rows[1]["joules_per_token"] == "7"
    code, _, err = run(capsys, "batch", str(scenarios))
    assert code == 2 and "--out" in one_line(err)


def test_sensitivity_csv_matches_json(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "sensitivity", *SEED, "--csv")
    rows = read_csv(out)
    first = next(r for r in rows if r["figure"] == "joules_per_token")
    assert (first["lever"], first["change"], first["amount"]) == ("throughput_per_watt", "scale", "2.0")
    assert float(first["base"]) == 2.24 and float(first["relative_change"]) == -0.5
    _, js, _ = run(capsys, "sensitivity", *SEED, "--json")
    assert len(rows) == sum(len(r["relative_change"]) for r in json.loads(js)["rows"])


def test_fleet_csv_point_and_range(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["fleet", "--nodes", "1000", "--power-w", "5600", "--tokens-per-s", "2500"]
    _, out, _ = run(capsys, *base, "--utilization", "0.5", "--csv")
    rows = {r["figure"]: r for r in read_csv(out)}
    assert float(rows["power_mw"]["it"]) == 2.8 and rows["t_co2"]["it"] == ""
    _, out, _ = run(capsys, *base, "--utilization", "0.5..0.7", "--csv")
    rows = {r["figure"]: r for r in read_csv(out)}
    assert float(rows["power_mw"]["it_min"]) == 2.8
    assert float(rows["power_mw"]["it_max"]) == pytest.approx(3.92, rel=1e-12)


def test_floor_and_crossover_csv(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "floor", "--api-price-per-mtok", "10", "--joules-per-token", "2.24", "--csv")
    rows = {r["figure"]: r for r in read_csv(out)}
    assert float(rows["energy_cost_per_mtok"]["blended"]) == pytest.approx(0.049777777777777775, rel=1e-15)
    _, out, _ = run(capsys, *COMMANDS["crossover"][0], "--csv")
    rows = {r["figure"]: r for r in read_csv(out)}
    assert float(rows["inference_mwh_per_day"]["value"]) == pytest.approx(0.3, rel=1e-12)


# --- consistent flags ------------------------------------------------------------------------


def test_grid_region_flag_everywhere(capsys: pytest.CaptureFixture[str], scenarios: Path) -> None:
    de = epcore.grid_intensity("DE").g_co2_per_kwh
    g = ["--grid-g-co2-per-kwh", str(de)]
    for cmd in (["sensitivity", *SEED], ["calc", *SEED],
                ["fleet", "--nodes", "10", "--power-w", "5600", "--utilization", "0.5"]):
        _, by_code, _ = run(capsys, *cmd, "--grid", "DE", "--json")
        _, by_number, _ = run(capsys, *cmd, *g, "--json")
        a, b = json.loads(by_code), json.loads(by_number)
        a.pop("grid", None), b.pop("grid", None)
        assert a == b, cmd
        code, _, err = run(capsys, *cmd, "--grid", "DE", *g)
        assert code == 2 and "not both" in one_line(err)
        code, _, err = run(capsys, *cmd, "--grid", "XX-NOWHERE")
        assert code == 1 and one_line(err).startswith("error: ")
    _, out, _ = run(capsys, "batch", str(scenarios), "--csv", "--grid", "DE")
    assert float(read_csv(out)[0]["g_co2_per_query"]) > 0


# --- errors: one line, the right exit code -----------------------------------------------------


@pytest.mark.parametrize(("args", "needle"), [
    (["calc", "--power-w", "5600"], "Missing option '--tokens-per-s'"),
    (["calc", "--power-w", "abc", "--tokens-per-s", "2500"], "--power-w"),
    (["calc", *SEED, "--no-such-flag"], "--no-such-flag"),
    (["energy"], "Missing argument"),
    (["energy", "x.csv", "--rule", "simpson"], "--rule"),
    (["attribute", "--power", POWER, "--requests", REQUESTS, "--out", "x.xlsx"], ".xlsx"),
    (["sensitivity", *SEED, "--scale", "nonsense=2"], "nonsense"),
    (["calc", *SEED, "--csv", "--sensitivity"], "epcore sensitivity --csv"),
])
def test_usage_error_is_one_line_exit_2(capsys: pytest.CaptureFixture[str], args: list[str], needle: str) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    line = one_line(err)
    assert line.startswith("error: ") and needle in line
    assert line.endswith(f"(see 'epcore {args[0]} --help')")


def test_unknown_command_points_at_the_guide(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "nonsense")
    assert code == 2 and one_line(err) == "error: No such command 'nonsense'. (see 'epcore --help')"


def test_bad_input_is_one_line_exit_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "calc", "--power-w", "5600", "--tokens-per-s", "0", "--csv")
    assert (code, out) == (1, "") and one_line(err) == "error: tokens_per_s = 0: must be > 0"
    code, _, err = run(capsys, "carbon", "--power", str(tmp_path / "missing.csv"), "--grid", "DE", "--csv")
    assert code == 1 and "missing.csv" in one_line(err)


def test_ctrl_c_is_interrupted_exit_130(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(**_: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_module, "steady_state", interrupt)
    code, out, err = run(capsys, "calc", *SEED)
    assert (code, out, err) == (130, "", "interrupted\n")


def test_no_arguments_shows_the_guide(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys)
    assert code == 2
    assert "Steady state" in out + err and "Traceback" not in out + err


# --- the guide ---------------------------------------------------------------------------------


def test_help_is_a_guide(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for text in ("Steady state", "Measured", "Examples", "Exit codes", "130 interrupted",
                 "epcore calc --power-w 5600 --tokens-per-s 2500", "--json", "--csv"):
        assert text in out, text
    assert out.index("Steady state") < out.index("Measured") < out.index("Examples")


def test_commands_sit_in_their_panels() -> None:
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    panels = {name: getattr(cmd, "rich_help_panel", None) for name, cmd in commands.items()}
    for name in ("calc", "sensitivity", "fleet", "floor", "crossover", "batch"):
        assert panels[name] == "Steady state", name
    for name in ("energy", "tokens", "runs", "attribute", "carbon", "record"):
        assert panels[name] == "Measured", name
    for name in {"plot", "report", "console"} & set(panels):
        assert panels[name] == "Present", name


def test_every_command_documents_json_and_csv(capsys: pytest.CaptureFixture[str]) -> None:
    for name in COMMANDS:
        code, out, _ = run(capsys, name, "--help")
        assert code == 0 and "--json" in out and "--csv" in out, name


# --- quiet and progress ------------------------------------------------------------------------


def test_quiet_keeps_stderr_for_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    p = tmp_path / "trace.csv"
    p.write_text("time_s,power_w\n0.0,250\n0.5,250\n1.0,350\n1.5,")  # a cut last line: a warning
    code, _, err = run(capsys, "energy", str(p), "--json")
    assert code == 0 and err.startswith("warning: ")
    code, out, err = run(capsys, "--quiet", "energy", str(p), "--json")
    assert code == 0 and err == "" and json.loads(out)["quality"]["warnings"]
    code, _, err = run(capsys, "-q", "energy", str(tmp_path / "missing.csv"))
    assert code == 1 and one_line(err).startswith("error: ")
    code, _, err = run(capsys, "energy", str(p), "--json")  # not sticky between runs
    assert err.startswith("warning: ")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_every_read_gives_the_same_results(capsys: pytest.CaptureFixture[str], scenarios: Path,
                                                       runs_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = {}
    for args in (["batch", str(scenarios), "--csv"], ["runs", str(runs_file), "--json"],
                 ["attribute", "--power", POWER, "--requests", REQUESTS, "--json"],
                 ["carbon", "--power", POWER, "--grid", "DE", "--json"]):
        plain[args[0]] = run(capsys, *args)[1]
        # A terminal on stderr and every file "big": the bars run (byte counts through the readers).
        monkeypatch.setattr(sys, "stderr", _Terminal())
        monkeypatch.setattr(cli_module, "_PROGRESS_MIN_BYTES", 1)
        with_bars = run(capsys, *args)[1]
        monkeypatch.undo()
        monkeypatch.setenv("COLUMNS", "200")
        assert with_bars == plain[args[0]], args[0]


def test_batch_counts_bytes_of_a_compressed_read(scenarios: Path, tmp_path: Path) -> None:
    import gzip

    gz = tmp_path / "scenarios.csv.gz"
    gz.write_bytes(gzip.compress(scenarios.read_bytes()))
    from epcore.cli_batch import _read

    seen: list[int] = []
    t = _read(gz, seen.append)
    assert t.num_rows == 2 and t.column_names == ["power_w", "tokens_per_s"]
    assert seen and seen[-1] == gz.stat().st_size
    assert _read(gz).equals(t)


def test_late_progress_stays_blank_for_a_second() -> None:
    bar = cli_module._late_progress()
    bar.start()
    try:
        bar.add_task("reading x", total=None)
        assert list(bar.get_renderables()) == []
        bar._shown_after -= 2.0
        assert list(bar.get_renderables())
    finally:
        bar.stop()
