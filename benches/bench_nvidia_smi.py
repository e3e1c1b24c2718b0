#!/usr/bin/env python3
"""nvidia-smi CSV: epcore against duckdb, polars and pandas on the same generated log.

The log is what ``nvidia-smi --query-gpu=timestamp,index,power.draw,utilization.gpu,
memory.used --format=csv -lms 100`` writes on an N-GPU host: one row per GPU per
tick, ``", "`` separators, unit suffixes (``312.45 W``), naive local timestamps
(``2025/06/09 23:21:26.037``), and a sprinkling of ``[N/A]`` readings. Each
method parses the timestamps and the power values, drops the missing readings
and integrates every GPU with the trapezoid rule; the energies must agree.

Every run is a fresh process that reports its wall time, its CPU time (user +
system, all threads) and its own peak RSS (VmHWM); the file sits in the page
cache. Figures are medians over ``--runs`` runs after one warm-up, with the
best run beside them. On a shared machine the wall times swing with other
load; the CPU times (work done) swing much less and are the steadier basis
for comparing methods.

Peers (each the straightforward way its documentation suggests):

- duckdb: ``read_csv`` with ``delim=', '`` and ``timestampformat``, power read
  as text and cast after stripping the unit (the fastest of the read_csv
  forms tried), trapezoid with ``lag`` over a window per GPU in SQL, or the
  columns fetched to numpy and integrated there;
- polars: ``scan_csv`` + ``str.strptime`` + ``str.strip_suffix``, trapezoid
  with ``shift`` over each GPU, streaming engine;
- pandas: ``read_csv(skipinitialspace=True)`` + ``to_datetime(format=...)``,
  numpy trapezoid per GPU.

Usage: ``bench_nvidia_smi.py [--mb 200] [--gpus 8] [--runs 3] [--na-every 997] [--only epcore,duckdb]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

STEP_MS = 100
NA_EVERY = 997  # about 0.1 % of the readings are [N/A]


def write_log(path: str, target_bytes: int, gpus: int, seed: int = 11, na_every: int = NA_EVERY) -> dict[str, Any]:
    """Write an N-GPU ``-lms 100`` log of about ``target_bytes``, one reading in ``na_every``
    ``[N/A]`` (none for 0); return its size and rows."""
    rng = random.Random(seed)
    start = dt.datetime(2025, 6, 9, 23, 21, 26)
    header = "timestamp, index, power.draw [W], utilization.gpu [%], memory.used [MiB]\n"
    rows = 0
    size = len(header)
    ms = 0
    with open(path, "w", buffering=1 << 20) as f:
        f.write(header)
        base_s = -1
        prefix = ""
        while size < target_bytes:
            buf = []
            for _ in range(1000):
                s, frac = divmod(ms, 1000)
                if s != base_s:
                    base_s = s
                    prefix = (start + dt.timedelta(seconds=s)).strftime("%Y/%m/%d %H:%M:%S")
                for g in range(gpus):
                    # GPUs of one tick are stamped a millisecond or so apart.
                    stamp = f"{prefix}.{frac + g // 4:03d}"
                    if na_every and rng.randrange(na_every) == 0:
                        power = "[N/A]"
                    else:
                        power = f"{rng.uniform(60.0, 700.0):.2f} W"
                    buf.append(f"{stamp}, {g}, {power}, {rng.randrange(101)} %, {rng.randrange(80000)} MiB\n")
                rows += gpus
                ms += STEP_MS
            chunk = "".join(buf)
            f.write(chunk)
            size += len(chunk)
    return {"bytes": os.path.getsize(path), "rows": rows}


CHILD = r"""
import json, resource, sys, time
method, path = sys.argv[1], sys.argv[2]

def peak_kb():
    # VmHWM of this process image (ru_maxrss can report the forking parent's size).
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

if method == "epcore":
    import epcore
    def run():
        r = epcore.integrate_file(path, format="nvidia-smi")
        return r.energy_j, r.quality.n_samples
