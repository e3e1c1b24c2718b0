"""The NVML source on a real GPU. Never faked: without a working NVML these tests skip, saying why
(``benches/gpu_check.py`` is the prepared end-to-end check on a GPU machine)."""

from __future__ import annotations

import time

import pytest

from epcore.exceptions import ConfigError
from epcore.record import NvmlSource, Recorder, nvml_available, visible_gpus

WHY = nvml_available()
gpu = pytest.mark.skipif(WHY is not None, reason=f"no NVML GPU: {WHY}")


def test_cuda_visible_devices_parsing() -> None:
    assert visible_gpus(None) is None
    assert visible_gpus("") == []
    assert visible_gpus("-1") == []
    assert visible_gpus("0, 2") == ["0", "2"]
    assert visible_gpus("GPU-1a2b,GPU-3c4d") == ["GPU-1a2b", "GPU-3c4d"]
    assert visible_gpus("1,foo,2") == ["1"]


@pytest.mark.skipif(WHY is None, reason="an NVML GPU is present")
def test_no_gpu_is_a_config_error_with_hint() -> None:
    with pytest.raises(ConfigError, match="no NVML GPU found|nvidia-ml-py") as e:
        NvmlSource().open()
    assert e.value.hint is not None and ("--source rapl" in e.value.hint or "epcore[nvml]" in e.value.hint)


@gpu
def test_open_read_close() -> None:
    src = NvmlSource()
    info = src.open()
    try:
        assert info.source == "nvml" and info.channels
        for c in info.channels:
            assert c.name.startswith("gpu")
            assert c.meta["uuid"].startswith(("GPU-", "MIG-")) and c.meta["name"] and c.meta["driver_version"]
            assert c.power_field in ("NVML_FI_DEV_POWER_INSTANT", "nvmlDeviceGetPowerUsage (averaged)")
            assert c.power_semantics == ("instantaneous" if c.power_field == "NVML_FI_DEV_POWER_INSTANT"
                                         else "averaged")
        a = src.read()
        time.sleep(0.2)
        b = src.read()
        for p in (*a.power_w, *b.power_w):
            assert p is not None and 0.0 < p < 5000.0
        for c, ea, eb in zip(info.channels, a.energy_j, b.energy_j):
            if c.energy_field is not None:
                assert ea is not None and eb is not None and eb >= ea
    finally:
        src.close()
        src.close()


@gpu
def test_explicit_gpus_and_cuda_visible_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    src = NvmlSource([0])
    uuid = src.open().channels[0].meta["uuid"]
    src.close()
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", uuid)
    src = NvmlSource()
    assert src.open().channel_names == ("gpu0",)
    src.close()
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    with pytest.raises(ConfigError, match="no GPU selected"):
        NvmlSource().open()
    src = NvmlSource([uuid])  # explicit gpus override the environment
    assert src.open().channels[0].meta["uuid"] == uuid
    src.close()
    with pytest.raises(ConfigError, match="no NVML GPU 999"):
        NvmlSource([999]).open()


@gpu
def test_recorder_on_a_gpu(tmp_path: pytest.TempPathFactory) -> None:
    with Recorder("nvml", interval_ms=20, gpus=[0]) as rec:
        time.sleep(1.0)
    ch = rec.report.channels[0]
    assert ch.energy_power_j is not None and ch.energy_power_j > 0
    if ch.energy_field is not None:
        assert ch.preferred == "counter" and ch.energy_counter_j is not None
    assert rec.report.achieved_hz > 30
