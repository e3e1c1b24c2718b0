"""Figures as hand-written SVG strings, for the web console (no matplotlib).

Each function draws one :mod:`epcore.plot_data` object as a self-contained
``<svg>``: a ``viewBox`` and ``width="100%"`` (it scales with its container),
``role="img"`` with a ``<title>`` and a ``<desc>`` for screen readers, axes,
ticks, labels and a legend. Colours and fonts are presentation attributes,
never ``style``: the console's Content-Security-Policy forbids inline styles.
There are no scripts, no external references and no ``<foreignObject>``.

Every text that comes from data (channel names, scenario labels, units) is
escaped with :func:`html.escape` and stripped of characters XML cannot hold:
users name the channels in the files they upload.

Data attributes (``data-series``, ``data-value``...) carry the exact values
drawn, so tests and scripts can read a figure back without parsing paths.

>>> import epcore
>>> from epcore import plot_data, svg
>>> s = epcore.sensitivity(power_w=5600, tokens_per_s=2500, scenarios={"price": 1.25})
>>> out = svg.bars_svg(plot_data.sensitivity_bars(s))
>>> out.startswith("<svg") and 'role="img"' in out and "+25%" in out
True
"""

from __future__ import annotations

import hashlib
import html
import math
import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from .plot_data import Bars, Histogram, JoulesPerTokenPlot, PhaseSplit, PowerPlot

__all__ = ["bars_svg", "histogram_svg", "joules_per_token_svg", "phases_svg", "power_svg"]

F64 = npt.NDArray[np.float64]

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
_GRID = "#d0d0d0"
_AXIS = "#444444"
_TEXT = "#222222"
_ACTIVITY = "#7f7f7f"
_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
_W = 640.0
# Legends past this many entries say "+N more": 64 GPUs of names would hide the plot.
_MAX_LEGEND = 8

# Characters XML 1.0 cannot hold, even escaped: a file may name a channel with them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def esc(text: object) -> str:
    """Text from data, safe in SVG/HTML text and attribute values.

    >>> esc('<script>x</script> & "q"')
    '&lt;script&gt;x&lt;/script&gt; &amp; &quot;q&quot;'
    """
    return html.escape(_NOT_XML.sub("\ufffd", str(text)), quote=True)


def num(v: float | None) -> str:
    """Four significant figures, positional and with thousands separators; ``n/a`` when unknown.

    >>> num(2.24), num(1234567.0), num(0.000123456), num(None), num(float("nan")), num(0.0)
    ('2.24', '1,234,567', '0.0001235', 'n/a', 'n/a', '0')
    """
    if v is None or not math.isfinite(v):
        return "n/a"
    if v == 0:
        return "0"
    a = abs(v)
    if not 1e-6 <= a < 1e15:
        return f"{v:.3g}"
    digits = max(0, 3 - math.floor(math.log10(a)))
    s = f"{v:,.{digits}f}"
    return s.rstrip("0").rstrip(".") if "." in s else s


def pct(v: float | None) -> str:
    """A change in percent, signed: ``-50%``, ``+25%``, ``0%``; ``n/a`` when unknown.

    >>> pct(-50.0), pct(25.0), pct(-33.3333), pct(0.0), pct(1234.6), pct(float("nan"))
    ('-50%', '+25%', '-33.3%', '0%', '+1235%', 'n/a')
    """
    if v is None or not math.isfinite(v):
        return "n/a"
    if abs(v) < 5e-13:
        return "0%"
    s = f"{v:.0f}" if abs(v) >= 100 else f"{v:.3g}"
    if "e" in s:
        s = f"{v:.2f}"
    return f"{'+' if v > 0 else ''}{s}%"


