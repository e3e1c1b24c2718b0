"""Hand-computed tests of the attribution oracle (``epcore._reference_attribution``).

The oracle is what the property tests trust, so each case here is worked out
by hand in a comment next to it. Times are in seconds (``S`` ns) from 0 unless
said otherwise; power in W, energy in J.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from epcore import ConfigError, EpcoreError, TraceError
from epcore._reference_attribution import attribute_reference

S = 1_000_000_000


def req(rid: str, s: float, f: float | None, e: float, i: int = 10, o: int = 10, **extra: Any) -> dict[str, Any]:
    """A request with times in seconds."""
    return {
        "request_id": rid,
        "start_ns": round(s * S),
        "first_token_ns": None if f is None else round(f * S),
        "end_ns": round(e * S),
        "input_tokens": i,
        "output_tokens": o,
        **extra,
    }


def const(p: float = 100.0, t_end: int = 10, step: int = 1) -> tuple[list[int], list[float]]:
    """Constant power ``p`` sampled every ``step`` s over [0, t_end] s."""
    t = list(range(0, t_end * S + 1, step * S))
    return t, [p] * len(t)


def by_id(r: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["request_id"]: row for row in r["requests"]}


def approx(x: float) -> Any:
    return pytest.approx(x, rel=1e-12, abs=1e-12)


def check_conservation(r: dict[str, Any]) -> None:
    """Exact: attributed + unattributed = total; the requests' shares add up to attributed."""
    ex = r["exact"]
    assert ex["attributed_energy_j"] + ex["unattributed_energy_j"] == ex["total_energy_j"]
    assert ex["attributed_by_requests"] == ex["attributed_energy_j"]


# --------------------------------------------------------------------------- one request


def test_a_lone_request_gets_exactly_its_window_energy() -> None:
    # p(t) = 100, 200, 300, 200, 100 W at t = 0..4 s (trapezoid). Request [0.5, 2.5] s:
    #   [0.5, 1]: p(0.5) = 150, (150 + 200) / 2 * 0.5 = 87.5
    #   [1, 2]:   (200 + 300) / 2 = 250
    #   [2, 2.5]: p(2.5) = 250, (300 + 250) / 2 * 0.5 = 137.5      -> 475 J
    # whole trace: 150 + 250 + 250 + 150 = 800 J -> unattributed 325 J
    t = [0, S, 2 * S, 3 * S, 4 * S]
    p = [100.0, 200.0, 300.0, 200.0, 100.0]
    for weight in ("equal", "phase", "tokens"):
        r = attribute_reference({"gpu": (t, p)}, [req("a", 0.5, None, 2.5)], weight=weight, idle_w=None)
        check_conservation(r)
        a = by_id(r)["a"]
        assert a["energy_j"] == 475.0 and a["dynamic_energy_j"] == 475.0
        assert a["prefill_energy_j"] is None and a["decode_energy_j"] is None  # no first token
        assert a["coverage"] == 1.0 and a["reason"] is None
        assert a["mean_power_w"] == 237.5  # 475 J / 2 s
        assert a["joules_per_output_token"] == 47.5  # 475 / 10
        assert a["joules_per_token"] == 23.75  # 475 / (10 + 10)
        assert r["total_energy_j"] == 800.0
        assert r["attributed_energy_j"] == 475.0
        assert r["unattributed_energy_j"] == 325.0
        assert r["unsplit_energy_j"] == 475.0 and r["prefill_energy_j"] == 0.0
        assert r["span_ns"] == [0, 4 * S]


def test_a_lone_request_with_a_first_token_splits_at_it_and_the_phases_add_up() -> None:
    # Same trace; request [0.5, 2.5] s with first token at 1.5 s:
    #   prefill [0.5, 1.5]: 87.5 + (200 + 250) / 2 * 0.5 = 87.5 + 112.5 = 200
    #   decode [1.5, 2.5]: (250 + 300) / 2 * 0.5 + 137.5 = 137.5 + 137.5 = 275   (sum 475)
    # I = 8, O = 12: J/input = 200 / 8 = 25, decode J/token = 275 / 11 = 25, J/output = 475 / 12
    t = [0, S, 2 * S, 3 * S, 4 * S]
    p = [100.0, 200.0, 300.0, 200.0, 100.0]
    r = attribute_reference({"gpu": (t, p)}, [req("a", 0.5, 1.5, 2.5, i=8, o=12)], idle_w=None)
    a = by_id(r)["a"]
    assert (a["prefill_energy_j"], a["decode_energy_j"], a["energy_j"]) == (200.0, 275.0, 475.0)
    assert a["joules_per_input_token"] == 25.0
    assert a["decode_joules_per_token"] == 25.0
    assert a["joules_per_output_token"] == approx(475 / 12)
    assert r["prefill_energy_j"] == 200.0 and r["decode_energy_j"] == 275.0 and r["unsplit_energy_j"] == 0.0
    assert r["joules_per_input_token"] == 25.0 and r["decode_joules_per_token"] == 25.0


