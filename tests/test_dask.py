"""epcore.dask: fleet results equal one machine's, on a 2-process LocalCluster and in-process.

The one-machine reference is :func:`epcore.integrate` on each channel's rows
concatenated in time order, with the same buckets as windows. Totals and
per-channel energies must be bit-identical (``==``); bucket energies agree
within 1e-12 relative (they add the pieces' window integrals, each exactly
rounded, then ``math.fsum``).
"""

from __future__ import annotations

import gzip
import math
import os
import pickle
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import epcore

try:
    import dask  # noqa: F401
    import distributed
    import pandas as pd
except ImportError as e:  # pragma: no cover - the optional dependency is missing
    if os.environ.get("CI"):
        raise
    pytest.skip(f"dask/distributed not installed: {e}", allow_module_level=True)

import epcore.dask as ed

T0 = 1_750_000_000 * 10**9  # 2025-06-15, so hour and day buckets are real UTC ones
S = 10**9
SYNC = {"scheduler": "synchronous"}


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """Two worker processes on loopback, one thread each (the spec's LocalCluster)."""
    with warnings.catch_warnings():
        # The scheduler's HTTP endpoint (loopback too) moves off 8787 when another cluster holds it.
        warnings.filterwarnings("ignore", message="Port 8787 is already in use")
        local_cluster: Any = distributed.LocalCluster  # untyped constructors
        cluster = local_cluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                           dashboard_address=None)
    client_cls: Any = distributed.Client
    with cluster, client_cls(cluster) as c:
        yield c


def _channel(rng: np.random.Generator, n: int, dt_s: float, start_ns: int = T0,
             gaps: tuple[int, ...] = ()) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Jittered timestamps with long gaps after the rows in ``gaps``, and noisy power."""
    dt = np.full(n, int(dt_s * S), dtype=np.int64) + rng.integers(-S // 20, S // 20, n)
    for g in gaps:
        dt[g] += 300 * S
    t = start_ns + np.concatenate([[0], np.cumsum(dt[:-1])]).astype(np.int64)
    return t, rng.uniform(80.0, 700.0, n).round(3)


def _write_csv(path: Path, rows: list[tuple[str, int, float]], value: str = "power_w",
               channel_col: str = "channel") -> None:
    rows = sorted(rows, key=lambda r: (r[1], r[0]))
    path.write_text(f"timestamp_ns,{channel_col},{value}\n" + "".join(f"{t},{c},{v!r}\n" for c, t, v in rows))


def _split(channels: dict[str, tuple[Any, Any]], cuts: dict[str, list[int]], n_files: int) -> list[list[
        tuple[str, int, float]]]:
    """File k gets each channel's rows between its k-th and (k+1)-th cut: channels split across files."""
    files: list[list[tuple[str, int, float]]] = [[] for _ in range(n_files)]
    for name, (t, v) in channels.items():
        bounds = [0, *cuts[name], len(t)]
        for k in range(n_files):
            files[k].extend((name, int(t[i]), float(v[i])) for i in range(bounds[k], bounds[k + 1]))
    return files


def _reference(channels: dict[str, tuple[Any, Any]], windows: Any = None, counter: bool = False,
               **kw: Any) -> dict[str, epcore.IntegrationResult]:
    out = {}
    for name, (t, v) in channels.items():
        args: dict[str, Any] = {"energy_counter": v} if counter else {"power_w": v}
        out[name] = epcore.integrate(np.asarray(t, dtype=np.int64), windows=windows, **args, **kw)
    return out


def _ns(col: Any) -> np.ndarray[Any, Any]:
    return np.array([ts.value for ts in col], dtype=np.int64)