def _c(v: float) -> str:
    # Two decimals of a 640-wide viewBox is far below a pixel, and halves the file.
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values covering ``[lo, hi]``: steps of 1, 2 or 5 × 10^k.

    >>> nice_ticks(0, 300), nice_ticks(0, 21), nice_ticks(-50, 10)
    ([0.0, 100.0, 200.0, 300.0], [0.0, 5.0, 10.0, 15.0, 20.0, 25.0], [-60.0, -40.0, -20.0, 0.0, 20.0])
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi <= lo:
        hi = lo + (abs(lo) if lo else 1.0)
    raw = (hi - lo) / max(1, n)
    k = math.floor(math.log10(raw))
    step = 10.0 ** (k + 1)
    for m in (1.0, 2.0, 5.0):
        if m * 10.0**k >= raw * (1 - 1e-9):
            step = m * 10.0**k
            break
    first = math.floor(lo / step + 1e-9) * step
    last = math.ceil(hi / step - 1e-9) * step
    count = int(round((last - first) / step)) + 1
    return [round(first + i * step, 12) + 0.0 for i in range(count)]


def count_ticks(top: float) -> list[float]:
    """Whole-number ticks from 0 to at least ``top``: counts of requests have no halves.

    >>> count_ticks(1), count_ticks(3), count_ticks(37)
    ([0.0, 1.0], [0.0, 1.0, 2.0, 3.0], [0.0, 10.0, 20.0, 30.0, 40.0])
    """
    top = max(float(top), 1.0)
    ticks = nice_ticks(0.0, top, 4)
    if all(t.is_integer() for t in ticks):
        return ticks
    return [float(i) for i in range(int(math.ceil(top)) + 1)]


def _tick_label(v: float) -> str:
    return f"{round(v, 10):g}"


class _Frame:
    """A plot area inside the viewBox and the linear maps from data to it."""

    def __init__(self, height: float, left: float, right: float, top: float, bottom: float,
                 x_ticks: list[float], y_ticks: list[float]):
        self.height = height
        self.x0, self.x1 = left, _W - right
        self.y0, self.y1 = height - bottom, top  # y grows downwards in SVG
        self.x_ticks, self.y_ticks = x_ticks, y_ticks
        self.xmin, self.xmax = x_ticks[0], x_ticks[-1]
        self.ymin, self.ymax = y_ticks[0], y_ticks[-1]

    def x(self, v: float) -> float:
        return self.x0 + (v - self.xmin) / (self.xmax - self.xmin) * (self.x1 - self.x0)

    def y(self, v: float) -> float:
        return self.y0 - (v - self.ymin) / (self.ymax - self.ymin) * (self.y0 - self.y1)

    def axes(self, x_label: str, y_label: str) -> list[str]:
        out = ['<g class="axes">']
        for t in self.y_ticks:
            y = _c(self.y(t))
            out.append(f'<line x1="{_c(self.x0)}" y1="{y}" x2="{_c(self.x1)}" y2="{y}" stroke="{_GRID}" '
                       'stroke-width="0.5"/>')
            out.append(f'<text x="{_c(self.x0 - 6)}" y="{y}" text-anchor="end" dominant-baseline="middle" '
                       f'fill="{_TEXT}">{esc(_tick_label(t))}</text>')
        for t in self.x_ticks:
            x = _c(self.x(t))
            out.append(f'<line x1="{x}" y1="{_c(self.y0)}" x2="{x}" y2="{_c(self.y0 + 4)}" stroke="{_AXIS}"/>')
            out.append(f'<text x="{x}" y="{_c(self.y0 + 16)}" text-anchor="middle" fill="{_TEXT}">'
                       f'{esc(_tick_label(t))}</text>')
        out.append(f'<line x1="{_c(self.x0)}" y1="{_c(self.y0)}" x2="{_c(self.x1)}" y2="{_c(self.y0)}" '
                   f'stroke="{_AXIS}"/>')
        out.append(f'<line x1="{_c(self.x0)}" y1="{_c(self.y0)}" x2="{_c(self.x0)}" y2="{_c(self.y1)}" '
                   f'stroke="{_AXIS}"/>')
        out.append(f'<text x="{_c((self.x0 + self.x1) / 2)}" y="{_c(self.height - 6)}" text-anchor="middle" '
                   f'fill="{_TEXT}">{esc(x_label)}</text>')
        out.append(_y_title(14, (self.y0 + self.y1) / 2, -90, y_label))
        out.append("</g>")
        return out


