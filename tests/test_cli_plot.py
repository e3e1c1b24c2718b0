"""``epcore plot`` and ``epcore report``, run in-process."""

from __future__ import annotations

import json
import math
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from epcore.cli import cli

pytest.importorskip("matplotlib", reason="epcore[plot] not installed")

DATA = Path(__file__).parent / "data"
POWER = str(DATA / "sample_attribution_power.csv")
REQUESTS = str(DATA / "sample_attribution_requests.csv")
PNG = b"\x89PNG\r\n\x1a\n"


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.mark.parametrize("kind", ["power", "jpt", "histogram", "phases"])
def test_plot_every_kind_png_and_svg(kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for ext in ("png", "svg"):
        out = tmp_path / f"{kind}.{ext}"
        assert cli("plot", "--power", POWER, "--requests", REQUESTS, "--kind", kind, "--out", str(out)) == 0
        assert capsys.readouterr().out.strip() == f"wrote {out}"
        if ext == "png":
            assert out.read_bytes()[:8] == PNG
        else:
            ET.parse(out)


def test_plot_sensitivity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "levers.svg"
    assert cli("plot", "--kind", "sensitivity", "--power-w", "5600", "--tokens-per-s", "2500", "--grid", "DE",
               "--out", str(out), "--json") == 0
    d = json.loads(capsys.readouterr().out)
    assert d["kind"] == "sensitivity" and d["change_pct"][0] == [-50.0, -50.0, -50.0]
    ET.parse(out)
    assert cli("plot", "--kind", "sensitivity", "--power-w", "5600", "--out", str(out)) == 2
    assert "--tokens-per-s" in _one_error_line(capsys.readouterr().err)


def test_plot_json_is_the_plot_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("plot", "--power", POWER, "--requests", REQUESTS, "--json") == 0
    d = json.loads(capsys.readouterr().out)
    assert d["kind"] == "power" and d["windows"] == [[5.0, 16.0]]
    assert d["channels"][0]["y"][5] == 300.0 and d["activity"]["y"] == [0.0, 1.0, 2.0, 2.0, 1.0, 0.0]
    assert cli("plot", "--power", POWER, "--requests", REQUESTS, "--kind", "phases", "--json") == 0
    d = json.loads(capsys.readouterr().out)
    assert math.isclose(sum(d["energy_j"]), d["total_energy_j"], rel_tol=1e-9)
    assert cli("plot", "--power", POWER, "--requests", REQUESTS, "--kind", "jpt", "--bin-s", "2", "--json") == 0
    d = json.loads(capsys.readouterr().out)
    assert d["bin_s"] == 2.0 and d["joules_per_token"][0] is None
    assert cli("plot", "--power", POWER, "--requests", REQUESTS, "--kind", "histogram", "--column",
               "joules_per_output_token", "--bins", "3", "--json") == 0
    d = json.loads(capsys.readouterr().out)
    assert d["unit"] == "J/token" and sum(d["counts"]) == 3
    assert list(tmp_path.iterdir()) == []  # --json alone writes nothing


def test_plot_offset_moves_the_windows(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("plot", "--power", POWER, "--requests", REQUESTS, "--offset-s", "-2.5", "--json") == 0
    assert json.loads(capsys.readouterr().out)["windows"] == [[2.5, 13.5]]


@pytest.mark.parametrize(("args", "needle"), [
    (["--power", POWER, "--out", "x.pdf"], ".pdf"),
    (["--power", POWER, "--kind", "jpt", "--out", "x.png"], "--requests"),
    (["--power", POWER], "--out"),
    (["--kind", "power", "--out", "x.png"], "--power"),
    (["--power", POWER, "--requests", REQUESTS, "--kind", "phases", "--idle-w", "lots", "--out", "x.png"], "--idle-w"),
    (["--power", POWER, "--kind", "nope", "--out", "x.png"], "--kind"),
])
def test_plot_usage_errors_exit_2(args: list[str], needle: str, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli("plot", *args) == 2
    assert needle in _one_error_line(capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == []


def test_plot_bad_input_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.png"
    assert cli("plot", "--power", str(DATA / "sample_nvidia_smi.csv.gz"), "--requests", REQUESTS,
               "--out", str(out)) == 1
    assert "--tz" in _one_error_line(capsys.readouterr().err)
    bad = tmp_path / "bad.csv"
    bad.write_text("time_s,power_w\n1,abc\n2,100\n")
    assert cli("plot", "--power", str(bad), "--out", str(out)) == 1
    _one_error_line(capsys.readouterr().err)
    assert cli("plot", "--power", POWER, "--requests", REQUESTS, "--kind", "histogram", "--column", "start_ns",
               "--out", str(out)) == 1
    assert "column" in _one_error_line(capsys.readouterr().err)
    assert not out.exists()


def test_missing_matplotlib_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    assert cli("plot", "--power", POWER, "--out", str(tmp_path / "x.png")) == 1
    assert "epcore[plot]" in _one_error_line(capsys.readouterr().err)
    assert cli("report", "--power", POWER, "--out", str(tmp_path / "r.html")) == 1
    assert "epcore[plot]" in _one_error_line(capsys.readouterr().err)
    # The data needs no matplotlib.
    assert cli("plot", "--power", POWER, "--json") == 0


def test_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    assert cli("report", "--power", POWER, "--requests", REQUESTS, "--out", str(out), "--title", "<b>run 7</b>",
               "--weight", "equal", "--offset-s", "0") == 0
    assert capsys.readouterr().out.strip() == f"wrote {out}"
    text = out.read_text(encoding="utf-8")
    assert text.count("<figure>") == 4 and "&lt;b&gt;run 7&lt;/b&gt;" in text and "<b>run 7</b>" not in text
    assert "weight equal" in text and "<script" not in text
    assert cli("report", "--power", POWER, "--out", str(tmp_path / "plain.html")) == 0
    assert (tmp_path / "plain.html").read_text(encoding="utf-8").count("<figure>") == 1


def test_report_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("report", "--power", POWER, "--out", str(tmp_path / "r.pdf")) == 2
    assert ".pdf" in _one_error_line(capsys.readouterr().err)
    assert cli("report", "--power", str(DATA / "sample_nvidia_smi.csv.gz"), "--requests", REQUESTS,
               "--out", str(tmp_path / "r.html")) == 1
    assert "--tz" in _one_error_line(capsys.readouterr().err)
    assert cli("report", "--power", str(DATA / "sample_nvidia_smi.csv.gz"), "--tz", "UTC",
               "--out", str(tmp_path / "n.html")) == 0
    assert list(p.name for p in tmp_path.iterdir()) == ["n.html"]


def test_help_lists_plot_and_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("--help") == 0
    out = capsys.readouterr().out
    assert "plot" in out and "report" in out and "Present" in out