def _check(res: ed.FleetEnergyResult, channels: dict[str, tuple[Any, Any]], counter: bool = False,
           **kw: Any) -> None:
    """Totals bit-identical to one machine; buckets within 1e-12 relative."""
    ref = _reference(channels, counter=counter, **kw)
    got = res.channels.set_index("channel")
    for name, r in ref.items():
        assert got.loc[name, "energy_j"] == r.energy_j, name
        assert got.loc[name, "n_samples"] == r.quality.n_samples
        assert got.loc[name, "n_gaps"] == r.quality.n_gaps
        assert got.loc[name, "duration_s"] == r.duration_s
    assert res.energy_j == math.fsum(r.energy_j for r in ref.values())  # as IntegrationResult adds channels
    if res.buckets is None:
        return
    for name in ref:
        b = res.buckets[res.buckets["channel"] == name]
        w = np.stack([_ns(b["start"]), _ns(b["end"])], axis=1)
        one = _reference({name: channels[name]}, windows=w, counter=counter, **kw)[name]
        assert one.window_energy_j is not None and one.window_coverage is not None
        np.testing.assert_allclose(b["energy_j"].to_numpy(), one.window_energy_j, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(b["coverage"].to_numpy(dtype=float), one.window_coverage, rtol=1e-12)
        if res.by in ("hour", "day"):  # buckets tile the channel's span
            assert b["energy_j"].sum() == pytest.approx(ref[name].energy_j, rel=1e-12)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, tuple[Any, Any]]]:
    """3 channels x 4 files; cuts inside a gap and between two samples 1 ns apart."""
    rng = np.random.default_rng(7)
    d = tmp_path_factory.mktemp("fleet")
    chans = {
        "GPU-a": _channel(rng, 2400, 5.0, gaps=(700,)),
        "GPU-b": _channel(rng, 1800, 7.0, start_ns=T0 + 1234 * S),
        "GPU-c": _channel(rng, 900, 13.0, gaps=(100, 500)),
    }
    t, v = chans["GPU-b"]
    t[901] = t[900] + 1  # the split between rows 900 and 901 is 1 ns wide
    cuts = {"GPU-a": [300, 701, 1800], "GPU-b": [450, 901, 1500], "GPU-c": [101, 400, 501]}  # 701, 101, 501: in gaps
    for k, rows in enumerate(_split(chans, cuts, 4)):
        _write_csv(d / f"part-{k}.csv", rows)
    # Any format read_power sniffs: the last piece gzip-compressed.
    last = d / "part-3.csv"
    (d / "part-3.csv.gz").write_bytes(gzip.compress(last.read_bytes()))
    last.unlink()
    return d, chans


@pytest.mark.parametrize("where", ["synchronous", "cluster"])
def test_many_files_equal_one_machine(fleet: tuple[Path, dict[str, Any]], where: str, request: Any) -> None:
    d, chans = fleet
    kw = SYNC if where == "synchronous" else {}
    if where == "cluster":
        request.getfixturevalue("client")
    res = ed.energy(str(d / "*.csv*"), by="hour").compute(**kw)
    _check(res, chans)
    assert res.channels["n_files"].tolist() == [4, 4, 4]
    assert len(res.per_file) == 4 and res.per_file["rows"].sum() == sum(len(t) for t, _ in chans.values())
    assert res.buckets is not None and set(res.buckets["channel"]) == set(chans)
    assert str(res.buckets["start"].dtype) == "datetime64[ns, UTC]"
    assert res.quality.n_gaps == 3  # one gap in GPU-a, two in GPU-c


def test_days_and_explicit_windows(fleet: tuple[Path, dict[str, Any]]) -> None:
    d, chans = fleet
    files = sorted(str(p) for p in d.glob("*.csv*"))[::-1]  # order of the list does not matter
    res = ed.energy(files, by="day").compute(**SYNC)
    _check(res, chans)
    edges = np.datetime64(T0, "ns") + np.array([0, 17, 1800, 1801, 5000, 9000], dtype="timedelta64[s]")
    w = list(zip(edges[:-1], edges[1:])) + [(edges[2], edges[2]), (edges[0], edges[-1])]
    res_w = ed.energy(files, windows=w).compute(**SYNC)
    _check(res_w, chans)
    assert res_w.buckets is not None and len(res_w.buckets) == 3 * len(w)


def test_auto_gap_threshold_comes_from_the_whole_channels_head(tmp_path: Path) -> None:
    # File 1: 10 rows 1 s apart with a 3 s step (alone: threshold 5 s, no gap). The whole channel's
    # head is mostly 0.1 s steps: threshold 2 s, so the 3 s step is a gap, as on one machine.
    t1 = T0 + np.array([0, 1, 2, 3, 6, 7, 8, 9, 10, 11], dtype=np.int64) * S
    t2 = t1[-1] + S // 10 * np.arange(1, 3000, dtype=np.int64)
    rng = np.random.default_rng(1)
    v1, v2 = rng.uniform(100, 200, t1.size), rng.uniform(100, 200, t2.size)
    _write_csv(tmp_path / "a.csv", [("g", int(t), float(v)) for t, v in zip(t1, v1)])
    _write_csv(tmp_path / "b.csv", [("g", int(t), float(v)) for t, v in zip(t2, v2)])
    chans = {"g": (np.concatenate([t1, t2]), np.concatenate([v1, v2]))}
    res = ed.energy(str(tmp_path / "*.csv"), by="hour").compute(**SYNC)
    _check(res, chans)
    assert res.quality.max_gap_s == 2.0 and res.quality.n_gaps == 1
    res5 = ed.energy(str(tmp_path / "*.csv"), max_gap_s=5.0).compute(**SYNC)
    _check(res5, chans, max_gap_s=5.0)
    assert res5.quality.n_gaps == 0