def _y_title(x: float, y: float, angle: int, text: str) -> str:
    """A y axis's title centred on ``(x, y)``, turned ``angle`` degrees: -90 reads upwards (left), 90 down (right).

    >>> _y_title(14, 100.5, -90, "power (W)")
    '<text x="14" y="100.5" text-anchor="middle" transform="rotate(-90 14 100.5)" fill="#222222">power (W)</text>'
    """
    xs, ys = _c(x), _c(y)
    return (f'<text x="{xs}" y="{ys}" text-anchor="middle" transform="rotate({angle} {xs} {ys})" '
            f'fill="{_TEXT}">{esc(text)}</text>')


def _svg(kind: str, height: float, title: str, desc: str, body: list[str]) -> str:
    """Wrap ``body`` with the root element, title and description.

    The ids derive from the content, so the same figure gives the same bytes
    and two figures on one page do not share an ``aria-labelledby`` target.
    """
    inner = "\n".join(body)
    digest = hashlib.sha256(f"{title}\n{desc}\n{inner}".encode()).hexdigest()[:10]
    ident = f"epcore-{kind}-{digest}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_c(_W)} {_c(height)}" width="100%" '
        f'role="img" aria-labelledby="{ident}-title {ident}-desc" class="epcore-figure epcore-{kind}" '
        f'font-family="{esc(_FONT)}" font-size="11">\n'
        f'<title id="{ident}-title">{esc(title)}</title>\n'
        f'<desc id="{ident}-desc">{esc(desc)}</desc>\n'
        f"{inner}\n</svg>"
    )


def _runs(x: F64, y: F64) -> list[tuple[F64, F64]]:
    """Contiguous stretches of finite points: a missing value breaks the line instead of bridging it."""
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return []
    idx = np.flatnonzero(ok)
    breaks = np.flatnonzero(np.diff(idx) > 1) + 1
    return [(x[part], y[part]) for part in np.split(idx, breaks)]


def _polyline(frame: _Frame, x: F64, y: F64, colour: str, attrs: str, width: float = 1.5) -> list[str]:
    out = []
    for xs, ys in _runs(x, y):
        pts = " ".join(f"{_c(frame.x(float(a)))},{_c(frame.y(float(b)))}" for a, b in zip(xs.tolist(), ys.tolist()))
        out.append(f'<polyline {attrs} points="{pts}" fill="none" stroke="{colour}" stroke-width="{width}" '
                   'stroke-linejoin="round"/>')
    return out


def _legend(entries: Sequence[tuple[str, str, str]], y: float = 14.0, x: float = 60.0) -> list[str]:
    """``(kind, colour, label)`` entries in a row; kind is ``line``, ``dash``, ``box`` or ``area``."""
    out = ['<g class="legend">']
    shown = list(entries)
    more = 0
    if len(shown) > _MAX_LEGEND:
        more, shown = len(shown) - _MAX_LEGEND, shown[:_MAX_LEGEND]
    for kind, colour, label in shown:
        if kind in ("line", "dash"):
            dash = ' stroke-dasharray="4 2"' if kind == "dash" else ""
            out.append(f'<line x1="{_c(x)}" y1="{_c(y)}" x2="{_c(x + 16)}" y2="{_c(y)}" stroke="{colour}" '
                       f'stroke-width="2"{dash}/>')
        else:
            opacity = ' fill-opacity="0.25"' if kind == "area" else ""
            out.append(f'<rect x="{_c(x)}" y="{_c(y - 5)}" width="16" height="10" fill="{colour}"{opacity}/>')
        text = label if len(label) <= 40 else label[:39] + "…"
        out.append(f'<text x="{_c(x + 20)}" y="{_c(y)}" dominant-baseline="middle" fill="{_TEXT}">{esc(text)}</text>')
        x += 28 + 6.2 * len(text)
        if x > _W - 90:
            x, y = 60.0, y + 14
    if more:
        out.append(f'<text x="{_c(x)}" y="{_c(y)}" dominant-baseline="middle" fill="{_TEXT}">+{more} more</text>')
    out.append("</g>")
    return out


