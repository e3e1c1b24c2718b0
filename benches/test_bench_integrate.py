"""pytest-benchmark: epcore next to its numpy (and polars) baselines, group by group.

Run with ``pytest benches --benchmark-enable`` (the project's pytest options
disable benchmarks, and ``testpaths`` leaves ``benches/`` out of the normal
test run). Sizes are small and medium; ``benches/compare.py`` (``make bench``)
has the full sizes and the ratios against the targets.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import baselines  # noqa: E402
import gen  # noqa: E402

epcore = pytest.importorskip("epcore")
_core = epcore._core

SIZES = [100_000, 2_000_000]
N_WINDOWS = 10_000
WINDOW_SAMPLES = 2_000_000
CSV_MB = 10


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"{n:.0e}")
def trace(request: Any) -> tuple[np.ndarray, np.ndarray]:
    return gen.trace(request.param)


@pytest.fixture(scope="module")
def window_case() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t, p = gen.trace(WINDOW_SAMPLES)
    return t, p, gen.windows(N_WINDOWS, int(t[0]), int(t[-1]))


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory: Any) -> tuple[str, dict[str, float]]:
    path = str(tmp_path_factory.mktemp("bench") / "trace.csv")
    return path, gen.write_csv(path, target_bytes=CSV_MB * 10**6)


def _close(a: float, b: float, tol: float = 1e-9) -> bool:
    return abs(a - b) <= tol * abs(b)


# ----------------------------------------------------------------------------- integrate


def _group(benchmark: Any, name: str, n: int) -> None:
    benchmark.group = f"{name} {n:.0e}"


def test_integrate_epcore_1_thread(benchmark: Any, trace: Any) -> None:
    t, p = trace
    _group(benchmark, "integrate", len(t))
    opts = epcore.options()
    part = benchmark(_core.integrate_channel, t, p, opts, 1)
    assert _close(part.energy_j, gen.reference_energy(t, p, part.max_gap_ns))


def test_integrate_epcore_2_threads(benchmark: Any, trace: Any) -> None:
    t, p = trace
    _group(benchmark, "integrate", len(t))
    opts = epcore.options()
    part = benchmark(_core.integrate_channel, t, p, opts, 2)
    assert _close(part.energy_j, gen.reference_energy(t, p, part.max_gap_ns))


def test_integrate_epcore_api(benchmark: Any, trace: Any) -> None:
    t, p = trace
    _group(benchmark, "integrate", len(t))
    r = benchmark(epcore.integrate, t, p)
    assert _close(r.energy_j, gen.reference_energy(t, p))


def test_integrate_numpy_trapezoid(benchmark: Any, trace: Any) -> None:
    t, p = trace
    _group(benchmark, "integrate", len(t))
    t_s = t / 1e9
    benchmark(np.trapezoid, p, t_s)


def test_integrate_numpy_int64_expr(benchmark: Any, trace: Any) -> None:
    t, p = trace
    _group(benchmark, "integrate", len(t))
    benchmark(baselines.trapezoid_int64_ns, t, p)


def test_integrate_numpy_sum_bandwidth(benchmark: Any, trace: Any) -> None:
    """The bandwidth reference: one read of the same bytes."""
    t, p = trace
    _group(benchmark, "integrate", len(t))
    benchmark(lambda: float(np.sum(t)) + float(np.sum(p)))


# ----------------------------------------------------------------------------- windows


def test_windows_epcore(benchmark: Any, window_case: Any) -> None:
    t, p, w = window_case
    benchmark.group = f"windows {N_WINDOWS:.0e} over {WINDOW_SAMPLES:.0e}"
    opts = epcore.options()
    _, (e, _, _) = benchmark(_core.integrate_windows, t, p, w, opts, 0)
    ref = baselines.windows_exact(t, p, w)
    assert np.all(np.abs(e - ref) <= 1e-9 * np.maximum(np.abs(e), 1.0))  # absolute below 1 J


def test_windows_epcore_api(benchmark: Any, window_case: Any) -> None:
    t, p, w = window_case
    benchmark.group = f"windows {N_WINDOWS:.0e} over {WINDOW_SAMPLES:.0e}"
    benchmark(epcore.integrate, t, p, windows=w)


def test_windows_numpy_exact(benchmark: Any, window_case: Any) -> None:
    t, p, w = window_case
    benchmark.group = f"windows {N_WINDOWS:.0e} over {WINDOW_SAMPLES:.0e}"
    benchmark(baselines.windows_exact, t, p, w)


# ----------------------------------------------------------------------------- CSV


def test_csv_epcore(benchmark: Any, csv_file: Any) -> None:
    path, info = csv_file
    benchmark.group = f"csv {CSV_MB} MB"
    r = benchmark.pedantic(epcore.integrate_file, args=(path,), rounds=5, warmup_rounds=1)
    assert _close(r.energy_j, info["energy_j"])


def test_csv_polars_scan(benchmark: Any, csv_file: Any) -> None:
    pytest.importorskip("polars")
    import polars_baseline

    path, info = csv_file
    benchmark.group = f"csv {CSV_MB} MB"
    e = benchmark.pedantic(polars_baseline.scan_energy, args=(path,), rounds=5, warmup_rounds=1)
    assert _close(e, info["energy_j"], 1e-8)


def test_csv_numpy_loadtxt(benchmark: Any, csv_file: Any) -> None:
    path, info = csv_file
    benchmark.group = f"csv {CSV_MB} MB"
    e = benchmark.pedantic(baselines.numpy_loadtxt_energy, args=(path,), rounds=2, warmup_rounds=0)
    assert _close(e, info["energy_j"], 1e-8)