def test_hold_rule_window() -> None:
    # hold: p = 100 on [0, 1), 300 on [1, 2). Request [0.5, 1.5]: 100 * 0.5 + 300 * 0.5 = 200 J
    r = attribute_reference({"gpu": ([0, S, 2 * S], [100.0, 300.0, 50.0])}, [req("a", 0.5, None, 1.5)],
                            rule="hold", idle_w=None)
    assert by_id(r)["a"]["energy_j"] == 200.0
    assert r["total_energy_j"] == 400.0  # 100 + 300


# --------------------------------------------------------------------------- sharing


@pytest.mark.parametrize("weight", ["equal", "phase", "tokens"])
def test_two_identical_concurrent_requests_split_equally(weight: str) -> None:
    # 100 W over [0, 10] s; both [2, 6] s with first token at 3 s: 400 J in the window, 200 J each
    # (prefill [2, 3]: 100 J -> 50 each; decode [3, 6]: 300 J -> 150 each)
    reqs = [req("a", 2, 3, 6, i=7, o=9), req("b", 2, 3, 6, i=7, o=9)]
    r = attribute_reference({"gpu": const()}, reqs, weight=weight, idle_w=None)
    check_conservation(r)
    rows = by_id(r)
    for k in "ab":
        assert rows[k]["energy_j"] == 200.0
        assert rows[k]["prefill_energy_j"] == 50.0
        assert rows[k]["decode_energy_j"] == 150.0
    assert r["attributed_energy_j"] == 400.0 and r["unattributed_energy_j"] == 600.0


def _prefill_decode_pair() -> list[dict[str, Any]]:
    # A: prefill [2, 4] (I = 100), decode [4, 6] (O = 11: 10 decode tokens)
    # B: prefill [0, 2] (I = 10), decode [2, 4] (O = 21: 20 decode tokens)
    return [req("A", 2, 4, 6, i=100, o=11), req("B", 0, 2, 4, i=10, o=21)]


def test_tokens_weighting_with_a_prefill_and_a_decode_request_in_one_segment() -> None:
    # 100 W: every 2 s segment holds 200 J.
    # [0, 2]: B prefill alone -> B 200
    # [2, 4]: A prefill 100 tok / 2 s = 50 tok/s; B decode (21 - 1) / 2 s = 10 tok/s
    #         -> A 200 * 50/60 = 500/3, B 200 * 10/60 = 100/3
    # [4, 6]: A decode alone -> A 200;  [6, 10]: nobody -> 400 unattributed
    r = attribute_reference({"gpu": const()}, _prefill_decode_pair(), weight="tokens", idle_w=None)
    check_conservation(r)
    rows, ex = by_id(r), r["exact"]["requests"]
    assert ex[0]["energy_j"] == Fraction(500, 3) + 200
    assert ex[1]["energy_j"] == 200 + Fraction(100, 3)
    assert rows["A"]["prefill_energy_j"] == approx(500 / 3) and rows["A"]["decode_energy_j"] == 200.0
    assert rows["B"]["prefill_energy_j"] == 200.0 and rows["B"]["decode_energy_j"] == approx(100 / 3)
    assert r["attributed_energy_j"] == 600.0 and r["unattributed_energy_j"] == 400.0
    # top level: J/input = prefill / sum I = (500/3 + 200) / 110; decode J/token = (200 + 100/3) / (10 + 20)
    assert r["joules_per_input_token"] == approx((500 / 3 + 200) / 110)
    assert r["decode_joules_per_token"] == approx((200 + 100 / 3) / 30)
    assert r["joules_per_output_token"] == approx(600 / 32)
    assert r["joules_per_token"] == approx(600 / 142)


def test_prefill_weight_scales_the_prefill_rate() -> None:
    # prefill_weight 2: in [2, 4] A weighs 2 * 100 / 2 = 100 tok/s, B 10 -> A 200 * 100/110, B 200 * 10/110
    r = attribute_reference({"gpu": const()}, _prefill_decode_pair(), prefill_weight=2.0, idle_w=None)
    ex = r["exact"]["requests"]
    assert ex[0]["prefill_energy_j"] == Fraction(200 * 100, 110)
    assert ex[1]["decode_energy_j"] == Fraction(200 * 10, 110)