def _no_data(height: float) -> list[str]:
    return [f'<text x="{_c(_W / 2)}" y="{_c(height / 2)}" text-anchor="middle" fill="{_TEXT}">no data</text>']


def _finite_range(arrays: Sequence[F64]) -> tuple[float, float] | None:
    vals = [a[np.isfinite(a)] for a in arrays if a.size]
    vals = [v for v in vals if v.size]
    if not vals:
        return None
    return float(min(v.min() for v in vals)), float(max(v.max() for v in vals))


def power_svg(p: PowerPlot) -> str:
    """Power of each channel over time; request windows shaded, requests in flight on the right axis.

    >>> import epcore, xml.etree.ElementTree as ET
    >>> from epcore.plot_data import power_plot
    >>> tr = epcore.PowerTrace.from_samples({"<b>": ([0, 10**9, 2 * 10**9], [100.0, 300.0, 300.0])})
    >>> root = ET.fromstring(power_svg(power_plot(tr)))
    >>> [(e.get("data-series"), len(e.get("points").split()))
    ...  for e in root.iter("{http://www.w3.org/2000/svg}polyline")]
    [('<b>', 3)]
    """
    height = 300.0
    xr = _finite_range([c.x_s for c in p.channels] + ([p.activity.x_s] if p.activity is not None else []) +
                       [np.asarray([a for w in p.windows for a in w], dtype=np.float64)])
    yr = _finite_range([c.y for c in p.channels])
    n_points = sum(int(np.count_nonzero(np.isfinite(c.y))) for c in p.channels)
    title = "Power over time" + (" with requests in flight" if p.activity is not None else "")
    if xr is None or yr is None:
        return _svg("power", height, title, "No power samples to draw.", _no_data(height))
    peak = yr[1]
    desc = (f"{len(p.channels)} channel(s), {n_points:,} points drawn over {num(xr[1] - xr[0])} s; "
            f"peak {num(peak)} {p.unit}")
    if p.activity is not None:
        most = float(np.nanmax(p.activity.y)) if len(p.activity) else 0.0
        desc += f"; {len(p.windows):,} busy span(s), at most {num(most)} requests in flight"
    frame = _Frame(height, 60, 50 if p.activity is not None else 16, 40, 40,
                   nice_ticks(min(0.0, xr[0]), xr[1]), nice_ticks(min(0.0, yr[0]), yr[1]))
    body = frame.axes("time since start (s)", f"power ({p.unit})")
    body.append('<g class="windows">')
    for a, b in p.windows:
        lo, hi = max(a, frame.xmin), min(b, frame.xmax)
        if hi < lo:
            continue
        body.append(f'<rect x="{_c(frame.x(lo))}" y="{_c(frame.y1)}" width="{_c(max(frame.x(hi) - frame.x(lo), 0.5))}" '
                    f'height="{_c(frame.y0 - frame.y1)}" fill="{_ACTIVITY}" fill-opacity="0.15" '
                    f'data-start-s="{a!r}" data-end-s="{b!r}"/>')
    body.append("</g>")
    legend: list[tuple[str, str, str]] = []
    if p.activity is not None and len(p.activity):
        body.extend(_activity(frame, p.activity.x_s, p.activity.y))
        legend += [("area", _ACTIVITY, "request windows"), ("dash", _ACTIVITY, "requests in flight (right axis)")]
    body.append('<g class="channels">')
    for i, ch in enumerate(p.channels):
        colour = PALETTE[i % len(PALETTE)]
        body.extend(_polyline(frame, ch.x_s, ch.y, colour, f'class="series" data-series="{esc(ch.name)}"'))
        legend.insert(i, ("line", colour, ch.name))
    body.append("</g>")
    body.extend(_legend(legend))
    return _svg("power", height, title, desc, body)


