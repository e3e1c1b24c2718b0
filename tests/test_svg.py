"""Server-side SVG: well-formed, accessible, self-contained, escaped, and drawing the right data."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

import numpy as np

import epcore
from epcore import svg
from epcore.plot_data import (
    Bars,
    Histogram,
    PhaseSplit,
    PowerPlot,
    Series,
    comparison_bars,
    energy_histogram,
    joules_per_token_plot,
    phase_split,
    power_plot,
    sensitivity_bars,
)

from conftest import Sample

NS = "{http://www.w3.org/2000/svg}"
S = 10**9
EVIL = '<script>x</script> & "q" \'s\''


def _all_svgs(sample: Sample) -> dict[str, str]:
    tr, rq, a = sample
    sens = epcore.sensitivity(power_w=5600, tokens_per_s=2500, grid_g_co2_per_kwh=400)
    return {
        "power": svg.power_svg(power_plot(tr, rq)),
        "jpt": svg.joules_per_token_svg(joules_per_token_plot(tr, rq)),
        "histogram": svg.histogram_svg(energy_histogram(a, bins=10)),
        "bars": svg.bars_svg(sensitivity_bars(sens)),
        "phases": svg.phases_svg(phase_split(a)),
    }


def _parse(text: str) -> ET.Element:
    return ET.fromstring(text)


def _points(e: ET.Element) -> list[tuple[float, float]]:
    return [(float(a), float(b)) for a, b in (p.split(",") for p in (e.get("points") or "").split())]


def _self_contained(text: str) -> None:
    root = _parse(text)
    assert root.tag == f"{NS}svg"
    assert root.get("role") == "img" and root.get("width") == "100%"
    assert re.fullmatch(r"0 0 [\d.]+ [\d.]+", root.get("viewBox") or "")
    ids = {e.get("id") for e in root.iter() if e.get("id")}
    labelled = (root.get("aria-labelledby") or "").split()
    assert len(labelled) == 2 and set(labelled) <= ids
    assert root[0].tag == f"{NS}title" and root[1].tag == f"{NS}desc"
    assert (root[0].text or "").strip() and (root[1].text or "").strip()
    for e in root.iter():
        assert e.tag not in (f"{NS}script", f"{NS}foreignObject", f"{NS}image", f"{NS}style", f"{NS}a", f"{NS}use")
        for attr in e.attrib:
            # CSP forbids inline styles; event handlers and links are never needed.
            assert attr not in ("style", "href", "src") and not attr.startswith("on") and "href" not in attr
    assert "http" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_every_svg_is_self_contained_and_accessible(
    sample: Sample,
) -> None:
    for kind, text in _all_svgs(sample).items():
        _self_contained(text)
        assert f"epcore-{kind}" in _parse(text).get("class", "")


def test_same_data_same_bytes_distinct_ids(sample: Sample) -> None:
    a, b = _all_svgs(sample), _all_svgs(sample)
    assert a == b
    ids = [_parse(t).get("aria-labelledby") for t in a.values()]
    assert len(set(ids)) == len(ids), "two figures on one page must not share ids"


def test_power_polylines_carry_every_point(sample: Sample) -> None:
    tr, rq, _ = sample
    p = power_plot(tr, rq)
    root = _parse(svg.power_svg(p))
    series = [e for e in root.iter(f"{NS}polyline") if e.get("class") == "series"]
    assert [e.get("data-series") for e in series] == [p.channels[0].name]
    pts = _points(series[0])
    assert len(pts) == len(p.channels[0]) == 22
    # y grows downwards: the 300 W samples sit above the 100 W ones, all at one of two heights.
    ys = sorted({round(y, 2) for _, y in pts})
    assert len(ys) == 2
    # Requests in flight: a post step function, two points per change after the first.
    (act,) = [e for e in root.iter(f"{NS}polyline") if e.get("class") == "activity"]
    assert p.activity is not None and len(_points(act)) == 2 * len(p.activity) - 1
    (window,) = [e for e in root.iter(f"{NS}rect") if e.get("data-start-s")]
    assert (float(window.get("data-start-s", "")), float(window.get("data-end-s", ""))) == (5.0, 16.0)


def test_power_gap_splits_the_line() -> None:
    tr = epcore.PowerTrace.from_samples({"g": (np.arange(6) * S, [1.0, 2.0, np.nan, 4.0, 5.0, 6.0])})
    root = _parse(svg.power_svg(power_plot(tr)))
    lines = [len(_points(e)) for e in root.iter(f"{NS}polyline") if e.get("class") == "series"]
    assert lines == [2, 3], "a missing reading breaks the line instead of bridging it"


def test_channel_names_are_escaped() -> None:
    tr = epcore.PowerTrace.from_samples({EVIL: ([0, S], [1.0, 2.0]), "ctl\x01\x1fname": ([0, S], [3.0, 4.0])})
    text = svg.power_svg(power_plot(tr))
    assert "<script>" not in text and "&lt;script&gt;x&lt;/script&gt;" in text
    root = _parse(text)  # control characters replaced, so the document stays XML
    names = [e.get("data-series") for e in root.iter(f"{NS}polyline") if e.get("class") == "series"]
    assert names == [EVIL, "ctl\ufffd\ufffdname"]
    legend = [t.text for t in root.iter(f"{NS}text") if t.text and "script" in t.text]
    assert legend and all(t.startswith("<script>") for t in legend)


def test_bars_sign_and_labels() -> None:
    change = np.array([[-50.0, 25.0, np.nan], [0.0, 10.0, -5.0]])
    b = Bars((f"lever {EVIL}", "second"), ("joules_per_token", "cost_per_million_tokens", "g_co2_per_query"),
             ("J per token", "cost per million tokens", "gCO2 per query"), change)
    text = svg.bars_svg(b)
    _self_contained(text)
    assert "<script>" not in text
    root = _parse(text)
    groups = [g for g in root.iter(f"{NS}g") if g.get("class") == "group"]
    assert [g.get("data-lever") for g in groups] == [f"lever {EVIL}", "second"]
    zero = float(next(e for e in root.iter(f"{NS}line") if e.get("class") == "zero").get("x1", ""))
    bars = [r for r in root.iter(f"{NS}rect") if r.get("class") == "bar"]
    assert len(bars) == int(np.isfinite(change).sum()) == 5
    values = [float(r.get("data-value", "")) for r in bars]
    assert values == [-50.0, 25.0, 0.0, 10.0, -5.0]
    widths = {}
    for r, v in zip(bars, values):
        x, w = float(r.get("x", "")), float(r.get("width", ""))
        widths[v] = w
        if v < 0:
            assert abs(x + w - zero) < 0.02 and r.get("data-sign") == "-"
        elif v > 0:
            assert abs(x - zero) < 0.02 and r.get("data-sign") == "+"
        else:
            assert w == 0
    # Lengths are proportional to the change.
    assert abs(widths[-50.0] / widths[25.0] - 2.0) < 0.01 and abs(widths[10.0] / widths[-5.0] - 2.0) < 0.01
    labels = [t.text for t in root.iter(f"{NS}text") if t.get("class") == "value"]
    assert labels == ["-50%", "+25%", "n/a", "0%", "+10%", "-5%"]


def test_sensitivity_and_comparison_bars_render() -> None:
    sens = epcore.sensitivity(power_w=5600, tokens_per_s=2500)
    root = _parse(svg.bars_svg(sensitivity_bars(sens)))
    assert len([g for g in root.iter(f"{NS}g") if g.get("class") == "group"]) == len(sens.rows)
    base = epcore.steady_state(power_w=5600, tokens_per_s=2500)
    fast = epcore.steady_state(power_w=5600, tokens_per_s=5000)
    text = svg.bars_svg(comparison_bars([("base", base), ("fast", fast)]), title="Scenarios compared")
    _self_contained(text)
    assert "Scenarios compared" in text and "-50%" in text


def test_histogram_bars(sample: Sample) -> None:
    _, _, a = sample
    h = energy_histogram(a, bins=10)
    root = _parse(svg.histogram_svg(h))
    bars = [r for r in root.iter(f"{NS}rect") if r.get("class") == "bar"]
    assert [int(r.get("data-count", "")) for r in bars] == h.counts.tolist()
    heights = [float(r.get("height", "")) for r in bars]
    tallest = max(heights)
    for hgt, c in zip(heights, h.counts.tolist()):
        assert abs(hgt - tallest * c / max(h.counts.tolist())) < 0.02
    # Counts have no halves: every y tick is a whole number.
    ticks = [t.text for t in root.iter(f"{NS}text") if t.get("text-anchor") == "end"]
    assert ticks and all(t is not None and "." not in t for t in ticks)


def test_joules_per_token_points(sample: Sample) -> None:
    tr, rq, _ = sample
    j = joules_per_token_plot(tr, rq, bin_s=1.0)
    root = _parse(svg.joules_per_token_svg(j))
    circles = list(root.iter(f"{NS}circle"))
    finite = j.joules_per_token[np.isfinite(j.joules_per_token)]
    assert [float(c.get("data-value", "")) for c in circles] == finite.tolist()


def test_phases_widths_add_up(sample: Sample) -> None:
    _, _, a = sample
    p = phase_split(a)
    root = _parse(svg.phases_svg(p))
    bars = [r for r in root.iter(f"{NS}rect") if r.get("class") == "bar"]
    assert [r.get("data-label") for r in bars] == list(p.labels)
    widths = np.array([float(r.get("width", "")) for r in bars])
    assert abs(widths.sum() - 600.0) < 0.05  # the bar spans the plot width: the parts are the whole
    np.testing.assert_allclose(widths / widths.sum(), p.energy_j / p.total_energy_j, atol=1e-3)


def test_escaped_labels_in_phases_and_empty_figures() -> None:
    p = PhaseSplit((EVIL,), np.array([1.0]), {EVIL: None}, 1.0, 0.0)
    text = svg.phases_svg(p)
    assert "<script>" not in text
    _parse(text)
    empty: list[Callable[[], str]] = [
        lambda: svg.bars_svg(Bars((), ("joules_per_token",), ("J per token",), np.empty((0, 1)))),
        lambda: svg.histogram_svg(Histogram("energy_j", "J", np.empty(0), np.empty(0, dtype=np.int64), 0, 4)),
    ]
    for make in empty:
        _self_contained(make())


def test_empty_power_and_no_token_bins() -> None:
    empty = PowerPlot(0, (Series("g", np.array([0.0, 1.0]), np.array([np.nan, np.nan])),), (), None)
    text = svg.power_svg(empty)
    _self_contained(text)
    assert "No power samples" in text
    tr2 = epcore.PowerTrace.from_samples({"g": ([0, 4 * S], [1.0, 1.0])})
    rq = epcore.Requests.from_arrays(start_ns=[10 * S], end_ns=[11 * S], input_tokens=[1], output_tokens=[1])
    text = svg.joules_per_token_svg(joules_per_token_plot(tr2, rq, bin_s=1.0))
    _self_contained(text)
    assert "No bin produced" in text


def test_empty_request_log() -> None:
    tr = epcore.PowerTrace.from_samples({"g": ([0, 4 * S], [1.0, 1.0])})
    none = np.array([], dtype=np.int64)
    rq = epcore.Requests.from_arrays(start_ns=none, end_ns=none, input_tokens=none, output_tokens=none)
    p = power_plot(tr, rq)
    assert p.windows == () and p.activity is not None and len(p.activity) == 0
    _self_contained(svg.power_svg(p))
    _self_contained(svg.joules_per_token_svg(joules_per_token_plot(tr, rq)))