def test_phase_and_equal_weighting() -> None:
    # phase, prefill_weight 3: in [2, 4] A (prefill) weighs 3, B (decode) 1 -> A 150, B 50
    r = attribute_reference({"gpu": const()}, _prefill_decode_pair(), weight="phase", prefill_weight=3.0,
                            idle_w=None)
    rows = by_id(r)
    assert rows["A"]["prefill_energy_j"] == 150.0 and rows["B"]["decode_energy_j"] == 50.0
    # equal: 100 each
    r = attribute_reference({"gpu": const()}, _prefill_decode_pair(), weight="equal", idle_w=None)
    rows = by_id(r)
    assert rows["A"]["prefill_energy_j"] == 100.0 and rows["B"]["decode_energy_j"] == 100.0


def test_decode_counts_n_minus_1_tokens() -> None:
    # Both decode over [2, 6] (first tokens at 2 s; prefill [1, 2] alone each... no: same start).
    # A: O = 1 -> 0 decode tokens -> weight 0; B: O = 5 -> 4 decode tokens / 4 s = 1 tok/s.
    # prefill [1, 2] (I = 10 each): equal rates -> 50 J each.  decode [2, 6] 400 J: all to B.
    reqs = [req("A", 1, 2, 6, i=10, o=1), req("B", 1, 2, 6, i=10, o=5)]
    r = attribute_reference({"gpu": const()}, reqs, idle_w=None)
    rows = by_id(r)
    assert rows["A"]["decode_energy_j"] == 0.0 and rows["B"]["decode_energy_j"] == 400.0
    assert rows["A"]["decode_joules_per_token"] is None  # O - 1 = 0
    assert rows["B"]["decode_joules_per_token"] == 100.0  # 400 / (5 - 1)
    assert rows["A"]["joules_per_output_token"] == 50.0  # 50 / 1
    assert r["decode_joules_per_token"] == 100.0  # 400 / (0 + 4)


def test_all_weights_zero_fall_back_to_an_equal_split() -> None:
    # tokens: both requests have I = O = 0 -> weight 0 in their only phase -> W = 0 -> 400 / 2 each.
    reqs = [req("a", 2, None, 6, i=0, o=0), req("b", 2, None, 6, i=0, o=0)]
    r = attribute_reference({"gpu": const()}, reqs, idle_w=None)
    check_conservation(r)
    assert [row["energy_j"] for row in r["requests"]] == [200.0, 200.0]
    # decode with O = 1 for both (weight 0): the decode segment [3, 6] (300 J) is split equally
    reqs = [req("a", 2, 3, 6, i=5, o=1), req("b", 2, 3, 6, i=5, o=1)]
    r = attribute_reference({"gpu": const()}, reqs, idle_w=None)
    assert [row["decode_energy_j"] for row in r["requests"]] == [150.0, 150.0]
    # phase with prefill_weight 0: two prefills [2, 3] weigh 0 -> equal split, 50 each
    r = attribute_reference({"gpu": const()}, reqs, weight="phase", prefill_weight=0.0, idle_w=None)
    assert [row["prefill_energy_j"] for row in r["requests"]] == [50.0, 50.0]
    # a weight-0 request beside a positive one gets nothing: a (I = O = 0) and b (O = 3) whole [2, 6]
    reqs = [req("a", 2, None, 6, i=0, o=0), req("b", 2, None, 6, i=0, o=3)]
    r = attribute_reference({"gpu": const()}, reqs, idle_w=None)
    assert [row["energy_j"] for row in r["requests"]] == [0.0, 400.0]


def test_zero_tokens_give_no_joules_per_token() -> None:
    # one request, I = O = 0, [2, 6]: 400 J but every J/token is None (never inf or nan)
    r = attribute_reference({"gpu": const()}, [req("a", 2, 3, 6, i=0, o=0)], idle_w=None)
    a = r["requests"][0]
    assert a["energy_j"] == 400.0
    for k in ("joules_per_output_token", "joules_per_input_token", "decode_joules_per_token", "joules_per_token"):
        assert a[k] is None, k
        assert r[k] is None, k
    assert r["dynamic_joules_per_output_token"] is None


def test_a_zero_length_request_is_covered_and_gets_nothing() -> None:
    # [3, 3] inside the trace: coverage 1, energy 0, mean power None (no duration)
    r = attribute_reference({"gpu": const()}, [req("z", 3, 3, 3), req("a", 2, None, 6)], idle_w=None)
    z = by_id(r)["z"]
    assert z["coverage"] == 1.0 and z["energy_j"] == 0.0 and z["mean_power_w"] is None
    assert z["prefill_energy_j"] == 0.0 and z["decode_energy_j"] == 0.0
    assert by_id(r)["a"]["energy_j"] == 400.0


# --------------------------------------------------------------------------- channels


