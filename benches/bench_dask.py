#!/usr/bin/env python3
"""epcore.dask.energy on a LocalCluster: 1 worker against 2, and what the scheduler costs per partition.

Issue 7's target: 8 files × 1e7 samples, 2 worker processes at ≥ 1.6× one worker.

Data (generated once into ``--data``, default ``$TMPDIR/epcore-bench-dask``, seeded, reused while its
manifest matches; never committed): 4 GPUs × 2 consecutive files each, so every channel spans two
files and the fleet path must stitch the boundary. Each GPU is :func:`gen.trace` with its own seed
(1 kHz with jitter, gaps, bursts), split in halves of 1e7 samples. The files are **Parquet** (ts_ns
int64, gpu dictionary string, power_w float64; snappy, 1 Mi-row groups): fleet telemetry at this
scale lands in columnar stores (DCGM exporter → Prometheus/remote-write → Parquet, or a data lake)
rather than CSV, and 8 × 1e7 rows are 0.67 GB of Parquet against about 2.5 GB of canonical CSV
(``time_s,channel,power_w``).

Methods (best of ``--runs`` after one warm-up, each in the same state):

* ``epcore.integrate_file`` over the 8 files in a loop, in this process [reference: no stitching];
* ``epcore.dask.energy(...).compute(scheduler="synchronous")`` in this process;
* ``epcore.dask.energy`` on ``LocalCluster(n_workers=1)`` and ``(n_workers=2)``, threads_per_worker=1,
  processes, 127.0.0.1, no dashboard; rayon threads=1 per task (the workers are the parallelism).

Scheduler overhead per partition is measured two ways: a no-op graph of the same shape (one task
per file and one reduce) on each cluster, divided by the partitions; and for every fleet run, its
wall time minus its tasks' own read-and-integrate time (``per_file.seconds``) spread over the
workers, per partition. Before each cluster run the scheduler must have forgotten the previous
run's tasks (the keys are deterministic: a run submitted too early is served from memory).

The per-channel energies of every method are checked against the one-machine reference: each
GPU's whole trace integrated by ``epcore.integrate`` (recorded in the manifest when generated).

Usage: ``bench_dask.py [--quick] [--samples N] [--runs N] [--data DIR] [--by hour]``
"""

from __future__ import annotations

import argparse
import gc
import glob
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

import gen  # noqa: E402
from compare import Target, best_of, machine_line, table  # noqa: E402

GPUS = 4
FILES_PER_GPU = 2
SEED = 0
TARGET_SPEEDUP = 1.6


def _manifest_key(samples: int) -> dict[str, Any]:
    return {"gpus": GPUS, "files_per_gpu": FILES_PER_GPU, "samples_per_file": samples, "seed": SEED,
            "format": "parquet", "version": 1}


def make_data(root: str, samples: int) -> dict[str, float]:
    """Write the files (unless ``root`` already holds them); the reference energy per channel."""
    manifest = os.path.join(root, "manifest.json")
    key = _manifest_key(samples)
    if os.path.exists(manifest):
        with open(manifest) as f:
            m = json.load(f)
        if m.get("key") == key and all(os.path.exists(os.path.join(root, p)) for p in m["files"]):
            return {k: float(v) for k, v in m["reference_j"].items()}
    import pyarrow as pa
    import pyarrow.parquet as pq

    import epcore

    os.makedirs(root, exist_ok=True)
    for old in glob.glob(os.path.join(root, "*.parquet")):
        os.remove(old)
    files: list[str] = []
    ref: dict[str, float] = {}
    t0 = time.perf_counter()
    for g in range(GPUS):
        name = f"GPU-{g}"
        t, p = gen.trace(samples * FILES_PER_GPU, seed=SEED + g)
        ref[name] = epcore.integrate(t, p).energy_j  # one machine: the whole channel at once
        for k in range(FILES_PER_GPU):
            sl = slice(k * samples, (k + 1) * samples)
            gpu = pa.DictionaryArray.from_arrays(pa.array(np.zeros(samples, dtype=np.int32)), pa.array([name]))
            tbl = pa.table({"ts_ns": pa.array(t[sl]), "gpu": gpu, "power_w": pa.array(p[sl])})
            rel = f"{name}-part{k}.parquet"
            pq.write_table(tbl, os.path.join(root, rel), row_group_size=1 << 20, compression="snappy")
            files.append(rel)
        del t, p
    with open(manifest, "w") as f:
        json.dump({"key": key, "files": files, "reference_j": ref}, f, indent=1)
    size = sum(os.path.getsize(os.path.join(root, x)) for x in files)
    print(f"generated {len(files)} files, {size / 1e9:.2f} GB, in {time.perf_counter() - t0:.0f} s: {root}")
    return ref