elif method == "duckdb":
    import duckdb
    SQL = '''
    WITH s AS (
      SELECT "timestamp" AS t, "index" AS g,
             TRY_CAST(replace("power.draw [W]", ' W', '') AS DOUBLE) AS p
      FROM read_csv(?, delim=', ', header=true, timestampformat='%Y/%m/%d %H:%M:%S.%g',
                    columns={'timestamp': 'TIMESTAMP', 'index': 'INTEGER', 'power.draw [W]': 'VARCHAR',
                             'utilization.gpu [%]': 'VARCHAR', 'memory.used [MiB]': 'VARCHAR'})
    ), k AS (
      SELECT t, g, p, lag(t) OVER w AS t0, lag(p) OVER w AS p0
      FROM s WHERE p IS NOT NULL WINDOW w AS (PARTITION BY g ORDER BY t)
    )
    SELECT sum(epoch_us(t - t0) * 1e-6 * (p + p0) / 2), count(*) FROM k
    '''
    def run():
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        e, n = con.execute(SQL, [path]).fetchone()
        return float(e), int(n)
elif method == "duckdb-numpy":
    import duckdb, numpy as np
    SQL = '''
    SELECT "index" AS g, epoch_ns("timestamp") AS t,
           TRY_CAST(replace("power.draw [W]", ' W', '') AS DOUBLE) AS p
    FROM read_csv(?, delim=', ', header=true, timestampformat='%Y/%m/%d %H:%M:%S.%g',
                  columns={'timestamp': 'TIMESTAMP', 'index': 'INTEGER', 'power.draw [W]': 'VARCHAR',
                           'utilization.gpu [%]': 'VARCHAR', 'memory.used [MiB]': 'VARCHAR'})
    '''
    def run():
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        a = con.execute(SQL, [path]).fetchnumpy()
        p = a["p"]
        # NULL (a missing reading) arrives masked; the mask, not the filler, says which.
        p = p.filled(np.nan) if np.ma.isMaskedArray(p) else np.asarray(p, dtype=float)
        g, t = np.asarray(a["g"]), np.asarray(a["t"])
        e, n = 0.0, 0
        for gi in np.unique(g):
            m = (g == gi) & ~np.isnan(p)
            tg, pg = t[m], p[m]
            e += float(np.sum(np.diff(tg) * 1e-9 * (pg[1:] + pg[:-1]) / 2))
            n += int(m.sum())
        return e, n
elif method == "polars":
    import polars as pl
    def run():
        lf = pl.scan_csv(path, separator=",", infer_schema=False).select(
            pl.col("timestamp").str.strptime(pl.Datetime("ms"), "%Y/%m/%d %H:%M:%S%.3f").alias("t"),
            pl.col(" index").str.strip_chars().cast(pl.Int32).alias("g"),
            pl.col(" power.draw [W]").str.strip_chars().str.strip_suffix(" W")
              .cast(pl.Float64, strict=False).alias("p"),
        ).drop_nulls("p").sort("g", "t")
        dt = (pl.col("t").diff().dt.total_microseconds() * 1e-6).over("g")
        e = lf.select(((pl.col("p") + pl.col("p").shift(1).over("g")) * dt * 0.5).sum().alias("e"),
                      pl.len().alias("n")).collect(engine="streaming")
        return float(e["e"][0]), int(e["n"][0])
elif method == "pandas":
    import numpy as np, pandas as pd
    def run():
        df = pd.read_csv(path, skipinitialspace=True, usecols=["timestamp", "index", "power.draw [W]"],
                         dtype={"timestamp": str, "index": "int32", "power.draw [W]": str})
        t = pd.to_datetime(df["timestamp"], format="%Y/%m/%d %H:%M:%S.%f").to_numpy()
        t = t.astype("datetime64[ns]").astype("int64")
        p = pd.to_numeric(df["power.draw [W]"].str.removesuffix(" W"), errors="coerce").to_numpy()
        g = df["index"].to_numpy()
        e, n = 0.0, 0
        for gi in np.unique(g):
            m = (g == gi) & ~np.isnan(p)
            e += float(np.trapezoid(p[m], t[m] * 1e-9))
            n += int(m.sum())
        return e, n
else:
    def run():
        buf = bytearray(1 << 20)
        with open(path, "rb", buffering=0) as f:
            while f.readinto(buf):
                pass
        return None, None
def cpu_s():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime
rss0 = peak_kb()
c0 = cpu_s()
t0 = time.perf_counter()
energy, rows = run()
s = time.perf_counter() - t0
c = cpu_s() - c0
print(json.dumps({"s": s, "cpu_s": c, "energy_j": energy, "rows": rows, "rss_import_kb": rss0,
                  "rss_peak_kb": peak_kb()}))
