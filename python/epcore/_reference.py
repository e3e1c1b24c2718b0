"""The reference oracle: plain, slow, obviously correct Python.

This module is the thing the tests trust. It restates the integration
semantics of the Rust core (``rust/epcore-core/src/partial.rs`` is the
sample-by-sample definition there) one row at a time, with no blocks, lanes,
prefix sums, galloping searches or compensated floating-point sums, and with
exact arithmetic: every power value, counter value and time difference is
turned into a :class:`fractions.Fraction`, so the energies below are the
*exact* integral of the piecewise-linear (trapezoid) or held (hold)
interpolant of the accepted samples, or the exact sum of counter differences.
The Rust results are compared against these values (to 1e-12 relative) by the
property tests in ``tests/test_properties.py``.

Nothing here is fast or clever on purpose; it is never used on the hot path.
Keep it that way: when the core changes its semantics, change this file in
the most literal way, and let the tests show where the core disagrees.

The rules, per channel, rows taken in order:

1. **Value check** (before anything is looked up in time):

   - a non-finite value is dropped and counted (``n_nonfinite``), or is the
     error ``non_finite`` when ``strict``;
   - counters: a negative value is the error ``bad_value``;
   - power in ``(-negative_tolerance_w, 0)`` is clamped to 0 and counted
     (``n_negative_clamped``), or is the error ``negative_power`` when
     ``strict``; lower power is ``negative_power``; power above
     ``max_power_w`` is ``implausible_power``.

2. **Time check** against the previous *accepted* sample: an earlier time is
   ``unsorted_timestamps``; the same time with the same (accepted) value is
   dropped and counted (``n_duplicate_identical``), or is
   ``conflicting_duplicate`` when ``strict``; the same time with another value
   is ``conflicting_duplicate``; a difference beyond int64 is
   ``timestamp_overflow``.

3. **Segment** between consecutive accepted samples ``(t0, v0)``,
   ``(t1, v1)``, ``dt = t1 - t0 > 0``. If ``dt > max_gap_ns`` it is a gap
   (``n_gaps``, ``gap_ns``): power rules do not integrate it, a counter keeps
   its difference. Energy: trapezoid ``(v0 + v1) / 2 · dt``, hold ``v0 · dt``,
   counter ``v1 - v0`` when ``v1 >= v0``; otherwise, with ``budget =
   max_power_w · dt / counter_unit_j`` (the most the device could have used,
   in counter units), a wrap ``(modulus - v0) + v1`` if a modulus is given and
   that is in ``[0, budget]``, else a reset ``v1`` (counted from zero) if
   ``v1 <= budget``, else the error ``ambiguous_counter_decrease``.
   ``covered_ns`` adds ``dt`` for every integrated segment (all counter
   segments, the non-gap power segments).

4. **Gap threshold** by default: ``max(5 × lower median of the positive
   differences of the first 1025 timestamps (all rows, accepted or not), 2 s)``.

5. **Totals**: an empty input is ``empty_input``; fewer than two accepted
   samples is ``insufficient_samples`` (a piece of a trace, see
   :func:`partial_reference`, may have any number).

6. **Windows** ``[a, b]``: the exact integral of the interpolant clipped to
   ``[a, b]``: nothing before the first or after the last sample, nothing in a
   power gap; a counter segment spreads its difference evenly over its time.
   ``covered_ns`` is the integrated time inside the window and ``n_gaps`` the
   number of gap segments ``(t0, t1)`` with ``t0 < b`` and ``t1 > a``. A window
   with ``b < a`` is ``invalid_window`` (checked before the trace is read).

Units: power in W, time in int64 ns, energy in J. The counter unit is read as
the decimal it was written as (``1e-3`` is exactly 1/1000 J), which is also
what the core does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from .exceptions import ConfigError, EpcoreError, ParseError, SchemaError, TraceError

__all__ = [
    "GAP_FLOOR_NS",
    "GAP_HEAD_ROWS",
    "GAP_MEDIAN_FACTOR",
    "ReferenceOptions",
    "ReferenceTrace",
    "auto_max_gap_ns_reference",
    "integrate_reference",
    "partial_reference",
    "run_reference",
    "window_energy_reference",
]

#: Intervals up to 2 s are never gaps.
GAP_FLOOR_NS = 2_000_000_000
#: The automatic gap threshold is this many median intervals.
GAP_MEDIAN_FACTOR = 5
#: The median interval is taken over this many leading rows.
GAP_HEAD_ROWS = 1025

_I64_MAX = 2**63 - 1
_NS_PER_S = 10**9


# --------------------------------------------------------------------------- options


@dataclass(frozen=True)
class ReferenceOptions:
    """The same knobs as ``epcore.options`` (the gap threshold in ns, the counter unit in J)."""

    rule: str = "trapezoid"
    max_gap_ns: int | None = None
    strict: bool = False
    negative_tolerance_w: float = 1.0
    max_power_w: float = 100_000.0
    counter_unit_j: float = 1.0
    counter_modulus: float | None = None

    def validate(self) -> None:
        """Reject what the core rejects, with its error code."""
        def bad(name: str, value: object, reason: str) -> ConfigError:
            return ConfigError(f"{name} = {value}: {reason}", code="invalid_argument", value=str(value))

        if self.rule not in ("trapezoid", "hold", "counter"):
            raise bad("rule", self.rule, "expected 'trapezoid', 'hold' or 'counter'")
        if self.max_gap_ns is not None and self.max_gap_ns <= 0:
            raise bad("max_gap", self.max_gap_ns, "must be a positive duration")
        if not (math.isfinite(self.negative_tolerance_w) and self.negative_tolerance_w >= 0):
            raise bad("negative_tolerance_w", self.negative_tolerance_w, "must be finite and >= 0")
        if math.isnan(self.max_power_w) or not self.max_power_w > 0:
            raise bad("max_power_w", self.max_power_w, "must be > 0")
        if not (math.isfinite(self.counter_unit_j) and self.counter_unit_j > 0):
            raise bad("counter_unit_j", self.counter_unit_j, "must be finite and > 0")
        if self.counter_modulus is not None and not (
            math.isfinite(self.counter_modulus) and self.counter_modulus > 0
        ):
            raise bad("counter_modulus", self.counter_modulus, "must be finite and > 0")

    @property
    def is_counter(self) -> bool:
        return self.rule == "counter"

    @property
    def unit_j(self) -> Fraction:
        """Joules per counter unit, as the decimal the user wrote."""
        return Fraction(repr(float(self.counter_unit_j)))


# --------------------------------------------------------------------------- the trace


@dataclass(frozen=True)
class Sample:
    """One accepted sample: time, accepted value (after clamping), row index."""

    t_ns: int
    value: float
    index: int


@dataclass(frozen=True)
class Segment:
    """The interval between two consecutive accepted samples."""

    a: Sample
    b: Sample
    gap: bool
    #: Counter difference in counter units (wrap or reset resolved); None for power.
    delta: Fraction | None
    #: "", "wrap" or "reset".
    kind: str

    @property
    def dt_ns(self) -> int:
        return self.b.t_ns - self.a.t_ns

    def integrated(self, rule: str) -> bool:
        """Power is not bridged across a gap; a counter's difference is exact across it."""
        return rule == "counter" or not self.gap

    def energy_j(self, opts: ReferenceOptions, lo_ns: int | None = None, hi_ns: int | None = None) -> Fraction:
        """Exact energy of the part ``[lo_ns, hi_ns]`` of this segment (the whole by default)."""
        t0, t1 = self.a.t_ns, self.b.t_ns
        x0 = t0 if lo_ns is None else max(t0, lo_ns)
        x1 = t1 if hi_ns is None else min(t1, hi_ns)
        if x1 <= x0 or not self.integrated(opts.rule):
            return Fraction(0)
        if (x0, x1) == (t0, t1):
            return self._whole_energy_j(opts)
        dt = Fraction(t1 - t0)
        if opts.rule == "counter":
            assert self.delta is not None
            return self.delta * opts.unit_j * Fraction(x1 - x0) / dt
        v0, v1 = Fraction(self.a.value), Fraction(self.b.value)
        if opts.rule == "hold":
            return v0 * Fraction(x1 - x0) / _NS_PER_S

        def p(x: int) -> Fraction:  # the straight line through both samples
            return v0 + (v1 - v0) * Fraction(x - t0) / dt

        return (p(x0) + p(x1)) / 2 * Fraction(x1 - x0) / _NS_PER_S

    def _whole_energy_j(self, opts: ReferenceOptions) -> Fraction:
        """The textbook formulas for a whole (integrated) segment."""
        dt = self.b.t_ns - self.a.t_ns
        if opts.rule == "counter":
            assert self.delta is not None
            return self.delta * opts.unit_j
        if opts.rule == "hold":
            return Fraction(self.a.value) * Fraction(dt, _NS_PER_S)
        return (Fraction(self.a.value) + Fraction(self.b.value)) * Fraction(dt, 2 * _NS_PER_S)

    def covered_ns(self, opts: ReferenceOptions, lo_ns: int | None = None, hi_ns: int | None = None) -> int:
        """Integrated time of the part ``[lo_ns, hi_ns]`` of this segment."""
        x0 = self.a.t_ns if lo_ns is None else max(self.a.t_ns, lo_ns)
        x1 = self.b.t_ns if hi_ns is None else min(self.b.t_ns, hi_ns)
        if x1 <= x0 or not self.integrated(opts.rule):
            return 0
        return x1 - x0