def test_requests_on_their_own_channels() -> None:
    # gpu0 100 W, gpu1 50 W over [0, 10]. a on gpu0 [2, 6], b on both [4, 8] (equal weights)
    # gpu0: [2, 4] a 200; [4, 6] 200 shared -> a 100, b 100; [6, 8] b 200
    # gpu1: [4, 8] b alone 200
    # a = 300, b = 100 + 200 + 200 = 500; total 1000 + 500 = 1500
    chans = {"gpu0": const(100.0), "gpu1": const(50.0)}
    reqs = [req("a", 2, None, 6), req("b", 4, None, 8)]
    r = attribute_reference(chans, reqs, weight="equal", idle_w=None, request_channels=[["gpu0"], ["gpu0", "gpu1"]])
    check_conservation(r)
    assert [row["energy_j"] for row in r["requests"]] == [300.0, 500.0]
    assert r["total_energy_j"] == 1500.0 and r["unattributed_energy_j"] == 700.0
    assert r["n_attributed"] == 2


# --------------------------------------------------------------------------- idle and dynamic


def test_idle_auto_median_of_the_samples_outside_every_request() -> None:
    # samples at t = 0..10 s; request [4, 6] holds t = 4, 5, 6 (closed window)
    # free: t = 0..3 -> 40, 60, 50, 45 and t = 7..10 -> 55, 65, 70, 42
    # sorted 40 42 45 50 | 55 60 65 70 -> median (50 + 55) / 2 = 52.5 (8 >= 5: "idle_segments")
    t = [k * S for k in range(11)]
    p = [40.0, 60.0, 50.0, 45.0, 300.0, 300.0, 300.0, 55.0, 65.0, 70.0, 42.0]
    r = attribute_reference({"gpu": (t, p)}, [req("a", 4, None, 6)])
    assert r["idle_source"] == {"gpu": "idle_segments"}
    assert r["idle_w"] == {"gpu": 52.5}
    # idle energy: 52.5 W * 10 s covered = 525 J
    assert r["idle_energy_j"] == 525.0
    # request energy [4, 6] = 300 * 2 = 600; dynamic = 600 - 52.5 * 2 = 495
    a = r["requests"][0]
    assert a["energy_j"] == 600.0 and a["dynamic_energy_j"] == 495.0
    assert r["dynamic_energy_j"] == 495.0 and r["dynamic_joules_per_output_token"] == 49.5


def test_idle_auto_percentile_fallback() -> None:
    # 21 samples t = 0..20 s, power 100 + 5 k except t = 7 (12 W) and t = 13 (20 W).
    # Request [1, 19]: free samples t = 0 and 20 only (2 < 5) -> 5th percentile of all 21 samples:
    # ceil(0.05 * 21) = 2 -> sorted[1]; sorted: 12, 20, 100, ... -> 20 W
    t = [k * S for k in range(21)]
    p = [100.0 + 5 * k for k in range(21)]
    p[7], p[13] = 12.0, 20.0
    r = attribute_reference({"gpu": (t, p)}, [req("a", 1, None, 19)])
    assert r["idle_source"] == {"gpu": "percentile"} and r["idle_w"] == {"gpu": 20.0}
    # 20 samples: ceil(1.0) = 1 -> sorted[0] = 12 W (drop the last sample)
    r = attribute_reference({"gpu": (t[:20], p[:20])}, [req("a", 1, None, 18.5)])
    assert r["idle_source"] == {"gpu": "percentile"} and r["idle_w"] == {"gpu": 12.0}


def test_idle_auto_per_channel_counts_only_that_channels_requests() -> None:
    # gpu0 and gpu1 sampled at 0..10 s; a request [0, 10] on gpu0 only: gpu0 has no free sample
    # (percentile: 11 samples -> ceil(0.55) = 1 -> min), gpu1 has 11 free ones (median).
    t = [k * S for k in range(11)]
    p0 = [float(200 + k) for k in range(11)]  # min 200
    p1 = [float(30 + k) for k in range(11)]  # median 35
    r = attribute_reference({"gpu0": (t, p0), "gpu1": (t, p1)}, [req("a", 0, None, 10)],
                            request_channels=[["gpu0"]])
    assert r["idle_w"] == {"gpu0": 200.0, "gpu1": 35.0}
    assert r["idle_source"] == {"gpu0": "percentile", "gpu1": "idle_segments"}


