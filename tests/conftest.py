"""Shared test setup: hypothesis profiles, the real-data fixture and the small sample fixtures.

Hypothesis profiles (pick one with ``HYPOTHESIS_PROFILE``):

- ``ci`` (default): 200 examples per property, derandomized so every run tries
  the same examples (a failure reproduces by rerunning the test);
- ``thorough``: 10 000 examples per property, random, for a long local run
  (``HYPOTHESIS_PROFILE=thorough pytest tests/test_properties.py``); the
  failing example and its reproduction blob are printed.

Tests that need a fixed, small number of expensive examples scale it with
:func:`scaled_examples` so the thorough profile runs more of them too.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import epcore

settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=10_000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def scaled_examples(n: int) -> int:
    """``n`` examples under the ci profile, proportionally more under a bigger one."""
    return max(1, n * settings.default.max_examples // 200)


#: The shared data directory sits next to the repository: ``<repo>/../shared``.
SHARED_DIR = Path(__file__).resolve().parent.parent.parent / "shared"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``shared/data/real`` (real telemetry files); the test is skipped when it is absent."""
    real = SHARED_DIR / "data" / "real"
    if not real.is_dir():
        pytest.skip(f"real data not available ({real} is missing)")
    return real


#: The test data shipped in the repository: ``tests/data``.
DATA_DIR = Path(__file__).resolve().parent / "data"

#: What the :func:`sample` fixture gives: the trace, the request log and their attribution.
Sample = tuple[epcore.PowerTrace, epcore.Requests, epcore.Attribution]


@pytest.fixture(scope="module")
def sample() -> Sample:
    """``tests/data/sample_attribution_{power,requests}.csv``, read and attributed (the plot and SVG tests)."""
    tr = epcore.read_power(DATA_DIR / "sample_attribution_power.csv")
    rq = epcore.read_requests(DATA_DIR / "sample_attribution_requests.csv")
    return tr, rq, epcore.attribute(tr, rq)


@pytest.fixture
def vllm_counters(tmp_path: Path) -> Path:
    """A vLLM ``/metrics`` log: two scrapes 15 s apart, model ``m``, 1000 prompt and 500 generation tokens between."""
    m = tmp_path / "vllm.prom"
    m.write_text(
        "# scrape_time 1760000000\n"
        'vllm:prompt_tokens_total{model_name="m"} 100.0\nvllm:generation_tokens_total{model_name="m"} 40.0\n'
        "# scrape_time 1760000015\n"
        'vllm:prompt_tokens_total{model_name="m"} 1.1e+03\nvllm:generation_tokens_total{model_name="m"} 540.0\n'
    )
    return m
