"""Example-based tests of the public integration API: inputs, channels, windows, repairs,
errors and their attributes, the quality report, and one real nvidia-smi trace."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import epcore
from epcore import ConfigError, EpcoreError, ParseError, QualityReport, SchemaError, TraceError

S = 1_000_000_000
T0 = 1_717_000_000 * S  # 2024-05-29 16:26:40 UTC


def ramp(n: int = 11, step_ns: int = 100_000_000) -> tuple[np.ndarray, np.ndarray]:
    """n samples every step_ns from T0, power 100, 110, 120 ... W."""
    t = T0 + np.arange(n, dtype=np.int64) * step_ns
    return t, 100.0 + 10.0 * np.arange(n)


# --------------------------------------------------------------------------- time forms


def test_datetime64_int64_and_float_seconds_give_the_same_energy() -> None:
    rel = np.array([0, 100, 250, 400, 1000, 1750, 2000], dtype=np.int64)  # ms
    p = np.array([300.0, 310.0, 305.5, 290.0, 400.0, 350.25, 320.0])
    t_ns = T0 + rel * 1_000_000
    forms = {
        "int64 ns": t_ns,
        "datetime64[ns]": t_ns.astype("datetime64[ns]"),
        "datetime64[ms]": t_ns.astype("datetime64[ns]").astype("datetime64[ms]"),
        "float s": rel / 1000.0,  # float seconds: relative times keep ns exactness
    }
    windows = {
        "int64 ns": [(T0 + 50 * 10**6, T0 + 1500 * 10**6)],
        "datetime64[ns]": np.array([[T0 + 50 * 10**6, T0 + 1500 * 10**6]]).astype("datetime64[ns]"),
        "datetime64[ms]": np.array([[T0 + 50 * 10**6, T0 + 1500 * 10**6]]).astype("datetime64[ns]").astype(
            "datetime64[ms]"),
        "float s": [(0.05, 1.5)],
    }
    results = {k: epcore.integrate(t, p, windows=windows[k]) for k, t in forms.items()}
    want = float(np.trapezoid(p, rel / 1000.0))
    for k, r in results.items():
        assert r.energy_j == pytest.approx(want, rel=1e-15), k
        assert r.energy_j == results["int64 ns"].energy_j, k
        assert r.window_energy_j.tolist() == results["int64 ns"].window_energy_j.tolist(), k
        assert r.duration_s == pytest.approx(2.0, rel=1e-15), k
    assert results["datetime64[ms]"].channels[0].first_t_ns == T0


def test_float_seconds_round_to_the_nearest_ns() -> None:
    r = epcore.integrate(np.array([0.0, 0.1, 0.30000000000000004]), np.array([10.0, 10.0, 10.0]))
    assert r.channels[0].last_t_ns == 300_000_000
    assert r.energy_j == 3.0


def test_constant_power_w_times_s_is_j() -> None:
    t = np.arange(0, 3601, dtype=np.int64) * S  # one hour at 1 Hz
    r = epcore.integrate(t, np.full(t.size, 700.0))
    assert r.energy_j == 700.0 * 3600
    assert r.energy_wh == 700.0
    assert r.energy_kwh == 0.7
    assert r.mean_power_w == 700.0
    assert r.samples == 3601


def test_hold_and_trapezoid_differ_as_documented() -> None:
    # 100 W for 10 s then 300 W: kept samples (0, 100), (10, 300), (20, 300)
    t = np.array([0, 10, 20], dtype=np.int64) * S
    p = np.array([100.0, 300.0, 300.0])
    assert epcore.integrate(t, p, max_gap_s=60).energy_j == 2000.0 + 3000.0
    assert epcore.integrate(t, p, rule="hold", max_gap_s=60).energy_j == 1000.0 + 3000.0
    assert epcore.integrate(t, p, rule="hold", max_gap_s=60).method == "hold"


# --------------------------------------------------------------------------- channels


def test_two_dimensional_power_is_one_channel_per_column() -> None:
    t, p = ramp()
    both = np.stack([p, 2 * p], axis=1)
    r = epcore.integrate(t, both)
    one = epcore.integrate(t, p).energy_j
    assert [c.name for c in r.channels] == ["0", "1"]
    assert [c.energy_j for c in r.channels] == [one, 2 * one]
    assert r.energy_j == 3 * one
    assert r.quality.n_samples == 2 * t.size
    assert r.mean_power_w == pytest.approx(3 * one / 1.0)


def test_mapping_of_channels_keeps_names_and_order() -> None:
    t, p = ramp()
    r = epcore.integrate(t, {"gpu1": p + 1, "gpu0": p})
    assert [c.name for c in r.channels] == ["gpu1", "gpu0"]
    assert r.channels[1].energy_j == epcore.integrate(t, p).energy_j
    assert r.energy_j == pytest.approx(sum(c.energy_j for c in r.channels), rel=1e-15)


def test_channel_column_with_interleaved_rows() -> None:
    ta, pa = ramp(21, 50_000_000)
    tb, pb = ramp(11, 100_000_000)
    pb = pb * 2
    t = np.concatenate([ta, tb + 7])
    p = np.concatenate([pa, pb])
    label = np.array(["a"] * ta.size + ["b"] * tb.size)
    order = np.argsort(t, kind="stable")  # interleave the rows by time
    r = epcore.integrate(t[order], p[order], channel=label[order])
    by_name = {c.name: c for c in r.channels}
    assert set(by_name) == {"a", "b"}
    assert by_name["a"].energy_j == epcore.integrate(ta, pa).energy_j
    assert by_name["b"].energy_j == epcore.integrate(tb + 7, pb).energy_j
    assert by_name["a"].quality.n_samples == 21
    # Integer channel ids work the same.
    r2 = epcore.integrate(t[order], p[order], channel=(label[order] == "b").astype(int))
    assert [c.energy_j for c in r2.channels] == [by_name["a"].energy_j, by_name["b"].energy_j]


def test_channels_with_windows_sum_and_keep_apart() -> None:
    t, p = ramp()
    r = epcore.integrate(t, {"x": p, "y": 3 * p}, windows=[(T0, T0 + S // 2), (T0 + S // 2, T0 + S)])
    assert r.window_channel_energy_j.shape == (2, 2)
    assert r.window_channel_energy_j[1].tolist() == (3 * r.window_channel_energy_j[0]).tolist()
    assert r.window_energy_j.tolist() == r.window_channel_energy_j.sum(axis=0).tolist()
    assert sum(r.window_energy_j) == pytest.approx(r.energy_j, rel=1e-15)


# --------------------------------------------------------------------------- windows


def test_windows_interpolate_edges_and_report_coverage_and_gaps() -> None:
    # 100 W at 0..2 s, a 10 s gap, then 100 W at 12..14 s (explicit threshold 2 s).
    t = np.array([0, 1, 2, 12, 13, 14], dtype=np.int64) * S
    p = np.full(6, 100.0)
    windows = [
        (0, 14 * S),          # everything: 4 s covered out of 14
        (S // 2, S + S // 2),  # inside the first piece
        (5 * S, 6 * S),       # inside the gap
        (-3 * S, S),          # partly before the trace
        (13 * S, 20 * S),     # partly after
        (2 * S, 12 * S),      # exactly the gap
        (S, S),               # zero length, inside
        (30 * S, 30 * S),     # zero length, outside
    ]
    r = epcore.integrate(t, p, max_gap_s=2.0, windows=windows)
    assert r.energy_j == 400.0
    assert r.quality.n_gaps == 1 and r.quality.gap_s == 10.0
    assert r.window_energy_j.tolist() == [400.0, 100.0, 0.0, 100.0, 100.0, 0.0, 0.0, 0.0]
    assert r.window_coverage.tolist() == [4 / 14, 1.0, 0.0, 0.25, 1 / 7, 0.0, 1.0, 0.0]
    assert r.window_n_gaps.tolist() == [1, 0, 1, 0, 0, 1, 0, 0]


def test_adjacent_windows_add_up_to_their_union() -> None:
    t, p = ramp(101, 10_000_000)
    cuts = T0 + np.array([-5, 0, 3_333_333, 17_000_001, 500_000_000, 999_999_999, 1_000_000_000, 2_000_000_000])
    windows = np.stack([cuts[:-1], cuts[1:]], axis=1)
    r = epcore.integrate(t, p, windows=np.vstack([windows, [[cuts[0], cuts[-1]]]]))
    assert math.fsum(r.window_energy_j[:-1]) == pytest.approx(r.window_energy_j[-1], rel=1e-15)
    assert r.window_energy_j[-1] == pytest.approx(r.energy_j, rel=1e-15)


def test_counter_windows_spread_the_difference_linearly() -> None:
    t = np.array([0, 1, 2], dtype=np.int64) * S
    c = np.array([5000.0, 5100.0, 20.0])  # reset between 1 s and 2 s
    r = epcore.integrate(t, energy_counter=c, windows=[(S // 2, 3 * S // 2)])
    assert r.energy_j == 120.0
    assert r.window_energy_j.tolist() == [60.0]
    assert r.quality.n_resets == 1 and r.quality.lower_bound


# --------------------------------------------------------------------------- repairs and sorting


def test_repairs_are_counted_in_the_quality_report() -> None:
    t = np.array([0, 1, 2, 2, 3, 4, 5], dtype=np.int64) * S
    p = np.array([100.0, np.nan, 100.0, 100.0, -0.5, 100.0, np.inf])
    r = epcore.integrate(t, p)
    q = r.quality
    assert (q.n_rows, q.n_samples) == (7, 4)
    assert (q.n_nonfinite, q.n_duplicate_identical, q.n_negative_clamped) == (2, 1, 1)
    assert q.n_repairs == 4 and not q.complete
    assert r.channels[0].min_power_w == 0.0
    # 0..2 s at 100 W, 2..3 s 100 → 0 W, 3..4 s 0 → 100 W: 200 + 50 + 50
    assert r.energy_j == 300.0


def test_on_unsorted_sort_counts_reordered_rows() -> None:
    t, p = ramp()
    perm = np.array([0, 2, 1, 3, 4, 5, 6, 8, 7, 9, 10])
    with pytest.raises(TraceError) as e:
        epcore.integrate(t[perm], p[perm])
    assert e.value.code == "unsorted_timestamps" and e.value.index == 2
    r = epcore.integrate(t[perm], p[perm], on_unsorted="sort")
    assert r.energy_j == epcore.integrate(t, p).energy_j
    assert r.quality.n_reordered == 4
    assert r.quality.n_repairs == 4
    # Sorted input is not "reordered".
    assert epcore.integrate(t, p, on_unsorted="sort").quality.n_reordered == 0


# --------------------------------------------------------------------------- errors


def raises(exc: type[EpcoreError], code: str, fn: Any, *args: Any, **kw: Any) -> EpcoreError:
    with pytest.raises(exc) as info:
        fn(*args, **kw)
    e = info.value
    assert e.code == code, (e.code, str(e))
    assert isinstance(e, ValueError) and isinstance(e, EpcoreError)
    d = e.to_dict()
    assert d["type"] == exc.__name__ and d["code"] == code and d["message"] == str(e)
    json.dumps(d, allow_nan=False)
    return e


TWO = np.array([0, S], dtype=np.int64)


@pytest.mark.parametrize(
    ("kwargs", "code", "index", "value"),
    [
        ({"power_w": [100.0, -50.0]}, "negative_power", 1, "-50"),
        ({"power_w": [100.0, 2e5]}, "implausible_power", 1, "200000"),
        ({"power_w": [100.0, 2e5], "max_power_w": 3e5}, None, None, None),
        ({"power_w": [np.nan, 100.0], "strict": True}, "non_finite", 0, "NaN"),
        ({"power_w": [100.0, -0.5], "strict": True}, "negative_power", 1, "-0.5"),
        ({"power_w": [100.0, -0.5], "negative_tolerance_w": 0.25}, "negative_power", 1, "-0.5"),
        ({"power_w": [np.nan, 100.0]}, "insufficient_samples", None, None),
        ({"energy_counter": [10.0, -1.0]}, "bad_value", 1, "-1"),
        ({"energy_counter": [1e9, 1.0]}, None, None, None),  # a reset: 1 J is possible in 1 s
        ({"energy_counter": [1e9, 5e8]}, "ambiguous_counter_decrease", 1, "500000000"),
    ],
)
def test_value_errors_name_index_and_value(kwargs: dict[str, Any], code: str | None, index: int | None,
                                           value: str | None) -> None:
    kwargs = {k: np.asarray(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    if code is None:
        epcore.integrate(TWO, **kwargs)
        return
    cls = ParseError if code == "bad_value" else TraceError
    e = raises(cls, code, epcore.integrate, TWO, **kwargs)
    assert e.index == index
    assert e.value == value
    assert e.hint, "every trace error says what to do"
    if index is not None:
        assert f"index {index}" in str(e)


def test_time_errors() -> None:
    e = raises(TraceError, "unsorted_timestamps", epcore.integrate, np.array([0, 2, 1]) * S, np.ones(3))
    assert (e.index, e.value) == (2, str(S))
    e = raises(TraceError, "conflicting_duplicate", epcore.integrate, np.array([0, 1, 1]) * S,
               np.array([1.0, 2.0, 3.0]))
    assert (e.index, e.value) == (2, "3")
    assert "channel" in (e.hint or "")
    e = raises(TraceError, "conflicting_duplicate", epcore.integrate, np.array([0, 1, 1]) * S,
               np.array([1.0, 2.0, 2.0]), strict=True)
    assert e.index == 2
    raises(TraceError, "empty_input", epcore.integrate, np.array([], dtype=np.int64), np.array([]))
    e = raises(TraceError, "insufficient_samples", epcore.integrate, np.array([5]), np.array([1.0]))
    assert e.index is None
    e = raises(TraceError, "non_finite", epcore.integrate, np.array(["2024-01-01", "NaT"], dtype="datetime64[ns]"),
               np.ones(2))
    assert e.index == 1
    e = raises(TraceError, "non_finite", epcore.integrate, np.array([0.0, np.nan]), np.ones(2))
    assert e.index == 1
    e = raises(TraceError, "timestamp_overflow", epcore.integrate, np.array([0.0, 1e12]), np.ones(2))
    assert e.index == 1
    e = raises(TraceError, "timestamp_overflow", epcore.integrate, np.array([-2**62, 2**62], dtype=np.int64),
               np.ones(2), max_gap_s=9e9)
    assert e.index == 1


def test_huge_max_gap_is_a_config_error() -> None:
    raises(ConfigError, "invalid_argument", epcore.integrate, TWO, np.ones(2), max_gap_s=1e10)


def test_window_errors() -> None:
    t, p = ramp()
    e = raises(TraceError, "invalid_window", epcore.integrate, t, p, windows=[(T0, T0 + 1), (T0 + 5, T0 + 4)])
    assert e.value == f"({T0 + 5}, {T0 + 4})"
    raises(SchemaError, "schema", epcore.integrate, t, p, windows=[(T0, T0 + 1, T0 + 2)])


def test_schema_errors() -> None:
    t, p = ramp()
    e = raises(SchemaError, "length_mismatch", epcore.integrate, t, p[:-1])
    assert e.value == str(p.size - 1)
    raises(SchemaError, "length_mismatch", epcore.integrate, t, {"a": p, "b": p[:-2]})
    raises(SchemaError, "length_mismatch", epcore.integrate, t, p, channel=np.zeros(3))
    raises(SchemaError, "schema", epcore.integrate, t, np.ones((t.size, 2, 2)))
    raises(SchemaError, "schema", epcore.integrate, t, p.astype(str))
    raises(SchemaError, "schema", epcore.integrate, t.astype(str), p)
    raises(SchemaError, "schema", epcore.integrate, t.reshape(-1, 1), p)
    raises(SchemaError, "schema", epcore.integrate, t, {"a": p}, channel=np.zeros(t.size))
    raises(SchemaError, "schema", epcore.integrate, t, {})


def test_config_errors() -> None:
    t, p = ramp()
    raises(ConfigError, "invalid_argument", epcore.integrate, t)
    raises(ConfigError, "invalid_argument", epcore.integrate, t, p, energy_counter=p)
    raises(ConfigError, "invalid_argument", epcore.integrate, t, p, rule="simpson")
    raises(ConfigError, "invalid_argument", epcore.integrate, t, p, max_gap_s=0)
    raises(ConfigError, "invalid_argument", epcore.integrate, t, p, max_gap_s=math.nan)
    raises(ConfigError, "invalid_argument", epcore.integrate, t, p, negative_tolerance_w=-1.0)
    raises(ConfigError, "invalid_argument", epcore.integrate, t, p, max_power_w=0.0)
    raises(ConfigError, "invalid_argument", epcore.integrate, t, p, on_unsorted="ignore")
    raises(ConfigError, "invalid_argument", epcore.integrate, t, energy_counter=p, counter_unit="kWh")
    raises(ConfigError, "invalid_argument", epcore.integrate, t, energy_counter=p, counter_modulus=-5.0)
    raises(ConfigError, "invalid_argument", epcore.merge)
    a = epcore.partial(t[:5], p[:5], max_gap_s=1.0)
    b = epcore.partial(t[5:], p[5:], max_gap_s=2.0)
    e = raises(ConfigError, "invalid_argument", epcore.merge, a, b)
    assert "different options" in str(e)


def test_merge_refuses_pieces_out_of_order() -> None:
    t, p = ramp()
    a = epcore.partial(t[:5], p[:5], max_gap_s=1.0)
    b = epcore.partial(t[5:], p[5:], max_gap_s=1.0)
    assert epcore.merge(a, b).to_dict() == epcore.partial(t, p, max_gap_s=1.0).to_dict()
    raises(TraceError, "unsorted_timestamps", epcore.merge, b, a)


def test_core_error_classes_are_the_public_ones() -> None:
    for cls in (ParseError, SchemaError, TraceError, ConfigError, epcore.UnitError):
        assert issubclass(cls, EpcoreError) and issubclass(cls, ValueError)
    with pytest.raises(ValueError):  # code guarding numeric input with ValueError keeps working
        epcore.integrate(TWO, np.array([1.0, -9.0]))


# --------------------------------------------------------------------------- quality report


def test_quality_report_fields() -> None:
    t = np.array([0, 1, 2, 10, 11, 11], dtype=np.int64) * S
    p = np.array([100.0, 110.0, np.nan, 120.0, 130.0, 130.0])
    r = epcore.integrate(t, p, max_gap_s=3.0, power_semantics="instant")
    q = r.quality
    assert isinstance(q, QualityReport)
    assert q.method == "trapezoid" and q.max_gap_s == 3.0
    assert (q.n_rows, q.n_samples, q.n_nonfinite, q.n_duplicate_identical) == (6, 4, 1, 1)
    assert (q.n_gaps, q.gap_s, q.covered_s, q.span_s) == (1, 9.0, 2.0, 11.0)
    assert (q.min_dt_s, q.max_dt_s) == (1.0, 9.0)
    assert q.coverage == pytest.approx(2 / 11)
    assert q.mean_dt_s == pytest.approx(11 / 3)
    assert q.power_semantics == "instant"
    assert not q.complete and not q.lower_bound
    assert r.energy_j == 105.0 + 125.0
    assert r.mean_power_w == pytest.approx(230.0 / 2.0)


def test_default_gap_threshold_is_documented() -> None:
    # 1 Hz sampling: 5 × 1 s; 10 Hz: the 2 s floor.
    t = np.arange(20, dtype=np.int64) * S
    assert epcore.integrate(t, np.ones(20)).quality.max_gap_s == 5.0
    t = np.arange(20, dtype=np.int64) * (S // 10)
    assert epcore.integrate(t, np.ones(20)).quality.max_gap_s == 2.0


def test_counter_quality_and_units() -> None:
    t = np.arange(6, dtype=np.int64) * S
    mj = np.array([4_294_967_000.0, 4_294_967_200.0, 100.0, 300.0, 50.0, 150.0])  # wrap at 2^32 mJ, then reset
    r = epcore.integrate(t, energy_counter=mj, counter_unit="mJ", counter_modulus=2.0**32)
    q = r.quality
    assert (q.n_wraps, q.n_resets) == (1, 1)
    assert q.lower_bound and q.method == "counter"
    assert r.energy_j == pytest.approx((200 + 96 + 100 + 200 + 50 + 100) / 1000, rel=1e-15)
    assert r.channels[0].min_power_w is None and r.channels[0].max_power_w is None


def test_to_dict_is_json_without_nan() -> None:
    cases = [
        # every interval a gap: nothing covered, mean power undefined
        epcore.integrate(np.array([0, 10, 20], dtype=np.int64) * S, np.array([1.0, 2.0, 3.0]), max_gap_s=1.0,
                         windows=[(0, 5 * S), (100 * S, 100 * S), (-S, -S)]),
        epcore.integrate(np.array([0, 1], dtype=np.int64) * S, energy_counter=np.array([5.0, 1.0])),
        epcore.integrate(*ramp(), windows=np.zeros((0, 2), dtype=np.int64)),
        epcore.integrate(np.array([0, 1, 2], dtype=np.int64) * S, {"a": np.ones(3), "b": np.array([1, np.nan, 1])}),
    ]
    assert cases[0].mean_power_w is None
    assert cases[0].quality.coverage == 0.0
    for r in cases:
        d = r.to_dict()
        text = json.dumps(d, allow_nan=False)
        assert json.loads(text)["energy_j"] == r.energy_j
        assert set(d["quality"]) >= {"n_samples", "n_gaps", "coverage", "complete", "lower_bound", "n_repairs"}
        for c in d["channels"]:
            assert set(c) >= {"name", "energy_j", "samples", "quality"}
        json.dumps(r.quality.to_dict(), allow_nan=False)


def test_zero_span_quality_has_no_ratio() -> None:
    q = QualityReport(method="trapezoid", max_gap_s=2.0)
    assert q.coverage is None and q.mean_dt_s is None
    json.dumps(q.to_dict(), allow_nan=False)


# --------------------------------------------------------------------------- partials and threads


def test_partials_merge_to_the_whole() -> None:
    t, p = ramp(1000, 10_000_000)
    pieces = [epcore.partial(t[a:b], p[a:b], max_gap_s=1.0) for a, b in [(0, 1), (1, 400), (400, 400), (400, 1000)]]
    whole = epcore.partial(t, p, max_gap_s=1.0)
    merged = epcore.merge(*pieces)
    assert merged.to_dict() == whole.to_dict()
    assert merged.energy_j == whole.energy_j
    assert (merged.first_t_ns, merged.last_t_ns, merged.n_samples) == (T0, int(t[-1]), 1000)
    assert merged.method == "trapezoid" and merged.max_gap_ns == S
    assert "Partial(" in repr(merged)


def test_threads_argument() -> None:
    t, p = ramp(5000, 1_000_000)
    energies = {k: epcore.integrate(t, p, threads=k).energy_j for k in (None, 1, 2, 8)}
    assert len(set(energies.values())) == 1


# --------------------------------------------------------------------------- real data


def read_nvidia_smi(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``timestamp, power.draw [W], ...`` rows: naive ``YYYY/MM/DD HH:MM:SS.mmm`` (taken as UTC)
    and ``30.80 W``, parsed in plain Python."""
    t_ns: list[int] = []
    p_w: list[float] = []
    with path.open(encoding="utf-8") as f:
        header = [h.strip() for h in f.readline().split(",")]
        it, ip = header.index("timestamp"), header.index("power.draw [W]")
        for line in f:
            fields = [x.strip() for x in line.split(",")]
            if len(fields) < len(header):
                continue
            stamp = dt.datetime.strptime(fields[it], "%Y/%m/%d %H:%M:%S.%f").replace(tzinfo=dt.timezone.utc)
            t_ns.append(int(stamp.timestamp()) * S + stamp.microsecond * 1000)
            value, unit = fields[ip].split()
            assert unit == "W"
            p_w.append(float(value))
    return np.array(t_ns, dtype=np.int64), np.array(p_w)


