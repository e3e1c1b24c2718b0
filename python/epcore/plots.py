"""Matplotlib figures of the :mod:`epcore.plot_data` objects (needs ``epcore[plot]``).

Every function takes the data object and returns a
:class:`matplotlib.figure.Figure` built without :mod:`matplotlib.pyplot`:
no global figure registry, no GUI backend, safe in threads and servers
(``savefig`` renders through Agg). :func:`save` writes ``.png`` or ``.svg``.
matplotlib is imported on first use, so ``import epcore`` never needs it.

Text from data (channel names, scenario labels) is passed through
:func:`label`: matplotlib would read ``$...$`` as math and hide labels that
start with ``_``.

>>> import epcore
>>> from epcore import plot_data, plots
>>> tr = epcore.PowerTrace.from_samples({"gpu0": ([0, 10**9, 2 * 10**9], [100.0, 300.0, 300.0])})
>>> fig = plots.plot_power(plot_data.power_plot(tr))
>>> fig.axes[0].lines[0].get_xydata().tolist()
[[0.0, 100.0], [1.0, 300.0], [2.0, 300.0]]
"""

from __future__ import annotations

import importlib
import io
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .exceptions import ConfigError
from .plot_data import Bars, Histogram, JoulesPerTokenPlot, PhaseSplit, PowerPlot
from .svg import PALETTE, num, pct

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "label",
    "plot_energy_histogram",
    "plot_joules_per_token",
    "plot_phases",
    "plot_power",
    "plot_sensitivity",
    "save",
    "svg_bytes",
]

#: Extensions :func:`save` writes.
SAVE_KINDS = (".png", ".svg")

_WINDOW = "#7f7f7f"


def _figure_class() -> Any:
    """matplotlib's Figure, or a one-line error naming the extra to install."""
    try:
        return importlib.import_module("matplotlib.figure").Figure
    except ImportError:
        raise ConfigError("plots need matplotlib: pip install 'epcore[plot]'", code="missing_dependency",
                          value="matplotlib", hint="pip install 'epcore[plot]'") from None


def _ticker() -> Any:
    return importlib.import_module("matplotlib.ticker")


def label(text: str) -> str:
    """Data text as a literal matplotlib label: ``$`` escaped, a leading ``_`` kept visible.

    >>> label("$5 node"), label("_gpu")
    ('\\\\$5 node', ' _gpu')
    """
    text = str(text).replace("$", r"\$")
    return " " + text if text.startswith("_") else text


def _new(width: float = 8.0, height: float = 3.6) -> Figure:
    fig: Figure = _figure_class()(figsize=(width, height), layout="constrained")
    return fig


def plot_power(p: PowerPlot, *, title: str | None = None) -> Figure:
    """One line per channel (W); request windows shaded (``axvspan``); requests in flight on a twin axis.

    >>> import epcore
    >>> from epcore.plot_data import power_plot
    >>> s = 10**9
    >>> tr = epcore.PowerTrace.from_samples({"gpu0": ([0, 4 * s], [100.0, 100.0])})
    >>> rq = epcore.Requests.from_arrays(start_ns=[s], end_ns=[3 * s], input_tokens=[1], output_tokens=[1])
    >>> fig = plot_power(power_plot(tr, rq))
    >>> [(r.get_x(), r.get_width()) for r in fig.axes[0].patches]
    [(1.0, 2.0)]
    >>> fig.axes[1].lines[0].get_xydata().tolist()
    [[0.0, 0.0], [1.0, 1.0], [3.0, 0.0]]
    """
    fig = _new()
    ax = fig.add_subplot()
    for a, b in p.windows:
        ax.axvspan(a, b, color=_WINDOW, alpha=0.15, linewidth=0, gid="window")
    for i, ch in enumerate(p.channels):
        ax.plot(ch.x_s, ch.y, color=PALETTE[i % len(PALETTE)], linewidth=1.2, label=label(ch.name))
    ax.set_xlabel("time since start (s)")
    ax.set_ylabel(f"power ({p.unit})")
    ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
    ax.grid(True, linewidth=0.4, alpha=0.5)
    handles, labels = ax.get_legend_handles_labels()
    if p.activity is not None:
        twin = ax.twinx()
        (step,) = twin.step(p.activity.x_s, p.activity.y, where="post", color=_WINDOW, linewidth=1.0,
                            linestyle="--", label="requests in flight (right axis)")
        twin.set_ylabel("requests in flight")
        twin.set_ylim(bottom=0)
        twin.yaxis.set_major_locator(_ticker().MaxNLocator(integer=True))
        handles.append(step)
        labels.append(step.get_label())
    if handles:
        ax.legend(handles[:9], labels[:9], loc="upper right", fontsize="small", framealpha=0.85)
    ax.set_title(title or "Power over time")
    return fig


