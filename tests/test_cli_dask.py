"""``epcore energy`` over many files (the fleet path, :mod:`epcore.cli_fleet` on :mod:`epcore.dask`).

The reference is the one-machine result: every row of the fleet in one CSV, integrated by
``epcore energy ALL.csv`` (the single-file path). Channels are split across files, one channel's
time range is split across three files (once inside a gap), one channel lives in one file only.
Everything runs in-process through :func:`epcore.cli.cli` on dask's synchronous scheduler, except
one test on ``--dask local[2]`` (two worker processes on 127.0.0.1, no dashboard).
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import epcore
from cli_helpers import one_line, read_csv, run

try:
    import dask  # noqa: F401
    import distributed  # noqa: F401
except ImportError:  # pragma: no cover - the fleet path needs dask
    if os.environ.get("CI"):
        raise
    pytest.skip("dask/distributed are not installed (pip install 'dask[distributed]')", allow_module_level=True)

T0_NS = 1_717_000_000 * 10**9  # 2024-05-29T16:26:40Z: buckets do not start at the data
STEP_NS = 10 * 10**9
N = 900  # 2.5 h of 10 s samples per channel
SPLITS_S = (3_000, 6_000)  # the time range of gpu0 and gpu1 split across three files
GAP_S = (5_950, 6_080)  # gpu0 goes silent across the second split: a gap longer than the 50 s threshold
HOUR_NS = 3_600 * 10**9


def _rows() -> list[tuple[int, str, float]]:
    rng = np.random.default_rng(7)
    rows: list[tuple[int, str, float]] = []
    for name, base in (("gpu0", 300.0), ("gpu1", 450.0), ("gpu2", 120.0)):
        t = T0_NS + np.arange(N, dtype=np.int64) * STEP_NS
        p = np.round(base + rng.uniform(-50.0, 250.0, N), 2)
        for ti, pi in zip(t.tolist(), p.tolist()):
            s = (ti - T0_NS) // 10**9
            if name == "gpu0" and GAP_S[0] < s < GAP_S[1]:
                continue
            if name == "gpu2" and not SPLITS_S[0] <= s < SPLITS_S[1]:
                continue
            rows.append((ti, name, pi))
    rows.sort(key=lambda r: (r[0], r[1]))
    return rows


def _write(path: Path, rows: list[tuple[int, str, float]]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["timestamp_ns", "channel", "power_w"])
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``telemetry/part-{0,1,2}.csv`` split in time, and ``all.csv`` with every row (the reference)."""
    root = tmp_path_factory.mktemp("fleet")
    rows = _rows()
    tel = root / "telemetry"
    tel.mkdir()
    bounds = (0, *SPLITS_S, 10**9)
    for i in range(3):
        lo, hi = T0_NS + bounds[i] * 10**9, T0_NS + bounds[i + 1] * 10**9
        _write(tel / f"part-{i}.csv", [r for r in rows if lo <= r[0] < hi])
    _write(root / "all.csv", rows)
    return root


def reference(fleet: Path) -> dict[str, float]:
    """Energy per channel of the whole fleet read as one file (the single-file path)."""
    r = epcore.integrate_file(fleet / "all.csv")
    return {c.name: c.energy_j for c in r.channels}


def fleet_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    code, out, err = run(capsys, "energy", *args, "--json")
    assert code == 0, err
    d = json.loads(out)
    assert isinstance(d, dict)
    return d


def channel_energies(d: dict[str, object]) -> dict[str, float]:
    chans = d["channels"]
    assert isinstance(chans, list)
    return {str(c["channel"]): float(c["energy_j"]) for c in chans}


def test_glob_equals_one_machine(capsys: pytest.CaptureFixture[str], fleet: Path) -> None:
    d = fleet_json(capsys, str(fleet / "telemetry" / "*.csv"))
    ref = reference(fleet)
    got = channel_energies(d)
    assert got == ref  # bit-identical per channel: order-fixed compensated merges
    one = {c.name: c for c in epcore.integrate_file(fleet / "all.csv").channels}
    chans = d["channels"]
    assert isinstance(chans, list)
    for c in chans:  # and the same quality counts as one pass over every row
        q = one[c["channel"]].quality
        assert (c["n_samples"], c["n_gaps"], c["gap_s"]) == (q.n_samples, q.n_gaps, q.gap_s), c
    assert d["energy_j"] == pytest.approx(epcore.integrate_file(fleet / "all.csv").energy_j, rel=1e-12, abs=0)
    assert d["scheduler"] == "synchronous"