def test_real_nvidia_smi_trace(shared_data: Path) -> None:
    path = shared_data / "nvidia-smi-inference-serving-logs" / "gpu_metrics_resnet50_steady_highfreq_run1.csv"
    t, p = read_nvidia_smi(path)
    r = epcore.integrate(t, p)
    assert r.energy_j == pytest.approx(1798.25, abs=0.01)
    assert r.duration_s == pytest.approx(54.226, abs=1e-9)
    q = r.quality
    assert (q.n_rows, q.n_samples, q.n_gaps) == (t.size, t.size, 0) and q.complete
    assert r.energy_j == pytest.approx(float(np.trapezoid(p, (t - t[0]) / 1e9)), rel=1e-12)
    # Same file through datetime64 and float seconds.
    assert epcore.integrate(t.astype("datetime64[ns]"), p).energy_j == r.energy_j
    # Split into ten windows, the parts add up to the whole.
    edges = t[0] + (t[-1] - t[0]) * np.arange(11) // 10
    w = epcore.integrate(t, p, windows=np.stack([edges[:-1], edges[1:]], axis=1))
    assert math.fsum(w.window_energy_j) == pytest.approx(r.energy_j, rel=1e-14)
    assert w.window_coverage.tolist() == [1.0] * 10


@pytest.mark.parametrize("rule_kw", [{"energy_counter": [0.0, 1.0, 2.0]}, {"power_w": [1.0, 1.0, 1.0]}])
@pytest.mark.parametrize("window", [(-(9 * 10**18), 9 * 10**18), (-(2**63), 2**63 - 1), (0, 5)])
def test_spans_beyond_the_int64_range_never_panic(rule_kw: dict[str, Any], window: tuple[int, int]) -> None:
    """A trace and windows spanning more than int64 ns: a result or a typed error, never a panic."""
    t = np.array([-(9 * 10**18), 0, 9 * 10**18])
    key, values = next(iter(rule_kw.items()))
    try:
        r = epcore.integrate(t, windows=[window], **{key: np.array(values)})
    except epcore.EpcoreError:
        return
    assert r.window_energy_j is not None and np.all(np.isfinite(r.window_energy_j))
    assert r.window_coverage is not None and np.all((r.window_coverage >= 0) & (r.window_coverage <= 1))


def test_errors_name_the_callers_row_and_channel() -> None:
    """With a channel column (and after sorting) the error names the input row, not the channel's."""
    t = np.array([0, 0, 1, 1, 2, 2]) * 10**9
    ch = np.array(["a", "b", "a", "b", "a", "b"])
    p = np.array([1.0, 1.0, 1.0, 1.0, 1.0, -50.0])
    with pytest.raises(epcore.TraceError) as info:
        epcore.integrate(t, p, channel=ch)
    assert info.value.index == 5
    assert str(info.value).startswith("channel b: index 5: ")
    t2 = np.array([2, 0, 1]) * 10**9
    with pytest.raises(epcore.TraceError) as info:
        epcore.integrate(t2, np.array([-50.0, 1.0, 1.0]), on_unsorted="sort")
    assert info.value.index == 0