def plot_joules_per_token(j: JoulesPerTokenPlot, *, title: str | None = None) -> Figure:
    """Energy per output token in each bin, at the bin centres (gaps where no token was produced).

    >>> import epcore
    >>> from epcore.plot_data import joules_per_token_plot
    >>> s = 10**9
    >>> tr = epcore.PowerTrace.from_samples({"gpu0": ([0, 4 * s], [200.0, 200.0])})
    >>> rq = epcore.Requests.from_arrays(start_ns=[0], first_token_ns=[s], end_ns=[3 * s],
    ...                                  input_tokens=[10], output_tokens=[100])
    >>> fig = plot_joules_per_token(joules_per_token_plot(tr, rq, bin_s=1.0))
    >>> fig.axes[0].lines[0].get_xydata()[1:3].tolist()
    [[1.5, 4.0], [2.5, 4.0]]
    """
    fig = _new()
    ax = fig.add_subplot()
    ax.plot(j.x_s + j.bin_s / 2, j.joules_per_token, marker="o", markersize=3, color=PALETTE[0], linewidth=1.2,
            label=f"J per output token, {num(j.bin_s)} s bins")
    ax.set_xlabel("time since start (s)")
    ax.set_ylabel("J per output token")
    ax.set_ylim(bottom=0)
    if j.x_s.size:  # the whole trace, so quiet stretches show as quiet
        ax.set_xlim(0.0, float(j.x_s[-1] + j.bin_s))
    ax.grid(True, linewidth=0.4, alpha=0.5)
    ax.legend(loc="upper right", fontsize="small")
    ax.set_title(title or "Energy per output token over time")
    return fig


def plot_energy_histogram(h: Histogram, *, title: str | None = None) -> Figure:
    """One bar per bin: bar heights are the counts, bar edges the bin edges.

    >>> import numpy as np
    >>> fig = plot_energy_histogram(Histogram("energy_j", "J", np.array([0.0, 1.0, 2.0]), np.array([3, 1]), 4, 0))
    >>> [float(p.get_height()) for p in fig.axes[0].patches]
    [3.0, 1.0]
    """
    fig = _new(8.0, 3.2)
    ax = fig.add_subplot()
    if h.n and h.edges.size > 1:
        ax.bar(h.edges[:-1], h.counts, width=np.diff(h.edges), align="edge", color=PALETTE[0], edgecolor="white",
               linewidth=0.5)
        ax.yaxis.set_major_locator(_ticker().MaxNLocator(integer=True))
    else:
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center")
    ax.set_xlabel(f"{label(h.column)} ({label(h.unit)})")
    ax.set_ylabel("requests")
    note = f"{h.n:,} requests" + (f", {h.n_missing:,} without a value" if h.n_missing else "")
    ax.set_title(title or f"Distribution of {label(h.column)} per request ({note})")
    return fig


def plot_sensitivity(b: Bars, *, title: str | None = None) -> Figure:
    """Grouped horizontal bars: one group per lever, one bar per output; negative changes go left.

    Unknown changes (None/NaN) get no bar and an ``n/a`` label.

    >>> import numpy as np
    >>> fig = plot_sensitivity(Bars(("2x",), ("joules_per_token",), ("J per token",), np.array([[-50.0]])))
    >>> [float(p.get_width()) for p in fig.axes[0].patches]
    [-50.0]
    """
    n_l, n_o = len(b.levers), len(b.outputs)
    fig = _new(8.0, max(2.4, 0.9 + 0.22 * n_l * n_o + 0.15 * n_l))
    ax = fig.add_subplot()
    height = 0.8 / max(n_o, 1)
    centres = np.arange(n_l, dtype=np.float64)
    for k in range(n_o):
        vals = b.change_pct[:, k] if n_l else np.empty(0)
        ok = np.isfinite(vals)
        y = centres - 0.4 + height * (k + 0.5)
        bars = ax.barh(y[ok], vals[ok], height=height * 0.9, color=PALETTE[k % len(PALETTE)])
        ax.bar_label(bars, labels=[pct(float(v)) for v in vals[ok]], padding=2, fontsize="x-small")
        for yy in y[~ok]:
            ax.text(0, yy, " n/a", va="center", fontsize="x-small", color=_WINDOW)
    ax.axvline(0, color="#444444", linewidth=0.8)
    ax.set_yticks(centres, [label(v) for v in b.levers])
    ax.invert_yaxis()  # the first scenario on top, as listed
    ax.set_xlabel("change from the base (%)")
    lo, hi = ax.get_xlim()
    pad = 0.15 * (hi - lo)
    ax.set_xlim(lo - (pad if lo < 0 else 0), hi + (pad if hi > 0 else 0))
    ax.grid(True, axis="x", linewidth=0.4, alpha=0.5)
    if n_o:
        # Proxies: an output with no known change (carbon without a grid intensity) has no bar to take a colour from.
        patch = importlib.import_module("matplotlib.patches").Patch
        ax.legend(handles=[patch(color=PALETTE[k % len(PALETTE)], label=label(b.labels[k])) for k in range(n_o)],
                  loc="best", fontsize="small")
    ax.set_title(title or "Change of each figure under each scenario")
    return fig


