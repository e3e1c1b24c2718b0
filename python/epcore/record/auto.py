"""Choosing a source by name: ``auto`` (NVML if it initialises, else RAPL if readable), ``nvml``, ``rapl``, ``replay``.

>>> from epcore.record import open_source
>>> open_source("replay", replay="trace.csv", replay_speed=10).speed
10.0
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from ..exceptions import ConfigError
from .nvml import NvmlSource, nvml_available
from .rapl import DEFAULT_ROOT, RaplSource
from .replay import ReplaySource
from .source import PowerSource

__all__ = ["SOURCES", "open_source"]

#: Names accepted by :func:`open_source` (and ``epcore record --source``).
SOURCES = ("auto", "nvml", "rapl", "replay")


def open_source(
    kind: str = "auto",
    *,
    gpus: Sequence[int | str] | None = None,
    replay: str | os.PathLike[str] | None = None,
    replay_speed: float = 1.0,
    rapl_root: str | os.PathLike[str] = DEFAULT_ROOT,
) -> PowerSource:
    """The source named ``kind``, not yet opened. ``auto`` probes NVML then RAPL and
    raises ConfigError saying why neither works."""
    if kind not in SOURCES:
        raise ConfigError(f"unknown source {kind!r}", code="invalid_argument", value=kind,
                          hint=f"one of {', '.join(SOURCES)}")
    if replay is not None and kind in ("auto", "replay"):
        return ReplaySource(replay, speed=replay_speed)
    if kind == "replay":
        raise ConfigError("the replay source needs a file", code="invalid_argument",
                          hint="pass --replay FILE (a trace epcore can read)")
    if kind == "nvml":
        return NvmlSource(gpus)
    if kind == "rapl":
        if gpus is not None:
            raise ConfigError("--gpus applies to the NVML source only", code="invalid_argument",
                              hint="drop --gpus, or use --source nvml")
        return RaplSource(rapl_root)
    why_nvml = nvml_available()
    if why_nvml is None:
        return NvmlSource(gpus)
    if gpus is not None:
        raise ConfigError(f"no NVML GPU found ({why_nvml})", code="invalid_argument", reason=why_nvml,
                          hint="--gpus needs NVML: install the NVIDIA driver and pip install 'epcore[nvml]'")
    rapl = RaplSource(rapl_root)
    try:
        rapl.open()
    except ConfigError as e:
        raise ConfigError(
            f"no power source: no NVML GPU found ({why_nvml}), and RAPL is not usable ({e})",
            code="no_source", reason="neither NVML nor RAPL is available",
            hint="use --source rapl as root, or --replay FILE to play back a recorded trace",
        ) from None
    finally:
        rapl.close()
    return RaplSource(rapl_root)