@dataclass
class ReferenceTrace:
    """Everything the oracle learned from one channel's rows."""

    opts: ReferenceOptions
    max_gap_ns: int
    samples: list[Sample] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    n_rows: int = 0
    n_nonfinite: int = 0
    n_negative_clamped: int = 0
    n_duplicate_identical: int = 0

    @property
    def energy_j(self) -> Fraction:
        return sum((s.energy_j(self.opts) for s in self.segments), Fraction(0))

    def to_dict(self) -> dict[str, Any]:
        """The same keys as ``epcore.Partial.to_dict()``, plus ``energy_j_exact``."""
        segs, samples = self.segments, self.samples
        gaps = [s for s in segs if s.gap]
        energy = self.energy_j
        return {
            "energy_j": float(energy),
            "energy_j_exact": energy,
            "method": self.opts.rule,
            "max_gap_ns": self.max_gap_ns,
            "first_t_ns": samples[0].t_ns if samples else None,
            "last_t_ns": samples[-1].t_ns if samples else None,
            "n_rows": self.n_rows,
            "n_samples": len(samples),
            "n_nonfinite": self.n_nonfinite,
            "n_negative_clamped": self.n_negative_clamped,
            "n_duplicate_identical": self.n_duplicate_identical,
            "n_gaps": len(gaps),
            # Time totals saturate at the int64 maximum, as in the core.
            "gap_ns": min(sum(s.dt_ns for s in gaps), _I64_MAX),
            "covered_ns": min(sum(s.covered_ns(self.opts) for s in segs), _I64_MAX),
            "span_ns": min(samples[-1].t_ns - samples[0].t_ns, _I64_MAX) if samples else 0,
            "n_wraps": sum(1 for s in segs if s.kind == "wrap"),
            "n_resets": sum(1 for s in segs if s.kind == "reset"),
            "min_dt_ns": min(s.dt_ns for s in segs) if segs else None,
            "max_dt_ns": max(s.dt_ns for s in segs) if segs else None,
            "min_value": min(s.value for s in samples) if samples else None,
            "max_value": max(s.value for s in samples) if samples else None,
        }