def plot_phases(p: PhaseSplit, *, title: str | None = None) -> Figure:
    """One stacked horizontal bar of the parts (J), which add up to the total; J per token beneath.

    >>> import numpy as np
    >>> ps = PhaseSplit(("prefill", "decode"), np.array([1.0, 3.0]), {"decode": 2.0}, 4.0, 1.0)
    >>> [(float(p.get_x()), float(p.get_width())) for p in plot_phases(ps).axes[0].patches]
    [(0.0, 1.0), (1.0, 3.0)]
    """
    lines = [f"total {num(p.total_energy_j)} J; idle baseline {num(p.idle_energy_j)} J (idle power × time, "
             "inside the parts)"]
    lines += [f"{label(k)}: {num(v)} J" for k, v in p.joules_per_token.items()]
    fig = _new(8.0, 2.2 + 0.22 * len(lines))
    ax, notes = fig.subplots(2, 1, height_ratios=[1.0, 0.25 * len(lines)])
    left = 0.0
    for i, (lab, e) in enumerate(zip(p.labels, p.energy_j.tolist())):
        width = e if math.isfinite(e) else 0.0
        share = width / p.total_energy_j if p.total_energy_j > 0 else float("nan")
        ax.barh([0], [width], left=left, height=0.6, color=PALETTE[i % len(PALETTE)],
                label=f"{label(lab)} {num(e)} J ({num(100 * share)}%)")
        left += width
    ax.set_yticks([])
    ax.set_xlabel("energy (J)")
    ax.set_xlim(0, max(left, p.total_energy_j, 1e-12))
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(4, max(len(p.labels), 1)),
              fontsize="small", frameon=False)
    notes.axis("off")
    notes.text(0.0, 1.0, "\n".join(lines), fontsize="small", va="top", transform=notes.transAxes)
    fig.suptitle(title or "Where the energy went")
    return fig


def _kind(path: Path) -> str:
    kind = path.suffix.lower()
    if kind not in SAVE_KINDS:
        raise ConfigError(f"{str(path)!r}: cannot save a figure as {path.suffix or '(no extension)'!r}; "
                          f"use {' or '.join(SAVE_KINDS)}", code="invalid_argument", value=path.suffix,
                          hint="name the file .png or .svg")
    return kind


def save(fig: Figure, path: str | os.PathLike[str], *, dpi: int = 150) -> Path:
    """Write ``fig`` as PNG or SVG, by the extension of ``path`` (any other is a ConfigError).

    SVG text stays text (selectable, searchable, and escaped by matplotlib),
    with no date in the metadata, so the same figure gives the same bytes.

    >>> import pathlib, tempfile, numpy as np
    >>> fig = plot_energy_histogram(Histogram("energy_j", "J", np.array([0.0, 1.0]), np.array([2]), 2, 0))
    >>> save(fig, pathlib.Path(tempfile.mkdtemp()) / "h.svg").read_bytes().startswith(b"<?xml")
    True
    """
    p = Path(path)
    kind = _kind(p)
    if kind == ".svg":
        p.write_bytes(svg_bytes(fig))
    else:
        fig.savefig(p, format="png", dpi=dpi, metadata={"Software": None})
    return p


def svg_bytes(fig: Figure) -> bytes:
    """The figure as SVG bytes: text as ``<text>``, fixed ids, no date."""
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "epcore"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    return buf.getvalue()
