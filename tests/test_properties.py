"""Property tests: the Rust path against the plain-Python oracle, and the laws energy obeys.

The oracle (``epcore._reference``) integrates with exact fractions, so every
comparison below is against the exact integral of the interpolant of the
accepted samples: totals to 1e-12 relative, window energies to 1e-12 relative
to the energy of the window plus that of the segments its edges cut (an edge
inside a segment is one rounded interpolation, the only inexact step), with a
floor of 1e-30 of the energy before the window's end (see ``edge_scale``).

Profiles (``HYPOTHESIS_PROFILE=ci|thorough``) are set in ``conftest.py``.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, example, given, note, settings
from hypothesis import strategies as st

import epcore
from epcore import _core
from epcore import _reference as ref
from epcore.integration import COUNTER_UNITS_J

from conftest import scaled_examples

S = 1_000_000_000  # ns per second
I64_MAX = 2**63 - 1
EPOCH_2024 = 1_717_000_000 * S


# --------------------------------------------------------------------------- comparison helpers


def assert_close(got: float, exact: Fraction, rel: float = 1e-12, scale: Fraction | None = None, what: str = "") -> None:
    """``|got - exact| <= rel * scale`` (scale defaults to ``|exact|``; exact zero must come out zero)."""
    assert math.isfinite(got), f"{what}: {got}"
    bound = Fraction(rel) * (abs(exact) if scale is None else scale)
    err = abs(Fraction(got) - exact)
    assert err <= bound, f"{what}: got {got!r}, exact {float(exact)!r}, error {float(err):.3g} > {float(bound):.3g}"


def outcome(fn: Any) -> tuple[str, Any]:
    """``("ok", value)`` or ``("err", (class name, code, index, value))``."""
    try:
        return "ok", fn()
    except epcore.EpcoreError as e:
        return "err", (type(e).__name__, e.code, e.index, e.value)


def gap_s_of(max_gap_ns: int | None) -> float | None:
    """The ``max_gap_s`` that ``epcore.options`` turns back into exactly ``max_gap_ns``."""
    if max_gap_ns is None:
        return None
    g = max_gap_ns / 1e9
    assert max(1, round(g * 1e9)) == max_gap_ns
    return g


def public_kwargs(o: dict[str, Any]) -> dict[str, Any]:
    """Oracle options → keyword arguments of ``epcore.integrate`` (without the values)."""
    kw: dict[str, Any] = {
        "max_gap_s": gap_s_of(o.get("max_gap_ns")),
        "strict": o.get("strict", False),
        "negative_tolerance_w": o.get("negative_tolerance_w", 1.0),
        "max_power_w": o.get("max_power_w", 100_000.0),
    }
    if o.get("rule", "trapezoid") == "counter":
        unit = o.get("counter_unit_j", 1.0)
        kw["counter_unit"] = next(k for k, u in COUNTER_UNITS_J.items() if u == unit)
        kw["counter_modulus"] = o.get("counter_modulus")
    else:
        kw["rule"] = o.get("rule", "trapezoid")
    return kw


def rust_integrate(t: list[int], v: list[float], o: dict[str, Any], windows: Any = None, threads: int = 1) -> Any:
    kw = public_kwargs(o)
    values = np.array(v, dtype=np.float64)
    if o.get("rule") == "counter":
        kw["energy_counter"] = values
    else:
        kw["power_w"] = values
    w = None if windows is None else np.array(windows, dtype=np.int64).reshape(-1, 2)
    return epcore.integrate(np.array(t, dtype=np.int64), windows=w, threads=threads, **kw)


def core_options(o: dict[str, Any]) -> Any:
    return _core.Options(**o)


def seconds(ns: int) -> Any:
    """Integer ns as the float seconds a report shows (the conversion rounds once)."""
    return pytest.approx(ns / 1e9, rel=2.3e-16, abs=0)


def check_against_oracle(r: epcore.IntegrationResult, d: dict[str, Any]) -> None:
    """Every number of a public result against the oracle's dict."""
    assert_close(r.energy_j, d["energy_j_exact"], what="energy_j")
    q = r.quality
    assert q.method == d["method"]
    assert q.max_gap_s == seconds(d["max_gap_ns"])
    for k in ("n_rows", "n_samples", "n_nonfinite", "n_negative_clamped", "n_duplicate_identical",
              "n_gaps", "n_wraps", "n_resets"):
        assert getattr(q, k) == d[k], k
    assert q.gap_s == seconds(d["gap_ns"])
    assert q.covered_s == seconds(d["covered_ns"])
    assert q.span_s == seconds(d["span_ns"])
    assert q.min_dt_s == seconds(d["min_dt_ns"])
    assert q.max_dt_s == seconds(d["max_dt_ns"])
    ch = r.channels[0]
    assert (ch.first_t_ns, ch.last_t_ns) == (d["first_t_ns"], d["last_t_ns"])
    if d["method"] != "counter":
        assert (ch.min_power_w, ch.max_power_w) == (d["min_value"], d["max_value"])