"""

LABELS = {
    "raw": "raw read, 1 MiB chunks [reference]",
    "epcore": "epcore.integrate_file(format='nvidia-smi')",
    "duckdb": "duckdb read_csv(timestampformat) + lag() SQL",
    "duckdb-numpy": "duckdb read_csv(timestampformat) + numpy",
    "polars": "polars scan_csv + strptime, streaming",
    "pandas": "pandas read_csv + to_datetime + np.trapezoid",
}


def run_child(method: str, path: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", CHILD, method, path], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{method} failed:\n{out.stderr[-3000:]}")
    res: dict[str, Any] = json.loads([x for x in out.stdout.splitlines() if x.startswith("{")][-1])
    return res


def available(method: str) -> bool:
    if method == "raw":
        return True
    try:
        __import__(method.split("-")[0])
        return True
    except ImportError:
        return False


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=200.0, help="size of the generated log in MB (default 200)")
    ap.add_argument("--gpus", type=int, default=8, help="GPUs interleaved in the log (default 8)")
    ap.add_argument("--runs", type=int, default=3, help="timed runs per method after one warm-up")
    ap.add_argument("--na-every", type=int, default=NA_EVERY,
                    help=f"one reading in N is [N/A] (default {NA_EVERY}; 0: none)")
    ap.add_argument("--only", default="raw,epcore,duckdb,duckdb-numpy,polars,pandas",
                    help="comma-separated methods")
    args = ap.parse_args()
    methods = [m for m in args.only.split(",") if m]
    missing = [m for m in methods if not available(m)]
    methods = [m for m in methods if m not in missing]
    with tempfile.TemporaryDirectory(prefix="epcore-bench-smi-") as tmp:
        path = os.path.join(tmp, "nvidia-smi.csv")
        t0 = time.perf_counter()
        info = write_log(path, int(args.mb * 1e6), args.gpus, na_every=args.na_every)
        size = info["bytes"]
        print(f"wrote {size / 1e6:.0f} MB, {info['rows']:,} rows ({args.gpus} GPUs, -lms {STEP_MS}) "
              f"in {time.perf_counter() - t0:.1f} s; {os.cpu_count()} CPUs")
        if missing:
            print(f"not installed, skipped: {', '.join(missing)}")
        results: dict[str, list[dict[str, Any]]] = {m: [] for m in methods}
        for m in methods:
            for r in range(1 + args.runs):
                res = run_child(m, path)
                if r:
                    results[m].append(res)
    t = {m: statistics.median(x["s"] for x in results[m]) for m in methods}
    ref = results["epcore"][-1]["energy_j"] if "epcore" in methods else None
    best = {m: min(x["s"] for x in results[m]) for m in methods}
    cpu = {m: statistics.median(x["cpu_s"] for x in results[m]) for m in methods}
    print(f"\n| method | median s | best s | MB/s (median) | epcore speed-up (median, best) | CPU s "
          f"| CPU ratio | peak RSS MiB | energy J | rel. diff |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    ok = True
    for m in methods:
        peak = max(x["rss_peak_kb"] for x in results[m]) / 1024
        e = results[m][-1]["energy_j"]
        ratio = (f"{t[m] / t['epcore']:.2f}×, {best[m] / best['epcore']:.2f}×"
                 if "epcore" in t and m not in ("epcore", "raw") else "")
        diff = ""
        if e is not None and ref:
            rel = abs(e - ref) / ref
            diff = f"{rel:.1e}"
            ok &= rel < 1e-9
        energy = "" if e is None else f"{e:,.3f}"
        cratio = f"{cpu[m] / cpu['epcore']:.2f}×" if "epcore" in cpu and m not in ("epcore", "raw") else ""
        print(f"| {LABELS[m]} | {t[m]:.3f} | {best[m]:.3f} | {size / 1e6 / t[m]:,.0f} | {ratio} | {cpu[m]:.2f} "
              f"| {cratio} | {peak:,.0f} | {energy} | {diff} |")
    duck = [m for m in ("duckdb", "duckdb-numpy") if m in t]
    if "epcore" in t and duck:
        fastest = min(duck, key=lambda m: t[m])
        r = t[fastest] / t["epcore"]
        print(f"\nepcore vs the faster duckdb ({fastest}, medians): {r:.2f}× "
              f"(target ≥ 5×: {'met' if r >= 5 else 'NOT MET'})")
    print("energies agree (rel. diff < 1e-9)" if ok else "ENERGIES DISAGREE")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