def test_energy_counters_split_across_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    t = T0 + np.cumsum(rng.integers(S // 2, 2 * S, 1500)).astype(np.int64)
    c = np.cumsum(rng.uniform(100.0, 400.0, t.size)).round(3)
    c[900:] -= c[899]  # a counter reset (the energy before it is a lower bound)
    for k, (a, b) in enumerate([(0, 500), (500, 900), (900, 1500)]):
        _write_csv(tmp_path / f"c{k}.csv", [("0", int(x), float(y)) for x, y in zip(t[a:b], c[a:b])], "energy_j")
    res = ed.energy(str(tmp_path / "c*.csv"), by="hour").compute(**SYNC)
    _check(res, {"0": (t, c)}, counter=True)
    assert res.quality.n_resets == 1


def test_parquet_dataset_partitioned_by_channel_and_by_time(tmp_path: Path, client: Any) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(5)
    chans = {"G0": _channel(rng, 3000, 2.0), "G1": _channel(rng, 2000, 3.0, gaps=(1000,))}
    by_chan = tmp_path / "by_channel"
    for name, (t, v) in chans.items():
        for k, (a, b) in enumerate([(0, 1000), (1000, len(t))]):
            out = by_chan / f"gpu_uuid={name}" / f"part-{k}.parquet"
            out.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.table({"ts_ns": t[a:b], "power_w": v[a:b]}), out)
    res = ed.energy(by_chan, channel_by="gpu_uuid", by="hour").compute()
    _check(res, chans)
    assert len(res.per_file) == 4

    by_time = tmp_path / "by_time"
    for k in range(3):
        part = {n: (t[k * len(t) // 3:(k + 1) * len(t) // 3], v[k * len(t) // 3:(k + 1) * len(t) // 3])
                for n, (t, v) in chans.items()}
        out = by_time / f"chunk={k}" / "data.parquet"
        out.parent.mkdir(parents=True)
        pq.write_table(pa.table({
            "ts_ns": np.concatenate([p[0] for p in part.values()]),
            "device": [n for n, p in part.items() for _ in range(len(p[0]))],
            "power_w": np.concatenate([p[1] for p in part.values()]),
        }), out)
    res_t = ed.energy(str(by_time)).compute()
    _check(res_t, chans)


def test_a_corrupt_file_fails_the_whole_compute_naming_it(fleet: tuple[Path, dict[str, Any]], tmp_path: Path,
                                                         client: Any) -> None:
    d, _ = fleet
    files = sorted(d.glob("*.csv*"))
    bad = tmp_path / "part-1-corrupt.csv"
    lines = files[1].read_text().splitlines()
    bad.write_text("\n".join(lines[:200] + ["1750000000000000000,GPU-a,not-a-number"] + lines[200:]) + "\n")
    with pytest.raises(epcore.EpcoreError) as e:
        ed.energy([files[0], bad, files[2]]).compute()
    assert str(bad) in str(e.value) and e.value.path == str(bad)
    missing = tmp_path / "gone.csv"
    with pytest.raises(epcore.EpcoreError) as e2:
        ed.energy([files[0], missing]).compute(**SYNC)
    assert str(missing) in str(e2.value) and e2.value.code == "io_error"


def test_overlapping_files_of_one_channel_name_both(tmp_path: Path) -> None:
    _write_csv(tmp_path / "a.csv", [("g", T0 + k * S, 100.0) for k in range(10)])
    _write_csv(tmp_path / "b.csv", [("g", T0 + k * S, 100.0) for k in range(5, 15)])
    with pytest.raises(epcore.TraceError) as e:
        ed.energy(str(tmp_path / "*.csv")).compute(**SYNC)
    assert "a.csv" in str(e.value) and "b.csv" in str(e.value) and e.value.code == "overlapping_files"


def test_touching_files_share_one_sample(tmp_path: Path) -> None:
    # The last row of one file repeated as the first of the next: kept once, as one concatenated trace.
    _write_csv(tmp_path / "a.csv", [("g", T0 + k * S, 100.0 + k) for k in range(10)])
    _write_csv(tmp_path / "b.csv", [("g", T0 + k * S, 100.0 + k) for k in range(9, 20)])
    res = ed.energy(str(tmp_path / "*.csv"), by="hour").compute(**SYNC)
    t = T0 + np.array(list(range(10)) + list(range(9, 20)), dtype=np.int64) * S
    _check(res, {"g": (t, 100.0 + (t - T0) // S)})
    assert res.quality.n_duplicate_identical == 1
    _write_csv(tmp_path / "b.csv", [("g", T0 + k * S, 500.0) for k in range(9, 20)])
    with pytest.raises(epcore.TraceError) as e:
        ed.energy(str(tmp_path / "*.csv")).compute(**SYNC)
    assert "b.csv" in str(e.value) and "a.csv" in str(e.value)


def test_results_and_pieces_pickle(fleet: tuple[Path, dict[str, Any]]) -> None:
    d, _ = fleet
    lazy = ed.energy(str(d / "*.csv*"), by="hour")
    res = lazy.compute(**SYNC)
    back = pickle.loads(pickle.dumps(res))
    assert back.energy_j == res.energy_j
    pd.testing.assert_frame_equal(back.buckets, res.buckets)
    assert back.to_dict() == res.to_dict()
    d2 = res.to_dict()
    assert d2["channels"][0]["first_time"].endswith("+00:00") and d2["by"] == "hour"
    assert lazy.channels.compute(**SYNC)["energy_j"].tolist() == res.channels["energy_j"].tolist()
    assert len(lazy.buckets.compute(**SYNC)) == len(res.buckets)
    piece = lazy.pieces[0].compute(**SYNC)  # what crosses from a worker: plain data around pickled partials
    again = pickle.loads(pickle.dumps(piece))
    assert [c.partial for c in again.channels] == [c.partial for c in piece.channels]
    assert again.channels[0].window_energy_j.tolist() == piece.channels[0].window_energy_j.tolist()


def test_argument_errors(tmp_path: Path) -> None:
    with pytest.raises(epcore.ConfigError, match="matches no file"):
        ed.energy(str(tmp_path / "*.csv"))
    with pytest.raises(epcore.ConfigError, match="by="):
        ed.energy([str(tmp_path / "x.csv")], by="hour", windows=[(0, 1)])
    with pytest.raises(epcore.ConfigError, match="'week'"):
        ed.energy([str(tmp_path / "x.csv")], by="week")  # type: ignore[arg-type]
    with pytest.raises(epcore.ConfigError, match="max_gap_s"):
        ed.energy([str(tmp_path / "x.csv")], max_gap_s=-1.0)
    with pytest.raises(epcore.ConfigError, match="power files but"):
        ed.attribute([str(tmp_path / "a")], [str(tmp_path / "b"), str(tmp_path / "c")])


def _deployment(d: Path, name: str, model: str, rng: np.random.Generator, t_start: int) -> tuple[Path, Path]:
    t = t_start + np.arange(0, 600, dtype=np.int64) * S // 2
    v = rng.uniform(150.0, 600.0, t.size).round(2)
    power = d / f"{name}.power.csv"
    power.write_text("timestamp_ns,power_w\n" + "".join(f"{a},{float(b)!r}\n" for a, b in zip(t, v)))
    rows = []
    for i in range(40):
        s = t_start + int(rng.integers(1, 250)) * S
        ft = s + int(rng.integers(1, 3)) * S // 2
        e = ft + int(rng.integers(2, 40)) * S
        rows.append(f"{name}-{i},{s},{ft},{e},{int(rng.integers(10, 900))},{int(rng.integers(2, 300))},{model}\n")
    req = d / f"{name}.requests.csv"
    req.write_text("request_id,start_ns,first_token_ns,end_ns,input_tokens,output_tokens,model\n" + "".join(rows))
    return power, req


def test_attribute_by_model_equals_summing_single_runs(tmp_path: Path, client: Any) -> None:
    rng = np.random.default_rng(11)
    deps = {name: _deployment(tmp_path, name, model, rng, T0 + k * 3600 * S)
            for k, (name, model) in enumerate([("n1", "llama"), ("n2", "qwen"), ("n3", "llama")])}
    kw: dict[str, Any] = {"idle_w": 100.0}
    res = ed.attribute(str(tmp_path / "*.power.csv"), str(tmp_path / "*.requests.csv"), **kw).compute()
    singles = {n: epcore.attribute(p, r, **kw) for n, (p, r) in deps.items()}
    g = res.groups.set_index("group")
    for model, names in {"llama": ["n1", "n3"], "qwen": ["n2"]}.items():
        rq = [singles[n].requests for n in names]
        energy = sum(float(np.ma.sum(q["energy_j"])) for q in rq)
        out = sum(float(np.sum(np.asarray(q["counted_output_tokens"])[~np.ma.getmaskarray(q["energy_j"])]))
                  for q in rq)
        assert g.loc[model, "n_requests"] == sum(len(q) for q in rq)
        assert g.loc[model, "output_tokens"] == sum(int(np.sum(q["output_tokens"])) for q in rq)
        assert g.loc[model, "energy_j"] == pytest.approx(energy, rel=1e-12)
        assert g.loc[model, "joules_per_output_token"] == pytest.approx(energy / out, rel=1e-12)
        prefill = sum(float(np.ma.sum(q["prefill_energy_j"])) for q in rq)
        assert g.loc[model, "prefill_energy_j"] == pytest.approx(prefill, rel=1e-12)
    dep = res.deployments.set_index("deployment")
    for n, a in singles.items():
        assert dep.loc[n, "total_energy_j"] == a.total_energy_j
        assert dep.loc[n, "joules_per_output_token"] == a.joules_per_output_token
    by_dep = ed.attribute(None, None, by="deployment", pairs={n: pr for n, pr in deps.items()},
                          read_power_kwargs={"format": "csv"}, **kw).compute(**SYNC)
    assert sorted(by_dep.groups["group"]) == ["n1", "n2", "n3"]
    one = by_dep.groups.set_index("group").loc["n2"]
    assert one["joules_per_output_token"] == pytest.approx(singles["n2"].joules_per_output_token, rel=1e-12)
    assert pickle.loads(pickle.dumps(res)).to_dict() == res.to_dict()
    # One deployment's power split over two files (concatenated in time order) gives the same figures.
    lines = deps["n2"][0].read_text().splitlines(keepends=True)
    (tmp_path / "n2a.csv").write_text("".join(lines[:300]))
    (tmp_path / "n2b.csv").write_text(lines[0] + "".join(lines[300:]))
    split = ed.attribute(None, None, by="deployment", pairs={"n2": ([tmp_path / "n2b.csv", tmp_path / "n2a.csv"],
                                                                    deps["n2"][1])}, **kw).compute(**SYNC)
    assert split.deployments.set_index("deployment").loc["n2", "total_energy_j"] == singles["n2"].total_energy_j
    broken = tmp_path / "broken.requests.csv"
    broken.write_text(deps["n1"][1].read_text().replace("n1-7,", "n1-7,x", 1))
    with pytest.raises(epcore.EpcoreError) as e:
        ed.attribute(None, None, pairs={"n1": (deps["n1"][0], broken)}, **kw).compute()
    assert str(broken) in str(e.value)


def test_a_piece_of_one_sample_is_stitched(tmp_path: Path) -> None:
    # Parquet pieces may hold a single row of a channel (the text readers require two per file).
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(2)
    t, v = _channel(rng, 50, 200.0)
    for k, (a, b) in enumerate([(0, 20), (20, 21), (21, 22), (22, 50)]):
        pq.write_table(pa.table({"ts_ns": t[a:b], "power_w": v[a:b]}), tmp_path / f"p{k}.parquet")
    res = ed.energy(str(tmp_path / "*.parquet"), by="hour").compute(**SYNC)
    _check(res, {"0": (t, v)})
    pq.write_table(pa.table({"ts_ns": t[:1], "power_w": v[:1]}), tmp_path / "only.parquet")
    with pytest.raises(epcore.TraceError, match="at least 2 needed") as e:
        ed.energy([tmp_path / "only.parquet"]).compute(**SYNC)
    assert e.value.code == "insufficient_samples" and "only.parquet" in str(e.value)
