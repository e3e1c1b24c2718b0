#!/usr/bin/env python3
"""What the recorder's sampler costs and how well it keeps time, measured with the replay source.

For each interval (20 ms and 5 ms by default) and each output (memory, CSV,
Parquet journal), record a constant trace played back for ``--seconds`` and
print the achieved rate, p50/p99/max interval, late samples, skipped deadlines
and the sampler thread's CPU time as a share of one core. The replay source
reads in microseconds, so this is the loop's own cost; an NVML read adds its
driver latency (see ``benches/gpu_check.py``).

Usage::

    .venv/bin/python benches/bench_record.py                  # 10 s per case
    .venv/bin/python benches/bench_record.py --seconds 3 --intervals 20 --json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import epcore


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="recording length per case")
    ap.add_argument("--intervals", type=float, nargs="+", default=[20.0, 5.0], help="intervals in ms")
    ap.add_argument("--json", action="store_true", help="print JSON rows")
    args = ap.parse_args()
    d = Path(tempfile.mkdtemp(prefix="bench-record-"))
    trace = d / "flat.csv"
    trace.write_text("timestamp_ns,channel,power_w,energy_j\n0,gpu0,300,0\n3600000000000,gpu0,300,1080000\n")
    rows = []
    for interval in args.intervals:
        for kind in ("memory", "csv", "parquet"):
            out = None if kind == "memory" else d / f"run-{interval}.{kind}"
            with epcore.Recorder(epcore.ReplaySource(trace), interval_ms=interval, out=out) as rec:
                time.sleep(args.seconds)
            rows.append({"interval_ms": interval, "output": kind, **rec.stats.to_dict()})
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"{'interval':>8} {'output':>8} {'samples':>8} {'rate Hz':>8} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'max ms':>7} {'late':>5} {'skip':>5} {'CPU %':>6}")
    for r in rows:
        print(f"{r['interval_ms']:>8g} {r['output']:>8} {r['n_samples']:>8} {r['achieved_hz']:>8.2f} "
              f"{r['interval_p50_ms']:>7.3f} {r['interval_p99_ms']:>7.3f} {r['interval_max_ms']:>7.3f} "
              f"{r['n_late']:>5} {r['n_skipped']:>5} {r['cpu_percent']:>6.2f}")


if __name__ == "__main__":
    main()