# --------------------------------------------------------------------------- helpers


def rust_float_str(x: float) -> str:
    """A float written as Rust's ``Display`` writes it (``-50``, ``0.1``, ``NaN``, ``inf``), capped
    at 64 bytes like the core's error values."""
    if math.isnan(x):
        s = "NaN"
    elif math.isinf(x):
        s = "inf" if x > 0 else "-inf"
    else:
        s = format(Decimal(repr(x)), "f")
        if "." in s:
            s = s.rstrip("0").rstrip(".")
    return s if len(s) <= 64 else s[:64] + "…"


def _error(cls: type[EpcoreError], code: str, index: int | None, value: str | None, reason: str) -> EpcoreError:
    where = f"index {index}: " if index is not None else ""
    return cls(f"{where}{reason}", code=code, index=index, value=value, reason=reason)


def auto_max_gap_ns_reference(t_ns: Iterable[int]) -> int:
    """``max(5 × lower median of the positive intervals among the first 1025 timestamps, 2 s)``."""
    head = [int(x) for x in list(t_ns)[:GAP_HEAD_ROWS]]
    dts = sorted(b - a for a, b in zip(head, head[1:]) if 0 < b - a <= _I64_MAX)
    if not dts:
        return GAP_FLOOR_NS
    lower_median = dts[(len(dts) - 1) // 2]
    return max(min(GAP_MEDIAN_FACTOR * lower_median, _I64_MAX), GAP_FLOOR_NS)


# --------------------------------------------------------------------------- the rules


def _accept_value(opts: ReferenceOptions, trace: ReferenceTrace, value: float, index: int) -> float | None:
    """Rule 1: the accepted value, or None when the row is dropped."""
    if not math.isfinite(value):
        if opts.strict:
            what = "counter" if opts.is_counter else "power"
            raise _error(TraceError, "non_finite", index, rust_float_str(value), f"{what} is {value}")
        trace.n_nonfinite += 1
        return None
    if opts.is_counter:
        if value < 0:
            raise _error(ParseError, "bad_value", index, rust_float_str(value),
                         "a cumulative energy counter cannot be negative")
        return value
    if value < 0:
        if value > -opts.negative_tolerance_w and not opts.strict:
            trace.n_negative_clamped += 1
            return 0.0
        raise _error(TraceError, "negative_power", index, rust_float_str(value),
                     f"power {value} W is below -{opts.negative_tolerance_w} W")
    if value > opts.max_power_w:
        raise _error(TraceError, "implausible_power", index, rust_float_str(value),
                     f"power {value} W exceeds max_power_w = {opts.max_power_w} W")
    return value


def _counter_delta(opts: ReferenceOptions, a: Sample, b: Sample) -> tuple[Fraction, str]:
    """Rule 3 for counters: the difference in counter units, and how it was read."""
    c0, c1 = Fraction(a.value), Fraction(b.value)
    if c1 >= c0:
        return c1 - c0, ""
    budget = Fraction(opts.max_power_w) * Fraction(b.t_ns - a.t_ns, _NS_PER_S) / Fraction(opts.counter_unit_j)
    if opts.counter_modulus is not None:
        wrapped = (Fraction(opts.counter_modulus) - c0) + c1
        if 0 <= wrapped <= budget:
            return wrapped, "wrap"
    if c1 <= budget:
        return c1, "reset"
    raise _error(TraceError, "ambiguous_counter_decrease", b.index, rust_float_str(b.value),
                 f"counter went down from {a.value} to {b.value}: neither a wrap nor a reset")


def _push(opts: ReferenceOptions, trace: ReferenceTrace, t_ns: int, value: float, index: int) -> None:
    """Rules 1 to 3 for one row."""
    trace.n_rows += 1
    v = _accept_value(opts, trace, value, index)
    if v is None:
        return
    s = Sample(t_ns, v, index)
    if not trace.samples:
        trace.samples.append(s)
        return
    prev = trace.samples[-1]
    if s.t_ns < prev.t_ns:
        raise _error(TraceError, "unsorted_timestamps", index, str(s.t_ns),
                     f"timestamp goes backwards: {s.t_ns} ns after {prev.t_ns} ns")
    if s.t_ns == prev.t_ns:
        if s.value == prev.value and not opts.strict:
            trace.n_duplicate_identical += 1
            return
        raise _error(TraceError, "conflicting_duplicate", index, rust_float_str(s.value),
                     f"two samples at {s.t_ns} ns disagree: {prev.value} and {s.value}")
    if s.t_ns - prev.t_ns > _I64_MAX:
        raise _error(TraceError, "timestamp_overflow", index, str(s.t_ns),
                     f"timestamp {s.t_ns} is outside the int64 nanosecond range")
    gap = s.t_ns - prev.t_ns > trace.max_gap_ns
    delta: Fraction | None = None
    kind = ""
    if opts.is_counter:
        delta, kind = _counter_delta(opts, prev, s)
    trace.segments.append(Segment(prev, s, gap, delta, kind))
    trace.samples.append(s)


def _options(kw: dict[str, Any]) -> ReferenceOptions:
    opts = ReferenceOptions(**kw)
    opts.validate()
    return opts


def _check_lengths(t_ns: Sequence[Any], values: Sequence[Any]) -> None:
    if len(t_ns) != len(values):
        raise SchemaError(
            f"timestamps and values: expected length {len(t_ns)}, found {len(values)}",
            code="length_mismatch",
        )


def run_reference(t_ns: Sequence[Any], values: Sequence[Any], **options: Any) -> ReferenceTrace:
    """Push every row through the rules; the full state (samples and segments) of a piece of rows.

    ``options`` are the fields of :class:`ReferenceOptions`.
    """
    opts = _options(options)
    _check_lengths(t_ns, values)
    ts = [int(x) for x in t_ns]
    max_gap = opts.max_gap_ns if opts.max_gap_ns is not None else auto_max_gap_ns_reference(ts)
    trace = ReferenceTrace(opts=opts, max_gap_ns=max_gap)
    for i, (t, v) in enumerate(zip(ts, values)):
        _push(opts, trace, t, float(v), i)
    return trace


def partial_reference(t_ns: Sequence[Any], values: Sequence[Any], **options: Any) -> dict[str, Any]:
    """The state of a piece of rows (any number, even none), as ``Partial.to_dict()`` keys."""
    return run_reference(t_ns, values, **options).to_dict()


def _whole(t_ns: Sequence[Any], values: Sequence[Any], options: dict[str, Any],
           windows: Sequence[tuple[int, int]] | None = None) -> ReferenceTrace:
    _options(options)
    _check_lengths(t_ns, values)
    if len(t_ns) == 0:
        raise TraceError("no data: the input is empty", code="empty_input")
    for i, (a, b) in enumerate(windows or ()):
        if int(b) < int(a):
            raise TraceError(f"window {i} ends before it starts ({b} < {a})", code="invalid_window",
                             value=f"({a}, {b})")
    trace = run_reference(t_ns, values, **options)
    if len(trace.samples) < 2:
        raise TraceError(
            f"{len(trace.samples)} usable sample(s), at least 2 needed for an integral",
            code="insufficient_samples",
        )
    return trace


def integrate_reference(t_ns: Sequence[Any], values: Sequence[Any], **options: Any) -> dict[str, Any]:
    """Energy and counts of one channel, as ``Partial.to_dict()`` keys.

    ``energy_j`` is the float nearest the exact energy and ``energy_j_exact``
    the exact :class:`~fractions.Fraction`. Raises the core's errors
    (``empty_input``, ``insufficient_samples`` and all of rules 1 to 3).

    >>> r = integrate_reference([0, 10**9, 2 * 10**9], [100.0, 300.0, 300.0])
    >>> r["energy_j"], r["n_samples"], r["max_gap_ns"]
    (500.0, 3, 5000000000)
    """
    return _whole(t_ns, values, options).to_dict()


def window_energy_reference(
    t_ns: Sequence[Any], values: Sequence[Any], windows: Sequence[tuple[int, int]], **options: Any
) -> list[dict[str, Any]]:
    """Energy (exact, ``energy_j_exact``, and nearest float, ``energy_j``), ``covered_ns`` and
    ``n_gaps`` of each ``(start_ns, end_ns)`` window, by clipping every segment to the window.

    >>> w = window_energy_reference([0, 10**9, 2 * 10**9], [100.0, 300.0, 300.0],
    ...                             [(0, 5 * 10**8), (5 * 10**8, 3 * 10**9)])
    >>> [x["energy_j"] for x in w], [x["covered_ns"] for x in w]
    ([75.0, 425.0], [500000000, 1500000000])
    """
    trace = _whole(t_ns, values, options, windows)
    opts = trace.opts
    out = []
    for a, b in windows:
        a, b = int(a), int(b)
        energy = sum((s.energy_j(opts, a, b) for s in trace.segments), Fraction(0))
        out.append({
            "energy_j": float(energy),
            "energy_j_exact": energy,
            "covered_ns": sum(s.covered_ns(opts, a, b) for s in trace.segments),
            "n_gaps": sum(1 for s in trace.segments if s.gap and s.a.t_ns < b and s.b.t_ns > a),
        })
    return out


# --- Steady-state economics -------------------------------------------------
#
# The calculator of ``rust/epcore-core/src/economics.rs`` restated in exact
# rational arithmetic, each figure derived from the previous ones by its
# definition (the core instead writes each as one expression of the inputs).

__all__ += ["steady_state_reference"]

_FIGURES = (
    "joules_per_token", "wh_per_token", "kwh_per_million_tokens", "cost_per_million_tokens",
    "wh_per_query", "cost_per_query", "queries_per_kwh", "tokens_per_kwh",
    "g_co2_per_query", "g_co2_per_million_tokens",
)


def _steady_figures(
    power_w: Fraction, tokens_per_s: Fraction, price_per_kwh: Fraction,
    query_tokens: Fraction, grid_g_co2_per_kwh: Fraction | None,
) -> dict[str, float | None]:
    joules_per_token = power_w / tokens_per_s
    wh_per_token = joules_per_token / 3600
    kwh_per_token = wh_per_token / 1000
    wh_per_query = wh_per_token * query_tokens
    kwh_per_query = wh_per_query / 1000
    exact: dict[str, Fraction | None] = {
        "joules_per_token": joules_per_token,
        "wh_per_token": wh_per_token,
        "kwh_per_million_tokens": kwh_per_token * 1_000_000,
        "cost_per_million_tokens": kwh_per_token * 1_000_000 * price_per_kwh,
        "wh_per_query": wh_per_query,
        "cost_per_query": kwh_per_query * price_per_kwh,
        "queries_per_kwh": 1 / kwh_per_query,
        "tokens_per_kwh": 1 / kwh_per_token,
        "g_co2_per_query": None if grid_g_co2_per_kwh is None else kwh_per_query * grid_g_co2_per_kwh,
        "g_co2_per_million_tokens": (
            None if grid_g_co2_per_kwh is None else kwh_per_token * 1_000_000 * grid_g_co2_per_kwh
        ),
    }
    return {k: None if v is None else float(v) for k, v in exact.items()}


def steady_state_reference(
    power_w: float,
    tokens_per_s: float,
    price_per_kwh: float = 0.08,
    query_tokens: float = 500,
    pue: float = 1.0,
    grid_g_co2_per_kwh: float | None = None,
) -> dict[str, Any]:
    """Steady-state figures from the exact values of the float inputs.

    Returns ``{"it": {...}, "facility": {...} | None}`` (facility only when
    ``pue > 1``; its energy is the IT energy × ``pue``). Domain errors raise
    ``ValueError`` here; the exact messages are the core's business.

    >>> r = steady_state_reference(5600, 2500)
    >>> r["it"]["joules_per_token"], round(r["it"]["queries_per_kwh"], 2), r["facility"]
    (2.24, 3214.29, None)
    """
    for name, v in (("power_w", power_w), ("tokens_per_s", tokens_per_s), ("query_tokens", query_tokens)):
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be finite and > 0, got {v}")
    if not (math.isfinite(pue) and pue >= 1):
        raise ValueError(f"pue must be finite and >= 1, got {pue}")
    if not math.isfinite(price_per_kwh):
        raise ValueError(f"price_per_kwh must be finite, got {price_per_kwh}")
    grid = None if grid_g_co2_per_kwh is None else Fraction(grid_g_co2_per_kwh)
    if grid is not None and grid < 0:
        raise ValueError(f"grid_g_co2_per_kwh must be >= 0, got {grid_g_co2_per_kwh}")
    p, t, price, q = (Fraction(x) for x in (power_w, tokens_per_s, price_per_kwh, query_tokens))
    it = _steady_figures(p, t, price, q, grid)
    facility = _steady_figures(p * Fraction(pue), t, price, q, grid) if pue > 1 else None
    return {"it": it, "facility": facility}


# --- Request CSV -------------------------------------------------------------

import calendar  # noqa: E402
import re  # noqa: E402
from datetime import datetime  # noqa: E402

#
# The canonical request CSV of ``rust/epcore-core/src/requests/csv.rs`` restated
# one line at a time with ``calendar``, ``fractions`` and regular expressions,
# for ``tests/test_requests.py``. Same rules: lines end in ``\n``, ``\r\n`` or a
# bare ``\r``; a leading UTF-8 BOM is dropped; blank lines are skipped; fields
# split on commas outside double quotes (``""`` is a quote), unquoted fields
# trimmed of spaces and tabs; ``*_time`` is decimal epoch seconds (<= 9
# decimals, extra zeros allowed) or RFC 3339 with ``Z``/offset, ``*_ns`` is an
# integer; an unterminated last line is kept when it parses and its times pass
# the window rules, else dropped (``truncated_tail``); an exact repeat of a row
# is dropped and counted, any other repeated id is an error.

_REQ_EPOCH_2000_NS = 946_684_800 * _NS_PER_S
_REQ_EPOCH_2100_NS = 4_102_444_800 * _NS_PER_S
_REQ_NULLS = {"", "NA", "N/A", "null", "NULL", "None"}
_REQ_SOURCES = ("usage", "stream_chunks", "retokenized", "unknown")
_REQ_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))?"
)


