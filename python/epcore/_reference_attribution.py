"""The reference oracle of per-request energy attribution: plain, slow, exact.

This restates the attribution specification (sweep line over request events,
weights, idle and dynamic energy, coverage, span and steady state) in the most
literal way, for the property tests in ``tests/test_attribution_props.py``.
The regression estimate is not restated here.

Everything that is a sum of energies is exact (:class:`fractions.Fraction`):
each sweep segment's energy on each channel is the exact window integral of
``_reference.py`` (the clipped sample segments), and every request's share is
``E * w / W`` in exact rationals. Nothing is fast: every segment is clipped
against every sample segment, and every request is looked at for every
segment.

The rules, as read here (choices where the text leaves room are marked *):

- ``offset_ns`` is added to every request time first.
- A request with ``end < start`` (or a first token outside ``[start, end]``*)
  is ``invalid_window`` naming its row (``index``).
- Phases: prefill ``[s, f]`` and decode ``[f, e]`` with a first token, else
  one phase ``whole = [s, e]``.
- Weights ("equal", "phase", "tokens"), in tokens per nanosecond (only ratios
  matter): prefill ``pw * I / (f - s)``, decode ``max(O - 1, 0) / (e - f)``,
  whole ``(pw * I + O) / (e - s)``.
- Span: ``span=(a, b)``, else the steady-state window, else ``[min first
  sample, max last sample]`` over channels. Event times = every ``s, f, e``
  plus the span bounds; only segments inside the span count.
- Each segment ``[x_k, x_{k+1}]`` and channel ``c``: ``E_ck``, ``cov_ck``;
  the active requests (mapped to ``c``, a phase containing the segment) share
  ``E_ck`` by weight, equally when all weigh 0; nobody active: unattributed.
- Idle: ``None``/``"off"`` (0), a float (every channel), a mapping (channel ->
  W; a channel missing from it is an error*), or ``"auto"``, estimated from
  the whole trace (never clipped to a span): the median (mean of the two
  middle values for an even count*) of the channel's readings whose closed
  time range meets no (unclipped, closed) request window ``[s, e]`` mapped
  to the channel, when there are at least 5; else the nearest-rank 5th
  percentile ``sorted[ceil(0.05 n) - 1]`` of all its readings (0 W, source
  "no_readings", when it has none). Readings: the accepted samples* (NaN
  rows dropped, small negatives clamped to 0 W, identical duplicates
  dropped), or for a counter each interval between consecutive samples with
  a non-negative difference, as its mean power over ``[t_i, t_i+1]``.
  ``idle_source`` is per channel*: "off", "given", "idle_segments",
  "percentile" or "no_readings".
- Coverage: covered ns of the request's window on its channels over
  ``duration * n_channels``; with a span (given or steady), the window and
  its duration are those clipped to the span* (a request only partly in the
  span is not "partly outside the trace"). A zero-length window: 1.0 when it
  meets ``[first, last]`` sample of one of its channels, else 0. A request
  that misses the span (or touches it at one point only, having a positive
  length) has coverage 0 and reason "outside the span"*. Otherwise coverage
  0: values None, reason "in a gap of the trace" when the (clipped) window
  meets ``[first, last]`` of one of its channels (closed*), else "outside
  the trace"; ``0 < coverage < 1``: reason "partly outside the trace
  (coverage 0.43)" (two decimals).
- ``clock_mismatch`` when there are requests and none of their windows
  ``[s, e]`` meets ``[first sample, last sample]`` of the trace (closed,
  over all channels)*: requests sitting in a gap of the trace, or outside a
  span, are not a clock problem (they get coverage 0 and a reason). It is
  checked before the span and the steady state*.
- Steady state: ``B = batch_size`` or the most requests whose ``[s, e]``
  contains a common segment of positive length*; window ``[F[B-1],
  E[N-B-1]]``; ``N <= B``, ``B < 1`` or ``end <= start``* is
  ``invalid_argument``. ``span`` together with ``steady_state`` is
  ``invalid_argument``*.
- Per-token figures divide by the tokens "counted" inside the clip (the
  span; without one, the request's own counts): with ``inside(x, y)`` the
  part of ``[x, y]`` in the clip (a point: 1 or 0), a request with a first
  token counts ``I * inside(s, f)`` input, ``max(O - 1, 0) * inside(f, e)``
  decode and ``[O > 0 and f in the clip] + decode`` output tokens; without,
  ``I * inside(s, e)`` input, ``O * inside(s, e)`` output, 0 decode; a
  request without energy (coverage 0) counts none*. The
  totals are ratios of sums over the requests with energy (the prefill
  divisor, ``counted_prefill_tokens``, over those with a first token).
- The per-request time columns are the times after ``offset_ns``*;
  ``mean_power_w`` divides by the (clipped) duration.

Besides the public names, the result has ``"exact"``: the exact values
(Fractions) of the top-level energies and, per request, of ``energy_j`` and
``dynamic_energy_j``, and an error scale for each (``*_scale``: the same sums
with every sample segment at its peak power, plus 1e-3 of the energy of the
sample segments the sweep segments' edges cut, so that 1e-9 of the scale
bounds a float implementation's interpolation and cancellation errors).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .exceptions import ConfigError, TraceError

if TYPE_CHECKING:
    from ._reference import ReferenceTrace

__all__ = ["attribute_reference"]

_NS_PER_S = 10**9
_WEIGHTS = ("equal", "phase", "tokens")


# --------------------------------------------------------------------------- small helpers


def _bad(name: str, value: object, reason: str) -> ConfigError:
    return ConfigError(f"{name} = {value}: {reason}", code="invalid_argument", value=str(value)[:64], reason=reason)


def _utc(ns: int) -> str:
    sec, rem = divmod(int(ns), _NS_PER_S)
    try:
        text = datetime.fromtimestamp(sec, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return f"{ns} ns"
    return f"{text}.{rem:09d}Z"


def _energy(trace: ReferenceTrace, a: int, b: int) -> Fraction:
    """Exact energy of ``[a, b]`` on one channel (the window reference, segment by segment)."""
    return sum((s.energy_j(trace.opts, a, b) for s in trace.segments), Fraction(0))


def _covered(trace: ReferenceTrace, a: int, b: int) -> int:
    return sum(s.covered_ns(trace.opts, a, b) for s in trace.segments)


def _peak(trace: ReferenceTrace, a: int, b: int) -> Fraction:
    """The energy of ``[a, b]`` if every sample segment ran at its peak power: an error scale."""
    total = Fraction(0)
    for s in trace.segments:
        x0, x1 = max(s.a.t_ns, a), min(s.b.t_ns, b)
        if x1 <= x0 or not s.integrated(trace.opts.rule):
            continue
        if trace.opts.rule == "counter":
            assert s.delta is not None
            total += abs(s.delta) * trace.opts.unit_j * Fraction(x1 - x0, s.dt_ns)
        else:
            total += max(abs(Fraction(s.a.value)), abs(Fraction(s.b.value))) * Fraction(x1 - x0, _NS_PER_S)
    return total


def _cut(trace: ReferenceTrace, a: int, b: int) -> Fraction:
    """The energy of the sample segments an edge of ``[a, b]`` cuts, plus 1e-18 of the energy up to
    ``b``: what an edge interpolation (or a difference of cumulative sums) is accurate relative to."""
    opts = trace.opts
    total = Fraction(0)
    for s in trace.segments:
        if s.a.t_ns < a < s.b.t_ns or s.a.t_ns < b < s.b.t_ns:
            total += abs(s.energy_j(opts))
    cumulative = sum((abs(s.energy_j(opts, None, b)) for s in trace.segments), Fraction(0))
    return total + cumulative / 10**18


def _scale(trace: ReferenceTrace, a: int, b: int) -> Fraction:
    """The error scale of the energy of ``[a, b]``: 1e-9 of it is 1e-9 of the peak-power energy plus
    1e-12 of the cut segments' energy."""
    return _peak(trace, a, b) + _cut(trace, a, b) / 1000


