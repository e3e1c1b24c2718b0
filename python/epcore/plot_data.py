"""The data behind every epcore figure, computed once and drawn by anyone.

Each function here returns a frozen dataclass of numpy arrays (and a
JSON-ready :meth:`to_dict`, NaN → None) that :mod:`epcore.svg` (the web
console, no matplotlib) and :mod:`epcore.plots` (matplotlib) both draw, so a
figure's numbers are tested once, here, whatever renders them. Numpy only:
importing this module never imports a plotting library.

Times are seconds since ``t0_ns`` (the trace's first sample, ns since the
epoch): float seconds keep nanosecond precision over days, and an axis in
seconds reads better than one in 1.75e18 ns.

>>> import epcore
>>> from epcore.plot_data import power_plot
>>> tr = epcore.PowerTrace.from_samples({"gpu0": ([0, 10**9, 2 * 10**9], [100.0, 300.0, 300.0])})
>>> p = power_plot(tr)
>>> p.channels[0].name, p.channels[0].x_s.tolist(), p.channels[0].y.tolist()
('gpu0', [0.0, 1.0, 2.0], [100.0, 300.0, 300.0])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .attribution import DISTRIBUTION_COLUMNS, Attribution
from .economics import SteadyStateFigures
from .exceptions import ConfigError
from .request_logs import Requests
from .scenarios import Sensitivity
from .trace import PowerTrace

__all__ = [
    "Bars",
    "Histogram",
    "JoulesPerTokenPlot",
    "PhaseSplit",
    "PowerPlot",
    "Series",
    "comparison_bars",
    "downsample_min_max",
    "energy_histogram",
    "joules_per_token_plot",
    "phase_split",
    "power_plot",
    "sensitivity_bars",
]

F64 = npt.NDArray[np.float64]

#: Human labels of the steady-state figures, for bar legends.
FIGURE_LABELS: dict[str, str] = {
    "joules_per_token": "J per token",
    "wh_per_token": "Wh per token",
    "kwh_per_million_tokens": "kWh per million tokens",
    "cost_per_million_tokens": "cost per million tokens",
    "wh_per_query": "Wh per query",
    "cost_per_query": "cost per query",
    "queries_per_kwh": "queries per kWh",
    "tokens_per_kwh": "tokens per kWh",
    "g_co2_per_query": "gCO2 per query",
    "g_co2_per_million_tokens": "gCO2 per million tokens",
}

#: Units of the per-request columns a histogram can show.
COLUMN_UNITS: dict[str, str] = {
    "energy_j": "J",
    "dynamic_energy_j": "J",
    "prefill_energy_j": "J",
    "decode_energy_j": "J",
    "joules_per_output_token": "J/token",
    "joules_per_input_token": "J/token",
    "decode_joules_per_token": "J/token",
    "joules_per_token": "J/token",
    "mean_power_w": "W",
}

# More bins than this is a mistake (a bin_s of 1 ns over a day), not a figure anyone can read.
_MAX_BINS = 100_000


def _floats(a: npt.ArrayLike) -> list[float | None]:
    """A float array as a JSON-ready list: NaN and ±inf become None, never a silent token."""
    return [v if math.isfinite(v) else None for v in np.asarray(a, dtype=np.float64).tolist()]


def _bad(name: str, value: object, reason: str, hint: str | None = None) -> ConfigError:
    return ConfigError(f"{name} = {value!r}: {reason}", code="invalid_argument", reason=reason,
                       value=repr(value)[:64], hint=hint)


@dataclass(frozen=True)
class Series:
    """One line: ``y`` against ``x_s`` (seconds since the plot's ``t0_ns``); NaN where missing."""

    name: str
    x_s: F64
    y: F64

    def __len__(self) -> int:
        return int(self.x_s.size)

    def to_dict(self) -> dict[str, Any]:
        """``{"name", "x_s", "y"}`` with None where a value is missing.

        >>> import numpy as np
        >>> Series("a", np.array([0.0, 1.0]), np.array([5.0, np.nan])).to_dict()
        {'name': 'a', 'x_s': [0.0, 1.0], 'y': [5.0, None]}
        """
        return {"name": self.name, "x_s": _floats(self.x_s), "y": _floats(self.y)}


# --- power over time ---------------------------------------------------------------------


@dataclass(frozen=True)
class PowerPlot:
    """Power of every channel over time, with the requests' windows and how many were in flight.

    ``windows`` are the spans covered by at least one request (the union of
    the requests' ``[start, end]``: overlapping requests shade the same time
    once, and a million-request log stays a few thousand rectangles).
    ``activity`` is a step function (each ``y`` holds from its ``x_s`` to the
    next) of requests in flight; None without a request log.
    """

    t0_ns: int
    channels: tuple[Series, ...]
    windows: tuple[tuple[float, float], ...]
    activity: Series | None
    unit: str = "W"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; NaN → None."""
        return {
            "t0_ns": self.t0_ns,
            "unit": self.unit,
            "channels": [c.to_dict() for c in self.channels],
            "windows": [[a, b] for a, b in self.windows],
            "activity": None if self.activity is None else self.activity.to_dict(),
        }


def downsample_min_max(x: F64, y: F64, max_points: int) -> tuple[F64, F64]:
    """At most ``max_points`` points: each of ``max_points // 2`` buckets keeps its min and its max.

    A mean or a stride would shave off exactly the peaks a power plot is read
    for; the min and max of each bucket, in time order, keep the envelope. A
    bucket whose values are all NaN keeps one NaN point, so gaps stay gaps.

    >>> import numpy as np
    >>> x = np.arange(10.0); y = np.array([1, 9, 1, 1, 1, 1, 1, 0, 1, 1.0])
    >>> xs, ys = downsample_min_max(x, y, 4)
    >>> xs.tolist(), ys.tolist()
    ([0.0, 1.0, 5.0, 7.0], [1.0, 9.0, 1.0, 0.0])
    """
    n = int(x.size)
    if n <= max_points:
        return x, y
    n_buckets = max(1, max_points // 2)
    bounds = np.linspace(0, n, n_buckets + 1).astype(np.int64)
    nan = np.isnan(y)
    lo_vals = np.where(nan, np.inf, y)
    hi_vals = np.where(nan, -np.inf, y)
    keep: list[int] = []
    for b in range(n_buckets):
        s, e = int(bounds[b]), int(bounds[b + 1])
        if e <= s:
            continue
        i_lo = s + int(np.argmin(lo_vals[s:e]))
        i_hi = s + int(np.argmax(hi_vals[s:e]))
        if nan[i_lo]:  # every value in the bucket is missing
            keep.append(s)
        elif i_lo == i_hi:
            keep.append(i_lo)
        else:
            keep.extend(sorted((i_lo, i_hi)))
    idx = np.asarray(keep, dtype=np.int64)
    return x[idx], y[idx]


def _t0_ns(trace: PowerTrace) -> int:
    starts = [int(s.t_ns[0]) for s in trace.samples.values() if len(s)]
    return min(starts) if starts else 0


def _t_end_ns(trace: PowerTrace) -> int:
    ends = [int(s.t_ns[-1]) for s in trace.samples.values() if len(s)]
    return max(ends) if ends else 0


def _seconds_since(t_ns: npt.ArrayLike, t0_ns: int) -> F64:
    # Subtract in int64 first: 1.75e18 ns as a float has 256 ns steps.
    return np.asarray((np.asarray(t_ns, dtype=np.int64) - np.int64(t0_ns)), dtype=np.float64) / 1e9


def _channel_power(trace: PowerTrace, name: str, t0_ns: int) -> tuple[F64, F64]:
    """A channel as power in W: as read, or from a cumulative counter, Δenergy ÷ Δt at interval midpoints."""
    s = trace.samples[name]
    x = _seconds_since(s.t_ns, t0_ns)
    if trace.quantity == "power" or trace.counter_unit_j is None:
        return x, np.asarray(s.values, dtype=np.float64)
    if s.t_ns.size < 2:
        return np.empty(0), np.empty(0)
    dt_s = np.diff(s.t_ns).astype(np.float64) / 1e9
    d_j = np.diff(s.values) * trace.counter_unit_j
    with np.errstate(divide="ignore", invalid="ignore"):
        p = d_j / dt_s
    # A counter that went down wrapped or was reset: no power is known for that interval.
    p = np.where((d_j < 0) | (dt_s <= 0), np.nan, p)
    return (x[:-1] + x[1:]) / 2, p


def _request_windows_ns(requests: Requests, offset_ns: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    shift = np.int64(offset_ns)
    return np.asarray(requests.start_ns, dtype=np.int64) + shift, np.asarray(requests.end_ns, dtype=np.int64) + shift


def _union(starts: F64, ends: F64, max_spans: int) -> tuple[tuple[float, float], ...]:
    """The union of ``[start, end]`` intervals, sorted; at most ``max_spans`` of them.

    Past ``max_spans`` (a sparse log of a million short requests), only the
    ``max_spans - 1`` widest gaps are kept: shading narrower than a pixel tells
    nothing, and the requests-in-flight line still shows every request.
    """
    if starts.size == 0:
        return ()
    order = np.argsort(starts, kind="stable")
    s, e = starts[order], np.maximum.accumulate(ends[order])
    gaps = s[1:] - e[:-1]
    new = np.flatnonzero(gaps > 0)
    if new.size + 1 > max_spans:
        keep = max_spans - 1
        new = np.sort(new[np.argpartition(gaps[new], new.size - keep)[new.size - keep:]]) if keep else new[:0]
    first = np.concatenate([[0], new + 1])
    last = np.concatenate([new, [s.size - 1]])
    return tuple(zip(s[first].tolist(), e[last].tolist()))


def _activity(starts: F64, ends: F64, max_points: int) -> Series:
    """Requests in flight as a post-step series: the count after every start and end."""
    times = np.concatenate([starts, ends])
    deltas = np.concatenate([np.ones(starts.size), -np.ones(ends.size)])
    uniq, inverse = np.unique(times, return_inverse=True)
    counts = np.cumsum(np.bincount(inverse, weights=deltas, minlength=uniq.size))
    x = np.asarray(uniq, dtype=np.float64)
    y = np.asarray(counts, dtype=np.float64)
    if x.size and x[0] > 0:
        x = np.concatenate([[0.0], x])
        y = np.concatenate([[0.0], y])
    x, y = downsample_min_max(x, y, max_points)
    return Series("requests in flight", x, y)


def _check_offset(offset_ns: object) -> int:
    if isinstance(offset_ns, bool) or not isinstance(offset_ns, (int, np.integer)):
        raise _bad("offset_ns", offset_ns, "must be an integer number of ns")
    return int(offset_ns)


def power_plot(
    trace: PowerTrace,
    requests: Requests | None = None,
    *,
    offset_ns: int = 0,
    max_points: int = 2000,
) -> PowerPlot:
    """Power of each channel over time (W), with the request windows and requests in flight.

    Each channel is downsampled to at most ``max_points`` points, keeping
    each bucket's min and max so peaks survive (:func:`downsample_min_max`).
    An energy counter is drawn as Δenergy ÷ Δt. ``offset_ns`` is added to
    every request time, as in :func:`epcore.attribute`; a trace without a
    time zone cannot be joined with a request log unless it is given.

    >>> import epcore
    >>> s = 10**9
    >>> tr = epcore.PowerTrace.from_samples({"gpu0": ([0, 4 * s, 8 * s], [100.0, 300.0, 100.0])})
    >>> rq = epcore.Requests.from_arrays(start_ns=[1 * s, 2 * s], end_ns=[3 * s, 5 * s],
    ...                                  input_tokens=[10, 10], output_tokens=[5, 5])
    >>> p = power_plot(tr, rq)
    >>> p.windows, p.activity.x_s.tolist(), p.activity.y.tolist()
    (((1.0, 5.0),), [0.0, 1.0, 2.0, 3.0, 5.0], [0.0, 1.0, 2.0, 1.0, 0.0])
    """
    offset = _check_offset(offset_ns)
    if isinstance(max_points, bool) or not isinstance(max_points, (int, np.integer)) or max_points < 4:
        raise _bad("max_points", max_points, "must be an integer >= 4")
    t0 = _t0_ns(trace)
    channels = []
    for name in trace.channels:
        x, y = _channel_power(trace, name, t0)
        x, y = downsample_min_max(x, y, int(max_points))
        channels.append(Series(name, x, y))
    windows: tuple[tuple[float, float], ...] = ()
    activity = None
    if requests is not None:
        if offset == 0:
            trace.require_absolute_time()
        s_ns, e_ns = _request_windows_ns(requests, offset)
        starts, ends = _seconds_since(s_ns, t0), _seconds_since(e_ns, t0)
        windows = _union(starts, ends, int(max_points))
        activity = _activity(starts, ends, int(max_points))
    return PowerPlot(t0_ns=t0, channels=tuple(channels), windows=windows, activity=activity)


# --- energy per output token over time ----------------------------------------------------


@dataclass(frozen=True)
class JoulesPerTokenPlot:
    """Energy per output token in time bins.

    ``energy_j[i]`` is the trace's energy (every channel) in bin ``i``
    (``[x_s[i], x_s[i] + bin_s)``, the last bin cut at the trace's end);
    ``output_tokens[i]`` the output tokens produced in it, each request's
    tokens spread evenly over its decode window (first token, or start
    without one, to end); ``joules_per_token`` their ratio, NaN where no token
    was produced (None in :meth:`to_dict`).
    """

    t0_ns: int
    bin_s: float
    x_s: F64
    energy_j: F64
    output_tokens: F64
    joules_per_token: F64

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; NaN → None."""
        return {
            "t0_ns": self.t0_ns,
            "bin_s": self.bin_s,
            "x_s": _floats(self.x_s),
            "energy_j": _floats(self.energy_j),
            "output_tokens": _floats(self.output_tokens),
            "joules_per_token": _floats(self.joules_per_token),
        }


def _nice_ceil(v: float) -> float:
    """The smallest 1, 2 or 5 × 10^k at or above ``v`` (> 0)."""
    k = math.floor(math.log10(v))
    for m in (1.0, 2.0, 5.0, 10.0):
        c = m * 10.0**k
        if c >= v * (1 - 1e-12):
            return c
    return 10.0 ** (k + 1)


def _default_bin_s(trace: PowerTrace, span_ns: int) -> float:
    # About 60 bins over the trace, never finer than its sampling: a bin without a sample is interpolation.
    steps = [np.median(np.diff(s.t_ns)) for s in trace.samples.values() if len(s) > 1]
    step_s = float(max(steps)) / 1e9 if steps else 0.0
    target = max(span_ns / 1e9 / 60, step_s, 1e-6)
    return _nice_ceil(target)


def _prorated_tokens(a_s: F64, b_s: F64, tokens: F64, edges_s: F64) -> F64:
    """Tokens per bin, each request's spread uniformly over ``[a, b]``; a zero-length window counts at ``b``.

    The cumulative count is Σ w·(ramp(t − a) − ramp(t − b)) with w = tokens ÷ (b − a):
    sorting the starts and ends turns it into two prefix sums, O((n + bins) log n).
    """
    out = np.zeros(max(edges_s.size - 1, 0))
    if edges_s.size < 2 or tokens.size == 0:
        return out
    point = b_s <= a_s
    spread = ~point
    w = tokens[spread] / (b_s[spread] - a_s[spread])

    def ramp_sum(at: F64, weights: F64) -> F64:
        # Σ_i weights_i · max(edge − at_i, 0) at every edge.
        order = np.argsort(at, kind="stable")
        at_sorted, w_sorted = at[order], weights[order]
        cw = np.concatenate([[0.0], np.cumsum(w_sorted)])
        cwa = np.concatenate([[0.0], np.cumsum(w_sorted * at_sorted)])
        k = np.searchsorted(at_sorted, edges_s, side="right")
        return np.asarray(edges_s * cw[k] - cwa[k], dtype=np.float64)

    if spread.any():
        cum = ramp_sum(a_s[spread], w) - ramp_sum(b_s[spread], w)
        out += np.diff(cum)
    if point.any():
        at = b_s[point]
        inside = (at >= edges_s[0]) & (at <= edges_s[-1])
        idx = np.clip(np.searchsorted(edges_s, at[inside], side="right") - 1, 0, out.size - 1)
        np.add.at(out, idx, tokens[point][inside])
    # Prefix sums leave 1e-13-sized residues where no request ran: those bins had no token.
    out[np.abs(out) < 1e-9 * max(1.0, float(tokens.sum()))] = 0.0
    return out


def joules_per_token_plot(
    trace: PowerTrace,
    requests: Requests,
    *,
    bin_s: float | None = None,
    offset_ns: int = 0,
) -> JoulesPerTokenPlot:
    """Energy per output token in time bins over the trace.

    Each bin's energy is the Rust core's window integral
    (:meth:`PowerTrace.integrate` with ``windows=``), so the bins add up to
    the energy over their span. ``bin_s`` defaults to a 1-2-5 step giving
    about 60 bins, never finer than the trace's sampling. Tokens produced
    outside the trace are not counted.

    >>> import epcore
    >>> s = 10**9
    >>> tr = epcore.PowerTrace.from_samples({"gpu0": ([0, 4 * s], [200.0, 200.0])})
    >>> rq = epcore.Requests.from_arrays(start_ns=[0], first_token_ns=[1 * s], end_ns=[3 * s],
    ...                                  input_tokens=[10], output_tokens=[100])
    >>> j = joules_per_token_plot(tr, rq, bin_s=1.0)
    >>> j.energy_j.tolist(), j.output_tokens.tolist(), j.to_dict()["joules_per_token"]
    ([200.0, 200.0, 200.0, 200.0], [0.0, 50.0, 50.0, 0.0], [None, 4.0, 4.0, None])
    """
    offset = _check_offset(offset_ns)
    if offset == 0:
        trace.require_absolute_time()
    t0, t_end = _t0_ns(trace), _t_end_ns(trace)
    span = t_end - t0
    if span <= 0:
        raise ConfigError("the trace spans no time: energy per token over time needs at least two sample times",
                          code="too_short", value=str(span))
    if bin_s is None:
        bin_s = _default_bin_s(trace, span)
    if isinstance(bin_s, bool) or not isinstance(bin_s, (int, float)) or not math.isfinite(bin_s) or bin_s <= 0:
        raise _bad("bin_s", bin_s, "must be a number of seconds > 0")
    bin_ns = max(1, round(float(bin_s) * 1e9))
    n_bins = -(-span // bin_ns)
    if n_bins > _MAX_BINS:
        raise _bad("bin_s", bin_s, f"gives {n_bins:,} bins over {span / 1e9:g} s (at most {_MAX_BINS:,})",
                   hint=f"use bin_s >= {span / 1e9 / _MAX_BINS:.3g}")
    edges_ns = t0 + np.arange(n_bins + 1, dtype=np.int64) * np.int64(bin_ns)
    edges_ns[-1] = t_end
    windows = np.stack([edges_ns[:-1], edges_ns[1:]], axis=1)
    energy = trace.integrate(windows=windows).window_energy_j
    energy_j = np.zeros(n_bins) if energy is None else np.asarray(energy, dtype=np.float64)
    shift = np.int64(offset)
    first = np.asarray(requests.first_token_ns.filled(0), dtype=np.int64)
    has_first = np.asarray(np.logical_not(np.ma.getmaskarray(requests.first_token_ns)))
    decode_start = np.where(has_first, first, np.asarray(requests.start_ns, dtype=np.int64)) + shift
    end = np.asarray(requests.end_ns, dtype=np.int64) + shift
    tokens = _prorated_tokens(_seconds_since(decode_start, t0), _seconds_since(end, t0),
                              np.asarray(requests.output_tokens, dtype=np.float64), _seconds_since(edges_ns, t0))
    with np.errstate(divide="ignore", invalid="ignore"):
        jpt = np.where(tokens > 0, energy_j / np.where(tokens > 0, tokens, 1.0), np.nan)
    return JoulesPerTokenPlot(t0_ns=t0, bin_s=bin_ns / 1e9, x_s=_seconds_since(edges_ns[:-1], t0),
                              energy_j=energy_j, output_tokens=tokens, joules_per_token=jpt)


# --- distribution of a per-request figure --------------------------------------------------


@dataclass(frozen=True)
class Histogram:
    """Counts of a per-request column in ``len(edges) - 1`` bins; ``n`` values counted, ``n_missing`` without one."""

    column: str
    unit: str
    edges: F64
    counts: npt.NDArray[np.int64]
    n: int
    n_missing: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"column": self.column, "unit": self.unit, "edges": _floats(self.edges),
                "counts": [int(c) for c in self.counts.tolist()], "n": self.n, "n_missing": self.n_missing}


def energy_histogram(attribution: Attribution, *, column: str = "energy_j", bins: int = 30) -> Histogram:
    """Histogram of a per-request figure of an attribution (requests without one are counted apart).

    >>> import epcore
    >>> s = 10**9
    >>> tr = epcore.PowerTrace.from_samples({"gpu0": ([0, 10 * s], [200.0, 200.0])})
    >>> rq = epcore.Requests.from_arrays(start_ns=[2 * s, 2 * s], end_ns=[6 * s, 6 * s],
    ...                                  input_tokens=[100, 100], output_tokens=[31, 31])
    >>> h = energy_histogram(epcore.attribute(tr, rq, weight="equal"), bins=2)
    >>> h.counts.tolist(), h.n, h.n_missing, h.unit
    ([0, 2], 2, 0, 'J')
    """
    if column not in COLUMN_UNITS:
        raise _bad("column", column, "not a per-request figure",
                   hint=f"one of {', '.join(sorted(set(DISTRIBUTION_COLUMNS) | set(COLUMN_UNITS)))}")
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or not 1 <= bins <= 10_000:
        raise _bad("bins", bins, "must be an integer from 1 to 10000")
    col = attribution.requests[column]
    data = np.asarray(np.ma.getdata(col), dtype=np.float64)
    valid = ~np.ma.getmaskarray(col) & np.isfinite(data)
    values = data[valid]
    if values.size == 0:
        return Histogram(column, COLUMN_UNITS[column], np.empty(0), np.empty(0, dtype=np.int64), 0, int(data.size))
    counts, edges = np.histogram(values, bins=int(bins))
    return Histogram(column, COLUMN_UNITS[column], np.asarray(edges, dtype=np.float64),
                     np.asarray(counts, dtype=np.int64), int(values.size), int(data.size - values.size))


# --- sensitivity bars ---------------------------------------------------------------------


@dataclass(frozen=True)
class Bars:
    """Relative change of each output under each lever: ``change_pct[lever, output]`` in % (NaN: unknown)."""

    levers: tuple[str, ...]
    outputs: tuple[str, ...]
    labels: tuple[str, ...]
    change_pct: F64

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; unknown changes (carbon without a grid intensity) are None."""
        return {"levers": list(self.levers), "outputs": list(self.outputs), "labels": list(self.labels),
                "change_pct": [_floats(row) for row in self.change_pct]}


_FIGURES = tuple(FIGURE_LABELS)


def sensitivity_bars(
    sens: Sensitivity,
    outputs: Sequence[str] = ("joules_per_token", "cost_per_million_tokens", "g_co2_per_query"),
) -> Bars:
    """The bars of a sensitivity analysis: 100 × each row's relative change of each output.

    >>> import epcore
    >>> b = sensitivity_bars(epcore.sensitivity(power_w=5600, tokens_per_s=2500, scenarios={"price": 1.25}))
    >>> b.levers, b.labels, b.to_dict()["change_pct"]
    (('price ×1.25',), ('J per token', 'cost per million tokens', 'gCO2 per query'), [[0.0, 25.0, None]])
    """
    outs = tuple(outputs)
    if not outs:
        raise _bad("outputs", outs, "name at least one figure")
    for o in outs:
        if o not in _FIGURES:
            raise _bad("outputs", o, "not a steady-state figure", hint=f"one of {', '.join(_FIGURES)}")
    change = np.full((len(sens.rows), len(outs)), np.nan)
    for i, r in enumerate(sens.rows):
        for j, o in enumerate(outs):
            v = r.relative_change.get(o)
            if v is not None and math.isfinite(v):
                change[i, j] = 100.0 * v
    return Bars(levers=tuple(r.scenario for r in sens.rows), outputs=outs,
                labels=tuple(FIGURE_LABELS[o] for o in outs), change_pct=change)


def comparison_bars(
    scenarios: Sequence[tuple[str, SteadyStateFigures]],
    outputs: Sequence[str] = ("joules_per_token", "cost_per_million_tokens", "g_co2_per_query"),
) -> Bars:
    """Scenarios side by side: each output's change in % against the first scenario (the base).

    >>> import epcore
    >>> a = epcore.steady_state(power_w=5600, tokens_per_s=2500)
    >>> b = epcore.steady_state(power_w=5600, tokens_per_s=5000)
    >>> comparison_bars([("base", a), ("2x", b)], outputs=("joules_per_token",)).change_pct.tolist()
    [[0.0], [-50.0]]
    """
    outs = tuple(outputs)
    for o in outs:
        if o not in _FIGURES:
            raise _bad("outputs", o, "not a steady-state figure", hint=f"one of {', '.join(_FIGURES)}")
    if not scenarios:
        raise _bad("scenarios", [], "compare at least one scenario")
    base = scenarios[0][1]
    change = np.full((len(scenarios), len(outs)), np.nan)
    for i, (_, fig) in enumerate(scenarios):
        for j, o in enumerate(outs):
            b, v = getattr(base, o), getattr(fig, o)
            if b is not None and v is not None and b != 0 and math.isfinite(b) and math.isfinite(v):
                change[i, j] = 100.0 * (v / b - 1.0)
    return Bars(levers=tuple(str(n) for n, _ in scenarios), outputs=outs,
                labels=tuple(FIGURE_LABELS[o] for o in outs), change_pct=change)


# --- where the energy went ----------------------------------------------------------------


@dataclass(frozen=True)
class PhaseSplit:
    """Where a trace's energy went, in parts that add up to ``total_energy_j``.

    ``prefill`` and ``decode`` are the requests' phases (idle power included),
    ``unsplit`` requests without a first token (only when there are any),
    ``unattributed`` the time no request was active. ``idle_energy_j`` (idle
    power × time over the whole span) is *not* a part: it is the baseline
    inside all of them, shown beside them. ``joules_per_token`` are the
    attribution's per-phase ratios (None where undefined).
    """

    labels: tuple[str, ...]
    energy_j: F64
    joules_per_token: dict[str, float | None]
    total_energy_j: float
    idle_energy_j: float

    @property
    def share(self) -> F64:
        """Each part's fraction of the total (NaN when the total is 0)."""
        if self.total_energy_j == 0:
            return np.full(self.energy_j.size, np.nan)
        return np.asarray(self.energy_j / self.total_energy_j, dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"labels": list(self.labels), "energy_j": _floats(self.energy_j), "share": _floats(self.share),
                "joules_per_token": dict(self.joules_per_token), "total_energy_j": self.total_energy_j,
                "idle_energy_j": self.idle_energy_j}


def phase_split(attribution: Attribution) -> PhaseSplit:
    """Prefill, decode, (unsplit) and unattributed energy of an attribution: they add up to its total.

    >>> import epcore
    >>> s = 10**9
    >>> tr = epcore.PowerTrace.from_samples({"gpu0": ([0, 10 * s], [200.0, 200.0])})
    >>> rq = epcore.Requests.from_arrays(start_ns=[2 * s], first_token_ns=[3 * s], end_ns=[6 * s],
    ...                                  input_tokens=[100], output_tokens=[31])
    >>> p = phase_split(epcore.attribute(tr, rq, idle_w=100.0))
    >>> p.labels, p.energy_j.tolist(), p.total_energy_j
    (('prefill', 'decode', 'unattributed'), [200.0, 600.0, 1200.0], 2000.0)
    """
    a = attribution
    parts = [("prefill", a.prefill_energy_j), ("decode", a.decode_energy_j)]
    if a.unsplit_energy_j != 0:
        parts.append(("unsplit", a.unsplit_energy_j))
    parts.append(("unattributed", a.unattributed_energy_j))
    jpt = {
        "prefill (per input token)": a.joules_per_input_token,
        "decode (per token after the first)": a.decode_joules_per_token,
        "all (per output token)": a.joules_per_output_token,
        "all (per input + output token)": a.joules_per_token,
    }
    return PhaseSplit(labels=tuple(n for n, _ in parts), energy_j=np.array([v for _, v in parts], dtype=np.float64),
                      joules_per_token=jpt, total_energy_j=float(a.total_energy_j),
                      idle_energy_j=float(a.idle_energy_j))