def test_idle_auto_of_a_counter_uses_interval_mean_powers() -> None:
    # counter (J) at t = 0..10 s; interval powers 50 W except [4, 5] and [5, 6] at 250 W.
    # An interval is idle when it meets no request window (closed): request [4, 6] meets [3, 4] .. [6, 7],
    # leaving [0, 1], [1, 2], [2, 3], [7, 8], [8, 9], [9, 10]: 6 intervals at 50 W
    t = [k * S for k in range(11)]
    powers = [50.0, 50.0, 50.0, 50.0, 250.0, 250.0, 50.0, 50.0, 50.0, 50.0]
    c = [0.0]
    for w in powers:
        c.append(c[-1] + w)
    r = attribute_reference({"gpu": (t, c)}, [req("a", 4, None, 6)], rule="counter")
    assert r["idle_source"] == {"gpu": "idle_segments"} and r["idle_w"] == {"gpu": 50.0}
    a = r["requests"][0]
    assert a["energy_j"] == 500.0 and a["dynamic_energy_j"] == 400.0  # 500 - 50 * 2
    assert r["total_energy_j"] == 900.0


def test_idle_given_and_dynamic_energy() -> None:
    # 100 W over [0, 10]; idle 30 W given. Request [2, 6]: energy 400, dynamic 400 - 30 * 4 = 280.
    # idle energy = 30 * 10 = 300 J.
    r = attribute_reference({"gpu": const()}, [req("a", 2, None, 6)], idle_w=30.0)
    assert r["idle_source"] == {"gpu": "given"} and r["idle_w"] == {"gpu": 30.0}
    assert r["requests"][0]["dynamic_energy_j"] == 280.0
    assert r["idle_energy_j"] == 300.0 and r["dynamic_energy_j"] == 280.0
    # the same as a mapping
    r = attribute_reference({"gpu": const()}, [req("a", 2, None, 6)], idle_w={"gpu": 30.0})
    assert r["requests"][0]["dynamic_energy_j"] == 280.0


def test_dynamic_energy_shares_follow_the_weights_and_may_be_negative() -> None:
    # tokens: A and B share [2, 4] as in the prefill/decode test (A 5/6, B 1/6); idle 40 W.
    # segment [2, 4]: D = 200 - 40 * 2 = 120 -> A 100, B 20.
    # A dynamic = 100 + (200 - 80) = 220; B dynamic = (200 - 80) + 20 = 140.
    r = attribute_reference({"gpu": const()}, _prefill_decode_pair(), idle_w=40.0)
    ex = r["exact"]["requests"]
    assert (ex[0]["dynamic_energy_j"], ex[1]["dynamic_energy_j"]) == (220, 140)
    # idle 150 W above the 100 W drawn: dynamic of a lone [2, 6] request = 400 - 600 = -200 (not clamped)
    r = attribute_reference({"gpu": const()}, [req("a", 2, None, 6)], idle_w=150.0)
    assert r["requests"][0]["dynamic_energy_j"] == -200.0
    # off: dynamic = energy, idle 0
    r = attribute_reference({"gpu": const()}, [req("a", 2, None, 6)], idle_w="off")
    assert r["requests"][0]["dynamic_energy_j"] == 400.0 and r["idle_energy_j"] == 0.0
    assert r["idle_source"] == {"gpu": "off"} and r["idle_w"] == {"gpu": 0.0}


# --------------------------------------------------------------------------- coverage and bad cases


def test_a_request_outside_the_trace_gets_none_and_a_reason() -> None:
    # trace [0, 10] s: b at [20, 30] s is outside; a counted as usual
    r = attribute_reference({"gpu": const()}, [req("a", 2, 3, 6), req("b", 20, 21, 30)], idle_w=None)
    b = by_id(r)["b"]
    assert b["coverage"] == 0.0 and b["reason"] == "outside the trace"
    for k in ("energy_j", "dynamic_energy_j", "prefill_energy_j", "decode_energy_j", "joules_per_output_token",
              "joules_per_input_token", "decode_joules_per_token", "joules_per_token", "mean_power_w"):
        assert b[k] is None, k
    assert (b["counted_input_tokens"], b["counted_output_tokens"], b["counted_decode_tokens"]) == (0.0, 0.0, 0.0)
    assert r["n_requests"] == 2 and r["n_attributed"] == 1 and r["n_outside"] == 1
    # the per-token figures count only requests with energy: 400 J / 10 output tokens of a
    assert r["joules_per_output_token"] == 40.0


