"""The RAPL source against a powercap tree written by the test: the real code, reading real files.

No RAPL on the CI VM (and /sys cannot be faked), so the source takes its root
directory; these trees have the kernel's layout (``intel-rapl:N[:M]`` with
``name``, ``energy_uj``, ``max_energy_range_uj``).
"""

from __future__ import annotations

import shutil
import os
import tempfile
from pathlib import Path

import pytest

import epcore
from epcore.exceptions import ConfigError
from epcore.record import RaplSource, Recorder, open_source

MAX_UJ = 262_143_328_850


def zone(root: Path, name: str, label: str, energy_uj: int, max_uj: int = MAX_UJ) -> Path:
    z = root / name
    z.mkdir(parents=True)
    (z / "name").write_text(label + "\n")
    (z / "energy_uj").write_text(f"{energy_uj}\n")
    (z / "max_energy_range_uj").write_text(f"{max_uj}\n")
    return z


def tree(root: Path) -> Path:
    (root / "intel-rapl").mkdir(parents=True)  # the control-type directory: not a zone
    zone(root, "intel-rapl:0", "package-0", 1_000_000)
    zone(root, "intel-rapl:0:0", "core", 500_000)
    zone(root, "intel-rapl:1", "package-1", 2_000_000)
    zone(root, "intel-rapl:1:0", "core", 700_000)
    return root


def set_uj(root: Path, name: str, uj: int) -> None:
    (root / name / "energy_uj").write_text(f"{uj}\n")


def test_channels_and_fields(tmp_path: Path) -> None:
    src = RaplSource(tree(tmp_path))
    info = src.open()
    assert info.source == "rapl"
    assert info.channel_names == ("package-0", "package-0/core", "package-1", "package-1/core")
    assert not info.has_power and info.has_energy
    assert all(c.energy_field == "energy_uj" and c.power_field is None for c in info.channels)
    assert info.channels[0].meta["max_energy_range_uj"] == str(MAX_UJ)
    r = src.read()
    assert r.energy_j == (1.0, 0.5, 2.0, 0.7) and r.power_w == (None,) * 4


def test_wrap_is_unwrapped_and_counted(tmp_path: Path) -> None:
    root = tree(tmp_path)
    src = RaplSource(root)
    src.open()
    set_uj(root, "intel-rapl:0", MAX_UJ - 1_000_000)
    assert src.read().energy_j[0] == pytest.approx((MAX_UJ - 1_000_000) / 1e6)
    set_uj(root, "intel-rapl:0", 4_000_000)  # wrapped: 1 J to the top, then 4 J
    e = src.read().energy_j[0]
    assert e == pytest.approx((MAX_UJ + 4_000_000) / 1e6)
    assert src.n_wraps == [1, 0, 0, 0]
    set_uj(root, "intel-rapl:0", 3_000_000)  # a second wrap
    assert src.read().energy_j[0] == pytest.approx((2 * MAX_UJ + 3_000_000) / 1e6)
    assert src.n_wraps[0] == 2


def test_recorded_energy_across_a_wrap(tmp_path: Path) -> None:
    """The counter trace of a recording spanning a wrap has the energy really used."""
    root = tmp_path / "powercap"
    zone(root, "intel-rapl:0", "package-0", MAX_UJ - 5_000_000)
    with Recorder(RaplSource(root), interval_ms=10, out=tmp_path / "rapl.csv") as rec:
        import time

        time.sleep(0.1)
        set_uj(root, "intel-rapl:0", 7_000_000)  # +12 J across the wrap
        time.sleep(0.1)
    assert rec.power_trace is None
    assert rec.counter_trace is not None and rec.trace is rec.counter_trace
    assert rec.trace.energy_j == pytest.approx(12.0)
    ch = rec.report.channels[0]
    assert ch.preferred == "counter" and ch.energy_j == pytest.approx(12.0) and ch.energy_power_j is None
    # The file reads back as a counter with the same energy.
    assert epcore.read_power(tmp_path / "rapl.csv").energy_j == pytest.approx(12.0)


def test_missing_root_or_no_zones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist") as e:
        RaplSource(tmp_path / "absent").open()
    assert e.value.hint and "nvml" in e.value.hint
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no RAPL domains"):
        RaplSource(tmp_path / "empty").open()


def test_auto_without_nvml_or_rapl_says_both(tmp_path: Path) -> None:
    from epcore.record import nvml_available

    if nvml_available() is None:
        pytest.skip("an NVML GPU is present: auto picks it")
    with pytest.raises(ConfigError, match="no NVML GPU found.*RAPL is not usable") as e:
        open_source("auto", rapl_root=tmp_path / "absent")
    assert e.value.code == "no_source" and e.value.hint and "--replay" in e.value.hint
    assert isinstance(open_source("auto", rapl_root=tree(tmp_path / "pc")), RaplSource)


def test_unreadable_counter_is_a_config_error_with_hint() -> None:
    """energy_uj mode 0400 root-owned, as on kernels since CVE-2020-8694, opened by an unprivileged user."""
    root = Path(tempfile.mkdtemp(prefix="epcore-rapl-"))
    os.chmod(root, 0o755)
    z = zone(root, "intel-rapl:0", "package-0", 1_000_000)
    os.chmod(z, 0o755)
    for f in z.iterdir():
        os.chmod(f, 0o444)
    os.chmod(z / "energy_uj", 0o400)
    as_root = os.geteuid() == 0
    if not as_root:
        os.chmod(z / "energy_uj", 0)
    try:
        # Root reads anything: check as nobody (effective uid only, restored below).
        if as_root:
            os.seteuid(65534)
        try:
            with pytest.raises(ConfigError, match="permission denied") as e:
                RaplSource(root).open()
        finally:
            if as_root:
                os.seteuid(0)
        assert e.value.code == "permission_denied"
        assert e.value.hint is not None and "CVE-2020-8694" in e.value.hint and "chmod" in e.value.hint
    finally:
        shutil.rmtree(root)
