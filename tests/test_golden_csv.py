"""Golden files for the canonical CSV reader: every case has its expected result or error.

Accepted cases give energies computed by hand; rejected cases give the error
code, class, line and column. Each case is also read with tiny chunks, which
must not change a bit.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

import epcore

CASES = Path(__file__).parent / "golden" / "csv"
FILES = sorted(p for p in CASES.iterdir() if not p.name.endswith(".expected.json"))


def _expected(path: Path) -> dict[str, Any]:
    return json.loads((CASES / (path.name.split(".")[0] + ".expected.json")).read_text())


def test_corpus_is_large_enough() -> None:
    assert len([p for p in FILES if p.name.startswith("err_")]) >= 15
    assert len([p for p in FILES if p.name.startswith("ok_")]) >= 15


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
@pytest.mark.parametrize("chunk_bytes", [1 << 20, 7, 1])
def test_golden(path: Path, chunk_bytes: int) -> None:
    exp = _expected(path)
    opts = exp.get("options", {})
    if "error" in exp:
        want = exp["error"]
        with pytest.raises(epcore.EpcoreError) as info:
            epcore.integrate_file(path, format="csv", chunk_bytes=chunk_bytes, **opts)
        e = info.value
        assert type(e).__name__ == want["type"], str(e)
        assert e.code == want["code"], str(e)
        for key in ("line", "column", "value"):
            if key in want:
                assert getattr(e, key) == want[key], f"{key}: {e}"
        assert e.path is None or e.path.endswith(path.name)
        assert "\n" not in str(e)
        return
    r = epcore.integrate_file(path, format="csv", chunk_bytes=chunk_bytes, **opts)
    assert math.isclose(r.energy_j, exp["energy_j"], rel_tol=1e-12), r.energy_j
    if "duration_s" in exp:
        assert math.isclose(r.duration_s, exp["duration_s"], rel_tol=1e-12)
    if "method" in exp:
        assert r.method == exp["method"]
    for name, energy in exp.get("channels", {}).items():
        assert math.isclose({c.name: c.energy_j for c in r.channels}[name], energy, rel_tol=1e-12)
    q = r.quality.to_dict()
    for key, value in exp.get("quality", {}).items():
        assert q[key] == value, f"{key}: {q[key]} != {value}"
    assert len(r.quality.warnings) == exp.get("warnings", 0)
    json.dumps(r.to_dict(), allow_nan=False)


def test_record_too_long(tmp_path: Path) -> None:
    p = tmp_path / "long.csv"
    p.write_text("time_s,power_w\n0,1\n1," + "9" * (1 << 21) + "\n")
    with pytest.raises(epcore.ParseError) as info:
        epcore.integrate_file(p)
    assert info.value.code == "record_too_long"
    assert info.value.line == 3


def test_file_equals_arrays_bit_for_bit(tmp_path: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(3)
    n = 200_003  # more than three blocks of 65,536 rows
    t_ns = 1_717_000_000_000_000_000 + np.cumsum(rng.integers(900_000, 1_100_000, n))
    p = np.round(70 + 600 * rng.random(n), 2)
    path = tmp_path / "t.csv"
    with path.open("w") as f:
        f.write("timestamp_ns,power_w\n")
        for a, b in zip(t_ns.tolist(), p.tolist()):
            f.write(f"{a},{b}\n")
    from_file = epcore.integrate_file(path, chunk_bytes=4093)
    in_memory = epcore.integrate(t_ns, p, threads=2)
    assert from_file.energy_j == in_memory.energy_j
    assert from_file.quality.n_samples == n


def test_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        epcore.integrate_file(tmp_path / "nope.csv")
    # A directory is read as a set of Prometheus scrapes: an empty one has no data.
    empty = tmp_path / "scrapes"
    empty.mkdir()
    with pytest.raises(epcore.TraceError) as e:
        epcore.integrate_file(empty)
    assert e.value.code == "empty_input"
    with pytest.raises(epcore.ConfigError, match="directory"):
        epcore.integrate_file(empty, format="csv")


def test_progress_and_interrupt(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("time_s,power_w\n" + "".join(f"{i},{i % 7}\n" for i in range(20_000)))
    seen: list[int] = []
    epcore.integrate_file(path, chunk_bytes=4096, progress=seen.append)
    assert seen and seen == sorted(seen) and seen[-1] == path.stat().st_size

    def stop(done: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        epcore.integrate_file(path, chunk_bytes=4096, progress=stop)