def _req_split(line: str) -> list[str] | None:
    """Fields of a line, or None for an unbalanced quote."""
    out: list[str] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in " \t":
            i += 1
        if i < n and line[i] == '"':
            i += 1
            text = []
            while True:
                if i >= n:
                    return None
                if line[i] == '"' and i + 1 < n and line[i + 1] == '"':
                    text.append('"')
                    i += 2
                elif line[i] == '"':
                    i += 1
                    break
                else:
                    text.append(line[i])
                    i += 1
            while i < n and line[i] in " \t":
                i += 1
            out.append("".join(text))
            if i >= n:
                return out
            if line[i] != ",":
                return None
            i += 1
        else:
            j = line.find(",", i)
            end = n if j < 0 else j
            out.append(line[i:end].rstrip(" \t"))
            if j < 0:
                return out
            i = j + 1


def _req_is_null(f: str) -> bool:
    if f[:1] in tuple("0123456789-+."):
        return False
    return f in _REQ_NULLS or (f.startswith("[") and f.endswith("]"))


def _req_decimal_seconds(f: str) -> int:
    m = re.fullmatch(r"([+-]?)([0-9]*)(?:\.([0-9]*))?", f)
    if m is None or (m.group(2) == "" and not m.group(3)):
        raise ValueError("syntax")
    frac = m.group(3) or ""
    if len(frac) > 9 and frac[9:].strip("0"):
        raise ValueError("too precise")
    v = int(m.group(2) or "0") * _NS_PER_S + int((frac[:9] or "0").ljust(9, "0"))
    v = -v if m.group(1) == "-" else v
    if abs(v) > _I64_MAX:
        raise ValueError("overflow")
    return v