def _activity(frame: _Frame, x: F64, y: F64) -> list[str]:
    """Requests in flight as steps on a right-hand axis of its own (0 to a round count)."""
    ticks = count_ticks(float(np.nanmax(y)) if y.size else 1.0)
    scale_top = ticks[-1]

    def ya(v: float) -> float:
        return frame.y0 - v / scale_top * (frame.y0 - frame.y1)

    # Post steps: each count holds from its time to the next, so every change is a vertical then a flat segment.
    pts = []
    for i, (xv, yv) in enumerate(zip(x.tolist(), y.tolist())):
        if i:
            pts.append(f"{_c(frame.x(xv))},{_c(ya(y[i - 1]))}")
        pts.append(f"{_c(frame.x(xv))},{_c(ya(yv))}")
    out = ['<g class="activity">',
           f'<polyline class="activity" data-series="requests in flight" points="{" ".join(pts)}" fill="none" '
           f'stroke="{_ACTIVITY}" stroke-width="1.2" stroke-dasharray="4 2"/>']
    for t in ticks:
        yy = _c(ya(t))
        out.append(f'<line x1="{_c(frame.x1)}" y1="{yy}" x2="{_c(frame.x1 + 4)}" y2="{yy}" stroke="{_AXIS}"/>')
        out.append(f'<text x="{_c(frame.x1 + 7)}" y="{yy}" dominant-baseline="middle" fill="{_TEXT}">'
                   f"{int(t)}</text>")
    out.append(f'<line x1="{_c(frame.x1)}" y1="{_c(frame.y0)}" x2="{_c(frame.x1)}" y2="{_c(frame.y1)}" '
               f'stroke="{_AXIS}"/>')
    out.append(_y_title(_W - 8, (frame.y0 + frame.y1) / 2, 90, "requests in flight"))
    out.append("</g>")
    return out


def joules_per_token_svg(j: JoulesPerTokenPlot) -> str:
    """Energy per output token in each time bin (a point per bin that produced tokens).

    >>> import epcore, xml.etree.ElementTree as ET
    >>> from epcore.plot_data import joules_per_token_plot
    >>> s = 10**9
    >>> tr = epcore.PowerTrace.from_samples({"gpu0": ([0, 4 * s], [200.0, 200.0])})
    >>> rq = epcore.Requests.from_arrays(start_ns=[0], first_token_ns=[s], end_ns=[3 * s],
    ...                                  input_tokens=[10], output_tokens=[100])
    >>> root = ET.fromstring(joules_per_token_svg(joules_per_token_plot(tr, rq, bin_s=1.0)))
    >>> [c.get("data-value") for c in root.iter("{http://www.w3.org/2000/svg}circle")]
    ['4.0', '4.0']
    """
    height = 280.0
    title = "Energy per output token over time"
    centres = j.x_s + j.bin_s / 2
    ok = np.isfinite(j.joules_per_token)
    if not ok.any():
        return _svg("jpt", height, title, "No bin produced an output token.", _no_data(height))
    vals = j.joules_per_token[ok]
    desc = (f"{int(ok.sum()):,} of {j.x_s.size:,} bins of {num(j.bin_s)} s produced tokens; "
            f"J per output token from {num(float(vals.min()))} to {num(float(vals.max()))}, "
            f"median {num(float(np.median(vals)))}")
    x_hi = float(j.x_s[-1] + j.bin_s) if j.x_s.size else 1.0
    frame = _Frame(height, 60, 16, 30, 40, nice_ticks(0.0, x_hi), nice_ticks(0.0, float(vals.max())))
    body = frame.axes("time since start (s)", "J per output token")
    body.extend(_polyline(frame, centres, j.joules_per_token, PALETTE[0], 'class="series" data-series="J per token"'))
    body.append('<g class="points">')
    for xv, yv in zip(centres[ok].tolist(), vals.tolist()):
        body.append(f'<circle cx="{_c(frame.x(xv))}" cy="{_c(frame.y(yv))}" r="2.2" fill="{PALETTE[0]}" '
                    f'data-x-s="{xv!r}" data-value="{yv!r}"/>')
    body.append("</g>")
    body.extend(_legend([("line", PALETTE[0], f"J per output token, {num(j.bin_s)} s bins")], y=14))
    return _svg("jpt", height, title, desc, body)


