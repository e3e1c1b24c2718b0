"""The HTML report: one self-contained file, the figures in it, every input text escaped."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import epcore

pytest.importorskip("matplotlib", reason="epcore[plot] not installed")

from epcore.report import report  # noqa: E402

DATA = Path(__file__).parent / "data"
S = 10**9
EVIL = "<script>x</script>"
T0 = 1_750_000_000 * S

# Anything that would make a browser fetch: src/href to a URL, CSS imports and url(), link/script tags.
EXTERNAL = re.compile(r"""(?:src|href|action|data)\s*=\s*["']?\s*(?:https?:|//)|@import|"""
                      r"""url\(\s*["']?\s*(?:https?:|//)|<link\b|<script\b|<iframe\b|<object\b|<embed\b|<img\b""", re.I)


def _self_contained(text: str) -> None:
    assert EXTERNAL.search(text) is None, EXTERNAL.search(text)
    assert "<!DOCTYPE svg" not in text and "<?xml" not in text
    # Every figure is well-formed XML on its own, and no two elements share an id.
    svgs = re.findall(r"<svg\b.*?</svg>", text, flags=re.S)
    for s in svgs:
        ET.fromstring(s)
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert len(ids) == len(set(ids))
    assert "default-src 'none'" in text  # the page itself forbids loading anything


def test_report_with_requests(tmp_path: Path) -> None:
    out = report(DATA / "sample_attribution_power.csv", DATA / "sample_attribution_requests.csv",
                 out=tmp_path / "report.html")
    assert out == tmp_path / "report.html" and [p.name for p in tmp_path.iterdir()] == ["report.html"]
    text = out.read_text(encoding="utf-8")
    _self_contained(text)
    assert text.count("<figure>") == 4 and text.count("<svg") == 4
    a = epcore.attribute(DATA / "sample_attribution_power.csv", DATA / "sample_attribution_requests.csv")
    # Headline figures, as the attribution computed them (four significant figures).
    assert f">{a.joules_per_output_token:.4g} <small>J/token" in text  # 21.57
    assert ">3 <small>J/token" in text and ">16.4 <small>J/token" in text
    assert ">4,500 <small>J" in text and ">840 <small>J" in text and ">2,460 <small>J" in text
    assert "3 of 3" in text and "280 / 153" in text
    assert 'id="distribution"' in text and "joules_per_output_token (J/token)" in text
    assert 'id="quality"' in text and "Power trace" in text and "Request log" in text
    assert "sample_attribution_power.csv" in text and "sample_attribution_requests.csv" in text
    assert f"epcore {epcore.__version__}" in text
    assert "Regression estimate" in text


def test_report_without_requests(tmp_path: Path) -> None:
    out = report(DATA / "sample_trace.csv", out=tmp_path / "r.html", title="GPU <b>box</b>")
    text = out.read_text(encoding="utf-8")
    _self_contained(text)
    assert text.count("<figure>") == 1
    assert 'id="distribution"' not in text and "J/token" not in text
    assert "<title>GPU &lt;b&gt;box&lt;/b&gt;</title>" in text and "<b>box</b>" not in text
    tr = epcore.read_power(DATA / "sample_trace.csv")
    assert f">{tr.energy_j:,.0f} <small>J" in text or f">{tr.energy_j:.4g} <small>J" in text
    assert "gpu0" in text and "gpu1" in text


def test_report_escapes_channel_and_file_names(tmp_path: Path) -> None:
    tr = epcore.PowerTrace.from_samples({EVIL: ([T0, T0 + 10 * S], [200.0, 200.0]),
                                         'q"uote & amp': ([T0, T0 + 10 * S], [100.0, 100.0])})
    rq = epcore.Requests.from_arrays(start_ns=[T0 + 2 * S], first_token_ns=[T0 + 3 * S], end_ns=[T0 + 6 * S],
                                     input_tokens=[10], output_tokens=[20])
    out = report(tr, rq, out=tmp_path / "evil.html", title=EVIL)
    text = out.read_text(encoding="utf-8")
    _self_contained(text)
    assert EVIL not in text and "<script" not in text.lower()
    assert "&lt;script&gt;x&lt;/script&gt;" in text
    assert "q&quot;uote &amp; amp" in text  # (matplotlib's SVG text content may keep a bare ", which is safe there)
    # A file name is data too.
    odd = tmp_path / "a&b <i>x.csv"
    shutil.copy(DATA / "sample_attribution_power.csv", odd)
    text = report(odd, out=tmp_path / "odd.html").read_text(encoding="utf-8")
    assert "<i>x" not in text and "a&amp;b &lt;i&gt;x.csv" in text


def test_report_attribute_options_and_errors(tmp_path: Path) -> None:
    out = report(DATA / "sample_attribution_power.csv", DATA / "sample_attribution_requests.csv",
                 out=tmp_path / "eq.html", weight="equal", idle_w=100.0)
    assert "weight equal" in out.read_text(encoding="utf-8")
    with pytest.raises(epcore.ConfigError, match="html"):
        report(DATA / "sample_attribution_power.csv", out=tmp_path / "r.pdf")
    with pytest.raises(epcore.TraceError, match="time zone"):
        report(DATA / "sample_nvidia_smi.csv.gz", DATA / "sample_attribution_requests.csv", out=tmp_path / "n.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eq.html"]