def _readings(trace: ReferenceTrace) -> list[tuple[int, int, Fraction]]:
    """``(from, to, power)`` of the channel's power readings: each accepted sample ``(t, t, W)``,
    or for a counter each interval between consecutive samples whose difference is not negative
    (a wrap or a reset says nothing about idle power), with its mean power."""
    if trace.opts.rule == "counter":
        out = []
        for s in trace.segments:
            assert s.delta is not None
            if s.kind == "":
                out.append((s.a.t_ns, s.b.t_ns, s.delta * trace.opts.unit_j / Fraction(s.dt_ns, _NS_PER_S)))
        return out
    return [(s.t_ns, s.t_ns, Fraction(s.value)) for s in trace.samples]


def _median(xs: Sequence[Fraction]) -> Fraction:
    ys = sorted(xs)
    n = len(ys)
    mid = n // 2
    return ys[mid] if n % 2 else (ys[mid - 1] + ys[mid]) / 2


def _nearest_rank_p5(xs: Sequence[Fraction]) -> Fraction:
    ys = sorted(xs)
    k = -(-len(ys) // 20)  # ceil(0.05 n), exactly
    return ys[k - 1]


def _distribution(values: list[Fraction]) -> dict[str, float] | None:
    if not values:
        return None
    import numpy as np

    xs = np.array([float(v) for v in values], dtype=np.float64)
    return {
        "p50": float(np.percentile(xs, 50)),
        "p90": float(np.percentile(xs, 90)),
        "p99": float(np.percentile(xs, 99)),
        "mean": float(sum(values, Fraction(0)) / len(values)),
        "min": float(min(values)),
        "max": float(max(values)),
    }


def _f(x: Fraction | None) -> float | None:
    return None if x is None else float(x)


def _div(num: Fraction | None, den: Fraction | int) -> Fraction | None:
    if num is None or den == 0:
        return None
    return Fraction(num) / den


def _integration_options(rule: str, options: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of the window reference: ``max_gap_s`` is turned into ``max_gap_ns`` as
    ``epcore.options`` does; ``counter_unit`` (a name) into ``counter_unit_j``."""
    kw = dict(options)
    kw["rule"] = rule
    if "max_gap_s" in kw:
        g = kw.pop("max_gap_s")
        if g is not None:
            if not (math.isfinite(g) and g > 0):
                raise _bad("max_gap_s", g, "must be finite and > 0")
            kw["max_gap_ns"] = max(1, round(g * 1e9))
    if "counter_unit" in kw:
        from .integration import COUNTER_UNITS_J

        kw["counter_unit_j"] = COUNTER_UNITS_J[kw.pop("counter_unit")]
    return kw


# --------------------------------------------------------------------------- requests


class _Req:
    """One request, times after the offset."""

    def __init__(self, index: int, row: Mapping[str, Any], offset_ns: int) -> None:
        self.index = index
        self.row = row
        self.request_id = row.get("request_id")
        self.model = row.get("model")
        self.s = int(row["start_ns"]) + offset_ns
        f = row.get("first_token_ns")
        self.f = None if f is None else int(f) + offset_ns
        self.e = int(row["end_ns"]) + offset_ns
        self.I = int(row["input_tokens"])
        self.O = int(row["output_tokens"])
        self.channels: list[str] = []

    def phases(self) -> list[tuple[str, int, int]]:
        if self.f is None:
            return [("whole", self.s, self.e)]
        return [("prefill", self.s, self.f), ("decode", self.f, self.e)]

    def phase_at(self, a: int, b: int) -> str | None:
        """The phase whose interval contains the segment ``[a, b]`` (``a < b``), if any."""
        for name, lo, hi in self.phases():
            if lo <= a and b <= hi and lo < hi:
                return name
        return None

    def weight(self, phase: str, weight: str, pw: Fraction) -> Fraction:
        if weight == "equal":
            return Fraction(1)
        if weight == "phase":
            return pw if phase == "prefill" else Fraction(1)
        # tokens per ns (the segment exists, so the phase has positive length)
        if phase == "prefill":
            assert self.f is not None
            return pw * self.I / (self.f - self.s)
        if phase == "decode":
            assert self.f is not None
            return Fraction(max(self.O - 1, 0), self.e - self.f)
        return (pw * self.I + self.O) / (self.e - self.s)


def _read_requests(requests: Sequence[Mapping[str, Any]], offset_ns: int) -> list[_Req]:
    out = []
    for i, row in enumerate(requests):
        r = _Req(i, row, offset_ns)
        if r.e < r.s:
            raise TraceError(
                f"request {i} ({r.request_id}): ends before it starts ({r.e} < {r.s})",
                code="invalid_window", index=i, value=f"({r.s}, {r.e})", reason="ends before it starts",
            )
        if r.f is not None and not r.s <= r.f <= r.e:
            raise TraceError(
                f"request {i} ({r.request_id}): first token outside [start, end]",
                code="invalid_window", index=i, value=str(r.f), reason="first token outside [start, end]",
            )
        if r.I < 0 or r.O < 0:
            raise _bad("tokens", (r.I, r.O), f"request {i}: token counts must be >= 0")
        out.append(r)
    return out


def _max_concurrency(reqs: Sequence[_Req]) -> int:
    """The most requests whose ``[s, e]`` all contain one segment of positive length."""
    xs = sorted({r.s for r in reqs} | {r.e for r in reqs})
    best = 0
    for a, b in zip(xs, xs[1:]):
        best = max(best, sum(1 for r in reqs if r.s <= a and b <= r.e))
    return best


def _steady_window(reqs: Sequence[_Req], batch_size: int | None) -> tuple[int, int, int]:
    n = len(reqs)
    b = int(batch_size) if batch_size is not None else _max_concurrency(reqs)
    if b < 1:
        raise _bad("batch_size", b, "the steady state needs a batch size of at least 1"
                   + ("" if batch_size is not None else " (no two requests overlap in time with positive length)"))
    if n <= b:
        raise _bad("batch_size", b, f"the steady state needs more requests than the batch size ({n} <= {b})")
    firsts = sorted(r.s if r.f is None else r.f for r in reqs)
    ends = sorted(r.e for r in reqs)
    start, end = firsts[b - 1], ends[n - b - 1]
    if end <= start:
        raise _bad("steady_state", (start, end),
                   f"the steady-state window is empty: the {b}-th first token at {start} ns is not before "
                   f"the {n - b}-th completion at {end} ns")
    return start, end, b


# --------------------------------------------------------------------------- the reference


def attribute_reference(
    channels: Mapping[str, tuple[Sequence[int], Sequence[float]]],
    requests: Sequence[Mapping[str, Any]],
    *,
    rule: str = "trapezoid",
    weight: str = "tokens",
    prefill_weight: float = 1.0,
    idle_w: Any = "auto",
    span: tuple[int, int] | None = None,
    steady_state: bool = False,
    batch_size: int | None = None,
    offset_ns: int = 0,
    request_channels: Sequence[Sequence[str]] | None = None,
    **integration_options: Any,
) -> dict[str, Any]:
    """Per-request energy attribution, restated literally (see the module docstring).

    ``channels``: name -> ``(t_ns, power_w)`` (or cumulative counter values with
    ``rule="counter"``); ``requests``: dicts with ``request_id``, ``start_ns``,
    ``first_token_ns`` (int or None), ``end_ns``, ``input_tokens``,
    ``output_tokens`` (and optionally ``model``). ``integration_options`` go to
    the window reference (``max_gap_s`` or ``max_gap_ns``, ``strict``...).

    >>> S = 10**9
    >>> r = attribute_reference({"gpu": ([0, 10 * S], [100.0, 100.0])},
    ...     [{"request_id": "a", "start_ns": 2 * S, "first_token_ns": None, "end_ns": 4 * S,
    ...       "input_tokens": 1, "output_tokens": 1}], idle_w=None)
    >>> r["total_energy_j"], r["attributed_energy_j"], r["requests"][0]["energy_j"]
    (1000.0, 200.0, 200.0)
    """
    # --- arguments
    if weight not in _WEIGHTS:
        raise _bad("weight", weight, "expected 'equal', 'phase' or 'tokens'")
    if not (isinstance(prefill_weight, (int, float)) and math.isfinite(prefill_weight) and prefill_weight >= 0):
        raise _bad("prefill_weight", prefill_weight, "must be finite and >= 0")
    pw = Fraction(prefill_weight)
    if not channels:
        raise _bad("channels", "{}", "no channels")
    if span is not None and steady_state:
        raise _bad("span", span, "give either span or steady_state, not both")
    if span is not None and int(span[1]) == int(span[0]):
        raise _bad("span", span, "the span is empty: give an end after its start")
    if span is not None and int(span[1]) < int(span[0]):
        raise TraceError(f"span ends before it starts ({span[1]} < {span[0]})", code="invalid_window",
                         value=f"({span[0]}, {span[1]})")

    reqs = _read_requests(requests, int(offset_ns))
    names = list(channels)
    if request_channels is None:
        for r in reqs:
            r.channels = list(names)
    else:
        if len(request_channels) != len(reqs):
            raise _bad("channels", len(request_channels), f"expected one channel list per request ({len(reqs)})")
        for r, chans in zip(reqs, request_channels):
            chans = list(dict.fromkeys(chans))
            unknown = [c for c in chans if c not in channels]
            if unknown:
                raise _bad("channels", unknown[0], f"request {r.index}: no such channel in the trace")
            if not chans:
                raise _bad("channels", "[]", f"request {r.index}: runs on no channel")
            r.channels = chans

    # Imported here: ``_reference`` re-exports this module's function at its end.
    from ._reference import _whole

    opts = _integration_options(rule, integration_options)
    traces = {c: _whole(t, v, opts) for c, (t, v) in channels.items()}

    # --- clocks: refused before anything else when no request meets the trace
    t0 = min(tr.samples[0].t_ns for tr in traces.values())
    t1 = max(tr.samples[-1].t_ns for tr in traces.values())
    if reqs and not any(r.s <= t1 and r.e >= t0 for r in reqs):
        rs, re_ = min(r.s for r in reqs), max(r.e for r in reqs)
        raise TraceError(
            f"no request overlaps the trace: requests span {_utc(rs)} to {_utc(re_)}, "
            f"the trace spans {_utc(t0)} to {_utc(t1)}",
            code="clock_mismatch",
            reason="no request overlaps the trace",
            hint="pass offset_ns (CLI --offset-s) to shift the request times, or read the trace with tz=",
        )

    # --- span
    steady: dict[str, int] | None = None
    if steady_state:
        a0, b0, bsz = _steady_window(reqs, batch_size)
        lo, hi = a0, b0
        steady = {"start_ns": a0, "end_ns": b0, "batch_size": bsz}
    elif span is not None:
        lo, hi = int(span[0]), int(span[1])
    else:
        lo = min(tr.samples[0].t_ns for tr in traces.values())
        hi = max(tr.samples[-1].t_ns for tr in traces.values())

    # --- idle
    idle: dict[str, Fraction] = {}
    sources: dict[str, str] = {}
    if idle_w is None or (isinstance(idle_w, str) and idle_w == "off"):
        idle = {c: Fraction(0) for c in names}
        sources = {c: "off" for c in names}
    elif isinstance(idle_w, str) and idle_w == "auto":
        # from the whole trace, whatever the span: readings whose closed time range meets no
        # (unclipped, closed) window of a request mapped to the channel
        for c in names:
            readings = _readings(traces[c])
            mine = [r for r in reqs if c in r.channels]
            free = [p for a0, b0, p in readings if not any(a0 <= r.e and b0 >= r.s for r in mine)]
            if len(free) >= 5:
                idle[c], sources[c] = _median(free), "idle_segments"
            elif readings:
                idle[c], sources[c] = _nearest_rank_p5([p for _, _, p in readings]), "percentile"
            else:
                idle[c], sources[c] = Fraction(0), "no_readings"
    elif isinstance(idle_w, Mapping):
        for c in names:
            if c not in idle_w:
                raise _bad("idle_w", c, "no idle power given for this channel")
            v = float(idle_w[c])
            if not (math.isfinite(v) and v >= 0):
                raise _bad("idle_w", v, "must be finite and >= 0")
            idle[c] = Fraction(v)
        sources = {c: "given" for c in names}
    elif isinstance(idle_w, (int, float)) and not isinstance(idle_w, bool):
        v = float(idle_w)
        if not (math.isfinite(v) and v >= 0):
            raise _bad("idle_w", v, "must be finite and >= 0")
        idle = {c: Fraction(v) for c in names}
        sources = {c: "given" for c in names}
    else:
        raise _bad("idle_w", idle_w, "expected None, 'off', 'auto', a number or a mapping channel -> W")

    # --- the sweep
    events = {lo, hi}
    for r in reqs:
        events.update(x for x in (r.s, r.f, r.e) if x is not None)
    xs = sorted(x for x in events if lo <= x <= hi)

    n = len(reqs)
    energy = [Fraction(0)] * n
    dynamic = [Fraction(0)] * n
    prefill = [Fraction(0)] * n
    decode = [Fraction(0)] * n
    e_scale = [Fraction(0)] * n
    d_scale = [Fraction(0)] * n
    attributed = unattributed = Fraction(0)
    seg_scale = Fraction(0)
    for a, b in zip(xs, xs[1:]):
        for c in names:
            tr = traces[c]
            e_ck = _energy(tr, a, b)
            cov_ck = _covered(tr, a, b)
            peak_ck = _scale(tr, a, b)
            idle_ck = idle[c] * Fraction(cov_ck, _NS_PER_S)
            d_ck = e_ck - idle_ck
            active = []
            for r in reqs:
                if c not in r.channels:
                    continue
                phase = r.phase_at(a, b)
                if phase is not None:
                    active.append((r, phase, r.weight(phase, weight, pw)))
            seg_scale += peak_ck
            if not active:
                unattributed += e_ck
                continue
            attributed += e_ck
            w_total = sum((w for _, _, w in active), Fraction(0))
            for r, phase, w in active:
                share = w / w_total if w_total > 0 else Fraction(1, len(active))
                i = r.index
                energy[i] += e_ck * share
                dynamic[i] += d_ck * share
                e_scale[i] += peak_ck * share
                d_scale[i] += (peak_ck + idle_ck) * share
                if phase == "prefill":
                    prefill[i] += e_ck * share
                elif phase == "decode":
                    decode[i] += e_ck * share

    # --- totals over the span
    total = sum((_energy(traces[c], lo, hi) for c in names), Fraction(0))
    total_scale = seg_scale + sum((_scale(traces[c], lo, hi) for c in names), Fraction(0))
    idle_total = sum((idle[c] * Fraction(_covered(traces[c], lo, hi), _NS_PER_S) for c in names), Fraction(0))

    # --- coverage and the per-request table
    rows: list[dict[str, Any]] = []
    exact_rows: list[dict[str, Any]] = []
    has_energy = [False] * n
    clip = (lo, hi) if (span is not None or steady_state) else None

    def inside(x: int, y: int) -> Fraction:
        """The part of ``[x, y]`` inside the clip (1 without one); a point: 1 if inside, else 0."""
        if clip is None:
            return Fraction(1)
        if y > x:
            return Fraction(max(0, min(y, clip[1]) - max(x, clip[0])), y - x)
        return Fraction(1 if clip[0] <= x <= clip[1] else 0)

    for r in reqs:
        # the request's window, clipped to the span (when one is given or steady)
        a, b = (max(r.s, clip[0]), min(r.e, clip[1])) if clip else (r.s, r.e)

        def meets(x: int, y: int, r: _Req = r) -> bool:
            """``[x, y]`` meets ``[first, last]`` sample of one of the request's channels (closed)."""
            return any(x <= traces[c].samples[-1].t_ns and y >= traces[c].samples[0].t_ns for c in r.channels)

        outside_span = a > b or (a == b and r.s < r.e)
        if outside_span:
            coverage = Fraction(0)
        elif a == b:
            coverage = Fraction(1 if meets(a, a) else 0)
        else:
            cov_ns = sum(_covered(traces[c], a, b) for c in r.channels)
            coverage = Fraction(cov_ns, (b - a) * len(r.channels))
        i = r.index
        ok = coverage > 0
        has_energy[i] = ok
        reason: str | None = None
        if outside_span:
            reason = "outside the span"
        elif coverage == 0:
            reason = "in a gap of the trace" if meets(a, b) else "outside the trace"
        elif coverage < 1:
            reason = f"partly outside the trace (coverage {float(coverage):.2f})"

        # the tokens processed inside the clip: the divisors of the per-token figures
        if r.f is not None:
            c_in = r.I * inside(r.s, r.f)
            c_dec = max(r.O - 1, 0) * inside(r.f, r.e)
            c_out = (1 if r.O > 0 and inside(r.f, r.f) == 1 else 0) + c_dec
        else:
            share = inside(r.s, r.e)
            c_in, c_out, c_dec = r.I * share, r.O * share, Fraction(0)
        if not ok:  # no measured time: nothing counted*
            c_in = c_out = c_dec = Fraction(0)

        en = energy[i] if ok else None
        dy = dynamic[i] if ok else None
        pre = prefill[i] if ok and r.f is not None else None
        dec = decode[i] if ok and r.f is not None else None
        dur = b - a
        ex_row: dict[str, Any] = {
            "energy_j": en, "energy_j_scale": e_scale[i],
            "dynamic_energy_j": dy, "dynamic_energy_j_scale": d_scale[i],
            "prefill_energy_j": pre, "decode_energy_j": dec, "coverage": coverage,
            "counted_input_tokens": c_in, "counted_output_tokens": c_out, "counted_decode_tokens": c_dec,
            "joules_per_output_token": _div(en, c_out),
            "joules_per_input_token": _div(pre, c_in),
            "decode_joules_per_token": _div(dec, c_dec),
            "joules_per_token": _div(en, c_in + c_out),
            "mean_power_w": _div(en, Fraction(max(dur, 0), _NS_PER_S)),
        }
        exact_rows.append(ex_row)
        rows.append({
            "request_id": r.request_id,
            "model": r.model,
            "start_ns": r.s,
            "first_token_ns": r.f,
            "end_ns": r.e,
            "input_tokens": r.I,
            "output_tokens": r.O,
            "coverage": float(coverage),
            **{k: _f(ex_row[k]) for k in (
                "energy_j", "dynamic_energy_j", "prefill_energy_j", "decode_energy_j",
                "joules_per_output_token", "joules_per_input_token", "decode_joules_per_token",
                "joules_per_token", "mean_power_w")},
            "counted_input_tokens": float(c_in),
            "counted_output_tokens": float(c_out),
            "counted_decode_tokens": float(c_dec),
            "reason": reason,
        })

    # --- top level
    with_e = [r for r in reqs if has_energy[r.index]]
    split = [r for r in with_e if r.f is not None]
    unsplit = [r for r in with_e if r.f is None]

    def total_of(name: str, among: list[_Req]) -> Fraction:
        return sum((Fraction(exact_rows[r.index][name]) for r in among), Fraction(0))

    req_attr = total_of("energy_j", with_e)
    dyn_total = total_of("dynamic_energy_j", with_e)
    pre_total = total_of("prefill_energy_j", split)
    dec_total = total_of("decode_energy_j", split)
    unsplit_total = total_of("energy_j", unsplit)
    c_in_total = total_of("counted_input_tokens", with_e)
    c_pre_total = total_of("counted_input_tokens", split)
    c_out_total = total_of("counted_output_tokens", with_e)
    c_dec_total = total_of("counted_decode_tokens", split)

    def col(name: str) -> list[Fraction]:
        return [x[name] for x in exact_rows if x["energy_j"] is not None and x[name] is not None]

    return {
        "total_energy_j": float(total),
        "attributed_energy_j": float(attributed),
        "unattributed_energy_j": float(unattributed),
        "dynamic_energy_j": float(dyn_total),
        "idle_energy_j": float(idle_total),
        "prefill_energy_j": float(pre_total),
        "decode_energy_j": float(dec_total),
        "unsplit_energy_j": float(unsplit_total),
        "joules_per_output_token": _f(_div(attributed, c_out_total)),
        "joules_per_input_token": _f(_div(pre_total, c_pre_total)),
        "decode_joules_per_token": _f(_div(dec_total, c_dec_total)),
        "joules_per_token": _f(_div(attributed, c_in_total + c_out_total)),
        "dynamic_joules_per_output_token": _f(_div(dyn_total, c_out_total)),
        "counted_input_tokens": float(c_in_total),
        "counted_prefill_tokens": float(c_pre_total),
        "counted_output_tokens": float(c_out_total),
        "counted_decode_tokens": float(c_dec_total),
        "n_requests": n,
        "n_attributed": len(with_e),
        "n_outside": n - len(with_e),
        "span_ns": [lo, hi],
        "steady_state": steady,
        "idle_w": {c: float(idle[c]) for c in names},
        "idle_source": dict(sources),
        "weight": weight,
        "prefill_weight": float(prefill_weight),
        "regression": None,
        "regression_reason": "not computed by the reference",
        "distribution": {
            name: _distribution(col(name))
            for name in ("energy_j", "dynamic_energy_j", "prefill_energy_j", "decode_energy_j",
                         "joules_per_output_token", "joules_per_input_token", "decode_joules_per_token",
                         "joules_per_token")
        },
        "requests": rows,
        "exact": {
            "total_energy_j": total, "total_scale": total_scale,
            "attributed_energy_j": attributed,
            "attributed_by_requests": req_attr,
            "unattributed_energy_j": unattributed,
            "dynamic_energy_j": dyn_total,
            "idle_energy_j": idle_total,
            "prefill_energy_j": pre_total, "decode_energy_j": dec_total, "unsplit_energy_j": unsplit_total,
            "counted_input_tokens": c_in_total, "counted_prefill_tokens": c_pre_total,
            "counted_output_tokens": c_out_total, "counted_decode_tokens": c_dec_total,
            "idle_w": dict(idle),
            "requests": exact_rows,
        },
    }