def _cluster(n_workers: int) -> tuple[Any, Any]:
    import logging

    import distributed

    # distributed's constructors carry no annotations.
    LocalCluster: Any = distributed.LocalCluster
    Client: Any = distributed.Client
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, silence_logs=logging.ERROR)
    return cluster, Client(cluster)


def _channels(res: Any) -> dict[str, float]:
    df = res.channels
    return {str(c): float(e) for c, e in zip(df["channel"], df["energy_j"])}


def _max_rel(got: dict[str, float], ref: dict[str, float]) -> float:
    if set(got) != set(ref):
        return float("inf")
    return max(abs(got[k] - ref[k]) / abs(ref[k]) for k in ref)


def _n_tasks(dask_scheduler: Any) -> int:
    return len(dask_scheduler.tasks)


def _settle(client: Any) -> None:
    """Wait until the scheduler has forgotten the previous run's tasks.

    The graph's keys are deterministic, and a compute submitted while the client's release of the
    previous one is still in flight gets the results still in memory (in ~20 ms): not a run at all.
    """
    deadline = time.monotonic() + 30.0
    while client.run_on_scheduler(_n_tasks) and time.monotonic() < deadline:
        time.sleep(0.02)


def _noop(i: int) -> int:
    return i


def _gather(*xs: int) -> int:
    return len(xs)