def _req_rfc3339(f: str) -> int:
    m = _REQ_RFC3339.fullmatch(f)
    if m is None:
        raise ValueError("syntax")
    y, mo, d, h, mi, s = (int(m.group(k)) for k in range(1, 7))
    if m.group(8) is None and m.group(9) is None:
        raise ValueError("no offset")
    frac = m.group(7) or ""
    if len(frac) > 9 and frac[9:].strip("0"):
        raise ValueError("too precise")
    datetime(y, mo, d, h, mi, s)  # range check: raises ValueError
    off = 0
    if m.group(9) is not None:
        oh, om = int(m.group(10)), int(m.group(11))
        if oh > 23 or om > 59:
            raise ValueError("offset")
        off = (oh * 3600 + om * 60) * (-1 if m.group(9) == "-" else 1)
    v = (calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) - off) * _NS_PER_S + int((frac[:9] or "0").ljust(9, "0"))
    if abs(v) > _I64_MAX:
        raise ValueError("overflow")
    return v


def _req_time(f: str, unit: str) -> int | None:
    if _req_is_null(f):
        return None
    if unit == "ns":
        if re.fullmatch(r"[+-]?[0-9]+", f) is None or abs(int(f)) > _I64_MAX:
            raise ValueError("integer ns")
        return int(f)
    if len(f) >= 5 and f[:4].isdigit() and f[:4].isascii() and f[4] == "-":
        return _req_rfc3339(f)
    return _req_decimal_seconds(f)


