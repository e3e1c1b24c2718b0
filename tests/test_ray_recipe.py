"""The README's Ray Data recipe, run as written: partial bytes per batch, merged in time order on the driver.

The code block between the ``ray-recipe`` markers of README.md is executed as is, so the documented
recipe cannot drift from what works. Ray is optional (not a dependency, not installed in CI unless
chosen): without ``import ray`` the module is skipped with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import epcore

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Ray's own, about its config

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'ray[data]'): the recipe is optional")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

README = Path(__file__).resolve().parent.parent / "README.md"
T0_NS = 1_750_000_000 * 10**9


def recipe() -> dict[str, Any]:
    """The README block's names (``to_partials``, ``fleet_energy_j``, ``MAX_GAP_S``...)."""
    m = re.search(r"<!-- ray-recipe:begin -->\s*```python\n(.*?)```\s*<!-- ray-recipe:end -->", README.read_text(),
                  re.S)
    assert m is not None, "README.md lost its ray-recipe block"
    # A module name that is not importable: Ray pickles the functions by value for its workers.
    ns: dict[str, Any] = {"__name__": "readme_ray_recipe"}
    exec(compile(m.group(1), "README.md:ray-recipe", "exec"), ns)
    return ns


@pytest.fixture(scope="module")
def ray_session() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        yield
    finally:
        ray.shutdown()


def _channel(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Samples every 0.5–1.5 s with two gaps longer than the recipe's 5 s threshold."""
    dt = rng.integers(500_000_000, 1_500_000_000, n)
    dt[n // 3] = 20 * 10**9
    dt[2 * n // 3] = 9 * 10**9
    return T0_NS + np.cumsum(dt).astype(np.int64), np.round(rng.uniform(80.0, 700.0, n), 2)


def _write(path: Path, name: str, t: np.ndarray, p: np.ndarray) -> None:
    # Small row groups: several batches per file, so boundaries fall inside files too.
    pq.write_table(pa.table({"ts_ns": pa.array(t, pa.int64()), "gpu": [name] * t.size, "power_w": p}), path,
                   row_group_size=700)


def test_recipe_equals_one_machine(ray_session: None, tmp_path: Path) -> None:
    ns = recipe()
    fleet_energy_j: Callable[[str], dict[str, float]] = ns["fleet_energy_j"]
    rng = np.random.default_rng(11)
    ref: dict[str, float] = {}
    for g in range(3):
        name = f"GPU-{g}"
        t, p = _channel(rng, 5_000)
        ref[name] = epcore.integrate(t, p, max_gap_s=ns["MAX_GAP_S"]).energy_j
        cut = 1_234 + 900 * g  # each channel's time range split across two files, at a different row
        _write(tmp_path / f"{name}-a.parquet", name, t[:cut], p[:cut])
        _write(tmp_path / f"{name}-b.parquet", name, t[cut:], p[cut:])
    assert fleet_energy_j(str(tmp_path)) == ref  # bit for bit


def test_recipe_refuses_overlapping_pieces(ray_session: None, tmp_path: Path) -> None:
    fleet_energy_j = recipe()["fleet_energy_j"]
    t, p = _channel(np.random.default_rng(5), 2_000)
    _write(tmp_path / "a.parquet", "GPU-0", t[:1_200], p[:1_200])
    _write(tmp_path / "b.parquet", "GPU-0", t[1_000:], p[1_000:] + 1.0)  # 200 rows again, other values
    with pytest.raises(Exception) as e:
        fleet_energy_j(str(tmp_path))
    # Raised on the driver by Partial.merge (not in a Ray task): the typed error itself.
    assert isinstance(e.value, epcore.TraceError), repr(e.value)
