"""``epcore attribute``, in-process through ``cli()``.

The fixtures are hand-checkable. ``sample_attribution_power.csv``: one channel,
1 Hz, 100 W at t = 0..4 s and 17..21 s, 300 W at t = 5..16 s (t from
1750000000 = 2025-06-15T15:06:40Z). ``sample_attribution_requests.csv``:

====  =====  ===========  =====  =====  ======
id    start  first token  end    input  output
====  =====  ===========  =====  =====  ======
r1    5      6            10     100    41
r2    8      9            15     90     61
r3    10     11           16     90     51
====  =====  ===========  =====  =====  ======

Every decode runs at 10 tokens/s and every prefill at 90-100 tokens/s, so the
default token weights split the 300 W as: [5,6] r1 300 J (prefill); [6,8] r1
600; [8,9] r1 30, r2 270 (prefill); [9,10] 150 each; [10,11] r2 30, r3 270
(prefill); [11,15] 600 each; [15,16] r3 300. So r1 = 1080 J (prefill 300),
r2 = 1050 (270), r3 = 1170 (270); attributed 3300 J of a 4500 J trace;
prefill 840 J / 280 input tokens = 3 J/token; decode 2460 J / 150 tokens
after the first = 16.4 J/token. Idle (auto) is the median of the ten samples
outside every request: 100 W, so idle energy 2100 J and dynamic 3300 − 1100
= 2200 J.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

import epcore
from epcore.attribution import COLUMNS
from epcore.cli import cli, fmt_number
from epcore.cli_attribute import _seconds_ns, _time_ns
from test_cli import assert_one_error_line

DATA = Path(__file__).parent / "data"
POWER = DATA / "sample_attribution_power.csv"
REQUESTS = DATA / "sample_attribution_requests.csv"
T0 = 1_750_000_000
S = 10**9
THREE_DAYS_S = 3 * 86_400


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli("attribute", *args)
    r = capsys.readouterr()
    return code, r.out, r.err


def base(*args: str) -> list[str]:
    return ["--power", str(POWER), "--requests", str(REQUESTS), *args]


def json_of(d: dict[str, Any]) -> Any:
    return json.loads(json.dumps(d))


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    # Wide enough that rich never wraps a label or a number.
    monkeypatch.setenv("COLUMNS", "200")


def shifted_requests(tmp_path: Path, shift_s: int) -> Path:
    lines = REQUESTS.read_text().splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        rid, *times, i, o = line.split(",")
        out.append(",".join([rid, *(str(int(t) + shift_s) for t in times), i, o]))
    p = tmp_path / "shifted.csv"
    p.write_text("\n".join(out) + "\n")
    return p


# --- the figures ---------------------------------------------------------------------------


def test_json_has_the_hand_computed_figures(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *base("--json"))
    assert code == 0, err
    assert err == ""
    d = json.loads(out)
    assert (d["total_energy_j"], d["attributed_energy_j"], d["unattributed_energy_j"]) == (4500.0, 3300.0, 1200.0)
    assert (d["idle_energy_j"], d["dynamic_energy_j"]) == (2100.0, 2200.0)
    assert (d["prefill_energy_j"], d["decode_energy_j"], d["unsplit_energy_j"]) == (840.0, 2460.0, 0.0)
    assert d["joules_per_input_token"] == 3.0
    assert d["decode_joules_per_token"] == 16.4
    assert d["decode_tokens"] == 150
    assert d["joules_per_output_token"] == pytest.approx(3300 / 153, rel=1e-12)
    assert d["joules_per_token"] == pytest.approx(3300 / 433, rel=1e-12)
    assert d["idle_w"] == {"0": 100.0}
    assert d["idle_source"] == {"0": "idle_segments"}
    assert d["weight"] == "tokens"
    rows = {r["request_id"]: r for r in d["requests"]}
    assert {k: (r["energy_j"], r["prefill_energy_j"], r["decode_energy_j"], r["dynamic_energy_j"])
            for k, r in rows.items()} == {
        "r1": (1080.0, 300.0, 780.0, 720.0),
        "r2": (1050.0, 270.0, 780.0, 700.0),
        "r3": (1170.0, 270.0, 900.0, 780.0),
    }
    assert rows["r1"]["decode_joules_per_token"] == 19.5  # 780 J / (41 − 1)
    assert rows["r1"]["mean_power_w"] == 216.0  # 1080 J / 5 s


def test_json_is_the_python_result_exactly(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *base("--json"))
    assert code == 0
    expected = epcore.attribute(POWER, REQUESTS).to_dict()
    assert json.loads(out) == json_of(expected)
    # Same names as the Python result; requests as objects.
    assert set(json.loads(out)) == set(expected)
    assert all({"request_id", "energy_j"} <= set(r) for r in json.loads(out)["requests"])


def test_json_conserves_energy(capsys: pytest.CaptureFixture[str]) -> None:
    for extra in ([], ["--weight", "equal"], ["--weight", "phase", "--prefill-weight", "3"], ["--idle-w", "off"]):
        code, out, err = run(capsys, *base("--json", *extra))
        assert code == 0, err
        d = json.loads(out)
        total = d["total_energy_j"]
        assert d["attributed_energy_j"] + d["unattributed_energy_j"] == pytest.approx(total, rel=1e-9)
        assert sum(r["energy_j"] for r in d["requests"]) == pytest.approx(d["attributed_energy_j"], rel=1e-9)
        assert d["prefill_energy_j"] + d["decode_energy_j"] == pytest.approx(d["attributed_energy_j"], rel=1e-9)


def test_table_shows_the_figures(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *base())
    assert code == 0, err
    a = epcore.attribute(POWER, REQUESTS)
    assert a.regression is not None
    for text in (
        "4,500", "3,300", "1,200", "2,200", "2,100", "840", "2,460",  # energies (J)
        "1.25", "0.916667",  # Wh
        "16.4", "21.5686", "7.62125", "14.3791",  # J/token: decode, output, total, dynamic
        "N−1", "280", "153", "433", "150",  # divisors
        fmt_number(a.regression.joules_per_input_token), fmt_number(a.regression.intercept_w),
        fmt_number(a.regression.r_squared), "4 × 5 s",  # regression, side by side
        "1,080", "1,152", "1,168.2", "26.3415",  # distribution: p50, p90, p99 J/request, max J/output token
        "median while no request ran",  # idle source
        "2025-06-15T15:06:40Z", "2025-06-15T15:07:01Z",  # span
        "attributed + unattributed − total = 0 J",
    ):
        assert text in out, text
    # The input row: 3 J per prompt token (840 J / 280 tokens).
    assert any(line.split("│")[2].strip() == "3" for line in out.splitlines() if "input (prefill" in line)
    assert "steady state" not in out  # only when asked


def test_csv_prints_the_rows(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, *base("--csv"))
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0]) == COLUMNS
    assert [(r["request_id"], float(r["energy_j"])) for r in rows] == [("r1", 1080.0), ("r2", 1050.0),
                                                                       ("r3", 1170.0)]
    assert rows[0]["start_ns"] == str((T0 + 5) * S)
    assert rows[0]["reason"] == ""
    # The same bytes as --out x.csv.
    p = tmp_path / "per_request.csv"
    assert run(capsys, *base("--out", str(p)))[0] == 0
    assert p.read_text() == out


@pytest.mark.parametrize("ext", ["csv", "json", "jsonl", "parquet"])
def test_out_writes_a_readable_table(capsys: pytest.CaptureFixture[str], tmp_path: Path, ext: str) -> None:
    p = tmp_path / f"per_request.{ext}"
    code, out, err = run(capsys, *base("--out", str(p), "--json"))
    assert code == 0, err
    assert len(json.loads(out)["requests"]) == 3  # --json keeps the requests with --out
    expected = list(epcore.attribute(POWER, REQUESTS).requests.rows())
    if ext == "csv":
        rows: list[dict[str, Any]] = list(csv.DictReader(p.open()))
        got = [(r["request_id"], float(r["energy_j"]), int(r["end_ns"])) for r in rows]
    elif ext == "json":
        rows = json.loads(p.read_text())
        assert rows == json_of({"r": expected})["r"]
        got = [(r["request_id"], r["energy_j"], r["end_ns"]) for r in rows]
    elif ext == "jsonl":
        rows = [json.loads(line) for line in p.read_text().splitlines()]
        assert rows == json_of({"r": expected})["r"]
        got = [(r["request_id"], r["energy_j"], r["end_ns"]) for r in rows]
    else:
        pq = pytest.importorskip("pyarrow.parquet")
        table = pq.read_table(p)
        assert tuple(table.column_names) == COLUMNS
        rows = table.to_pylist()
        got = [(r["request_id"], r["energy_j"], table.column("end_ns").cast("int64")[i].as_py())
               for i, r in enumerate(rows)]
        assert rows[0]["model"] is None and rows[0]["reason"] is None
    assert got == [(r["request_id"], r["energy_j"], r["end_ns"]) for r in expected]


def test_unknown_out_extension_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    p = tmp_path / "per_request.xlsx"
    code, out, err = run(capsys, *base("--out", str(p)))
    assert code == 2
    assert out == ""
    assert "--out" in err and ".xlsx" in err
    assert not p.exists()


def test_json_and_csv_together_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *base("--json", "--csv"))
    assert (code, out) == (2, "")
    assert err == "error: --json and --csv both print to stdout: pick one (see 'epcore attribute --help')\n"


# --- clocks, offsets, spans ----------------------------------------------------------------


def test_clock_mismatch_is_one_line_naming_offset(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    shifted = shifted_requests(tmp_path, THREE_DAYS_S)
    code, out, err = run(capsys, "--power", str(POWER), "--requests", str(shifted))
    assert code == 1
    assert out == ""
    line = assert_one_error_line(err)
    assert "no request overlaps" in line
    assert "--offset-s" in line
    # The suggested offset, in seconds: it aligns the first request (t = 5 s) with the trace's start.
    assert f"--offset-s -{THREE_DAYS_S + 5}" in line


def test_offset_fixes_a_shifted_log(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    shifted = shifted_requests(tmp_path, THREE_DAYS_S)
    code, out, err = run(capsys, "--power", str(POWER), "--requests", str(shifted), "--offset-s",
                         f"-{THREE_DAYS_S}", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["offset_ns"] == -THREE_DAYS_S * S
    reference = json_of(epcore.attribute(POWER, REQUESTS).to_dict())
    reference["offset_ns"] = d["offset_ns"]
    reference["quality"]["requests"]["source"] = d["quality"]["requests"]["source"]
    assert d == reference  # request times are reported on the trace's clock


def test_offset_is_exact_to_the_nanosecond(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *base("--offset-s", "0.000000001", "--json"))
    assert code == 0, err
    d = json.loads(out)
    assert d["offset_ns"] == 1
    assert d["requests"][0]["start_ns"] == (T0 + 5) * S + 1
    assert run(capsys, *base("--offset-s", "0.0000000001"))[0] == 2  # finer than 1 ns: refused, not rounded
    assert run(capsys, *base("--offset-s", "1e3"))[0] == 2


def test_times_from_the_command_line_are_exact() -> None:
    assert _time_ns("1750000000.123456789", "--span") == 1_750_000_000_123_456_789  # a float would round
    assert _time_ns("2025-06-15T15:06:40.123456789Z", "--span") == 1_750_000_000_123_456_789
    assert _time_ns("2025-06-15 17:06:40+02:00", "--span") == T0 * S
    assert _time_ns("2025-06-15T10:06:40.5-05:00", "--span") == T0 * S + S // 2
    assert _seconds_ns("-259200", "--offset-s") == -259_200 * S
    assert _seconds_ns("+.5", "--offset-s") == S // 2


def test_span_accepts_epoch_seconds_and_rfc3339(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *base("--span", "1750000005", "2025-06-15T15:06:50Z", "--json"))
    assert code == 0, err
    d = json.loads(out)
    assert d["span_ns"] == [(T0 + 5) * S, (T0 + 10) * S]
    assert d == json_of(epcore.attribute(POWER, REQUESTS, span=((T0 + 5) * S, (T0 + 10) * S)).to_dict())
    assert d["total_energy_j"] == 1500.0


@pytest.mark.parametrize("span", [("2025-06-15T15:06:40", "1750000010"), ("yesterday", "1750000010"),
                                  ("1750000010", "1750000005")])
def test_bad_span_is_a_usage_error(capsys: pytest.CaptureFixture[str], span: tuple[str, str]) -> None:
    code, _, err = run(capsys, *base("--span", *span))
    assert code == 2
    assert "--span" in err


def test_steady_state_prints_the_window(capsys: pytest.CaptureFixture[str]) -> None:
    # B = 2 requests in flight at most; first tokens 6, 9, 11; ends 10, 15, 16: window [F[1], E[0]] = [9, 10].
    code, out, err = run(capsys, *base("--steady-state"))
    assert code == 0, err
    assert "steady state" in out
    for text in ("2025-06-15T15:06:49Z", "2025-06-15T15:06:50Z", "the most requests in flight at once"):
        assert text in out, text
    code, out, err = run(capsys, *base("--steady-state", "--batch-size", "1", "--json"))
    assert code == 0, err
    w = json.loads(out)["steady_state"]
    assert (w["start_ns"], w["end_ns"], w["batch_size"]) == ((T0 + 6) * S, (T0 + 15) * S, 1)
    assert w["batch_size_observed"] is False


def test_steady_state_with_too_few_requests_is_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *base("--steady-state", "--batch-size", "3"))
    assert code == 1
    assert out == ""
    assert_one_error_line(err)


def test_naive_trace_needs_tz(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--power", str(DATA / "sample_nvidia_smi.csv.gz"), "--requests", str(DATA / "sample_requests.csv")]
    code, _, err = run(capsys, *args)
    assert code == 1
    assert "--tz" in assert_one_error_line(err)
    code, out, err = run(capsys, *args, "--tz", "Europe/Berlin", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["n_attributed"] == 12
    assert d["attributed_energy_j"] + d["unattributed_energy_j"] == pytest.approx(d["total_energy_j"], rel=1e-9)


# --- bad request rows, coverage ------------------------------------------------------------


def test_end_before_start_names_the_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_text("request_id,start_time,end_time,input_tokens,output_tokens\n"
                 "a,1750000005,1750000006,1,1\n"
                 "b,1750000008,1750000007,1,1\n")
    code, out, err = run(capsys, "--power", str(POWER), "--requests", str(p))
    assert code == 1
    assert out == ""
    line = assert_one_error_line(err)
    assert "bad.csv:3" in line
    assert "'b'" in line and "ends before it starts" in line


def test_requests_outside_and_partly_outside(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    p = tmp_path / "more.csv"
    p.write_text(REQUESTS.read_text() + "r4,1750000019,1750000020,1750000023,10,5\n"
                                        "r5,1750000030,1750000031,1750000032,10,5\n")
    code, out, err = run(capsys, "--power", str(POWER), "--requests", str(p), "--json")
    assert code == 0, err
    d = json.loads(out)
    rows = {r["request_id"]: r for r in d["requests"]}
    assert (d["n_requests"], d["n_attributed"], d["n_outside"], d["n_partial"]) == (5, 4, 1, 1)
    assert rows["r4"]["coverage"] == 0.5
    assert rows["r4"]["reason"] == "partly outside the trace (coverage 0.50)"
    assert rows["r5"]["energy_j"] is None and rows["r5"]["joules_per_output_token"] is None
    assert rows["r5"]["reason"] == "outside the trace"
    code, out, err = run(capsys, "--power", str(POWER), "--requests", str(p))
    assert code == 0, err
    for text in ("requests not fully measured", "outside the trace", "partly outside the trace (coverage 0.50)"):
        assert text in out, text


# --- channels and idle -----------------------------------------------------------------------


def two_channels(tmp_path: Path) -> tuple[Path, Path]:
    """gpu0 at 200 W and gpu1 at 100 W for 10 s; request a (model A) on [2, 6] s, b (model B) on [4, 8] s."""
    power = tmp_path / "two.csv"
    power.write_text("time_s,channel,power_w\n" + "".join(
        f"{T0 + t},gpu0,200\n{T0 + t},gpu1,100\n" for t in range(11)))
    reqs = tmp_path / "two_requests.csv"
    reqs.write_text("request_id,model,start_time,first_token_time,end_time,input_tokens,output_tokens\n"
                    f"a,A,{T0 + 2},{T0 + 3},{T0 + 6},10,11\n"
                    f"b,B,{T0 + 4},{T0 + 5},{T0 + 8},10,11\n")
    return power, reqs


def test_channel_map(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    power, reqs = two_channels(tmp_path)
    common = ["--power", str(power), "--requests", str(reqs), "--weight", "equal", "--idle-w", "off", "--json"]
    code, out, err = run(capsys, *common)
    assert code == 0, err
    shared = {r["request_id"]: r["energy_j"] for r in json.loads(out)["requests"]}
    assert shared == {"a": 900.0, "b": 900.0}  # both on both GPUs (300 W): [2,4] a, [4,6] halves, [6,8] b
    code, out, err = run(capsys, *common, "--channel-map", "A=gpu0", "--channel-map", "B=gpu1")
    assert code == 0, err
    d = json.loads(out)
    assert {r["request_id"]: r["energy_j"] for r in d["requests"]} == {"a": 800.0, "b": 400.0}
    assert d["total_energy_j"] == 3000.0
    assert d["attributed_energy_j"] + d["unattributed_energy_j"] == pytest.approx(3000.0, rel=1e-9)
    assert d == json_of(epcore.attribute(power, reqs, weight="equal", idle_w="off",
                                         channels={"A": ["gpu0"], "B": ["gpu1"]}).to_dict())
    # Model A on both channels: a gets gpu0's 800 J plus gpu1's [2,4] 200 J and half of [4,6], 100 J.
    code, out, _ = run(capsys, *common, "--channel-map", "A=gpu0,gpu1", "--channel-map", "B=gpu1")
    assert code == 0
    assert {r["request_id"]: r["energy_j"] for r in json.loads(out)["requests"]} == {"a": 1100.0, "b": 300.0}


def test_channel_map_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    power, reqs = two_channels(tmp_path)
    common = ["--power", str(power), "--requests", str(reqs)]
    code, _, err = run(capsys, *common, "--channel-map", "A=gpu7", "--channel-map", "B=gpu1")
    assert code == 1
    assert "gpu7" in assert_one_error_line(err)
    code, _, err = run(capsys, *common, "--channel-map", "A=gpu0")  # model B unmapped
    assert code == 1
    assert "'B'" in assert_one_error_line(err)
    assert run(capsys, *common, "--channel-map", "gpu0")[0] == 2
    assert run(capsys, *common, "--channel-map", "A=gpu0", "--channel-map", "A=gpu1")[0] == 2


def test_idle_w_options(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, *base("--idle-w", "off", "--json"))
    d = json.loads(out)
    assert code == 0 and d["idle_energy_j"] == 0.0 and d["dynamic_energy_j"] == d["attributed_energy_j"]
    code, out, _ = run(capsys, *base("--idle-w", "50", "--json"))
    d = json.loads(out)
    assert code == 0 and d["idle_w"] == {"0": 50.0} and d["idle_energy_j"] == 1050.0
    assert d["dynamic_energy_j"] == 3300.0 - 50 * 11
    power, reqs = two_channels(tmp_path)
    code, out, err = run(capsys, "--power", str(power), "--requests", str(reqs), "--idle-w", "gpu0=150,gpu1=80",
                         "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["idle_w"] == {"gpu0": 150.0, "gpu1": 80.0}
    assert d["idle_source"] == {"gpu0": "given", "gpu1": "given"}
    for bad in ("lots", "nan", "gpu0=x"):
        assert run(capsys, *base("--idle-w", bad))[0] == 2, bad


def test_no_regression_and_bin_width(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *base("--no-regression", "--json"))
    assert code == 0
    assert json.loads(out)["regression"] is None
    code, out, _ = run(capsys, *base("--no-regression"))
    assert code == 0 and "not estimated" in out
    code, out, _ = run(capsys, *base("--regression-bin-s", "2", "--json"))
    assert code == 0
    reg = json.loads(out)["regression"]
    assert reg is not None and reg["bin_s"] == 2.0 and reg["n_bins"] == 10


def test_missing_file_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "--power", str(tmp_path / "missing.csv"), "--requests", str(REQUESTS))
    assert code == 1
    assert "missing.csv" in assert_one_error_line(err)


def test_help_lists_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("--help") == 0
    assert "attribute" in capsys.readouterr().out


def test_progress_bars_on_big_reads(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from epcore import cli as cli_module
    from epcore import request_logs, trace

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    seen: list[str] = []

    def spy(name: str, f: Any) -> Any:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if kwargs.get("progress") is not None:
                seen.append(name)
            return f(*args, **kwargs)
        return wrapped

    monkeypatch.setattr(trace, "read_power", spy("power", trace.read_power))
    monkeypatch.setattr(request_logs, "read_requests", spy("requests", request_logs.read_requests))
    monkeypatch.setattr(cli_module, "_PROGRESS_MIN_BYTES", 1)
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert cli("attribute", *base("--json")) == 0
    assert json.loads(capsys.readouterr().out)["attributed_energy_j"] == 3300.0
    assert seen == ["power", "requests"]