def histogram_svg(h: Histogram) -> str:
    """Counts of a per-request figure in bins: one bar per bin.

    >>> import epcore, xml.etree.ElementTree as ET
    >>> from epcore.plot_data import Histogram
    >>> h = Histogram("energy_j", "J", np.array([0.0, 1.0, 2.0]), np.array([3, 1]), 4, 0)
    >>> root = ET.fromstring(histogram_svg(h))
    >>> [b.get("data-count") for b in root.iter("{http://www.w3.org/2000/svg}rect") if b.get("class") == "bar"]
    ['3', '1']
    """
    height = 260.0
    title = f"Distribution of {h.column} per request"
    if h.n == 0 or h.edges.size < 2:
        return _svg("histogram", height, title, f"No request has a value of {h.column} ({h.n_missing} without).",
                    _no_data(height))
    desc = (f"{h.n:,} requests in {h.counts.size} bins from {num(float(h.edges[0]))} to "
            f"{num(float(h.edges[-1]))} {h.unit}; {h.n_missing:,} without a value")
    lo, hi = float(h.edges[0]), float(h.edges[-1])
    if hi <= lo:  # every value equal: numpy widens the range by 0.5 itself, but be safe
        lo, hi = lo - 0.5, hi + 0.5
    frame = _Frame(height, 60, 16, 30, 40, nice_ticks(min(lo, 0.0) if lo >= 0 and lo < (hi - lo) else lo, hi),
                   count_ticks(float(h.counts.max())))
    body = frame.axes(f"{h.column} ({h.unit})", "requests")
    body.append('<g class="bars">')
    for i, count in enumerate(h.counts.tolist()):
        a, b = float(h.edges[i]), float(h.edges[i + 1])
        x, w = frame.x(a), max(frame.x(b) - frame.x(a) - 0.5, 0.5)
        y = frame.y(count)
        body.append(f'<rect class="bar" x="{_c(x)}" y="{_c(y)}" width="{_c(w)}" height="{_c(frame.y0 - y)}" '
                    f'fill="{PALETTE[0]}" data-lo="{a!r}" data-hi="{b!r}" data-count="{count}">'
                    f"<title>{esc(num(a))} to {esc(num(b))} {esc(h.unit)}: {count}</title></rect>")
    body.append("</g>")
    note = f"{h.n:,} requests" + (f", {h.n_missing:,} without a value" if h.n_missing else "")
    body.extend(_legend([("box", PALETTE[0], note)], y=14))
    return _svg("histogram", height, title, desc, body)


