"""pytest-benchmark: epcore.attribute next to its numpy and pandas baselines.

Run with ``pytest benches/test_bench_attribute.py --benchmark-enable`` (the
project's pytest options disable benchmarks, and ``testpaths`` leaves
``benches/`` out of the normal test run). Sizes are small; ``benches/bench_attribute.py``
has the full sizes (1e5 requests over 1e7 samples), the extrapolated per-request
loops and the ratios against the target.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_attribute as ba  # noqa: E402

epcore = pytest.importorskip("epcore")
if not hasattr(epcore, "attribute"):
    pytest.skip("epcore.attribute is not built yet (make build)", allow_module_level=True)

N_SAMPLES = 200_000
N_REQUESTS = 2_000
N_SUBSET = 200
GROUP = f"attribute {N_REQUESTS:.0e} requests over {N_SAMPLES:.0e} samples"
LOOP_GROUP = f"attribute, per-request loops on {N_SUBSET} of {N_REQUESTS} requests"


@pytest.fixture(scope="module")
def case() -> ba.Case:
    return ba.make_case(N_SAMPLES, N_REQUESTS)


@pytest.fixture(scope="module")
def inputs(case: ba.Case) -> tuple[Any, Any]:
    return ba.epcore_inputs(case)


@pytest.fixture(scope="module")
def exact(case: ba.Case) -> dict[str, np.ndarray]:
    return {w: ba.numpy_sweep(case, w) for w in ("equal", "tokens")}


@pytest.fixture(scope="module")
def subset() -> np.ndarray:
    rng = np.random.default_rng(np.random.SeedSequence([ba.SEED, 5]))
    return np.sort(rng.choice(N_REQUESTS, size=N_SUBSET, replace=False))


def _agree(a: np.ndarray, b: np.ndarray, tol: float) -> bool:
    return bool(np.all(np.abs(a - b) <= tol * np.maximum(np.abs(b), 1.0)))  # absolute below 1 J


@pytest.mark.parametrize("weight", ["equal", "tokens"])
def test_attribute_epcore(benchmark: Any, case: ba.Case, inputs: Any, exact: Any, weight: str) -> None:
    benchmark.group = GROUP
    trace, reqs = inputs
    att = benchmark(epcore.attribute, trace, reqs, weight=weight)
    assert _agree(ba.energies_by_start(case, att), exact[weight], ba.EXACT_TOL)
    total = att.total_energy_j
    assert abs(att.attributed_energy_j + att.unattributed_energy_j - total) <= 1e-9 * total


def test_attribute_epcore_inputs(benchmark: Any, case: ba.Case) -> None:
    """PowerTrace.from_samples + Requests.from_arrays (setup, not in the target)."""
    benchmark.group = GROUP
    benchmark(ba.epcore_inputs, case)


@pytest.mark.parametrize("weight", ["equal", "tokens"])
def test_attribute_numpy_exact_sweep(benchmark: Any, case: ba.Case, weight: str) -> None:
    benchmark.group = GROUP
    e = benchmark(ba.numpy_sweep, case, weight)
    assert np.all(np.isfinite(e)) and np.all(e >= 0)


def test_attribute_numpy_loop(benchmark: Any, case: ba.Case, exact: Any, subset: np.ndarray) -> None:
    benchmark.group = LOOP_GROUP

    def run() -> np.ndarray:
        return ba.numpy_loop(case, ba.loop_setup(case), subset)

    e = benchmark(run)
    assert np.all(np.abs(e - exact["equal"][subset]) <= ba.LOOP_TOL * exact["equal"][subset])


def test_attribute_pandas_loop(benchmark: Any, case: ba.Case, exact: Any, subset: np.ndarray) -> None:
    pytest.importorskip("pandas")
    benchmark.group = LOOP_GROUP

    def run() -> np.ndarray:
        return ba.pandas_loop(case, ba.pandas_setup(case, ba.loop_setup(case)), subset)

    e = benchmark.pedantic(run, rounds=3, warmup_rounds=0)
    assert np.all(np.abs(e - exact["equal"][subset]) <= ba.LOOP_TOL * exact["equal"][subset])