def partial_dict_equal(a: dict[str, Any], b: dict[str, Any], rel: float = 1e-15) -> None:
    """Two ``Partial.to_dict()``: every field equal, the energy to ``rel``."""
    assert a.keys() == b.keys()
    for k in a:
        if k == "energy_j":
            assert_close(a[k], Fraction(b[k]), rel=rel, what=k)
        else:
            assert a[k] == b[k], (k, a[k], b[k])


def edge_scale(trace: ref.ReferenceTrace, windows: list[tuple[int, int]]) -> list[Fraction]:
    """Per window: its exact energy plus the energy of every segment one of its edges cuts, plus
    1e-18 of the energy from the start of the trace to its end.

    The last term is the floor of the method: a window is a difference of two cumulative
    double-double sums, good to about eps² ≈ 1e-32 of the cumulative energy, so a window
    holding less than ~1e-20 of the energy before it (1e-75 W after 3 W, say) loses relative
    accuracy. 1e-12 × 1e-18 = 1e-30 leaves a margin over eps².
    """
    out = []
    for a, b in windows:
        scale = abs(sum((s.energy_j(trace.opts, a, b) for s in trace.segments), Fraction(0)))
        for s in trace.segments:
            if s.a.t_ns < a < s.b.t_ns or s.a.t_ns < b < s.b.t_ns:
                scale += abs(s.energy_j(trace.opts))
        cumulative = sum((s.energy_j(trace.opts, None, b) for s in trace.segments), Fraction(0))
        out.append(scale + cumulative / 10**18)
    return out


# --------------------------------------------------------------------------- strategies

powers = st.one_of(
    st.integers(0, 1000).map(float),
    st.floats(1e-100, 2000.0, allow_nan=False, allow_infinity=False, allow_subnormal=False),
    st.just(0.0),
)


@st.composite
def power_traces(draw: Any, *, max_rows: int = 30, repairs: bool = True, errors: bool = False,
                 options: bool = True) -> dict[str, Any]:
    """Rows of one power channel and oracle options.

    ``repairs`` mixes in rows the integrator repairs (NaN/inf, small negatives,
    identical duplicates); ``errors`` rows it refuses (time going back,
    conflicting duplicates, big negatives, implausible power); gaps are always
    possible. Explicit thresholds come with ``options``.
    """
    rule = draw(st.sampled_from(["trapezoid", "hold"]))
    o: dict[str, Any] = {"rule": rule}
    if options:
        # Up to 10 s to the ns, or whole seconds up to three years (both survive max_gap_s).
        o["max_gap_ns"] = draw(st.one_of(st.none(), st.integers(1, 10 * S), st.integers(1, 10**8).map(lambda k: k * S)))
        o["negative_tolerance_w"] = draw(st.sampled_from([1.0, 1.0, 0.0, 0.5, 5.0]))
        o["max_power_w"] = draw(st.sampled_from([100_000.0, 100_000.0, 1500.0]))
        o["strict"] = draw(st.sampled_from([False, False, False, True])) if (repairs or errors) else False
    tol = o.get("negative_tolerance_w", 1.0)
    max_p = o.get("max_power_w", 100_000.0)
    kinds = ["step"] * 8 + ["gap"]
    if repairs:
        kinds += ["nonfinite", "negative", "duplicate"]
    if errors:
        kinds += ["error"]
    n = draw(st.integers(0, max_rows))
    t0 = draw(st.sampled_from([0, EPOCH_2024, -(10**12)])) + draw(st.integers(0, 10**12))
    t: list[int] = []
    v: list[float] = []
    for i in range(n):
        kind = draw(st.sampled_from(kinds)) if i else "step"
        if kind == "error":
            kind = draw(st.sampled_from(["back", "conflict", "too_low", "too_high"]))
        prev_t = t[-1] if t else t0
        if kind == "gap":  # hours, or beyond 2^52 ns (52 days) where ns stop being exact in f64 products
            dt = draw(st.one_of(st.integers(2 * S, 10**13), st.integers(2**50, 2**54)))
        else:
            dt = draw(st.integers(1, S))
        value = min(draw(powers), max_p)
        if kind == "nonfinite":
            value = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
        elif kind == "negative" and tol > 0:
            value = -draw(st.floats(1e-300, tol, exclude_max=True, allow_subnormal=False))
        elif kind == "duplicate" and t:
            dt, value = 0, v[-1]
        elif kind == "back":
            dt = -draw(st.integers(1, S))
        elif kind == "conflict" and t:
            dt = 0
        elif kind == "too_low":
            value = -tol - draw(st.floats(0.0, 100.0))
        elif kind == "too_high":
            value = max_p * 1.5
        t.append(prev_t + dt)
        v.append(value)
    return {"t": t, "v": v, "o": o}


def amounts(top: float) -> st.SearchStrategy[float]:
    """0, or up to ``top`` but no smaller than 1e-200 (energies near the subnormal range would
    test underflow, not integration)."""
    return st.one_of(st.just(0.0), st.floats(1e-200, top))


