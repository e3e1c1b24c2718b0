"""The type stubs match the compiled binding, and the package type-checks strictly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_stubtest_matches_binding() -> None:
    r = _run("mypy.stubtest", "epcore._core", "--allowlist", str(ROOT / "tests" / "stubtest_allowlist.txt"))
    assert r.returncode == 0, r.stdout + r.stderr


def test_package_is_mypy_strict_clean() -> None:
    r = _run("mypy", "--strict", "python/epcore")
    assert r.returncode == 0, r.stdout + r.stderr
