"""nvidia-smi, nvidia-smi dmon and Zeus logs through the Python API.

Real logs from ``shared/data/real`` are checked against energies computed here
independently (``datetime`` and ``math.fsum`` over the raw text). Generated
logs check the same against a plain reference parser, and arbitrary bytes must
give a result or an ``EpcoreError``, never another exception.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import epcore

SMI = "nvidia-smi-inference-serving-logs"


def _reference_smi(path: Path) -> tuple[list[int], list[float]]:
    """Timestamps (ns, read as UTC) and watts of a single-GPU nvidia-smi log, the plain way."""
    t, p = [], []
    for i, line in enumerate(path.read_text().splitlines()):
        if i == 0 or not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")]
        d = dt.datetime.strptime(fields[0], "%Y/%m/%d %H:%M:%S.%f").replace(tzinfo=dt.timezone.utc)
        t.append(int(d.timestamp()) * 1_000_000_000 + d.microsecond * 1000)
        p.append(float(fields[1].removesuffix(" W")))
    return t, p


def _fsum_trapezoid(t: list[int], p: list[float]) -> float:
    return math.fsum((t[i] - t[i - 1]) * 1e-9 * (p[i] + p[i - 1]) / 2 for i in range(1, len(t)))


def test_real_nvidia_smi_logs_match_an_independent_reading(shared_data: Path) -> None:
    files = sorted((shared_data / SMI).glob("gpu_metrics*.csv"))
    assert len(files) == 6
    for path in files:
        t, p = _reference_smi(path)
        r = epcore.integrate_file(path)
        assert r.quality.format == "nvidia-smi"
        assert r.quality.naive_time
        assert r.quality.n_samples == len(t)
        assert r.duration_s == pytest.approx((t[-1] - t[0]) * 1e-9, abs=1e-12)
        assert r.energy_j == pytest.approx(_fsum_trapezoid(t, p), rel=1e-12)
        tr = epcore.read_power(path, format="nvidia-smi")
        np.testing.assert_array_equal(tr.samples["0"].t_ns, np.array(t, dtype=np.int64))
        np.testing.assert_array_equal(tr.samples["0"].values, np.array(p))


def test_real_steady_log_is_1798_25_joules_over_54_226_seconds(shared_data: Path) -> None:
    path = shared_data / SMI / "gpu_metrics_resnet50_steady_highfreq_run1.csv"
    for chunk_bytes in (1 << 20, 4096, 7):
        r = epcore.integrate_file(path, chunk_bytes=chunk_bytes)
        assert round(r.energy_j, 2) == 1798.25
        assert r.duration_s == 54.226
        assert r.quality.n_samples == 526
        assert r.quality.power_semantics == "unknown"
    berlin = epcore.integrate_file(path, tz="Europe/Berlin")
    assert berlin.energy_j == r.energy_j
    assert berlin.channels[0].first_t_ns == r.channels[0].first_t_ns - 2 * 3600 * 10**9


def test_real_zeus_sample(shared_data: Path) -> None:
    path = shared_data / "zeus-nvml-sample" / "sample.csv"
    t, p = [], []
    for line in path.read_text().splitlines()[1:]:
        stamp, mw = line.split(",")
        day, frac = stamp.split(".")
        d = dt.datetime.strptime(day, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.timezone.utc)
        t.append(int(d.timestamp()) * 1_000_000_000 + int(frac))
        p.append(int(mw) / 1000)
    tr = epcore.read_power(path)
    assert tr.format == "zeus"
    np.testing.assert_array_equal(tr.samples["0"].t_ns, np.array(t, dtype=np.int64))
    np.testing.assert_array_equal(tr.samples["0"].values, np.array(p))
    assert tr.energy_j == pytest.approx(_fsum_trapezoid(t, p), rel=1e-12)
    assert tr.energy_j == pytest.approx(31.00415520421, rel=1e-12)
    assert tr.duration_s == 0.958481625


def _smi_log(ticks: list[tuple[int, list[str]]]) -> str:
    rows = ["timestamp, index, power.draw [W], memory.used [MiB]"]
    for ms, fields in ticks:
        d = dt.datetime(2025, 6, 9, 23, 0, 0) + dt.timedelta(milliseconds=ms)
        stamp = d.strftime("%Y/%m/%d %H:%M:%S.") + f"{d.microsecond // 1000:03d}"
        rows += [f"{stamp}, {g}, {f}, 686 MiB" for g, f in enumerate(fields)]
    return "\n".join(rows) + "\n"


readings = st.one_of(
    st.floats(0, 1000, allow_nan=False).map(lambda w: ("W", round(w, 2))),
    st.floats(0, 1000, allow_nan=False).map(lambda w: ("mW", round(w * 1000))),
    st.sampled_from(["[N/A]", "[Not Supported]", "[Unknown Error]"]).map(lambda s: (s, None)),
)


@given(
    gpus=st.integers(1, 4),
    steps=st.lists(st.integers(1, 1500), min_size=2, max_size=40),
    data=st.data(),
    crlf=st.booleans(),
    chunk=st.sampled_from([1, 7, 64, 1 << 20]),
)
def test_generated_logs_match_the_reference(tmp_path_factory: pytest.TempPathFactory, gpus: int,
                                            steps: list[int], data: st.DataObject, crlf: bool,
                                            chunk: int) -> None:
    ms = np.cumsum(steps).tolist()
    ticks: list[tuple[int, list[str]]] = []
    per_gpu: list[list[tuple[int, float]]] = [[] for _ in range(gpus)]
    for m in ms:
        fields = []
        for g in range(gpus):
            unit, w = data.draw(readings)
            if w is None:
                fields.append(unit)
                continue
            fields.append(f"{w} {unit}")
            per_gpu[g].append((m * 1_000_000, w / 1000 if unit == "mW" else w))
        ticks.append((m, fields))
    body = _smi_log(ticks)
    if crlf:
        body = body.replace("\n", "\r\n")
    path = tmp_path_factory.mktemp("smi") / "gen.csv"
    path.write_bytes(body.encode())
    if any(len(s) < 2 for s in per_gpu):
        with pytest.raises(epcore.TraceError):
            epcore.integrate_file(path, chunk_bytes=chunk, max_gap_s=3600)
        return
    r = epcore.integrate_file(path, chunk_bytes=chunk, max_gap_s=3600)
    base = int(dt.datetime(2025, 6, 9, 23, tzinfo=dt.timezone.utc).timestamp()) * 1_000_000_000
    for g, samples in enumerate(per_gpu):
        t = [base + s[0] for s in samples]
        want = _fsum_trapezoid(t, [s[1] for s in samples])
        got = {c.name: c for c in r.channels}[str(g)].energy_j
        assert got == pytest.approx(want, rel=1e-12, abs=1e-9)


TOKENS = [b"timestamp", b"power.draw [W]", b"index", b", ", b",", b"\n", b"\r\n", b"\r", b" W", b"mW", b"[N/A]",
          b"2025/06/09 23:21:26.037", b"2024-03-31 02:30:00.5", b"20240104", b"13:54:35", b"#", b"# gpu pwr",
          b"# Idx W", b"#Date Time gpu pwr", b"Time,Power", b"Energy(mJ)", b"-", b"12.5", b"1e3", b"\xff", b"\xef\xbb\xbf",
          b" ", b"\t", b"0", b"999999999999999999999"]


@pytest.mark.parametrize("fmt", ["nvidia-smi", "nvidia-smi-dmon", "zeus"])
@given(parts=st.lists(st.sampled_from(TOKENS) | st.binary(max_size=8), max_size=40), tz=st.sampled_from([None, "Europe/Berlin"]))
def test_arbitrary_bytes_give_a_result_or_an_epcore_error(tmp_path_factory: pytest.TempPathFactory, fmt: str,
                                                          parts: list[bytes], tz: str | None) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "x.csv"
    path.write_bytes(b"".join(parts))
    for chunk in (1 << 20, 3):
        try:
            r = epcore.integrate_file(path, format=fmt, tz=tz, chunk_bytes=chunk)
        except epcore.EpcoreError:
            continue
        assert math.isfinite(r.energy_j)


@pytest.mark.parametrize("fmt", ["nvidia-smi", "nvidia-smi-dmon", "zeus"])
def test_progress_and_interrupt(tmp_path: Path, fmt: str) -> None:
    if fmt == "nvidia-smi":
        body = "timestamp, index, power.draw [W]\n" + "".join(
            f"2025/01/01 {i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}.000, 0, {i % 7}.5 W\n" for i in range(20_000))
    elif fmt == "zeus":
        body = "Time,Power\n" + "".join(
            f"2025-01-01 {i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}.5,{i % 7}000\n" for i in range(20_000))
    else:
        body = "#Date Time gpu pwr\n#YYYYMMDD HH:MM:SS Idx W\n" + "".join(
            f" 20250101 {i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}    0   {i % 7}\n" for i in range(20_000))
    path = tmp_path / "p.txt"
    path.write_text(body)
    seen: list[int] = []
    epcore.integrate_file(path, format=fmt, chunk_bytes=4096, progress=seen.append)
    assert len(seen) > 2 and seen == sorted(seen) and seen[-1] == path.stat().st_size

    def stop(done: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        epcore.integrate_file(path, format=fmt, chunk_bytes=4096, progress=stop)
