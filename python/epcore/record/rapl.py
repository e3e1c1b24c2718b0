"""Linux RAPL energy counters (``/sys/class/powercap/intel-rapl:N[:M]/energy_uj``).

Each package (``intel-rapl:N``) and sub-domain (``intel-rapl:N:M``: core,
uncore, dram) is a channel with an energy counter only (no power). The
kernel counter wraps at ``max_energy_range_uj``; the source unwraps it, so
``energy_j`` increases monotonically, and counts the wraps per channel.
Since 2020 (CVE-2020-8694, the PLATYPUS side channel) ``energy_uj`` is
readable by root only on most distributions: that is a ConfigError with the fix.

``root`` is the powercap directory, so tests (and containers with a bind
mount) can point it at another tree:

>>> import pathlib, tempfile
>>> from epcore.record import RaplSource
>>> z = pathlib.Path(tempfile.mkdtemp()) / "intel-rapl:0"
>>> z.mkdir()
>>> for f, v in {"name": "package-0", "energy_uj": "900000", "max_energy_range_uj": "1000000"}.items():
...     _ = (z / f).write_text(v)
>>> src = RaplSource(z.parent)
>>> src.open().channel_names
('package-0',)
>>> _ = (z / "energy_uj").write_text("200000")   # wrapped at 1 J
>>> src.read().energy_j, src.n_wraps
((1.2,), [1])
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..exceptions import ConfigError
from .source import ChannelInfo, Reading, SourceInfo

__all__ = ["RaplSource", "DEFAULT_ROOT"]

DEFAULT_ROOT = "/sys/class/powercap"
_ZONE = re.compile(r"^intel-rapl:(\d+)(?::(\d+))?$")
_PERMISSION_HINT = (
    "energy_uj is root-only since CVE-2020-8694: run as root, or grant read access, e.g. "
    "`sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj /sys/class/powercap/intel-rapl:*:*/energy_uj` "
    "(or a udev rule), or record NVML GPUs with --source nvml"
)


class RaplSource:
    """RAPL packages and domains under ``root`` (default ``/sys/class/powercap``)."""

    def __init__(self, root: str | os.PathLike[str] = DEFAULT_ROOT) -> None:
        self.root = Path(root)
        self._zones: list[Path] = []
        self._range_uj: list[int] = []
        self._last_uj: list[int] = []
        self.n_wraps: list[int] = []

    def _zones_under_root(self) -> list[Path]:
        try:
            entries = sorted(os.listdir(self.root))
        except FileNotFoundError:
            raise ConfigError(f"no RAPL: {self.root} does not exist", code="invalid_argument",
                              path=str(self.root), hint="RAPL needs Linux on Intel/AMD x86 with the powercap "
                              "driver (modprobe intel_rapl_common); use --source nvml or --replay FILE") from None
        zones = [(tuple(int(g) if g else -1 for g in m.groups()), e) for e in entries if (m := _ZONE.match(e))]
        if not zones:
            raise ConfigError(f"no RAPL domains (intel-rapl:N) under {self.root}", code="invalid_argument",
                              path=str(self.root), hint="load the powercap driver (modprobe intel_rapl_common) "
                              "or use --source nvml / --replay FILE")
        return [self.root / e for _, e in sorted(zones)]

    def _read_uj(self, path: Path) -> int:
        try:
            return int(path.read_text().strip())
        except PermissionError:
            raise ConfigError(f"{path}: permission denied", code="permission_denied", path=str(path),
                              reason="RAPL energy counter not readable", hint=_PERMISSION_HINT) from None
        except (ValueError, OSError) as e:
            raise ConfigError(f"{path}: unreadable RAPL counter ({e})", code="invalid_argument", path=str(path),
                              hint="check the powercap driver; use --source nvml or --replay FILE") from None

    def open(self) -> SourceInfo:
        zones = self._zones_under_root()
        names: dict[Path, str] = {}
        channels = []
        for z in zones:
            label = (z / "name").read_text().strip() if (z / "name").exists() else z.name
            parent = z.parent / z.name.rsplit(":", 1)[0] if z.name.count(":") == 2 else None
            name = f"{names[parent]}/{label}" if parent in names else label
            names[z] = name
            max_uj = self._read_uj(z / "max_energy_range_uj")
            first = self._read_uj(z / "energy_uj")
            self._zones.append(z / "energy_uj")
            self._range_uj.append(max_uj)
            self._last_uj.append(first)
            self.n_wraps.append(0)
            channels.append(ChannelInfo(name, power_field=None, energy_field="energy_uj", meta={
                "zone": z.name, "path": str(z), "max_energy_range_uj": str(max_uj)}))
        self._offset_uj = [0] * len(zones)
        return SourceInfo("rapl", tuple(channels), meta={"root": str(self.root)})

    def read(self) -> Reading:
        out: list[float | None] = []
        for i, path in enumerate(self._zones):
            uj = self._read_uj(path)
            if uj < self._last_uj[i]:
                # The counter wrapped at max_energy_range_uj (at most once per read at any sane interval).
                self.n_wraps[i] += 1
                self._offset_uj[i] += self._range_uj[i]
            self._last_uj[i] = uj
            out.append((uj + self._offset_uj[i]) / 1e6)
        return Reading(tuple(None for _ in out), tuple(out))

    def close(self) -> None:
        self._zones = []