def bars_svg(b: Bars, *, title: str | None = None) -> str:
    """Grouped horizontal bars: one group per lever, one bar per output, negative bars left of zero.

    >>> import numpy as np, xml.etree.ElementTree as ET
    >>> from epcore.plot_data import Bars
    >>> bars = Bars(("2× throughput/W",), ("joules_per_token",), ("J per token",), np.array([[-50.0]]))
    >>> root = ET.fromstring(bars_svg(bars))
    >>> [(r.get("data-value"), r.get("data-sign")) for r in root.iter("{http://www.w3.org/2000/svg}rect")
    ...  if r.get("class") == "bar"]
    [('-50.0', '-')]
    """
    title = title or "Change of each figure under each scenario"
    n_l, n_o = len(b.levers), len(b.outputs)
    bar_h, gap, label_w = 12.0, 10.0, 190.0
    top = 24.0 + 14.0 * (1 + (n_o * 160) // 520)
    height = top + n_l * (n_o * bar_h + gap) + 40
    vals = b.change_pct[np.isfinite(b.change_pct)] if b.change_pct.size else np.empty(0)
    lo = min(0.0, float(vals.min())) if vals.size else 0.0
    hi = max(0.0, float(vals.max())) if vals.size else 1.0
    if lo == hi:
        lo, hi = (hi - 1.0, hi + 1.0) if hi else (-1.0, 1.0)
    # Room for the value labels beyond the longest bars.
    pad = (hi - lo) * 0.12
    ticks = nice_ticks(lo - (pad if lo < 0 else 0), hi + (pad if hi > 0 else 0), 5)
    frame = _Frame(height, label_w + 8, 24, top, 40, ticks, [0.0, 1.0])
    body = ['<g class="axes">']
    for t in ticks:
        x = _c(frame.x(t))
        body.append(f'<line x1="{x}" y1="{_c(top - 4)}" x2="{x}" y2="{_c(frame.y0)}" stroke="{_GRID}" '
                    'stroke-width="0.5"/>')
        body.append(f'<text x="{x}" y="{_c(frame.y0 + 14)}" text-anchor="middle" fill="{_TEXT}">'
                    f"{esc(pct(t) if t else '0%')}</text>")
    zx = _c(frame.x(0.0))
    body.append(f'<line class="zero" x1="{zx}" y1="{_c(top - 4)}" x2="{zx}" y2="{_c(frame.y0)}" stroke="{_AXIS}"/>')
    body.append(f'<text x="{_c((frame.x0 + frame.x1) / 2)}" y="{_c(height - 6)}" text-anchor="middle" '
                f'fill="{_TEXT}">change from the base (%)</text>')
    body.append("</g>")
    rows = []
    for i, lever in enumerate(b.levers):
        gy = top + i * (n_o * bar_h + gap)
        short = lever if len(lever) <= 30 else lever[:29] + "…"
        rows.append(f'<g class="group" data-lever="{esc(lever)}">')
        rows.append(f'<text x="{_c(label_w)}" y="{_c(gy + n_o * bar_h / 2)}" text-anchor="end" '
                    f'dominant-baseline="middle" fill="{_TEXT}">{esc(short)}<title>{esc(lever)}</title></text>')
        for k, output in enumerate(b.outputs):
            v = float(b.change_pct[i, k])
            y = gy + k * bar_h
            colour = PALETTE[k % len(PALETTE)]
            label = esc(pct(v))
            if not math.isfinite(v):
                rows.append(f'<text class="value" x="{_c(frame.x(0.0) + 4)}" y="{_c(y + bar_h / 2)}" '
                            f'dominant-baseline="middle" fill="{_ACTIVITY}" data-output="{esc(output)}">'
                            f"{label}</text>")
                continue
            x_a, x_b = sorted((frame.x(0.0), frame.x(v)))
            sign = "-" if v < 0 else "+" if v > 0 else "0"
            rows.append(f'<rect class="bar" x="{_c(x_a)}" y="{_c(y + 1)}" width="{_c(x_b - x_a)}" '
                        f'height="{_c(bar_h - 2)}" fill="{colour}" data-output="{esc(output)}" '
                        f'data-value="{v!r}" data-sign="{sign}"><title>{esc(lever)}, '
                        f"{esc(b.labels[k])}: {label}</title></rect>")
            tx, anchor = (x_b + 3, "start") if v >= 0 else (x_a - 3, "end")
            rows.append(f'<text class="value" x="{_c(tx)}" y="{_c(y + bar_h / 2)}" text-anchor="{anchor}" '
                        f'dominant-baseline="middle" font-size="9" fill="{_TEXT}">{label}</text>')
        rows.append("</g>")
    body.extend(rows)
    body.extend(_legend([("box", PALETTE[k % len(PALETTE)], lab) for k, lab in enumerate(b.labels)], y=14,
                        x=label_w + 8))
    desc_parts = []
    for i, lever in enumerate(b.levers):
        changes = ", ".join(f"{lab} {pct(float(b.change_pct[i, k]))}" for k, lab in enumerate(b.labels))
        desc_parts.append(f"{lever}: {changes}")
    desc = "; ".join(desc_parts) if desc_parts else "No scenario."
    return _svg("bars", height, title, desc, body)


def phases_svg(p: PhaseSplit) -> str:
    """Where the energy went: one stacked bar of the parts (they add up to the total), with J per token.

    >>> import numpy as np, xml.etree.ElementTree as ET
    >>> from epcore.plot_data import PhaseSplit
    >>> ps = PhaseSplit(("prefill", "decode", "unattributed"), np.array([840.0, 2460.0, 1200.0]),
    ...                 {"decode (per token after the first)": 16.4}, 4500.0, 2100.0)
    >>> root = ET.fromstring(phases_svg(ps))
    >>> [(r.get("data-label"), r.get("data-energy-j")) for r in root.iter("{http://www.w3.org/2000/svg}rect")
    ...  if r.get("class") == "bar"]
    [('prefill', '840.0'), ('decode', '2460.0'), ('unattributed', '1200.0')]
    """
    lines = [(k, v) for k, v in p.joules_per_token.items()]
    height = 120.0 + 16.0 * len(lines)
    title = "Where the energy went"
    total = p.total_energy_j
    shares = p.share
    desc = "; ".join(f"{lab} {num(float(e))} J ({pct(100 * float(s))[:-1].lstrip('+')}%)"
                     for lab, e, s in zip(p.labels, p.energy_j.tolist(), shares.tolist()))
    desc = f"total {num(total)} J: {desc}; idle baseline {num(p.idle_energy_j)} J (inside the parts)"
    x0, x1, y, bar_h = 20.0, _W - 20.0, 34.0, 26.0
    body = ['<g class="bars">']
    x = x0
    for i, (lab, e) in enumerate(zip(p.labels, p.energy_j.tolist())):
        share = e / total if total > 0 and math.isfinite(e) else 0.0
        w = max(share, 0.0) * (x1 - x0)
        colour = PALETTE[i % len(PALETTE)]
        body.append(f'<rect class="bar" x="{_c(x)}" y="{_c(y)}" width="{_c(w)}" height="{_c(bar_h)}" '
                    f'fill="{colour}" data-label="{esc(lab)}" data-energy-j="{e!r}" data-share="{share!r}">'
                    f"<title>{esc(lab)}: {esc(num(e))} J</title></rect>")
        if w > 44:
            body.append(f'<text x="{_c(x + w / 2)}" y="{_c(y + bar_h / 2)}" text-anchor="middle" '
                        f'dominant-baseline="middle" fill="#ffffff">{esc(f"{100 * share:.0f}%")}</text>')
        x += w
    body.append("</g>")
    body.extend(_legend([("box", PALETTE[i % len(PALETTE)], f"{lab} {num(float(e))} J")
                         for i, (lab, e) in enumerate(zip(p.labels, p.energy_j.tolist()))], y=16, x=20))
    ty = y + bar_h + 22
    body.append('<g class="figures">')
    body.append(f'<text x="20" y="{_c(ty)}" fill="{_TEXT}">total {esc(num(total))} J; idle baseline '
                f"{esc(num(p.idle_energy_j))} J (idle power × time, inside the parts above)</text>")
    for k, (name, v) in enumerate(lines):
        value = "" if v is None else repr(v)
        body.append(f'<text x="20" y="{_c(ty + 16 * (k + 1))}" fill="{_TEXT}" data-value="{value}">'
                    f"{esc(name)}: {esc(num(v))} J</text>")
    body.append("</g>")
    return _svg("phases", height, title, desc, body)
