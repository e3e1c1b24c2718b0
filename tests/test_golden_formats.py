"""Golden files for every power format: each case has its expected result or error.

One runner for all of ``tests/golden/<format>/`` (the canonical CSV keeps its
own, ``test_golden_csv.py``). The folder name is the format name with ``_`` for
``-`` (``nvidia_smi`` → ``nvidia-smi``, ``dmon``, ``zeus``, ``prometheus_json``
...). A case is any file (``.csv``, ``.txt``, ``.prom``, ``.json``, optionally
``.gz``/``.zst``) next to ``<stem>.expected.json``, where ``<stem>`` is the
name up to its first dot. The expected file holds:

- ``options``: keyword arguments for :func:`epcore.integrate_file` (``tz``,
  ``value``, ``channel``, ``prefer``, ``strict``...); ``format`` overrides the
  folder's format (``null`` = sniff the content);
- for a rejected file, ``error``: ``type`` (exception class), ``code``, and
  optionally ``line``, ``column``, ``value``, ``reason_contains``,
  ``hint_contains``;
- for an accepted file: ``energy_j``, optionally ``duration_s``, ``method``,
  ``channels`` (energy of the channels listed), ``n_channels``, ``first_t_ns`` (per channel), ``quality``
  (any key of ``QualityReport.to_dict()``: counts, ``naive_time``, ``tz``,
  ``power_semantics``, ``truncated_tail``, ``n_unit_normalized``...) and
  ``warnings`` (how many; 0 when absent).

Every case is read at three chunk sizes, which must not change a bit, and
every accepted case also through :func:`epcore.read_power`, which must agree
with the streamed integral.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

import epcore

ROOT = Path(__file__).parent / "golden"
#: The canonical CSV has its own runner with CSV-specific tests.
OWN_RUNNER = {"csv"}
ALIASES = {"dmon", "dcgm"}


def _format_of(folder: Path) -> str | None:
    name = folder.name.replace("_", "-")
    if folder.name in OWN_RUNNER or not (name in epcore.FORMATS or name in ALIASES):
        return None
    return name


FOLDERS = sorted(p for p in ROOT.iterdir() if p.is_dir() and _format_of(p) is not None)


def _stem(path: Path) -> str:
    return path.name.split(".")[0]


def _cases(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.endswith(".expected.json"))


CASES = [p for folder in FOLDERS for p in _cases(folder)]


def _expected(path: Path) -> dict[str, Any]:
    exp: dict[str, Any] = json.loads((path.parent / (_stem(path) + ".expected.json")).read_text())
    return exp


def _read_kwargs(path: Path, exp: dict[str, Any]) -> dict[str, Any]:
    opts = dict(exp.get("options", {}))
    fmt = opts.pop("format", _format_of(path.parent))
    return {"format": fmt, **opts}


def _close(got: float, want: float) -> bool:
    return math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12)


def test_every_format_folder_is_complete() -> None:
    assert FOLDERS, "no golden folders found"
    for folder in FOLDERS:
        cases = _cases(folder)
        names = {_stem(p) for p in cases}
        orphans = sorted(p.name for p in folder.glob("*.expected.json") if p.name[: -len(".expected.json")] not in names)
        assert not orphans, f"{folder.name}: expected files without a case: {orphans}"
        for p in cases:
            assert (folder / (_stem(p) + ".expected.json")).is_file(), f"{p} has no .expected.json"
        ok = [p for p in cases if p.name.startswith("ok_")]
        err = [p for p in cases if p.name.startswith("err_")]
        assert len(ok) + len(err) == len(cases), f"{folder.name}: case names start with ok_ or err_"
        assert ok and err, f"{folder.name}: needs accepted and rejected cases"


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.name}" for p in CASES])
@pytest.mark.parametrize("chunk_bytes", [1 << 20, 7, 1])
def test_golden(path: Path, chunk_bytes: int) -> None:
    exp = _expected(path)
    kwargs = _read_kwargs(path, exp)
    if "error" in exp:
        want = exp["error"]
        with pytest.raises(epcore.EpcoreError) as info:
            epcore.integrate_file(path, chunk_bytes=chunk_bytes, **kwargs)
        e = info.value
        assert type(e).__name__ == want["type"], str(e)
        assert e.code == want["code"], str(e)
        for key in ("line", "column", "value"):
            if key in want:
                assert getattr(e, key) == want[key], f"{key}: {e}"
        if "reason_contains" in want:
            assert want["reason_contains"] in str(e), str(e)
        if "hint_contains" in want:
            assert want["hint_contains"] in (e.hint or ""), str(e)
        assert e.path is None or e.path.endswith(path.name)
        assert "\n" not in str(e)
        return
    r = epcore.integrate_file(path, chunk_bytes=chunk_bytes, **kwargs)
    assert _close(r.energy_j, exp["energy_j"]), r.energy_j
    if "duration_s" in exp:
        assert _close(r.duration_s, exp["duration_s"]), r.duration_s
    if "method" in exp:
        assert r.method == exp["method"]
    by_name = {c.name: c for c in r.channels}
    for name, energy in exp.get("channels", {}).items():
        assert _close(by_name[name].energy_j, energy), (name, by_name[name].energy_j)
    if "n_channels" in exp:
        assert len(r.channels) == exp["n_channels"], sorted(by_name)
    for name, t in exp.get("first_t_ns", {}).items():
        assert by_name[name].first_t_ns == t, (name, by_name[name].first_t_ns)
    q = r.quality.to_dict()
    for key, value in exp.get("quality", {}).items():
        got = q[key]
        if isinstance(value, dict) and isinstance(got, dict):
            assert {k: got.get(k) for k in value} == value, f"{key}: {got} != {value}"
        else:
            assert got == value, f"{key}: {got} != {value}"
    assert len(r.quality.warnings) == exp.get("warnings", 0), r.quality.warnings
    json.dumps(r.to_dict(), allow_nan=False)
    if chunk_bytes == 1 << 20:
        tr = epcore.read_power(path, **kwargs)
        assert tr.energy_j == r.energy_j
        assert tr.quality.n_samples == r.quality.n_samples
