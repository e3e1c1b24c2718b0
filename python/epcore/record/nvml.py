"""NVIDIA GPUs through NVML (``nvidia-ml-py``, the optional extra ``epcore[nvml]``).

Per GPU: power from the field ``NVML_FI_DEV_POWER_INSTANT`` where the driver
supports it (checked per GPU through the field's own return code), else
``nvmlDeviceGetPowerUsage``, which on recent GPUs is a 1 s moving average and
is flagged ``power_semantics="averaged"``; and the total-energy counter
``nvmlDeviceGetTotalEnergyConsumption`` (mJ since driver load) where
supported. Which GPUs: ``gpus`` (NVML indices or UUIDs) when given, else
``CUDA_VISIBLE_DEVICES`` (indices or ``GPU-`` UUIDs, as CUDA reads it), else
all. Indices are NVML's (PCI bus) order: set ``CUDA_DEVICE_ORDER=PCI_BUS_ID``
so CUDA numbers GPUs the same way.

Only exercised on a real GPU (``benches/gpu_check.py``); its tests skip where
``nvmlInit`` fails.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..exceptions import ConfigError, TraceError
from .source import ChannelInfo, Reading, SourceInfo

__all__ = ["NvmlSource", "nvml_available", "visible_gpus"]

#: A GPU whose reads fail this many times in a row stops the recording (a lost GPU, not a hiccup).
MAX_CONSECUTIVE_ERRORS = 50
#: NVML's enum value of NVML_FI_DEV_POWER_INSTANT (stable in nvml.h), for nvidia-ml-py releases without the name.
_POWER_INSTANT = 186


def _pynvml() -> Any:
    try:
        import pynvml
    except ImportError:
        raise ConfigError("the NVML source needs nvidia-ml-py", code="invalid_argument",
                          hint="pip install 'epcore[nvml]'") from None
    return pynvml


def nvml_available() -> str | None:
    """None when NVML initialises and sees a GPU; else why not (for skip messages and auto)."""
    try:
        nv = _pynvml()
    except ConfigError as e:
        return str(e)
    try:
        nv.nvmlInit()
    except nv.NVMLError as e:
        return f"nvmlInit failed: {e}"
    try:
        n = nv.nvmlDeviceGetCount()
    finally:
        nv.nvmlShutdown()
    return None if n > 0 else "NVML sees no GPU"


def visible_gpus(env: str | None) -> list[str] | None:
    """``CUDA_VISIBLE_DEVICES`` as a list of entries (None: unset, all GPUs).

    As CUDA does, the list ends at the first entry that is not an index or a
    UUID (``-1`` hides every GPU).

    >>> visible_gpus("0,2"), visible_gpus(None), visible_gpus("1,-1,2"), visible_gpus("GPU-8f2a")
    (['0', '2'], None, ['1'], ['GPU-8f2a'])
    """
    if env is None:
        return None
    out = []
    for item in env.split(","):
        item = item.strip()
        if item.isdigit() or item.startswith(("GPU-", "MIG-")):
            out.append(item)
        else:
            break
    return out


def _value(fv: Any, nv: Any) -> float:
    """A field value by its declared type."""
    kind = fv.valueType
    v = fv.value
    if kind == nv.NVML_VALUE_TYPE_DOUBLE:
        return float(v.dVal)
    if kind == nv.NVML_VALUE_TYPE_UNSIGNED_INT:
        return float(v.uiVal)
    if kind == nv.NVML_VALUE_TYPE_UNSIGNED_LONG:
        return float(v.ulVal)
    if kind == nv.NVML_VALUE_TYPE_UNSIGNED_LONG_LONG:
        return float(v.ullVal)
    if kind == nv.NVML_VALUE_TYPE_SIGNED_LONG_LONG:
        return float(v.sllVal)
    if kind == nv.NVML_VALUE_TYPE_SIGNED_INT:
        return float(v.siVal)
    return float(v.uiVal)


def _text(x: Any) -> str:
    return x.decode() if isinstance(x, bytes) else str(x)


class NvmlSource:
    """NVML GPUs: ``gpus`` as NVML indices or UUIDs (default: ``CUDA_VISIBLE_DEVICES``, else all)."""

    def __init__(self, gpus: Sequence[int | str] | None = None) -> None:
        self.gpus = None if gpus is None else list(gpus)
        self._nv: Any = None
        self._handles: list[Any] = []
        self._instant: list[bool] = []
        self._energy: list[bool] = []
        self._errors: list[int] = []
        self._names: list[str] = []
        self._field = _POWER_INSTANT
        self.n_read_errors: list[int] = []

    def _select(self, nv: Any) -> list[tuple[int, Any]]:
        count = nv.nvmlDeviceGetCount()
        wanted: list[str] | None
        if self.gpus is not None:
            wanted = [str(g) for g in self.gpus]
        else:
            wanted = visible_gpus(os.environ.get("CUDA_VISIBLE_DEVICES"))
        if wanted is None:
            return [(i, nv.nvmlDeviceGetHandleByIndex(i)) for i in range(count)]
        uuids = {}
        for i in range(count):
            h = nv.nvmlDeviceGetHandleByIndex(i)
            uuids[i] = (_text(nv.nvmlDeviceGetUUID(h)), h)
        picked = []
        for w in wanted:
            if w.isdigit():
                if int(w) >= count:
                    raise ConfigError(f"no NVML GPU {w} (this host has {count})", code="invalid_argument",
                                      value=w, hint=f"use indices 0..{count - 1} or GPU UUIDs (nvidia-smi -L)")
                picked.append((int(w), uuids[int(w)][1]))
                continue
            # CUDA accepts a unique UUID prefix.
            hits = [(i, h) for i, (u, h) in uuids.items() if u.startswith(w)]
            if len(hits) != 1:
                raise ConfigError(f"GPU {w!r} matches {len(hits)} NVML GPUs", code="invalid_argument", value=w,
                                  hint="give a full UUID as listed by nvidia-smi -L")
            picked.append(hits[0])
        if not picked:
            raise ConfigError("no GPU selected (CUDA_VISIBLE_DEVICES or gpus is empty)", code="invalid_argument",
                              hint="unset CUDA_VISIBLE_DEVICES or pass gpus=[0]")
        return picked

    def open(self) -> SourceInfo:
        nv = _pynvml()
        try:
            nv.nvmlInit()
        except nv.NVMLError as e:
            raise ConfigError(f"no NVML GPU found ({e})", code="invalid_argument", reason=str(e),
                              hint="use --source rapl or --replay FILE") from None
        self._nv = nv
        self._field = int(getattr(nv, "NVML_FI_DEV_POWER_INSTANT", _POWER_INSTANT))
        try:
            driver = _text(nv.nvmlSystemGetDriverVersion())
            channels = []
            for index, h in self._select(nv):
                try:
                    fv = nv.nvmlDeviceGetFieldValues(h, [self._field])[0]
                    instant = fv.nvmlReturn == nv.NVML_SUCCESS
                except nv.NVMLError:
                    instant = False
                if not instant:
                    nv.nvmlDeviceGetPowerUsage(h)  # no power at all: let NVML say why, at open
                try:
                    nv.nvmlDeviceGetTotalEnergyConsumption(h)
                    energy = True
                except nv.NVMLError:
                    energy = False
                meta = {"index": str(index), "name": _text(nv.nvmlDeviceGetName(h)),
                        "uuid": _text(nv.nvmlDeviceGetUUID(h)), "driver_version": driver}
                try:
                    meta["pci_bus_id"] = _text(nv.nvmlDeviceGetPciInfo(h).busId)
                    meta["power_limit_w"] = repr(nv.nvmlDeviceGetPowerManagementLimit(h) / 1e3)
                except nv.NVMLError:
                    pass
                self._handles.append(h)
                self._instant.append(instant)
                self._energy.append(energy)
                channels.append(ChannelInfo(
                    f"gpu{index}",
                    power_field="NVML_FI_DEV_POWER_INSTANT" if instant else "nvmlDeviceGetPowerUsage (averaged)",
                    energy_field="nvmlDeviceGetTotalEnergyConsumption" if energy else None,
                    power_semantics="instantaneous" if instant else "averaged", meta=meta))
        except BaseException:
            self.close()
            raise
        self._names = [c.name for c in channels]
        self._errors = [0] * len(self._handles)
        self.n_read_errors = [0] * len(self._handles)
        return SourceInfo("nvml", tuple(channels), meta={"driver_version": driver,
                                                         "nvml_version": _text(nv.nvmlSystemGetNVMLVersion())})

    def _power_w(self, i: int) -> float | None:
        nv, h = self._nv, self._handles[i]
        if self._instant[i]:
            fv = nv.nvmlDeviceGetFieldValues(h, [self._field])[0]
            if fv.nvmlReturn != nv.NVML_SUCCESS:
                return None
            return _value(fv, nv) / 1e3
        return float(nv.nvmlDeviceGetPowerUsage(h)) / 1e3

    def read(self) -> Reading:
        nv = self._nv
        power: list[float | None] = []
        energy: list[float | None] = []
        for i, h in enumerate(self._handles):
            p: float | None = None
            e: float | None = None
            why = "the field returned an error"
            try:
                p = self._power_w(i)
                if self._energy[i]:
                    e = float(nv.nvmlDeviceGetTotalEnergyConsumption(h)) / 1e3
            except nv.NVMLError as err:
                why = str(err)
            if p is None or (self._energy[i] and e is None):
                # One failed read is written as missing (and counted); a GPU that keeps failing is gone.
                self.n_read_errors[i] += 1
                self._errors[i] += 1
                if self._errors[i] >= MAX_CONSECUTIVE_ERRORS:
                    raise TraceError(f"{self._names[i]}: {self._errors[i]} NVML reads failed in a row ({why})",
                                     code="device_lost",
                                     hint="the GPU may have fallen off the bus; check nvidia-smi and dmesg")
            else:
                self._errors[i] = 0
            power.append(p)
            energy.append(e)
        return Reading(tuple(power), tuple(energy))

    def close(self) -> None:
        if self._nv is not None:
            try:
                self._nv.nvmlShutdown()
            except self._nv.NVMLError:
                pass
            self._nv = None
        self._handles = []