def test_requests_in_a_gap_and_partly_outside() -> None:
    # samples at 0, 1, 2 and 10, 11, 12 s (100 W), max gap 3 s: [2, 10] is a gap.
    # g [4, 6]: no covered time, inside the span -> "in a gap of the trace"
    # h [11, 13]: covered [11, 12] = 1 s of 2 s -> coverage 0.5, energy 100 J
    # k [1, 5]: covered [1, 2] = 1 s of 4 -> 0.25, 100 J
    t = [0, S, 2 * S, 10 * S, 11 * S, 12 * S]
    r = attribute_reference({"gpu": (t, [100.0] * 6)}, [req("g", 4, None, 6), req("h", 11, None, 13),
                                                        req("k", 1, None, 5)], idle_w=None, max_gap_s=3.0)
    rows = by_id(r)
    assert rows["g"]["coverage"] == 0.0 and rows["g"]["reason"] == "in a gap of the trace"
    assert rows["g"]["energy_j"] is None
    assert rows["h"]["coverage"] == 0.5 and rows["h"]["reason"] == "partly outside the trace (coverage 0.50)"
    assert rows["h"]["energy_j"] == 100.0
    assert rows["k"]["coverage"] == 0.25 and rows["k"]["reason"] == "partly outside the trace (coverage 0.25)"
    assert rows["k"]["energy_j"] == 100.0
    assert r["total_energy_j"] == 400.0 and r["n_outside"] == 1


def test_no_overlap_at_all_is_a_clock_mismatch_and_offset_fixes_it() -> None:
    # trace [0, 10] s; requests 1000 s later
    reqs = [req("a", 1002, None, 1006), req("b", 1007, None, 1008)]
    with pytest.raises(TraceError) as info:
        attribute_reference({"gpu": const()}, reqs)
    assert info.value.code == "clock_mismatch"
    assert "offset_ns" in (info.value.hint or "") and "tz=" in (info.value.hint or "")
    assert "1970-01-01T00:16:42" in str(info.value)  # the requests' span, UTC
    # offset -1000 s: a = [2, 6] -> 400 J; the time columns are the shifted ones
    r = attribute_reference({"gpu": const()}, reqs, idle_w=None, offset_ns=-1000 * S)
    assert by_id(r)["a"]["energy_j"] == 400.0 and by_id(r)["a"]["start_ns"] == 2 * S


def test_end_before_start_is_an_invalid_window_naming_the_row() -> None:
    reqs = [req("a", 2, None, 6), req("b", 5, None, 4)]
    with pytest.raises(TraceError) as info:
        attribute_reference({"gpu": const()}, reqs)
    assert info.value.code == "invalid_window" and info.value.index == 1


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError) as info:
        attribute_reference({"gpu": const()}, [req("a", 2, None, 6)], weight="bogus")
    assert info.value.code == "invalid_argument"
    with pytest.raises(ConfigError):
        attribute_reference({"gpu": const()}, [req("a", 2, None, 6)], prefill_weight=-1.0)
    with pytest.raises(ConfigError):
        attribute_reference({"gpu": const()}, [req("a", 2, None, 6)], idle_w=-5.0)


# --------------------------------------------------------------------------- span and steady state


def test_span_clips_totals_and_request_phases() -> None:
    # 100 W over [0, 10]; a [2, 6] with first token at 3; span [4, 8]:
    # total 400; a keeps decode [4, 6] = 200 (prefill [2, 3] is outside: 0); unattributed [6, 8] = 200
    # coverage: the window clipped to the span, [4, 6], is all covered -> 1.0; mean power 200 J / 2 s
    r = attribute_reference({"gpu": const()}, [req("a", 2, 3, 6)], idle_w=10.0, span=(4 * S, 8 * S))
    check_conservation(r)
    a = r["requests"][0]
    assert r["total_energy_j"] == 400.0 and r["attributed_energy_j"] == 200.0
    assert a["energy_j"] == 200.0 and a["prefill_energy_j"] == 0.0 and a["decode_energy_j"] == 200.0
    assert a["coverage"] == 1.0 and a["reason"] is None and a["mean_power_w"] == 100.0
    assert r["idle_energy_j"] == 40.0  # 10 W * 4 s in the span
    assert a["dynamic_energy_j"] == 180.0  # 200 - 10 * 2
    assert r["span_ns"] == [4 * S, 8 * S]
    # a span beyond the trace: total only where there are samples ([8, 10] -> 200 J); a [2, 9] keeps
    # [8, 9] = 100 J, covered 1 s of its clipped [8, 9] -> coverage 1
    r = attribute_reference({"gpu": const()}, [req("a", 2, 3, 9)], idle_w=None, span=(8 * S, 20 * S))
    assert r["total_energy_j"] == 200.0 and r["requests"][0]["energy_j"] == 100.0
    # clipped to [8, 12] the window [8, 12] of b is covered [8, 10]: 2 s of 4 -> 0.5
    r = attribute_reference({"gpu": const()}, [req("b", 7, None, 12)], idle_w=None, span=(8 * S, 20 * S))
    assert r["requests"][0]["coverage"] == 0.5 and r["requests"][0]["energy_j"] == 200.0