@st.composite
def counter_traces(draw: Any, *, max_rows: int = 30, errors: bool = False) -> dict[str, Any]:
    """Rows of a cumulative energy counter with increments, resets, wraps and dropped NaNs.

    The underlying energy only grows; the reported value is it modulo the
    wrap modulus (when there is one), or restarts after a reset.
    """
    unit = draw(st.sampled_from(["J", "mJ"]))
    u = COUNTER_UNITS_J[unit]
    modulus = draw(st.sampled_from([None, None, 5000.0 / u, 2.0**32]))
    o: dict[str, Any] = {
        "rule": "counter",
        "counter_unit_j": u,
        "counter_modulus": modulus,
        "max_gap_ns": draw(st.one_of(st.none(), st.integers(S // 2, 5 * S))),
        "max_power_w": draw(st.sampled_from([100_000.0, 2000.0])),
    }
    kinds = ["inc"] * 8 + ["reset", "nonfinite", "gap"]
    if errors:
        kinds += ["error"]
    n = draw(st.integers(0, max_rows))
    t0 = draw(st.sampled_from([0, EPOCH_2024])) + draw(st.integers(0, 10**12))
    energy = draw(amounts(1e6)) / u  # underlying cumulative, in counter units
    t: list[int] = []
    v: list[float] = []
    for i in range(n):
        kind = draw(st.sampled_from(kinds)) if i else "inc"
        if kind == "error":
            kind = draw(st.sampled_from(["negative", "drop", "drop"]))
        dt = draw(st.integers(S // 10, S)) if kind != "gap" else draw(st.integers(3 * S, 100 * S))
        prev_t = t[-1] if t else t0
        if kind in ("inc", "gap"):
            # At most 150 J per step: under the 200 J that 2000 W allows in 0.1 s, so every
            # wrap and reset is recognisable (only the "drop" rows are ambiguous).
            energy += draw(st.one_of(amounts(150.0), st.integers(0, 150).map(float))) / u
            value = math.fmod(energy, modulus) if modulus else energy
        elif kind == "reset":
            energy = draw(amounts(50.0)) / u
            value = energy
        elif kind == "nonfinite":
            value = math.nan
        elif kind == "negative":
            value = -1.0
        else:  # drop: far more than max_power_w could explain (or a big rise, so the next drop is)
            prev = v[-1] if v and math.isfinite(v[-1]) else 0.0
            energy = 5e5 / u if prev > 6e5 / u else prev + 1e6 / u
            value = math.fmod(energy, modulus) if modulus else energy
        t.append(prev_t + dt)
        v.append(value)
    return {"t": t, "v": v, "o": o}


@st.composite
def windows_for(draw: Any, t: list[int], max_windows: int = 6) -> list[tuple[int, int]]:
    """Windows with edges on samples, between them, outside the trace, and of zero length."""
    lo, hi = (min(t), max(t)) if t else (0, S)
    span = max(hi - lo, 1)
    edge = st.one_of(
        st.sampled_from(t) if t else st.just(lo),
        st.integers(lo - span // 4 - 1, hi + span // 4 + 1),
        st.integers(lo, hi),
    )
    out = []
    for _ in range(draw(st.integers(1, max_windows))):
        a, b = draw(edge), draw(edge)
        if draw(st.integers(0, 9)) == 0:
            b = a
        out.append((min(a, b), max(a, b)))
    return out


def oracle_ok(tr: dict[str, Any]) -> bool:
    return outcome(lambda: ref.integrate_reference(tr["t"], tr["v"], **tr["o"]))[0] == "ok"


# --------------------------------------------------------------------------- Rust vs oracle


@given(st.one_of(power_traces(), power_traces(errors=True)))
def test_power_matches_oracle(tr: dict[str, Any]) -> None:
    """Energy, every count and every error (class, code, index, value) as the oracle says."""
    t, v, o = tr["t"], tr["v"], tr["o"]
    want = outcome(lambda: ref.integrate_reference(t, v, **o))
    got = outcome(lambda: rust_integrate(t, v, o))
    note(f"oracle: {want}")
    assert got[0] == want[0], (got, want)
    if want[0] == "err":
        assert got[1] == want[1]
    else:
        check_against_oracle(got[1], want[1])


@given(st.one_of(counter_traces(), counter_traces(errors=True)))
def test_counter_matches_oracle(tr: dict[str, Any]) -> None:
    """Counters: differences, wraps, resets, dropped rows and errors as the oracle says."""
    t, v, o = tr["t"], tr["v"], tr["o"]
    want = outcome(lambda: ref.integrate_reference(t, v, **o))
    got = outcome(lambda: rust_integrate(t, v, o))
    note(f"oracle: {want}")
    assert got[0] == want[0], (got, want)
    if want[0] == "err":
        assert got[1] == want[1]
    else:
        check_against_oracle(got[1], want[1])


@given(st.data(), st.one_of(power_traces(errors=True), counter_traces(errors=True)))
def test_windows_match_oracle(data: st.DataObject, tr: dict[str, Any]) -> None:
    """Per window: energy, covered time, coverage and gap count as the oracle says."""
    t, v, o = tr["t"], tr["v"], tr["o"]
    windows = data.draw(windows_for(t))
    want = outcome(lambda: ref.window_energy_reference(t, v, windows, **o))
    got = outcome(lambda: rust_integrate(t, v, o, windows=windows))
    note(f"oracle: {want}")
    assert got[0] == want[0], (got, want)
    if want[0] == "err":
        assert got[1] == want[1]
        return
    r, ws = got[1], want[1]
    trace = ref.run_reference(t, v, **o)
    scales = edge_scale(trace, windows)
    _, (energy, covered, gaps) = _core.integrate_windows(
        np.array(t, dtype=np.int64), np.array(v, dtype=np.float64), np.array(windows, dtype=np.int64),
        core_options({**o, "max_gap_ns": trace.max_gap_ns}), 1,
    )
    for i, w in enumerate(ws):
        assert_close(r.window_energy_j[i], w["energy_j_exact"], scale=scales[i], what=f"window {i}")
        assert energy[i] == r.window_energy_j[i]
        assert covered[i] == w["covered_ns"], i
        assert gaps[i] == w["n_gaps"] == r.window_n_gaps[i], i
        a, b = windows[i]
        if b > a:
            # (a ratio of int64 ns taken in float64: exact up to 2^53 ns, one rounding beyond)
            assert r.window_coverage[i] == pytest.approx(w["covered_ns"] / (b - a), rel=1e-15)


@settings(max_examples=scaled_examples(2))
@given(st.integers(0, 2**32), st.sampled_from(["trapezoid", "hold", "counter"]))
def test_block_boundaries_match_oracle(seed: int, rule: str) -> None:
    """Past 65 536 rows the core cuts blocks and merges them; anomalies sit on the cuts."""
    rng = np.random.default_rng(seed)
    block = 1 << 16
    n = block + 3000
    dt = rng.integers(50_000_000, 150_000_000, n)
    for k in rng.integers(block - 3, block + 3, 4):  # gaps near the cut
        dt[k] = 20 * S
    t = (EPOCH_2024 + np.cumsum(dt)).tolist()
    if rule == "counter":
        v = np.cumsum(rng.integers(0, 30, n).astype(np.float64))
        v[block + 1 :] -= v[block + 1] - 3.0  # a reset right after the cut
        vals = v.tolist()
    else:
        vals = rng.integers(50, 700, n).astype(np.float64).tolist()
        vals[block - 1] = math.nan
        vals[block] = -0.25
        vals[block + 2] = 123.456
        t[block + 3] = t[block + 2]
        vals[block + 3] = vals[block + 2]  # identical duplicate just after the cut
    o = {"rule": rule, "max_gap_ns": 5 * S}
    want = ref.integrate_reference(t, vals, **o)
    assert want["n_gaps"] >= 1
    for threads in (1, 2):
        check_against_oracle(rust_integrate(t, vals, o, threads=threads), want)


@settings(max_examples=scaled_examples(50))
@given(st.integers(0, 2**32), st.integers(0, 3000))
def test_auto_gap_threshold_matches_oracle(seed: int, n: int) -> None:
    """``max(5 × lower median interval of the first 1025 rows, 2 s)``, duplicates and NaN rows included."""
    rng = np.random.default_rng(seed)
    scale = int(rng.choice([10**6, 10**8, S, 10 * S]))
    dt = rng.integers(0, 2 * scale, n)
    t = (EPOCH_2024 + np.cumsum(dt)).astype(np.int64)
    v = rng.uniform(0, 500, n)
    v[dt == 0] = np.nan  # a repeated time with a new value would be a conflict
    p = epcore.partial(t, v).to_dict()
    assert p["max_gap_ns"] == ref.auto_max_gap_ns_reference(t.tolist())


# --------------------------------------------------------------------------- exactness


@given(
    st.one_of(
        # Integer watts over any intervals up to 2 s, or 1/1024 W steps over intervals up to 1 ms:
        # either way every term (p0 + p1)·dt and their sum are exact in f64.
        st.tuples(st.integers(0, 5000).map(float), st.just(2**31)),
        st.tuples(st.integers(0, 5000 * 1024).map(lambda k: k / 1024), st.just(2**20)),
    ),
    st.lists(st.integers(1, 2**31), min_size=1, max_size=50),
    st.sampled_from(["trapezoid", "hold"]),
    st.sampled_from([0, EPOCH_2024]),
)
def test_constant_power_is_exactly_p_times_t(p_dt: tuple[float, int], dts: list[int], rule: str, t0: int) -> None:
    """P W held over T s is P·T J to the last bit, in total and in any window."""
    p, max_dt = p_dt
    dts = [1 + d % max_dt for d in dts]
    t = (t0 + np.cumsum([0] + dts)).astype(np.int64)
    r = epcore.integrate(t, np.full(len(t), p), rule=rule, max_gap_s=3.0)
    T_ns = int(t[-1] - t[0])
    assert r.energy_j == float(Fraction(p) * T_ns / S)
    assert r.quality.covered_s == seconds(T_ns)
    # Any window of it too: P times its overlap with the trace.
    a, b = int(t[0]) + T_ns // 3, int(t[-1]) + 7
    r = epcore.integrate(t, np.full(len(t), p), rule=rule, max_gap_s=3.0, windows=[(a, b)])
    assert r.window_energy_j[0] == float(Fraction(p) * (int(t[-1]) - a) / S)


@given(st.one_of(st.just(0.0), st.floats(1e-200, 1e5)), st.lists(st.integers(1, 10**12), min_size=1, max_size=50))
def test_constant_power_any_value_is_p_times_t_to_rounding(p: float, dts: list[int]) -> None:
    """For any float P the error is a few rounding steps, not a sum of them."""
    t = np.cumsum([0] + dts).astype(np.int64)
    exact = Fraction(p) * int(t[-1]) / S
    for rule in ("trapezoid", "hold"):
        r = epcore.integrate(t, np.full(len(t), p), rule=rule, max_gap_s=1e4)
        assert_close(r.energy_j, exact, rel=4 * 2.0**-53, what=rule)


@st.composite
def piecewise_linear(draw: Any) -> tuple[list[int], list[float], Fraction]:
    """Knots of a piecewise-linear power curve (integer W, integer slope in W per ms), sampled
    at every knot and at random ms in between, and its exact integral from the knots alone."""
    n_pieces = draw(st.integers(1, 8))
    knots_ms = [0]
    knots_w = [draw(st.integers(0, 1000))]
    for _ in range(n_pieces):
        length = draw(st.integers(1, 200))
        slope = draw(st.integers(-5, 5))
        slope = max(slope, -(knots_w[-1] // length))  # stay >= 0
        knots_ms.append(knots_ms[-1] + length)
        knots_w.append(knots_w[-1] + slope * length)
    exact = sum(
        (Fraction(knots_w[i] + knots_w[i + 1], 2) * (knots_ms[i + 1] - knots_ms[i]) for i in range(n_pieces)),
        Fraction(0),
    ) / 1000
    extra = draw(st.sets(st.integers(0, knots_ms[-1]), max_size=40))
    times = sorted(set(knots_ms) | extra)

    def power(ms: int) -> float:
        i = max(k for k in range(n_pieces) if knots_ms[k] <= ms) if ms < knots_ms[-1] else n_pieces - 1
        slope = Fraction(knots_w[i + 1] - knots_w[i], knots_ms[i + 1] - knots_ms[i])
        w = knots_w[i] + slope * (ms - knots_ms[i])
        assert w.denominator == 1
        return float(w)

    return times, [power(ms) for ms in times], exact


@given(piecewise_linear(), st.sampled_from([0, EPOCH_2024]))
def test_piecewise_linear_power_is_exact_under_trapezoid(curve: tuple[list[int], list[float], Fraction],
                                                         t0: int) -> None:
    """Sampled at its knots (and anywhere else on it), a piecewise-linear curve integrates exactly."""
    times_ms, p, exact = curve
    t = t0 + np.array(times_ms, dtype=np.int64) * 1_000_000
    r = epcore.integrate(t, np.array(p), max_gap_s=1.0)
    assert r.energy_j == float(exact)


@given(st.lists(st.tuples(st.integers(1, 10**10), st.integers(0, 3000)), min_size=1, max_size=40))
def test_piecewise_constant_power_is_exact_under_hold(steps: list[tuple[int, int]]) -> None:
    """Hold integrates a step function sampled at its steps exactly."""
    t = np.cumsum([0] + [d for d, _ in steps]).astype(np.int64)
    p = np.array([float(w) for _, w in steps] + [0.0])
    exact = sum((Fraction(w) * d for d, w in steps), Fraction(0)) / S
    assert epcore.integrate(t, p, rule="hold", max_gap_s=20.0).energy_j == float(exact)


# --------------------------------------------------------------------------- additivity and merging


@given(st.data(), st.one_of(power_traces(max_rows=30), counter_traces(max_rows=30)))
def test_windows_add_up_to_their_union(data: st.DataObject, tr: dict[str, Any]) -> None:
    """E[a, c] = E[a, b] + E[b, c] for any cuts; covered time adds exactly; the whole trace is one window."""
    t, v, o = tr["t"], tr["v"], tr["o"]
    assume(oracle_ok(tr))
    lo, hi = t[0] - S, t[-1] + S
    cuts = sorted(data.draw(st.lists(st.one_of(st.integers(lo, hi), st.sampled_from(t)), min_size=2, max_size=9)))
    windows = list(zip(cuts, cuts[1:])) + [(cuts[0], cuts[-1]), (t[0], t[-1])]
    kw = {**public_kwargs(o), "threads": 1}
    values = np.array(v, dtype=np.float64)
    arrays = {"energy_counter": values} if o["rule"] == "counter" else {"power_w": values}
    r = epcore.integrate(np.array(t, dtype=np.int64), windows=np.array(windows, dtype=np.int64), **arrays, **kw)
    parts, whole = r.window_energy_j[:-2], r.window_energy_j[-2]
    assert all(e >= 0 for e in parts)
    assert_close(math.fsum(parts), Fraction(whole), rel=1e-13, what="sum of parts")
    assert_close(r.window_energy_j[-1], Fraction(r.energy_j), rel=1e-14, what="whole trace as a window")
    trace = ref.run_reference(t, v, **o)
    cov = [sum(s.covered_ns(trace.opts, a, b) for s in trace.segments) for a, b in windows]
    assert sum(cov[:-2]) == cov[-2]
    assert cov[-1] == trace.to_dict()["covered_ns"]


def split_points(data: st.DataObject, n: int, max_pieces: int = 6) -> list[int]:
    cuts = data.draw(st.lists(st.integers(0, n), max_size=max_pieces - 1))
    return [0] + sorted(cuts) + [n]


def piece_partials(t: list[int], v: list[float], o: dict[str, Any], bounds: list[int]) -> list[Any]:
    kw = {"rule": o["rule"], "max_gap_s": gap_s_of(o["max_gap_ns"])}
    if o["rule"] == "counter":
        kw["counter_unit"] = public_kwargs(o)["counter_unit"]
        kw["counter_modulus"] = o["counter_modulus"]
    ta, va = np.array(t, dtype=np.int64), np.array(v, dtype=np.float64)
    return [epcore.partial(ta[a:b], va[a:b], **kw) for a, b in zip(bounds, bounds[1:])]


def default_options(tr: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """``epcore.partial`` takes the default clamp tolerance and power limit, and pieces need an
    explicit gap threshold (the automatic one looks at each piece's own head)."""
    o = dict(tr["o"])
    o.pop("negative_tolerance_w", None)
    o.pop("strict", None)
    if o["rule"] != "counter":
        o.pop("max_power_w", None)
    else:
        o["max_power_w"] = 100_000.0
    if o.get("max_gap_ns") is None:
        o["max_gap_ns"] = data.draw(st.integers(S, 10 * S))
    return o


@given(st.data(), st.one_of(power_traces(options=False), counter_traces()))
def test_merged_pieces_equal_the_whole(data: st.DataObject, tr: dict[str, Any]) -> None:
    """merge(partial(a), partial(b), ...) == partial(a ++ b ++ ...) for any split: every count equal,
    the energy to 1e-15, and both equal to the oracle."""
    o = default_options(tr, data)
    t, v = tr["t"], tr["v"]
    assume(oracle_ok({"t": t, "v": v, "o": o}))
    bounds = split_points(data, len(t))
    (whole,) = piece_partials(t, v, o, [0, len(t)])
    merged = epcore.merge(*piece_partials(t, v, o, bounds))
    partial_dict_equal(merged.to_dict(), whole.to_dict())
    want = ref.integrate_reference(t, v, **o)
    got = merged.to_dict()
    assert_close(got["energy_j"], want["energy_j_exact"], what="merged vs oracle")
    for k in got:
        if k != "energy_j":
            assert got[k] == want[k], k


@given(st.data(), st.one_of(power_traces(options=False), counter_traces()))
def test_merge_is_associative(data: st.DataObject, tr: dict[str, Any]) -> None:
    """(a·b)·c == a·(b·c), and an empty piece is a neutral element."""
    o = default_options(tr, data)
    t, v = tr["t"], tr["v"]
    assume(oracle_ok({"t": t, "v": v, "o": o}))
    i = data.draw(st.integers(0, len(t)))
    j = data.draw(st.integers(i, len(t)))
    a, b, c, empty = piece_partials(t, v, o, [0, i, j, len(t), len(t)])
    left = a.merge(b).merge(c)
    right = a.merge(b.merge(c))
    partial_dict_equal(left.to_dict(), right.to_dict())
    partial_dict_equal(empty.merge(left).to_dict(), left.to_dict(), rel=0)
    partial_dict_equal(left.merge(empty).to_dict(), left.to_dict(), rel=0)


# --------------------------------------------------------------------------- invariances


@given(st.data(), st.one_of(power_traces(), counter_traces()))
def test_time_shift_changes_nothing(data: st.DataObject, tr: dict[str, Any]) -> None:
    """Moving every timestamp and window by the same amount changes no bit of any result."""
    t, v, o = tr["t"], tr["v"], tr["o"]
    assume(oracle_ok(tr))
    shift = data.draw(st.integers(-(2**61), 2**61))
    windows = data.draw(windows_for(t))
    ts = [x + shift for x in t]
    ws = [(a + shift, b + shift) for a, b in windows]
    assume(all(abs(x) < 2**62 for x in ts + [e for w in ws for e in w]))
    r0 = rust_integrate(t, v, o, windows=windows)
    r1 = rust_integrate(ts, v, o, windows=ws)
    assert r1.energy_j == r0.energy_j
    assert r1.quality == r0.quality
    assert r1.window_energy_j.tolist() == r0.window_energy_j.tolist()
    assert r1.window_coverage.tolist() == r0.window_coverage.tolist()
    assert r1.window_n_gaps.tolist() == r0.window_n_gaps.tolist()


@given(st.data(), power_traces(max_rows=25, options=False), st.integers(-20, 20), st.integers(0, 6))
def test_power_of_two_scaling_is_exact(data: st.DataObject, tr: dict[str, Any], kp: int, kt: int) -> None:
    """Power × 2^kp and time × 2^kt multiply every energy by exactly 2^(kp+kt) (W·s = J)."""
    t, v, o = tr["t"], tr["v"], {**tr["o"], "max_gap_ns": data.draw(st.integers(S, 10 * S))}
    assume(oracle_ok({"t": t, "v": v, "o": o}))
    windows = data.draw(windows_for(t))
    t0 = t[0] if t else 0
    ts = [t0 + (x - t0) * 2**kt for x in t]
    ws = [(t0 + (a - t0) * 2**kt, t0 + (b - t0) * 2**kt) for a, b in windows]
    vs = [math.ldexp(x, kp) for x in v]
    o2 = {**o, "max_gap_ns": o["max_gap_ns"] * 2**kt}
    assume(o2["max_gap_ns"] < 2**53)
    assume(all(abs(x) < 2**62 for x in ts + [e for w in ws for e in w]))
    # The whole problem scales: thresholds in W with the power, the gap threshold with time.
    o2["negative_tolerance_w"] = math.ldexp(1.0, kp)
    o2["max_power_w"] = math.ldexp(100_000.0, kp)
    r0 = epcore.integrate(np.array(t, dtype=np.int64), np.array(v), windows=np.array(windows, dtype=np.int64),
                          **public_kwargs(o))
    r1 = epcore.integrate(np.array(ts, dtype=np.int64), np.array(vs), windows=np.array(ws, dtype=np.int64),
                          **public_kwargs(o2))
    factor = 2.0 ** (kp + kt)
    assert r1.energy_j == r0.energy_j * factor
    assert r1.window_energy_j.tolist() == (r0.window_energy_j * factor).tolist()
    assert (r1.quality.n_gaps, r1.quality.n_negative_clamped) == (r0.quality.n_gaps, r0.quality.n_negative_clamped)


@given(st.lists(amounts(700.0), min_size=2, max_size=40),
       st.lists(st.integers(S // 100, S), min_size=40, max_size=40))
def test_milliwatts_scale_to_watts(p_w: list[float], dts: list[int]) -> None:
    """A column in mW integrates to 1000 × the joules of the same column in W (to rounding)."""
    t = np.cumsum([0] + dts[: len(p_w) - 1]).astype(np.int64)
    p = np.array(p_w)
    e_w = epcore.integrate(t, p).energy_j
    e_mw = epcore.integrate(t, p * 1000.0, max_power_w=1e8).energy_j
    assert_close(e_mw / 1000.0, Fraction(e_w), rel=1e-15)


@given(st.lists(st.tuples(st.integers(S // 10, S), st.integers(0, 10**6)), min_size=1, max_size=40),
       st.integers(0, 10**9), st.booleans())
def test_counter_in_mj_equals_counter_in_j(steps: list[tuple[int, int]], start_mj: int, reset: bool) -> None:
    """The same counter in mJ (unit "mJ") and in J (unit "J") gives the same joules, resets included.

    Readings are multiples of 125 mJ, so the J column (k/8 J) holds the same values exactly.
    """
    t = np.cumsum([0] + [d for d, _ in steps]).astype(np.int64)
    mj = 125.0 * np.cumsum([start_mj] + [inc for _, inc in steps]).astype(np.float64)
    if reset and len(mj) > 2:
        mj[len(mj) // 2 :] -= mj[len(mj) // 2] - 125.0
    r_mj = epcore.integrate(t, energy_counter=mj, counter_unit="mJ")
    r_j = epcore.integrate(t, energy_counter=mj / 1000.0, counter_unit="J")
    assert r_mj.energy_j == r_j.energy_j
    exact = ref.integrate_reference(t.tolist(), mj.tolist(), rule="counter", counter_unit_j=1e-3)
    assert_close(r_mj.energy_j, exact["energy_j_exact"])
    assert r_mj.quality.n_resets == r_j.quality.n_resets == exact["n_resets"]


def test_thread_count_changes_no_bit() -> None:
    """Over 2^21 rows (two threads' worth) with repairs, a gap and windows: threads=1, 2 and auto
    agree to the last bit, and with the exactly summed energy."""
    rng = np.random.default_rng(20240501)
    n = (1 << 21) + 12345
    dt = rng.integers(1_000_000, 2**31, n - 1)
    dt[777_777] = 60 * S  # one gap
    t = np.concatenate([[EPOCH_2024], EPOCH_2024 + np.cumsum(dt)]).astype(np.int64)
    p = rng.integers(0, 2**20, n) / 1024.0  # 20-bit values: every (p0 + p1)·dt is exact in f64
    p[1_500_000] = np.nan
    p[(1 << 16) * 20 + 1] = -0.5
    windows = np.sort(rng.integers(t[0] - S, t[-1] + S, (1000, 2)), axis=1)
    res = {k: epcore.integrate(t, p, max_gap_s=10.0, windows=windows, threads=k) for k in (1, 2, None)}
    parts = {k: epcore.partial(t, p, max_gap_s=10.0, threads=k) for k in (1, 2)}
    assert parts[1] == parts[2]  # the whole state, compensation term included
    for k in (2, None):
        assert res[k].energy_j == res[1].energy_j
        assert res[k].quality == res[1].quality
        assert res[k].window_energy_j.tolist() == res[1].window_energy_j.tolist()
    # Exact energy: every term is an exact float, fsum rounds their sum once.
    ok = ~np.isnan(p)
    ta, pa = t[ok], np.where(p[ok] < 0, 0.0, p[ok])
    terms = (pa[1:] + pa[:-1]) * np.diff(ta).astype(np.float64)
    terms[np.diff(ta) > 10 * S] = 0.0
    assert_close(res[1].energy_j, Fraction(math.fsum(terms.tolist())) / (2 * S), rel=1e-15)
    q = res[1].quality
    assert (q.n_gaps, q.n_nonfinite, q.n_negative_clamped, q.n_samples) == (1, 1, 1, n - 1)


# --------------------------------------------------------------------------- summation and numpy


def test_adversarial_summation() -> None:
    """Segment energies 1, 1e100, 1 (hold): the windows around the huge one keep their 1 J each,
    and the total is the exactly rounded sum (math.fsum); naive summation would lose them."""
    t = np.array([0, 1, 2, 3, 4], dtype=np.int64) * S
    p = np.array([1.0, 1e100, 1.0, 1.0, 7.0])
    for extra in ({}, {"t": 5 * S, "p": math.nan}):  # the second trace takes the repaired path
        tt = np.append(t, extra["t"]) if extra else t
        pp = np.append(p, extra["p"]) if extra else p
        r = epcore.integrate(tt, pp, rule="hold", max_power_w=1e300,
                             windows=[(0, S), (2 * S, 3 * S), (2 * S, 4 * S), (3 * S, 4 * S), (0, 4 * S)])
        assert r.energy_j == math.fsum([1.0, 1e100, 1.0, 1.0])
        assert r.window_energy_j.tolist()[:4] == [1.0, 1.0, 2.0, 1.0]
        assert r.window_energy_j[4] == r.energy_j
    # 2^53 J, then 10^6 × 1e-5 J: compensated, the tiny ones are all kept (10 J in all).
    n = 10**6
    t = np.arange(n + 2, dtype=np.int64) * S
    p = np.full(n + 2, 1e-5)
    p[0] = 2.0**53  # ulp(2^53) = 2: plain summation drops every later term
    e = epcore.integrate(t, p, rule="hold", max_power_w=1e300).energy_j
    want = math.fsum([2.0**53] + [1e-5] * n)
    assert_close(e, Fraction(want), rel=1e-15)
    assert e > 2.0**53


@settings(max_examples=scaled_examples(50))
@given(st.integers(0, 2**32), st.integers(2, 20_000), st.sampled_from([0, EPOCH_2024]))
def test_trapezoid_agrees_with_numpy(seed: int, n: int, t0: int) -> None:
    """Clean random traces: epcore.integrate equals numpy.trapezoid to 1e-12."""
    rng = np.random.default_rng(seed)
    t = t0 + np.cumsum(rng.integers(1, 2 * S, n)).astype(np.int64)
    p = rng.uniform(0, 1000, n) * rng.choice([1e-3, 1.0, 50.0])
    r = epcore.integrate(t, p, max_gap_s=2.0)
    want = float(np.trapezoid(p, (t - t[0]).astype(np.float64))) / 1e9
    assert abs(r.energy_j - want) <= 1e-12 * want


@pytest.mark.parametrize("rule", ["trapezoid", "hold"])
@example(t=[0, 1, 2], v=[1.0, -2.0, 1.0])
@given(t=st.lists(st.integers(0, 10), min_size=1, max_size=6), v=st.lists(st.sampled_from([0.0, 1.0, -0.5, -2.0, math.nan]), min_size=1, max_size=6))
def test_tiny_traces_match_oracle(rule: str, t: list[int], v: list[float]) -> None:
    """Exhaustive-ish small cases: few rows, few times, few values (duplicates, clamps, NaN, errors)."""
    n = min(len(t), len(v))
    t, v = t[:n], v[:n]
    o = {"rule": rule, "max_gap_ns": 3}
    want = outcome(lambda: ref.integrate_reference(t, v, **o))
    got = outcome(lambda: rust_integrate(t, v, o))
    assert got[0] == want[0], (got, want)
    if want[0] == "err":
        assert got[1] == want[1]
    else:
        check_against_oracle(got[1], want[1])
