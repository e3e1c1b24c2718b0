"""read_power, integrate_file across formats and containers: gzip, zstd, Parquet, Arrow objects.

The same rows must give the same energy whichever way they arrive: a CSV, its
gzip and zstd copies, a Parquet file, a pyarrow table, a polars or pandas
frame. Windows streamed through ``integrate_file`` must match the in-memory
window integral; bytes of any kind must give a result or an ``EpcoreError``.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import epcore

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _rows(n: int = 5000, channels: int = 3, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.repeat(np.arange(n, dtype=np.int64) * 100_000_000 + 1_700_000_000_000_000_000, channels)
    ch = np.tile(np.array([f"gpu{i}" for i in range(channels)]), n)
    p = np.round(rng.uniform(60.0, 700.0, n * channels), 3)
    return t, ch, p


def _csv(path: Path, t: np.ndarray, ch: np.ndarray, p: np.ndarray) -> Path:
    body = "".join(f"{a},{b},{c!r}\n" for a, b, c in zip(t.tolist(), ch.tolist(), p.tolist()))
    path.write_text("timestamp_ns,channel,power_w\n" + body)
    return path


@pytest.fixture(scope="module")
def trace_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("formats")
    t, ch, p = _rows()
    plain = _csv(d / "trace.csv", t, ch, p)
    raw = plain.read_bytes()
    (d / "trace.csv.gz").write_bytes(gzip.compress(raw))
    pq.write_table(
        pa.table({"ts_ns": pa.array(t), "channel": pa.array(ch), "power_w": pa.array(p)}),
        d / "trace.parquet", row_group_size=4096,
    )
    return {"csv": plain, "gz": d / "trace.csv.gz", "parquet": d / "trace.parquet"}


def test_every_container_gives_the_same_energy_bit_for_bit(trace_files: dict[str, Path]) -> None:
    want = epcore.integrate_file(trace_files["csv"])
    assert len(want.channels) == 3
    for key in ("gz", "parquet"):
        got = epcore.integrate_file(trace_files[key])
        assert [c.energy_j for c in got.channels] == [c.energy_j for c in want.channels], key
        assert got.quality.n_samples == want.quality.n_samples
    assert epcore.integrate_file(trace_files["gz"]).quality.compression == "gzip"
    assert epcore.integrate_file(trace_files["parquet"]).quality.format == "parquet"


def test_in_memory_arrow_sources_match_the_file(trace_files: dict[str, Path]) -> None:
    want = [c.energy_j for c in epcore.integrate_file(trace_files["csv"]).channels]
    table = pq.read_table(trace_files["parquet"])
    sources: list[object] = [table, table.to_reader()]
    try:
        import polars as pl

        sources.append(pl.from_arrow(table))
    except ImportError:
        pass
    try:
        import pandas  # noqa: F401

        sources.append(table.to_pandas())
    except ImportError:
        pass
    try:
        import duckdb

        sources.append(duckdb.connect().from_arrow(table))
    except ImportError:
        pass
    for src in sources:
        got = epcore.read_power(src)
        assert [c.energy_j for c in got.result.channels] == want, type(src)


def test_read_power_keeps_the_samples_and_matches_integrate(trace_files: dict[str, Path]) -> None:
    tr = epcore.read_power(trace_files["csv"])
    assert tr.format == "csv" and tr.quantity == "power"
    assert tr.channels == ("gpu0", "gpu1", "gpu2")
    s = tr.samples["gpu1"]
    assert len(s) == 5000 and s.line[0] == 3  # header is line 1, gpu0 line 2
    r = epcore.integrate(s.t_ns, s.values)
    assert r.energy_j == tr.result.channels[1].energy_j
    tbl = tr.to_arrow()
    assert tbl.num_rows == 15000 and tbl.column_names == ["ts_ns", "channel", "power_w", "line"]


def test_streamed_windows_match_in_memory_windows(trace_files: dict[str, Path]) -> None:
    t0 = 1_700_000_000_000_000_000
    edges = t0 + np.arange(-3, 520, 7) * 1_000_000_000 + 123_456_789
    windows = np.stack([edges[:-1], edges[1:]], axis=1)
    tr = epcore.read_power(trace_files["csv"])
    want = tr.integrate(windows)
    assert want.window_energy_j is not None and want.window_coverage is not None
    for chunk in (1 << 22, 4093):
        got = epcore.integrate_file(trace_files["csv"], windows=windows, chunk_bytes=chunk)
        assert got.window_energy_j is not None and got.window_coverage is not None
        np.testing.assert_allclose(got.window_energy_j, want.window_energy_j, rtol=1e-12)
        np.testing.assert_array_equal(got.window_coverage, want.window_coverage)
        assert got.energy_j == want.energy_j
    # Adjacent windows add up to the span they cover.
    assert math.isclose(float(np.sum(want.window_energy_j)), tr.energy_j, rel_tol=1e-12)
    pq_windows = epcore.integrate_file(trace_files["parquet"], windows=windows)
    assert pq_windows.window_energy_j is not None
    np.testing.assert_allclose(pq_windows.window_energy_j, want.window_energy_j, rtol=1e-12)


def test_parquet_counters_timestamps_and_nulls(tmp_path: Path) -> None:
    t = pa.array(np.array([0, 1, 2, 3], dtype="datetime64[s]").astype("datetime64[ns]"))
    path = tmp_path / "c.parquet"
    pq.write_table(pa.table({"time": t, "energy_mj": pa.array([1000.0, 2000.0, None, 5000.0])}), path)
    tr = epcore.read_power(path)
    assert tr.quantity == "counter" and tr.quality.method == "counter"
    assert tr.energy_j == 4.0 and tr.quality.n_nonfinite == 1
    assert tr.naive_time  # an Arrow timestamp without a zone


def test_parquet_errors_are_typed(tmp_path: Path) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1" + b"\0" * 100)
    with pytest.raises(epcore.ParseError) as e:
        epcore.read_power(bad)
    assert e.value.code == "corrupt_input"
    cols = tmp_path / "cols.parquet"
    pq.write_table(pa.table({"x": [1, 2], "y": [1.0, 2.0]}), cols)
    with pytest.raises(epcore.SchemaError, match="time column"):
        epcore.read_power(cols)
    unsorted = tmp_path / "unsorted.parquet"
    pq.write_table(pa.table({"ts_ns": [0, 2_000_000_000, 1_000_000_000], "power_w": [1.0, 1.0, 1.0]}), unsorted)
    with pytest.raises(epcore.TraceError) as e2:
        epcore.read_power(unsorted)
    assert e2.value.code == "unsorted_timestamps" and e2.value.line == 3 and e2.value.column == "ts_ns"


def test_decompression_caps(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(b"time_s,power_w\n0,1\n1,1\n" + b"\n" * (8 << 20)))
    with pytest.raises(epcore.ParseError) as e:
        epcore.integrate_file(bomb, max_decompressed_bytes=1 << 20)
    assert e.value.code == "decompression_limit"
    assert epcore.integrate_file(bomb).energy_j == 1.0


def test_unrecognized_and_named_formats(tmp_path: Path) -> None:
    p = tmp_path / "what.txt"
    p.write_text("hello,world\n1,2\n")
    with pytest.raises(epcore.ParseError) as e:
        epcore.integrate_file(p)
    assert e.value.code == "unrecognized_format" and "format" in (e.value.hint or "")
    with pytest.raises(epcore.ConfigError):
        epcore.integrate_file(p, format="excel")
    z = tmp_path / "a.zip"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.csv", "time_s,power_w\n0,1\n1,1\n")
    z.write_bytes(buf.getvalue())
    with pytest.raises(epcore.ParseError, match="zip"):
        epcore.integrate_file(z)


@given(st.binary(max_size=600), st.sampled_from([None, "csv", "gzip"]))
def test_arbitrary_bytes_give_a_result_or_a_typed_error(tmp_path_factory: pytest.TempPathFactory, data: bytes,
                                                        how: str | None) -> None:
    d = tmp_path_factory.mktemp("fuzz", numbered=True)
    p = d / "x.bin"
    p.write_bytes(gzip.compress(data) if how == "gzip" else data)
    try:
        epcore.read_power(p, format="csv" if how == "csv" else None)
    except epcore.EpcoreError:
        pass


# VmHWM, not ru_maxrss: Linux keeps the parent's (pytest's) peak in ru_maxrss across exec.
_RSS_SCRIPT = """
import sys, epcore
r = epcore.integrate_file(sys.argv[1], chunk_bytes=1 << 22)
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(r.quality.n_samples, int(hwm) // 1024)
"""


def _peak_rss_mib(path: Path) -> tuple[int, int]:
    out = subprocess.run([sys.executable, "-c", _RSS_SCRIPT, str(path)], capture_output=True, text=True, check=True)
    n, mib = out.stdout.split()
    return int(n), int(mib)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_memory_stays_flat_as_files_grow(tmp_path: Path) -> None:
    """Peak RSS of a fresh process reading 20 MB and 200 MB: the same, and small."""
    line = b"".join(b"%d,%d.%02d\n" % (1_700_000_000_000_000_000 + i * 1_000_000, 100 + i % 400, i % 100)
                    for i in range(100_000))
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    small.write_bytes(b"timestamp_ns,power_w\n" + line)
    with big.open("wb") as f:
        f.write(b"timestamp_ns,power_w\n")
        step = 100_000 * 1_000_000
        for k in range(int(os.environ.get("EPCORE_RSS_TEST_BLOCKS", "60"))):
            # Shift each copy in time so the file stays one sorted trace.
            f.write(b"".join(b"%d,%d.%02d\n" % (1_700_000_000_000_000_000 + k * step + i * 1_000_000,
                                                 100 + i % 400, i % 100) for i in range(100_000)))
    n_small, rss_small = _peak_rss_mib(small)
    n_big, rss_big = _peak_rss_mib(big)
    assert n_big > 10 * n_small
    assert big.stat().st_size > 150e6
    assert rss_big - rss_small < 16, (rss_small, rss_big)
    assert rss_big < 64, rss_big


def test_noheader_nvidia_smi_with_its_column_list(tmp_path: Path) -> None:
    """``--format=csv,noheader,nounits``: the user gives the --query-gpu list."""
    p = tmp_path / "noheader.csv"
    p.write_text("2025/06/09 23:21:26.000, 0, 100.00\n2025/06/09 23:21:26.000, 1, 50.00\n"
                 "2025/06/09 23:21:27.000, 0, 100.00\n2025/06/09 23:21:27.000, 1, 50.00\n")
    with pytest.raises(epcore.EpcoreError):
        epcore.integrate_file(p, format="nvidia-smi")
    r = epcore.integrate_file(p, columns="timestamp, index, power.draw [W]")
    assert r.quality.format == "nvidia-smi" and r.energy_j == 150.0
    assert [c.name for c in r.channels] == ["0", "1"]
    berlin = epcore.read_power(p, columns="timestamp,index,power.draw", tz="Europe/Berlin")
    assert berlin.samples["0"].t_ns[0] == 1749504086 * 10**9  # 23:21:26 CEST = 21:21:26 UTC
    assert not berlin.naive_time


def test_naive_traces_refuse_absolute_time_requests(tmp_path: Path) -> None:
    log = tmp_path / "gpu.csv"
    log.write_text("timestamp, power.draw [W]\n2025/06/09 23:21:26.000, 100.00 W\n"
                   "2025/06/09 23:21:27.000, 100.00 W\n2025/06/09 23:21:28.000, 300.00 W\n")
    req = tmp_path / "req.csv"
    req.write_text("request_id,start_time,end_time,input_tokens,output_tokens\n"
                   "a,2025-06-09T23:21:26.5+02:00,2025-06-09T23:21:27.5+02:00,10,20\n")
    requests = epcore.read_requests(req)
    naive = epcore.read_power(log)
    with pytest.raises(epcore.TraceError) as e:
        naive.integrate(requests)
    assert e.value.code == "naive_time" and "tz=" in (e.value.hint or "")
    placed = epcore.read_power(log, tz="Europe/Berlin")
    r = placed.integrate(requests)
    assert r.window_energy_j is not None
    assert r.window_energy_j.tolist() == [0.5 * 100 + 0.5 * 150]  # 100 W, then the ramp to 200 W at 27.5 s


def test_empty_parquet_is_a_typed_error(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    p = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"timestamp_ns": pa.array([], pa.int64()), "power_w": pa.array([], pa.float64())}), p)
    with pytest.raises(epcore.TraceError) as e:
        epcore.read_power(p)
    assert e.value.code == "insufficient_samples" and str(p) in str(e.value)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_prefer_value_and_channel_pick_columns_of_a_recording(tmp_path: Path, kind: str) -> None:
    # A live recording keeps power and the cumulative counter side by side.
    rows = [(0, "a", 100.0, 0.0), (10**9, "a", 100.0, 101.0), (2 * 10**9, "a", 100.0, 202.0)]
    p = tmp_path / f"rec.{kind}"
    if kind == "csv":
        p.write_text("timestamp_ns,gpu,power_w,energy_j\n" + "".join(f"{t},{c},{w},{e}\n" for t, c, w, e in rows))
    else:
        pa = pytest.importorskip("pyarrow")
        pq = pytest.importorskip("pyarrow.parquet")
        cols = list(zip(*rows))
        pq.write_table(pa.table({"timestamp_ns": cols[0], "gpu": cols[1], "power_w": cols[2], "energy_j": cols[3]}), p)
    assert epcore.read_power(p, channel="gpu").energy_j == 200.0
    assert epcore.read_power(p, channel="gpu", prefer="energy").energy_j == 202.0
    assert epcore.read_power(p, channel="gpu", value="energy_j").energy_j == 202.0
    assert epcore.read_power(p, channel="gpu").channels == ("a",)
    with pytest.raises(epcore.SchemaError):
        epcore.read_power(p, channel="uuid")