def test_requests_that_miss_the_span() -> None:
    # span [4, 8]: c [1, 3] misses it, d [2, 4] touches it at one point: both "outside the span",
    # coverage 0, no values; z [5, 5] (zero length) inside it is covered
    reqs = [req("c", 1, None, 3), req("d", 2, None, 4), req("z", 5, None, 5), req("a", 4, None, 6)]
    r = attribute_reference({"gpu": const()}, reqs, idle_w=None, span=(4 * S, 8 * S))
    rows = by_id(r)
    for k in "cd":
        assert rows[k]["coverage"] == 0.0 and rows[k]["reason"] == "outside the span" and rows[k]["energy_j"] is None
    assert rows["z"]["coverage"] == 1.0 and rows["z"]["energy_j"] == 0.0
    assert rows["a"]["energy_j"] == 200.0 and r["n_outside"] == 2


# A small known schedule (seconds): N = 6, at most 2 in flight at once.
#   r0 [0, 3] ft 1    r1 [1, 5] ft 2    r2 [3, 7] ft 4
#   r3 [5, 9] ft 6    r4 [7, 11] ft 8   r5 [9, 12] ft 10
# in flight: [0,1] 1, [1,3] 2, [3,5] 2, [5,7] 2, [7,9] 2, [9,11] 2, [11,12] 1 -> B = 2
# F (first tokens, sorted) = 1 2 4 6 8 10, E (ends, sorted) = 3 5 7 9 11 12
STEADY = [req("r0", 0, 1, 3), req("r1", 1, 2, 5), req("r2", 3, 4, 7),
          req("r3", 5, 6, 9), req("r4", 7, 8, 11), req("r5", 9, 10, 12)]


def test_steady_state_window_of_a_known_schedule() -> None:
    # B = 2: [F[1], E[6 - 2 - 1]] = [F[1], E[3]] = [2, 9] s -> 7 s at 100 W = 700 J, all in flight
    r = attribute_reference({"gpu": const(t_end=12)}, STEADY, idle_w=None, steady_state=True)
    assert r["steady_state"] == {"start_ns": 2 * S, "end_ns": 9 * S, "batch_size": 2}
    assert r["span_ns"] == [2 * S, 9 * S]
    assert r["total_energy_j"] == 700.0 and r["attributed_energy_j"] == 700.0
    check_conservation(r)
    # B = 1: [F[0], E[4]] = [1, 11];  B = 3: [F[2], E[2]] = [4, 7]
    r = attribute_reference({"gpu": const(t_end=12)}, STEADY, idle_w=None, steady_state=True, batch_size=1)
    assert r["span_ns"] == [1 * S, 11 * S] and r["total_energy_j"] == 1000.0
    r = attribute_reference({"gpu": const(t_end=12)}, STEADY, idle_w=None, steady_state=True, batch_size=3)
    assert r["span_ns"] == [4 * S, 7 * S] and r["total_energy_j"] == 300.0


def test_impossible_steady_states() -> None:
    # B = 5: [F[4], E[0]] = [8, 3] is empty;  B = 6: N <= B
    for b in (5, 6):
        with pytest.raises(EpcoreError) as info:
            attribute_reference({"gpu": const(t_end=12)}, STEADY, steady_state=True, batch_size=b)
        assert info.value.code == "invalid_argument"
    # two overlapping requests: B = 2 = N -> error
    with pytest.raises(EpcoreError) as info:
        attribute_reference({"gpu": const(t_end=12)}, STEADY[:2], steady_state=True)
    assert info.value.code == "invalid_argument"
    # three disjoint requests: B = 1, N = 3 -> [F[0], E[3 - 1 - 1]] = [1, 6] (5 s, 500 J)
    reqs = [req("a", 0, 1, 3), req("b", 4, 5, 6), req("c", 7, 8, 9)]
    r = attribute_reference({"gpu": const(t_end=12)}, reqs, idle_w=None, steady_state=True)
    assert r["steady_state"] == {"start_ns": S, "end_ns": 6 * S, "batch_size": 1}
    assert r["total_energy_j"] == 500.0 and r["attributed_energy_j"] == 400.0  # [3, 4] is idle


def test_requests_only_in_a_gap_are_not_a_clock_mismatch() -> None:
    # samples at 0, 1, 2 and 10, 11, 12 s, max gap 3 s; the only request [4, 6] lies in the gap:
    # it meets the trace's [0, 12] s, so no clock_mismatch; coverage 0, reason "in a gap of the trace"
    t = [0, S, 2 * S, 10 * S, 11 * S, 12 * S]
    r = attribute_reference({"gpu": (t, [100.0] * 6)}, [req("g", 4, None, 6)], idle_w=None, max_gap_s=3.0)
    g = r["requests"][0]
    assert g["coverage"] == 0.0 and g["reason"] == "in a gap of the trace" and g["energy_j"] is None
    assert r["n_outside"] == 1 and r["attributed_energy_j"] == 0.0 and r["total_energy_j"] == 400.0


