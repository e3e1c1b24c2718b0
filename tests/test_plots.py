"""matplotlib figures: golden checks on the data drawn (lines, spans, bars), not on pixels."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import epcore
from epcore import plot_data

from conftest import Sample

pytest.importorskip("matplotlib", reason="epcore[plot] not installed")

from epcore import plots  # noqa: E402

DATA = Path(__file__).parent / "data"
S = 10**9


def _renders(fig: object, tmp_path: Path, name: str) -> None:
    png = plots.save(fig, tmp_path / f"{name}.png")  # type: ignore[arg-type]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = plots.save(fig, tmp_path / f"{name}.svg")  # type: ignore[arg-type]
    text = svg.read_text(encoding="utf-8")
    assert text.startswith("<?xml") and "<svg" in text and "<script" not in text


def test_power(sample: Sample, tmp_path: Path) -> None:
    tr, rq, _ = sample
    p = plot_data.power_plot(tr, rq)
    fig: Any = plots.plot_power(p)
    ax, twin = fig.axes
    (line,) = ax.lines
    np.testing.assert_array_equal(line.get_xydata(), np.column_stack([p.channels[0].x_s, p.channels[0].y]))
    assert line.get_label() == p.channels[0].name
    spans = [(float(r.get_x()), float(r.get_x() + r.get_width())) for r in ax.patches]
    assert spans == list(p.windows) == [(5.0, 16.0)]
    (step,) = twin.lines
    assert p.activity is not None
    np.testing.assert_array_equal(step.get_xydata(), np.column_stack([p.activity.x_s, p.activity.y]))
    assert step.get_drawstyle() == "steps-post"
    _renders(fig, tmp_path, "power")


def test_power_without_requests_many_channels(tmp_path: Path) -> None:
    tr = epcore.read_power(DATA / "sample_trace.csv")
    p = plot_data.power_plot(tr, max_points=100)
    fig: Any = plots.plot_power(p, title="two GPUs")
    assert len(fig.axes) == 1 and not fig.axes[0].patches
    for line, ch in zip(fig.axes[0].lines, p.channels):
        np.testing.assert_array_equal(line.get_xydata()[:, 1], ch.y)
    assert fig.axes[0].get_title() == "two GPUs"
    _renders(fig, tmp_path, "power2")


def test_joules_per_token(sample: Sample, tmp_path: Path) -> None:
    tr, rq, _ = sample
    j = plot_data.joules_per_token_plot(tr, rq, bin_s=2.0)
    fig: Any = plots.plot_joules_per_token(j)
    xy = fig.axes[0].lines[0].get_xydata()
    np.testing.assert_array_equal(xy[:, 0], j.x_s + 1.0)
    np.testing.assert_array_equal(xy[:, 1], j.joules_per_token)
    _renders(fig, tmp_path, "jpt")


def test_histogram(sample: Sample, tmp_path: Path) -> None:
    _, _, a = sample
    h = plot_data.energy_histogram(a, bins=6)
    fig: Any = plots.plot_energy_histogram(h)
    bars = fig.axes[0].patches
    assert [float(b.get_height()) for b in bars] == h.counts.astype(float).tolist()
    np.testing.assert_allclose([b.get_x() for b in bars], h.edges[:-1])
    np.testing.assert_allclose([b.get_width() for b in bars], np.diff(h.edges))
    _renders(fig, tmp_path, "hist")
    empty = plot_data.Histogram("energy_j", "J", np.empty(0), np.empty(0, dtype=np.int64), 0, 3)
    _renders(plots.plot_energy_histogram(empty), tmp_path, "hist_empty")


def test_sensitivity(tmp_path: Path) -> None:
    b = plot_data.sensitivity_bars(epcore.sensitivity(power_w=5600, tokens_per_s=2500))
    fig: Any = plots.plot_sensitivity(b)
    ax = fig.axes[0]
    widths = [float(p.get_width()) for p in ax.patches]
    finite = [float(v) for k in range(b.change_pct.shape[1]) for v in b.change_pct[:, k] if math.isfinite(v)]
    assert widths == finite  # carbon has no grid intensity: no bar, an n/a label
    assert [t.get_text() for t in ax.get_yticklabels()] == list(b.levers)
    texts = [t.get_text() for t in ax.texts]
    assert "-50%" in texts and "+10%" in texts and texts.count(" n/a") == len(b.levers)
    for patch, v in zip(ax.patches, finite):
        assert (patch.get_x() + patch.get_width() <= 0) if v < 0 else (patch.get_x() >= 0)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(b.labels)
    _renders(fig, tmp_path, "sens")


def test_phases(sample: Sample, tmp_path: Path) -> None:
    _, _, a = sample
    p = plot_data.phase_split(a)
    fig: Any = plots.plot_phases(p)
    bars = fig.axes[0].patches
    assert [float(b.get_width()) for b in bars] == p.energy_j.tolist()
    assert [float(b.get_x()) for b in bars] == np.concatenate([[0.0], np.cumsum(p.energy_j)[:-1]]).tolist()
    assert math.isclose(sum(float(b.get_width()) for b in bars), a.total_energy_j, rel_tol=1e-9)
    _renders(fig, tmp_path, "phases")


def test_data_text_is_literal_and_escaped(tmp_path: Path) -> None:
    names = ["<script>x</script>", "$\\alpha$ 5$", "_hidden"]
    tr = epcore.PowerTrace.from_samples({n: ([0, S], [1.0, 2.0]) for n in names})
    fig: Any = plots.plot_power(plot_data.power_plot(tr))
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == [plots.label(n) for n in names]
    svg = plots.svg_bytes(fig).decode()
    assert "<script>" not in svg and "&lt;script&gt;x&lt;/script&gt;" in svg
    _renders(fig, tmp_path, "evil")  # an unbalanced $ must not break drawing


def test_save_rejects_other_extensions(tmp_path: Path) -> None:
    fig: Any = plots.plot_power(plot_data.power_plot(epcore.PowerTrace.from_samples({"g": ([0, S], [1.0, 1.0])})))
    with pytest.raises(epcore.ConfigError, match=r"\.png or \.svg"):
        plots.save(fig, tmp_path / "x.pdf")
    assert not (tmp_path / "x.pdf").exists()


def test_missing_matplotlib_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(epcore.ConfigError, match=r"epcore\[plot\]") as e:
        plots.plot_power(plot_data.power_plot(epcore.PowerTrace.from_samples({"g": ([0, S], [1.0, 1.0])})))
    assert "\n" not in str(e.value) and e.value.code == "missing_dependency"
