"""The data behind the figures: checked against the trace, the request log and the attribution."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import epcore
from epcore.plot_data import (
    comparison_bars,
    downsample_min_max,
    energy_histogram,
    joules_per_token_plot,
    phase_split,
    power_plot,
    sensitivity_bars,
)

from conftest import Sample

DATA = Path(__file__).parent / "data"
S = 10**9


def _json_ok(d: dict[str, object]) -> None:
    # allow_nan=False: a NaN in a to_dict() is a bug, never a value.
    json.dumps(d, allow_nan=False)


def test_import_does_not_need_matplotlib() -> None:
    code = ("import sys, epcore, epcore.plot_data, epcore.svg; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_power_plot_sample(sample: Sample) -> None:
    tr, rq, _ = sample
    p = power_plot(tr, rq)
    (ch,) = p.channels
    s = tr.samples[ch.name]
    assert p.t0_ns == int(s.t_ns[0]) == 1_750_000_000 * S
    assert ch.x_s.tolist() == [float(i) for i in range(22)]
    assert ch.y.tolist() == s.values.tolist()
    # r1 5-10 s, r2 8-15 s, r3 10-16 s: one busy span, at most 2 in flight (r1 ends as r3 starts).
    assert p.windows == ((5.0, 16.0),)
    assert p.activity is not None
    assert p.activity.x_s.tolist() == [0.0, 5.0, 8.0, 10.0, 15.0, 16.0]
    assert p.activity.y.tolist() == [0.0, 1.0, 2.0, 2.0, 1.0, 0.0]
    d = p.to_dict()
    _json_ok(d)
    assert d["unit"] == "W" and d["windows"] == [[5.0, 16.0]]


def test_power_plot_without_requests_and_offset(sample: Sample) -> None:
    tr, rq, _ = sample
    p = power_plot(tr)
    assert p.activity is None and p.windows == ()
    shifted = power_plot(tr, rq, offset_ns=-2 * S)
    assert shifted.windows == ((3.0, 14.0),)


def test_power_plot_two_channels_keep_their_own_samples() -> None:
    tr = epcore.read_power(DATA / "sample_trace.csv")
    p = power_plot(tr, max_points=100_000)
    assert [c.name for c in p.channels] == ["gpu0", "gpu1"]
    for c in p.channels:
        np.testing.assert_array_equal(c.y, tr.samples[c.name].values)  # NaN (a missing reading) included
    small = power_plot(tr, max_points=50)
    for c, full in zip(small.channels, p.channels):
        assert len(c) <= 50
        # The envelope survives: the extremes of the full series are still drawn.
        assert np.nanmax(c.y) == np.nanmax(full.y) and np.nanmin(c.y) == np.nanmin(full.y)


def test_downsample_keeps_peaks_and_gaps() -> None:
    n = 100_000
    x = np.arange(n, dtype=np.float64)
    y = np.full(n, 200.0)
    y[12_345] = 900.0
    y[70_001] = 5.0
    y[40_000:41_000] = np.nan  # a gap spanning whole buckets
    xs, ys = downsample_min_max(x, y, 2000)
    assert len(xs) <= 2000
    assert 12_345.0 in xs.tolist() and 900.0 in ys.tolist()
    assert 70_001.0 in xs.tolist() and 5.0 in ys.tolist()
    assert np.isnan(ys).any(), "a bucket with no reading must stay a gap"
    assert np.all(np.diff(xs) > 0), "points stay in time order"
    # Small inputs are untouched (same objects, no copy).
    a, b = downsample_min_max(x[:10], y[:10], 2000)
    assert a is not None and a.size == 10


def test_power_from_energy_counter() -> None:
    tr = epcore.PowerTrace.from_samples({"e": ([0, S, 2 * S, 3 * S], [0.0, 100.0, 200.0, 50.0])}, rule="counter")
    (ch,) = power_plot(tr).channels
    assert ch.x_s.tolist() == [0.5, 1.5, 2.5]
    assert ch.y[:2].tolist() == [100.0, 100.0]
    assert math.isnan(ch.y[2]), "a counter that went down (reset) has no known power"
    assert power_plot(tr).to_dict()["channels"][0]["y"] == [100.0, 100.0, None]


def test_power_plot_bad_input(sample: Sample) -> None:
    tr, rq, _ = sample
    with pytest.raises(epcore.ConfigError, match="max_points"):
        power_plot(tr, max_points=2)
    with pytest.raises(epcore.ConfigError, match="offset_ns"):
        power_plot(tr, rq, offset_ns=1.5)  # type: ignore[arg-type]
    naive = epcore.read_power(DATA / "sample_nvidia_smi.csv.gz")
    with pytest.raises(epcore.TraceError, match="time zone"):
        power_plot(naive, rq)
    with pytest.raises(epcore.TraceError, match="time zone"):
        joules_per_token_plot(naive, rq)


def test_joules_per_token_sample(sample: Sample) -> None:
    tr, rq, _ = sample
    j = joules_per_token_plot(tr, rq, bin_s=1.0)
    assert j.bin_s == 1.0 and j.x_s.tolist() == [float(i) for i in range(21)]
    # Conservation: the bins add up to the energy over their span (here the whole trace).
    assert math.isclose(j.energy_j.sum(), tr.energy_j, rel_tol=1e-9)
    # Every output token counted once: all three requests lie inside the trace.
    assert math.isclose(j.output_tokens.sum(), float(rq.output_tokens.sum()), rel_tol=1e-12)
    # Bin 6-7 s: only r1 decodes (41 tokens over 6-10 s) and the trace draws 300 W.
    assert math.isclose(j.output_tokens[6], 41 / 4, rel_tol=1e-12)
    assert math.isclose(j.joules_per_token[6], 300 / (41 / 4), rel_tol=1e-12)
    d = j.to_dict()
    _json_ok(d)
    assert d["joules_per_token"][0] is None and d["output_tokens"][0] == 0.0


def test_joules_per_token_default_bins_and_partial_last_bin(
    sample: Sample,
) -> None:
    tr, rq, _ = sample
    j = joules_per_token_plot(tr, rq)
    assert j.bin_s == 1.0  # 21 s / 60 rounds to 0.5, but never finer than the 1 s sampling
    j4 = joules_per_token_plot(tr, rq, bin_s=4.0)
    assert j4.x_s.tolist() == [0.0, 4.0, 8.0, 12.0, 16.0, 20.0]  # the last bin is 20-21 s
    assert math.isclose(j4.energy_j.sum(), tr.energy_j, rel_tol=1e-9)
    assert math.isclose(j4.energy_j[-1], 100.0, rel_tol=1e-12)


def test_prorated_tokens_match_brute_force() -> None:
    rng = np.random.default_rng(6)
    n = 300
    t = np.arange(0, 101) * S
    tr = epcore.PowerTrace.from_samples({"g": (t, rng.uniform(100, 400, t.size))})
    start = rng.integers(-5 * S, 100 * S, n)
    dur = rng.integers(0, 10 * S, n)
    first = start + (dur * rng.uniform(0, 1, n)).astype(np.int64)
    end = start + dur
    out = rng.integers(1, 500, n)
    rq = epcore.Requests.from_arrays(start_ns=start, first_token_ns=first, end_ns=end,
                                     input_tokens=np.ones(n, dtype=np.int64), output_tokens=out)
    j = joules_per_token_plot(tr, rq, bin_s=3.0)
    edges = np.append(j.x_s, 100.0)
    expect = np.zeros(j.x_s.size)
    for a, b, k in zip(first / 1e9, end / 1e9, out):
        if b > a:
            overlap = np.clip(np.minimum(edges[1:], b) - np.maximum(edges[:-1], a), 0, None)
            expect += k * overlap / (b - a)
        elif 0 <= b <= 100:
            expect[min(int(np.searchsorted(edges, b, side="right")) - 1, expect.size - 1)] += k
    np.testing.assert_allclose(j.output_tokens, expect, rtol=1e-9, atol=1e-7)
    whole = tr.integrate(windows=[(0, 100 * S)]).window_energy_j
    assert whole is not None and math.isclose(j.energy_j.sum(), float(whole[0]), rel_tol=1e-9)


def test_joules_per_token_bad_bins(sample: Sample) -> None:
    tr, rq, _ = sample
    for bad in (0.0, -1.0, float("nan"), True):
        with pytest.raises(epcore.ConfigError, match="bin_s"):
            joules_per_token_plot(tr, rq, bin_s=bad)
    with pytest.raises(epcore.ConfigError, match="bins over"):
        joules_per_token_plot(tr, rq, bin_s=1e-6)


def test_histogram(sample: Sample) -> None:
    _, _, a = sample
    h = energy_histogram(a, bins=5)
    energies = a.requests["energy_j"].compressed()
    assert h.n == 3 and h.n_missing == 0 and int(h.counts.sum()) == 3
    assert h.edges[0] == energies.min() and h.edges[-1] == energies.max()
    assert h.unit == "J" and energy_histogram(a, column="joules_per_output_token").unit == "J/token"
    _json_ok(h.to_dict())
    with pytest.raises(epcore.ConfigError, match="column"):
        energy_histogram(a, column="start_ns")
    with pytest.raises(epcore.ConfigError, match="bins"):
        energy_histogram(a, bins=0)


def test_histogram_counts_missing_apart() -> None:
    tr = epcore.PowerTrace.from_samples({"g": ([0, 10 * S], [200.0, 200.0])})
    rq = epcore.Requests.from_arrays(start_ns=[S, 2 * S, 50 * S], end_ns=[3 * S, 4 * S, 60 * S],
                                     input_tokens=[1, 1, 1], output_tokens=[5, 5, 5])
    h = energy_histogram(epcore.attribute(tr, rq), bins=4)
    assert (h.n, h.n_missing, int(h.counts.sum())) == (2, 1, 2)
    # No request has a first token, so none has a J per input token.
    none = energy_histogram(epcore.attribute(tr, rq), column="joules_per_input_token")
    assert (none.n, none.n_missing, none.edges.size, none.counts.size) == (0, 3, 0, 0)
    _json_ok(none.to_dict())


def test_sensitivity_bars() -> None:
    sens = epcore.sensitivity(power_w=5600, tokens_per_s=2500)
    b = sensitivity_bars(sens)
    assert b.levers == tuple(r.scenario for r in sens.rows)
    assert b.change_pct.shape == (len(sens.rows), 3)
    for i, r in enumerate(sens.rows):
        for k, o in enumerate(b.outputs):
            rc = r.relative_change[o]
            if rc is None:
                assert math.isnan(b.change_pct[i, k])
            else:
                assert b.change_pct[i, k] == 100 * rc
    assert b.change_pct[0, 0] == -50.0
    d = b.to_dict()
    _json_ok(d)
    assert d["change_pct"][0][2] is None  # carbon without a grid intensity
    with_grid = sensitivity_bars(epcore.sensitivity(power_w=5600, tokens_per_s=2500, grid_g_co2_per_kwh=400))
    assert np.isfinite(with_grid.change_pct).all()
    with pytest.raises(epcore.ConfigError, match="outputs"):
        sensitivity_bars(sens, outputs=("nonsense",))


def test_comparison_bars() -> None:
    a = epcore.steady_state(power_w=5600, tokens_per_s=2500)
    b = epcore.steady_state(power_w=5600, tokens_per_s=5000, price_per_kwh=0.16)
    bars = comparison_bars([("base", a), ("fast", b)])
    assert bars.levers == ("base", "fast")
    assert bars.change_pct[0, :2].tolist() == [0.0, 0.0]
    assert bars.change_pct[1, :2].tolist() == [-50.0, 0.0]
    assert bars.to_dict()["change_pct"][1][2] is None


def test_phase_split_adds_up(sample: Sample) -> None:
    _, _, a = sample
    p = phase_split(a)
    assert p.labels == ("prefill", "decode", "unattributed")
    assert p.energy_j.tolist() == [a.prefill_energy_j, a.decode_energy_j, a.unattributed_energy_j]
    assert math.isclose(math.fsum(p.energy_j.tolist()), a.total_energy_j, rel_tol=1e-9)
    assert p.idle_energy_j == a.idle_energy_j
    assert p.joules_per_token["prefill (per input token)"] == a.joules_per_input_token
    _json_ok(p.to_dict())


def test_phase_split_unsplit_requests() -> None:
    rng = np.random.default_rng(1)
    t = np.arange(0, 61) * S
    tr = epcore.PowerTrace.from_samples({"a": (t, rng.uniform(100, 300, t.size)),
                                         "b": (t, rng.uniform(50, 90, t.size))})
    n = 40
    start = rng.integers(0, 50 * S, n)
    end = start + rng.integers(S, 10 * S, n)
    first = np.ma.MaskedArray(start + S // 2, mask=rng.uniform(size=n) < 0.3)
    rq = epcore.Requests.from_arrays(start_ns=start, first_token_ns=first, end_ns=end,
                                     input_tokens=rng.integers(1, 100, n), output_tokens=rng.integers(2, 100, n))
    a = epcore.attribute(tr, rq)
    p = phase_split(a)
    assert "unsplit" in p.labels
    assert math.isclose(math.fsum(p.energy_j.tolist()), a.total_energy_j, rel_tol=1e-9)
    assert math.isclose(float(p.share.sum()), 1.0, rel_tol=1e-9)


def test_windows_are_capped_by_merging_the_narrowest_gaps() -> None:
    tr = epcore.PowerTrace.from_samples({"g": ([0, 1000 * S], [100.0, 100.0])})
    # 300 one-second requests, 3 s apart, and one wide gap in the middle.
    start = np.concatenate([np.arange(150) * 3 * S, 600 * S + np.arange(150) * 3 * S])
    rq = epcore.Requests.from_arrays(start_ns=start, end_ns=start + S, input_tokens=np.ones(300, dtype=np.int64),
                                     output_tokens=np.ones(300, dtype=np.int64))
    assert len(power_plot(tr, rq).windows) == 300
    capped = power_plot(tr, rq, max_points=4)
    assert len(capped.windows) == 4 and (448.0, 600.0) not in capped.windows
    assert capped.windows[0][0] == 0.0 and capped.windows[-1][1] == 600.0 + 149 * 3 + 1
    # The widest gap (448 s to 600 s) is one of those kept.
    assert any(b == 448.0 for _, b in capped.windows) and any(a == 600.0 for a, _ in capped.windows)
    assert capped.activity is not None and len(capped.activity) <= 4