def test_idle_auto_is_estimated_from_the_whole_trace_whatever_the_span() -> None:
    # samples at 0..10 s: 20 W except 100 W at 4, 5, 6 s; request [4, 6] s; span [4.5, 5.5] s holds one
    # sample only, but the idle estimate reads the whole trace: 8 idle samples at 20 W -> 20 W
    t = [k * S for k in range(11)]
    p = [20.0] * 4 + [100.0] * 3 + [20.0] * 4
    r = attribute_reference({"gpu": (t, p)}, [req("a", 4, None, 6)], span=(9 * S // 2, 11 * S // 2))
    assert r["idle_w"] == {"gpu": 20.0} and r["idle_source"] == {"gpu": "idle_segments"}
    # [4.5, 5.5]: 100 W throughout -> 100 J; idle 20 W * 1 s -> dynamic 80 J
    assert r["total_energy_j"] == 100.0 and r["requests"][0]["dynamic_energy_j"] == 80.0
    assert r["idle_energy_j"] == 20.0


def test_per_token_figures_in_a_span_divide_by_the_tokens_processed_inside_it() -> None:
    # 100 W over [0, 10] s. a: [0, 4] s, first token at 2 s, I = 10, O = 9 (8 decode tokens);
    # b: [3, 7] s, no first token, I = 4, O = 8. Span [1, 5] s.
    # a: inside(0, 2) = 1/2 -> counted input 5; inside(2, 4) = 1 -> counted decode 8;
    #    first token 2 s in the span -> counted output 1 + 8 = 9
    # b: inside(3, 7) = 2/4 -> counted input 2, output 4, decode 0
    # energies (tokens weights): [1, 2] a prefill alone: 100; [2, 3] a decode alone: 100;
    #   [3, 4] a decode 8 / 2 s = 4 tok/s vs b (4 + 8) / 4 s = 3 tok/s -> a 400/7, b 300/7;
    #   [4, 5] b alone: 100.  a = 200 + 400/7, b = 100 + 300/7
    reqs = [req("a", 0, 2, 4, i=10, o=9), req("b", 3, None, 7, i=4, o=8)]
    r = attribute_reference({"gpu": const()}, reqs, idle_w=None, span=(S, 5 * S))
    ex = r["exact"]["requests"]
    assert (ex[0]["counted_input_tokens"], ex[0]["counted_output_tokens"], ex[0]["counted_decode_tokens"]) == (5, 9, 8)
    assert (ex[1]["counted_input_tokens"], ex[1]["counted_output_tokens"], ex[1]["counted_decode_tokens"]) == (2, 4, 0)
    assert ex[0]["energy_j"] == 200 + Fraction(400, 7) and ex[1]["energy_j"] == 100 + Fraction(300, 7)
    assert ex[0]["joules_per_input_token"] == Fraction(100, 5)  # prefill [1, 2] = 100 J over 5 tokens
    assert ex[0]["decode_joules_per_token"] == (100 + Fraction(400, 7)) / 8
    assert ex[0]["joules_per_output_token"] == (200 + Fraction(400, 7)) / 9
    assert ex[1]["joules_per_token"] == (100 + Fraction(300, 7)) / 6
    # the totals: ratios of sums (the prefill divisor counts requests with a first token only)
    assert r["counted_input_tokens"] == 7.0 and r["counted_prefill_tokens"] == 5.0
    assert r["counted_output_tokens"] == 13.0 and r["counted_decode_tokens"] == 8.0
    assert r["joules_per_output_token"] == approx(400 / 13) and r["joules_per_token"] == approx(400 / 20)
    assert r["joules_per_input_token"] == 20.0
    # the first token outside the span: a's first output token is not counted (span [2.5, 5] s)
    r = attribute_reference({"gpu": const()}, reqs, idle_w=None, span=(5 * S // 2, 5 * S))
    ex = r["exact"]["requests"]
    assert (ex[0]["counted_input_tokens"], ex[0]["counted_output_tokens"]) == (0, 6)  # 8 * (1.5 / 2)
    assert r["requests"][0]["joules_per_input_token"] is None
    # without a span the divisors are the request's own counts
    r = attribute_reference({"gpu": const()}, reqs, idle_w=None)
    assert r["exact"]["requests"][0]["counted_output_tokens"] == 9 and r["counted_input_tokens"] == 14.0