def test_files_listed_one_by_one(capsys: pytest.CaptureFixture[str], fleet: Path) -> None:
    # As the shell passes an unquoted glob: the files in any order; pieces are ordered by time, not argument.
    files = [str(fleet / "telemetry" / f"part-{i}.csv") for i in (2, 0, 1)]
    assert channel_energies(fleet_json(capsys, *files)) == reference(fleet)


def test_by_hour_csv_is_the_bucket_table(capsys: pytest.CaptureFixture[str], fleet: Path) -> None:
    code, out, err = run(capsys, "energy", str(fleet / "telemetry" / "*.csv"), "--by", "hour", "--csv")
    assert code == 0, err
    rows = read_csv(out)
    assert {"channel", "start", "end", "energy_j"} <= set(rows[0])
    trace = epcore.read_power(fleet / "all.csv")
    for name, s in trace.samples.items():
        mine = [r for r in rows if r["channel"] == name]
        k0, k1 = int(s.t_ns.min()) // HOUR_NS, -(-int(s.t_ns.max()) // HOUR_NS)
        w = [(k * HOUR_NS, (k + 1) * HOUR_NS) for k in range(k0, k1)]
        ref = epcore.integrate(s.t_ns, s.values, windows=w).window_energy_j
        assert ref is not None
        assert len(mine) == len(w), name
        assert [r["start"] for r in mine] == [_iso(a) for a, _ in w]
        assert [float(r["energy_j"]) for r in mine] == pytest.approx(list(ref), rel=1e-12, abs=1e-9)
        # The buckets add up to the channel: nothing counted twice at a file boundary.
        assert sum(float(r["energy_j"]) for r in mine) == pytest.approx(reference(fleet)[name], rel=1e-12)


def _iso(ns: int) -> str:
    from epcore.cli import _iso_ns

    return _iso_ns(ns)


def test_tables(capsys: pytest.CaptureFixture[str], fleet: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    code, out, err = run(capsys, "energy", str(fleet / "telemetry" / "*.csv"), "--by", "day")
    assert code == 0, err
    for text in ("energy (J)", "channels", "per bucket", "gpu0", "gpu2", "in this process", "2024-05-29T00:00"):
        assert text in out, text


def test_csv_without_by_is_one_row_per_channel(capsys: pytest.CaptureFixture[str], fleet: Path) -> None:
    code, out, err = run(capsys, "energy", str(fleet / "telemetry" / "*.csv"), "--csv")
    assert code == 0, err
    rows = read_csv(out)
    assert {r["channel"]: float(r["energy_j"]) for r in rows} == reference(fleet)


def test_one_file_keeps_the_single_file_path(capsys: pytest.CaptureFixture[str], fleet: Path) -> None:
    one = str(fleet / "all.csv")
    code, out, err = run(capsys, "energy", one, "--json")
    assert code == 0, err
    assert json.loads(out) == epcore.integrate_file(one).to_dict()


def test_local_cluster(capsys: pytest.CaptureFixture[str], fleet: Path) -> None:
    pattern = str(fleet / "telemetry" / "*.csv")
    d = fleet_json(capsys, pattern, "--dask", "local[2]", "--by", "hour")
    sync = fleet_json(capsys, pattern, "--by", "hour")
    assert d["scheduler"] == "local[2]"
    assert channel_energies(d) == channel_energies(sync) == reference(fleet)
    assert d["buckets"] == sync["buckets"]


def test_corrupt_file_fails_naming_it(capsys: pytest.CaptureFixture[str], fleet: Path, tmp_path: Path) -> None:
    tel = tmp_path / "tel"
    tel.mkdir()
    for i in range(3):
        (tel / f"part-{i}.csv").write_bytes((fleet / "telemetry" / f"part-{i}.csv").read_bytes())
    bad = tel / "part-1.csv"
    lines = bad.read_text().splitlines()
    lines[40] = lines[40].rsplit(",", 1)[0] + ",1O3.5"
    bad.write_text("\n".join(lines) + "\n")
    code, out, err = run(capsys, "energy", str(tel / "*.csv"), "--json")
    assert code == 1
    assert out == ""  # nothing partial reported as complete
    line = one_line(err)
    assert line.startswith("error: ") and str(bad) in line, line


def test_glob_matching_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "energy", str(tmp_path / "nothing-*.csv"))
    assert code == 1 and out == ""
    assert "nothing-*.csv" in one_line(err)