def _req_tokens(f: str) -> int:
    m = re.fullmatch(r"\+?([0-9]+)(?:\.([0-9]+))?", f)
    if m is None or (m.group(2) or "0").strip("0"):
        raise ValueError("not a whole number >= 0")
    v = int(m.group(1))
    if v > _I64_MAX:
        raise ValueError("overflow")
    return v


def _req_error(code: str, line: int, reason: str) -> EpcoreError:
    cls: type[EpcoreError] = {
        "bad_value": ParseError, "unequal_lengths": ParseError, "unsupported_encoding": ParseError,
        "schema": SchemaError, "empty_input": TraceError, "invalid_window": TraceError,
        "duplicate_request_id": TraceError,
    }.get(code, EpcoreError)
    return cls(f"line {line}: {reason}", code=code, line=line, reason=reason)


def read_requests_csv_reference(data: bytes) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """The request table of a canonical request CSV: ``(columns, info)``.

    ``columns`` has the table's columns as lists (``first_token_ns`` and
    ``model`` hold None where missing); ``info`` has ``n_duplicate_identical``,
    ``truncated_tail`` and ``unterminated_final_line``. Bad input raises an
    :class:`EpcoreError` with the core's ``code`` and ``line``.

    >>> cols, info = read_requests_csv_reference(
    ...     b"request_id,start_time,end_time,input_tokens,output_tokens\\n"
    ...     b"a,2025-06-15T15:06:40.5Z,1750000001,3,4\\n")
    >>> cols["start_ns"], cols["end_ns"], cols["first_token_ns"]
    ([1750000000500000000], [1750000001000000000], [None])
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        where = data[: e.start].count(b"\n") + 1
        raise _req_error("unsupported_encoding", where, "invalid UTF-8") from None
    pieces = re.split(r"(\r\n|\n|\r)", text)
    lines = [(pieces[k], k + 1 < len(pieces)) for k in range(0, len(pieces), 2)]
    if lines and lines[-1] == ("", False):
        lines.pop()
    cols: dict[str, list[Any]] = {c: [] for c in (
        "request_id", "start_ns", "first_token_ns", "end_ns", "input_tokens", "output_tokens", "model", "ok",
        "token_source", "line")}
    info: dict[str, Any] = {"n_duplicate_identical": 0, "truncated_tail": False, "unterminated_final_line": False}
    header: list[str] | None = None
    seen: dict[str, int] = {}
    for number, (line, terminated) in enumerate(lines, start=1):
        # Rust's is_ascii_whitespace: no vertical tab.
        if all(c in " \t\n\x0c\r" for c in line):
            continue
        fields = _req_split(line)
        if header is None:
            if fields is None:
                raise _req_error("schema", number, "unbalanced quote in the header")
            header = [f.strip().lower() for f in fields]
            names = header

            def col(stem: str) -> tuple[int, str] | None:
                a, b = f"{stem}_time" in names, f"{stem}_ns" in names
                if a and b:
                    raise _req_error("schema", number, f"both {stem}_time and {stem}_ns")
                if a:
                    return names.index(f"{stem}_time"), "s"
                return (names.index(f"{stem}_ns"), "ns") if b else None

            if any(n and names[:k].count(n) for k, n in enumerate(names)):
                raise _req_error("schema", number, "a repeated column")
            start, first, end = col("start"), col("first_token"), col("end")
            if start is None or end is None or any(
                c not in names for c in ("request_id", "input_tokens", "output_tokens")
            ):
                raise _req_error("schema", number, "missing columns")
            idx = {c: names.index(c) for c in ("request_id", "input_tokens", "output_tokens")}
            opt = {c: (names.index(c) if c in names else None) for c in ("model", "ok", "token_source")}
            continue
        assert start is not None and end is not None
        row: dict[str, Any] | None = None
        failure: EpcoreError | None = None
        try:
            if fields is None:
                raise ValueError("unbalanced quote")
            if len(fields) != len(header):
                failure = _req_error("unequal_lengths", number, f"expected {len(header)} fields, found {len(fields)}")
                raise ValueError
            rid = fields[idx["request_id"]]
            if rid == "":
                raise ValueError("empty id")
            s_ns = _req_time(fields[start[0]], start[1])
            e_ns = _req_time(fields[end[0]], end[1])
            if s_ns is None or e_ns is None:
                raise ValueError("missing time")
            f_ns = None if first is None else _req_time(fields[first[0]], first[1])
            ok_text = None if opt["ok"] is None else fields[opt["ok"]].lower()
            if ok_text is not None and ok_text not in ("true", "1", "yes", "false", "0", "no"):
                raise ValueError("ok")
            src = "unknown" if opt["token_source"] is None else (fields[opt["token_source"]] or "unknown")
            if src not in _REQ_SOURCES:
                raise ValueError("token_source")
            model = None if opt["model"] is None else (fields[opt["model"]] or None)
            row = {
                "request_id": rid, "start_ns": s_ns, "first_token_ns": f_ns, "end_ns": e_ns,
                "input_tokens": _req_tokens(fields[idx["input_tokens"]]),
                "output_tokens": _req_tokens(fields[idx["output_tokens"]]),
                "model": model, "ok": ok_text is None or ok_text in ("true", "1", "yes"), "token_source": src,
                "line": number,
            }
        except ValueError as e:
            if failure is None:
                failure = _req_error("bad_value", number, str(e) or "bad value")
        window: EpcoreError | None = None
        if row is not None:
            s_ns, e_ns, f_ns = row["start_ns"], row["end_ns"], row["first_token_ns"]
            if not (_REQ_EPOCH_2000_NS <= s_ns < _REQ_EPOCH_2100_NS and _REQ_EPOCH_2000_NS <= e_ns < _REQ_EPOCH_2100_NS):
                window = _req_error("bad_value", number, "time not between 2000 and 2100")
            elif e_ns < s_ns:
                window = _req_error("invalid_window", number, "ends before it starts")
            elif f_ns is not None and not s_ns <= f_ns <= e_ns:
                window = _req_error("invalid_window", number, "first token outside [start, end]")
        if not terminated:
            if row is None or window is not None:
                info["truncated_tail"] = True
                break
            info["unterminated_final_line"] = True
        if failure is not None:
            raise failure
        if window is not None:
            raise window
        assert row is not None
        rid = row["request_id"]
        if rid in seen:
            k = seen[rid]
            if all(cols[c][k] == row[c] for c in cols if c != "line"):
                info["n_duplicate_identical"] += 1
                continue
            raise _req_error("duplicate_request_id", number, f"request id {rid!r} appears again")
        seen[rid] = len(cols["request_id"])
        for c in cols:
            cols[c].append(row[c])
    if not cols["request_id"]:
        raise _req_error("empty_input", 0, "no requests")
    return cols, info
from ._reference_attribution import attribute_reference  # noqa: E402,F401  (issue 4's reference lives in its own file)