def noop_graph_s(client: Any, partitions: int, runs: int) -> float:
    """Best wall time of a graph shaped like the fleet's (one task per file, one reduce) doing nothing."""
    from dask.delayed import delayed

    def once() -> int:
        parts = [delayed(_noop, pure=False)(i) for i in range(partitions)]
        return int(delayed(_gather, pure=False)(*parts).compute(scheduler=client))

    ts, _ = best_of(once, runs)
    return min(ts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1e6 samples per file, 2 runs")
    ap.add_argument("--samples", type=float, default=None, help="samples per file (default 1e7, --quick 1e6)")
    ap.add_argument("--runs", type=int, default=None, help="timed runs per method (default 3, --quick 2)")
    ap.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "epcore-bench-dask"),
                    help="where the generated files live (reused while the manifest matches)")
    ap.add_argument("--by", choices=("hour", "day"), default=None, help="also the per-bucket energies")
    args = ap.parse_args(argv)
    samples = int(args.samples or (1e6 if args.quick else 1e7))
    runs = args.runs or (2 if args.quick else 3)
    t_start = time.perf_counter()

    import epcore
    import epcore.dask as ed

    print("# epcore.dask.energy: 1 worker vs 2 workers (LocalCluster, processes)\n")
    print(machine_line())
    try:
        from importlib.metadata import version

        import dask  # noqa: F401
        import distributed  # noqa: F401

        print(f"dask {version('dask')}, distributed {version('distributed')}")
    except ImportError:
        print("dask[distributed] is not installed (pip install 'dask[distributed]'): nothing to run")
        return 0
    ref = make_data(args.data, samples)
    files = sorted(glob.glob(os.path.join(args.data, "*.parquet")))
    pattern = os.path.join(args.data, "*.parquet")
    n_files = len(files)
    rows = n_files * samples
    print(f"\n{n_files} Parquet files × {samples:.0e} samples ({GPUS} GPUs × {FILES_PER_GPU} consecutive files), "
          f"{sum(os.path.getsize(f) for f in files) / 1e9:.2f} GB; best of {runs} after 1 warm-up\n")

    def fleet(**compute: Any) -> Callable[[], Any]:
        return lambda: ed.energy(pattern, threads=1, by=args.by).compute(**compute)

    results: list[tuple[str, float, float, str, str]] = []
    best: dict[str, float] = {}
    overhead: dict[str, float] = {}

    def record(name: str, fn: Callable[[], Any], workers: int | None, client: Any = None) -> None:
        """Best of ``runs`` after a warm-up; for fleet runs also the overhead per partition of each run:
        (wall − Σ own task time ÷ workers) ÷ partitions, the median over the runs."""
        walls: list[float] = []
        over: list[float] = []
        out: Any = None
        loads: list[float] = []
        for r in range(runs + 1):
            if client is not None:
                _settle(client)
            gc.collect()
            t0 = time.perf_counter()
            out = fn()
            dt = time.perf_counter() - t0
            if r == 0:
                continue
            walls.append(dt)
            loads.append(os.getloadavg()[0])
            if workers is not None:
                over.append((dt - float(out.per_file["seconds"].sum()) / workers) / n_files)
        best[name] = min(walls)
        err = "" if workers is None else f"{_max_rel(_channels(out), ref):.0e}"
        if over:
            overhead[name] = statistics.median(over)
        results.append((name, min(walls), statistics.median(walls), err, f"{max(loads):.2f}"))
        print(f"  {name}: best {min(walls):.3f} s, median {statistics.median(walls):.3f} s, "
              f"max load {max(loads):.2f}; max rel vs one machine {err or '—'}", flush=True)

    def file_loop() -> list[Any]:
        return [epcore.integrate_file(f) for f in files]

    record("[reference] epcore.integrate_file loop, 1 process (no stitching)", file_loop, None)
    # In this process the pieces' tasks run one after another: "1 worker" for the overhead.
    record("epcore.dask.energy, synchronous, 1 process", fleet(scheduler="synchronous"), 1)

    noop: dict[int, float] = {}
    for n in (1, 2):
        cluster, client = _cluster(n)
        try:
            record(f"epcore.dask.energy, LocalCluster {n} worker{'s' if n > 1 else ''}", fleet(), n, client)
            noop[n] = noop_graph_s(client, n_files, max(runs, 5))
        finally:
            client.close()
            cluster.close()

    one_name, two_name = "epcore.dask.energy, LocalCluster 1 worker", "epcore.dask.energy, LocalCluster 2 workers"
    speedup = best[one_name] / best[two_name]
    median_speedup = next(r[2] for r in results if r[0] == one_name) / next(r[2] for r in results if r[0] == two_name)
    print()
    print(table(["method", "best s", "median s", "Msamples/s (best)", "max load", "max rel diff vs one machine"],
                [[name, f"{t:.3f}", f"{m:.3f}", f"{rows / t / 1e6:,.1f}", load, err]
                 for name, t, m, err, load in results]))
    print(f"\nscheduler overhead per partition ({n_files} partitions + 1 reduce):")
    print(f"  no-op graph of the same shape, best of {max(runs, 5)}: {noop[1] / n_files * 1e3:.1f} ms (1 worker), "
          f"{noop[2] / n_files * 1e3:.1f} ms (2 workers)")
    for name, o in overhead.items():
        print(f"  {name}: (wall − Σ task time ÷ workers) ÷ partitions = {o * 1e3:.1f} ms (median of {runs} runs)")
    targets = [Target(f"{n_files} files × {samples:.0e}: 2 workers vs 1 worker (best of {runs})", speedup,
                      TARGET_SPEEDUP, note=f"median ratio {median_speedup:.2f}×; {os.cpu_count()} cores")]
    print("\n## summary\n")
    for tg in targets:
        print(tg.line())
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s (data kept in {args.data}; delete it when done)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