def test_missing_file_among_several(capsys: pytest.CaptureFixture[str], fleet: Path) -> None:
    gone = str(fleet / "telemetry" / "part-9.csv")
    code, _, err = run(capsys, "energy", str(fleet / "telemetry" / "part-0.csv"), gone)
    assert code == 1
    assert gone in one_line(err)


@pytest.mark.parametrize("value", ["local[0]", "scheduler", "local[x]"])
def test_bad_dask_value_is_a_usage_error(capsys: pytest.CaptureFixture[str], fleet: Path, value: str) -> None:
    code, _, err = run(capsys, "energy", str(fleet / "telemetry" / "*.csv"), "--dask", value)
    assert code == 2
    assert "--dask" in one_line(err)


def test_channel_and_channel_by_disagree(capsys: pytest.CaptureFixture[str], fleet: Path) -> None:
    code, _, err = run(capsys, "energy", str(fleet / "telemetry" / "*.csv"), "--channel", "a", "--channel-by", "b")
    assert code == 2
    assert "--channel-by" in one_line(err)


def test_unreachable_scheduler(capsys: pytest.CaptureFixture[str], fleet: Path) -> None:
    import dask

    # Port 9 (discard) on loopback: nothing listens; the connect times out after 1 s instead of 30.
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code, out, err = run(capsys, "energy", str(fleet / "telemetry" / "*.csv"), "--dask", "tcp://127.0.0.1:9")
    assert code == 1 and out == ""
    assert "127.0.0.1:9" in one_line(err)


def test_parquet_dataset_partitioned_by_channel(capsys: pytest.CaptureFixture[str], fleet: Path,
                                                tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = _rows()
    for name in ("gpu0", "gpu1", "gpu2"):
        mine = [r for r in rows if r[1] == name]
        half = len(mine) // 2
        folder = tmp_path / "ds" / f"gpu={name}"
        folder.mkdir(parents=True)
        for i, part in enumerate((mine[:half], mine[half:])):
            pq.write_table(pa.table({"ts_ns": pa.array([r[0] for r in part], pa.int64()),
                                     "power_w": [r[2] for r in part]}), folder / f"part-{i}.parquet")
    d = fleet_json(capsys, str(tmp_path / "ds"), "--channel-by", "gpu")
    assert channel_energies(d) == reference(fleet)


def test_missing_dask_is_one_line(capsys: pytest.CaptureFixture[str], fleet: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    code, out, err = run(capsys, "energy", str(fleet / "telemetry" / "*.csv"), "--dask", "local[2]")
    assert code == 1 and out == ""
    line = one_line(err)
    assert "distributed" in line and "pip install" in line, line


def test_a_file_named_like_a_pattern_is_a_file(capsys: pytest.CaptureFixture[str], fleet: Path,
                                               tmp_path: Path) -> None:
    odd = tmp_path / "gpu[0].csv"
    odd.write_bytes((fleet / "all.csv").read_bytes())
    code, out, err = run(capsys, "energy", str(odd), "--json")
    assert code == 0, err
    assert "scheduler" not in json.loads(out)  # the single-file path


def test_scheduler_address(capsys: pytest.CaptureFixture[str], fleet: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--dask tcp://...``: a running scheduler (here one with an in-process thread worker: no new processes)."""
    import logging

    import distributed

    LocalCluster: Any = distributed.LocalCluster  # no annotations in distributed
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp://",
                                host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR)
    try:
        monkeypatch.chdir(fleet)  # relative paths: sent absolute, since a remote worker has its own directory
        d = fleet_json(capsys, "telemetry/*.csv", "--dask", cluster.scheduler_address)
    finally:
        cluster.close()
    assert d["scheduler"] == cluster.scheduler_address
    assert channel_energies(d) == reference(fleet)
    files = d["per_file"]
    assert isinstance(files, list)
    assert all(os.path.isabs(f["file"]) for f in files)
