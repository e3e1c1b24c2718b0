"""Streaming writers: CSV and Parquet round trips through epcore.read_power, metadata, recover()."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import epcore
from epcore.exceptions import ConfigError
from epcore.record import (ChannelInfo, CsvWriter, Reading, SourceInfo, journal_path, meta_path, open_writer,
                           read_metadata, recover)

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

BOTH = SourceInfo("demo", (ChannelInfo("gpu0", "p", "e", "instantaneous"), ChannelInfo("gpu1", "p", "e")))
ENERGY_ONLY = SourceInfo("rapl", (ChannelInfo("package-0", None, "energy_uj"),))


def feed(w: object, n: int = 50, step_ns: int = 20_000_000) -> tuple[list[int], list[float]]:
    """n samples of two channels with varying power; energy counters exact integrals of it."""
    t = [1_700_000_000_000_000_000 + k * step_ns for k in range(n)]
    p = [200.0 + 50.0 * np.sin(k / 5.0) for k in range(n)]
    e = [0.0]
    for k in range(1, n):
        e.append(e[-1] + (p[k] + p[k - 1]) / 2 * step_ns / 1e9)
    for k in range(n):
        w.write(t[k], Reading((p[k], p[k] / 2), (1000.0 + e[k], 500.0 + e[k] / 2)))  # type: ignore[attr-defined]
    return t, p


def trapezoid_j(t: list[int], p: list[float]) -> float:
    return float(sum((p[k] + p[k - 1]) / 2 * (t[k] - t[k - 1]) / 1e9 for k in range(1, len(t))))


def test_csv_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "run.csv"
    w = open_writer(out, BOTH, {"interval_ms": 20})
    t, p = feed(w)
    w.close({"sampler": {"n_samples": 50}})
    tr = epcore.read_power(out)
    assert tr.channels == ("gpu0", "gpu1")
    assert tr.quantity == "power"
    assert tr.result.channels[0].energy_j == pytest.approx(trapezoid_j(t, p), rel=1e-12)
    assert tr.result.channels[1].energy_j == pytest.approx(trapezoid_j(t, p) / 2, rel=1e-12)
    assert tr.samples["gpu0"].t_ns.tolist() == t
    meta = json.loads(meta_path(out).read_text())
    assert meta["complete"] is True and meta["interval_ms"] == 20 and meta["sampler"]["n_samples"] == 50
    assert meta["columns"] == ["timestamp_ns", "channel", "power_w", "energy_j"]
    assert read_metadata(out) == meta


def test_parquet_round_trip_power_and_counter(tmp_path: Path) -> None:
    out = tmp_path / "run.parquet"
    w = open_writer(out, BOTH, {"source": "demo", "channels": [c.to_dict() for c in BOTH.channels]})
    assert journal_path(out).exists() and not out.exists()
    t, p = feed(w)
    w.close({"sampler": {"n_samples": 50}})
    assert out.exists() and not journal_path(out).exists() and not meta_path(journal_path(out)).exists()
    schema = pq.read_schema(out)
    assert schema.field("timestamp_ns").type == pa.int64() and schema.field("power_w").type == pa.float64()
    meta = json.loads(schema.metadata[b"epcore"])
    assert meta["source"] == "demo" and meta["complete"] is True and meta["channels"][0]["name"] == "gpu0"
    assert read_metadata(out) == meta
    tr = epcore.read_power(out)
    assert tr.result.channels[0].energy_j == pytest.approx(trapezoid_j(t, p), rel=1e-12)
    counter = epcore.read_power(out, value="energy_j")
    assert counter.quantity == "counter"
    # The counter here is the exact trapezoid of the power rows: both routes agree.
    assert counter.result.channels[0].energy_j == pytest.approx(trapezoid_j(t, p), rel=1e-9)
    # The same rows as CSV give the same energy (the Parquet and text readers share the integrator).
    out_csv = tmp_path / "same.csv"
    w2 = open_writer(out_csv, BOTH)
    feed(w2)
    w2.close()
    assert epcore.read_power(out_csv).energy_j == tr.energy_j


def test_energy_only_source_writes_no_power_column(tmp_path: Path) -> None:
    out = tmp_path / "rapl.csv"
    w = open_writer(out, ENERGY_ONLY)
    for k in range(5):
        w.write(k * 1_000_000_000, Reading((None,), (10.0 + 30.0 * k,)))
    w.close()
    assert out.read_text().splitlines()[0] == "timestamp_ns,channel,energy_j"
    tr = epcore.read_power(out)
    assert tr.quantity == "counter" and tr.energy_j == pytest.approx(120.0)


def test_missing_values_are_empty_cells_never_zero(tmp_path: Path) -> None:
    out = tmp_path / "gaps.csv"
    info = SourceInfo("demo", (ChannelInfo("g", "p", None),))
    w = open_writer(out, info)
    for k, v in enumerate([100.0, None, float("nan"), 100.0]):
        w.write(k * 1_000_000_000, Reading((v,), (None,)))
    w.close()
    assert out.read_text().splitlines()[2:4] == ["1000000000,g,", "2000000000,g,"]
    tr = epcore.read_power(out)
    assert tr.energy_j == pytest.approx(300.0) and tr.quality.n_samples == 2


def test_existing_output_is_not_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "run.csv"
    out.write_text("precious")
    with pytest.raises(ConfigError, match="not overwriting"):
        CsvWriter(out, BOTH)
    assert out.read_text() == "precious"
    pq_out = tmp_path / "run.parquet"
    pq_out.write_text("precious")
    with pytest.raises(ConfigError, match="not overwriting"):
        open_writer(pq_out, BOTH)


def test_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="output format") as e:
        open_writer(tmp_path / "run.txt", BOTH)
    assert e.value.hint and "parquet" in e.value.hint


def test_recover_a_journal_with_a_cut_last_line(tmp_path: Path) -> None:
    out = tmp_path / "run.parquet"
    w = open_writer(out, BOTH, {"source": "demo"})
    t, p = feed(w, n=20)
    w.journal._f.write("1700000000999000000,gpu0,12")  # a row cut by the crash
    w.journal._sync()
    # The journal is readable as it is (the cut line dropped with a warning).
    jt = epcore.read_power(journal_path(out))
    assert jt.result.channels[0].energy_j == pytest.approx(trapezoid_j(t, p))
    assert jt.quality.truncated_tail
    assert recover(out) == out
    assert not journal_path(out).exists()
    meta = read_metadata(out)
    assert meta["recovered"] is True and meta["source"] == "demo"
    assert epcore.read_power(out).result.channels[0].energy_j == pytest.approx(trapezoid_j(t, p))
    assert recover(out) == out  # already done: idempotent


def test_recover_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no journal"):
        recover(tmp_path / "nothing.parquet")
    with pytest.raises(ConfigError, match="no such recording"):
        recover(tmp_path / "nothing.csv")
    csv_out = tmp_path / "run.csv"
    w = open_writer(csv_out, BOTH)
    feed(w, n=3)
    w._sync()  # type: ignore[attr-defined]
    assert recover(csv_out) == csv_out
    assert read_metadata(csv_out)["recovered"] is True


def test_rows_are_synced_at_least_every_second(tmp_path: Path) -> None:
    out = tmp_path / "run.csv"
    w = CsvWriter(out, BOTH, sync_s=0.05)
    feed(w, n=2)
    import time

    time.sleep(0.06)
    feed(w, n=1)
    # Without close, the rows are already in the file (flushed), so another process sees them.
    assert len(out.read_text().splitlines()) == 1 + 2 * 3
    w.close()
