"""The regression estimate recovers known per-token energies from a synthetic trace.

Power is generated as ``intercept + a × prefill tok/s + b × decode tok/s +
noise`` from a random request schedule; the fit must find ``a``, ``b`` and the
intercept within four of its own standard errors, and within 5 % (the
stated error at this size: ~1,800 one-second bins, 5 W noise).
"""

from __future__ import annotations

import numpy as np
import pytest

import epcore

S = 1_000_000_000
T0 = 1_750_000_000 * S


def _scenario(seed: int, n_requests: int = 400, minutes: int = 30, noise_w: float = 5.0):
    rng = np.random.default_rng(seed)
    dt = 100_000_000  # 10 Hz
    n = minutes * 600
    t = T0 + np.arange(n, dtype=np.int64) * dt
    start = T0 + np.sort(rng.integers(0, (minutes * 60 - 90) * S, n_requests))
    prefill = rng.integers(50_000_000, 2 * S, n_requests)
    decode = rng.integers(2 * S, 60 * S, n_requests)
    first = start + prefill
    end = first + decode
    inp = rng.integers(100, 4000, n_requests)
    out = rng.integers(20, 800, n_requests)
    # Token rates at each sample: each request reads its prompt uniformly over prefill, then
    # streams N - 1 tokens uniformly over decode.
    pre_rate = np.zeros(n)
    dec_rate = np.zeros(n)
    for s, f, e, i, o in zip(start, first, end, inp, out):
        a, b, c = np.searchsorted(t, [s, f, e])
        pre_rate[a:b] += i / ((f - s) / S)
        dec_rate[b:c] += (o - 1) / ((e - f) / S)
    truth = {"intercept_w": 85.0, "joules_per_input_token": 0.01, "joules_per_output_token": 0.4}
    power = (truth["intercept_w"] + truth["joules_per_input_token"] * pre_rate
             + truth["joules_per_output_token"] * dec_rate + rng.normal(0, noise_w, n))
    trace = epcore.PowerTrace.from_samples({"gpu0": (t, power)})
    reqs = epcore.Requests.from_arrays(start_ns=start, first_token_ns=np.ma.MaskedArray(first), end_ns=end,
                                       input_tokens=inp, output_tokens=out)
    return trace, reqs, truth


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_regression_recovers_the_generating_coefficients(seed: int) -> None:
    trace, reqs, truth = _scenario(seed)
    a = epcore.attribute(trace, reqs)
    r = a.regression
    assert r is not None, a.regression_reason
    assert r.bin_s == 1.0 and r.n_bins > 1500
    for name, stderr in (("intercept_w", r.stderr_intercept_w),
                         ("joules_per_input_token", r.stderr_joules_per_input_token),
                         ("joules_per_output_token", r.stderr_joules_per_output_token)):
        got, want = getattr(r, name), truth[name]
        assert abs(got - want) <= 4 * stderr, (name, got, want, stderr)
        assert abs(got - want) <= 0.05 * want, (name, got, want)
    assert r.r_squared > 0.9
    # The sweep's figures sit beside it: both estimates exist and are finite.
    assert a.joules_per_input_token is not None and a.decode_joules_per_token is not None


def test_regression_is_none_with_a_reason_when_it_cannot_be_fitted() -> None:
    s = S
    trace = epcore.PowerTrace.from_samples({"g": (T0 + np.arange(3) * s, [100.0, 100.0, 100.0])})
    reqs = epcore.Requests.from_arrays(start_ns=[T0], end_ns=[T0 + s], first_token_ns=[T0 + s // 2],
                                       input_tokens=[10], output_tokens=[3])
    a = epcore.attribute(trace, reqs)
    assert a.regression is None
    assert "bins" in a.regression_reason
    assert epcore.attribute(trace, reqs, regression=False).regression_reason == "not asked for"


def test_the_bin_width_can_be_chosen() -> None:
    trace, reqs, _ = _scenario(4, n_requests=100, minutes=10)
    a = epcore.attribute(trace, reqs, regression_bin_s=5.0)
    assert a.regression is not None and a.regression.bin_s == 5.0
    assert a.regression.n_bins == 119  # 600 s from the first sample to the last, less a partial bin
