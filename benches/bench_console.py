#!/usr/bin/env python3
"""Load on the web console: many concurrent clients on loopback, latency percentiles and errors.

``clients`` threads (50 by default), each with its own keep-alive httpx client,
loop for ``seconds`` over a mix of requests:

* ``health``: ``GET /api/health`` (weight 5);
* ``calc``: ``POST /api/calc`` with a random power and throughput (weight 4),
  the calculator's live request: steady state + sensitivity + the SVG bars;
* ``analysis``: upload the sample trace and request log (two raw-body
  uploads), ``POST /api/analyses``, poll ``GET /api/analyses/{id}`` every
  20 ms until done (weight 1); every HTTP request is timed, and the whole
  analysis end to end as ``analysis_e2e``.

An error is any exception, any status other than the expected one, or an
analysis that ends in ``error``. The server runs in a child process
(``--server process``, the default: its own GIL, as in real use) or in a
thread of this one (``--server thread``, what the test does).

Usage::

    .venv/bin/python benches/bench_console.py                 # 50 clients, 10 s
    .venv/bin/python benches/bench_console.py --clients 100 --seconds 20 --json

Prints a table of count, p50, p95, p99 and max per kind of request, requests
per second, and the error count; ``--json`` prints the same as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
POWER = (DATA / "sample_attribution_power.csv").read_bytes()
REQUESTS = (DATA / "sample_attribution_requests.csv").read_bytes()
MIX = (("health", 5), ("calc", 4), ("analysis", 1))


class Recorder:
    """Latencies by kind and errors, shared by the client threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency_s: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []

    def time(self, kind: str, call: Callable[[], httpx.Response], expect: int) -> httpx.Response | None:
        t = time.perf_counter()
        try:
            r = call()
        except Exception as e:  # a refused or dropped connection is an error like a 500
            with self.lock:
                self.errors.append(f"{kind}: {type(e).__name__}: {e}")
            return None
        dt = time.perf_counter() - t
        with self.lock:
            self.latency_s[kind].append(dt)
            if r.status_code != expect:
                self.errors.append(f"{kind}: HTTP {r.status_code} {r.text[:200]}")
        return r if r.status_code == expect else None

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


def _analysis(c: httpx.Client, rec: Recorder, deadline: float) -> None:
    started = time.perf_counter()
    p = rec.time("upload", lambda: c.post("/api/uploads", params={"name": "power.csv"}, content=POWER), 201)
    q = rec.time("upload", lambda: c.post("/api/uploads", params={"name": "requests.csv"}, content=REQUESTS), 201)
    if p is None or q is None:
        return
    body = {"power": p.json()["id"], "requests": q.json()["id"]}
    a = rec.time("analyses_post", lambda: c.post("/api/analyses", json=body), 202)
    if a is None:
        return
    job = a.json()["id"]
    while True:
        s = rec.time("analyses_get", lambda: c.get(f"/api/analyses/{job}"), 200)
        if s is None:
            return
        state = s.json()["state"]
        if state == "done":
            with rec.lock:
                rec.latency_s["analysis_e2e"].append(time.perf_counter() - started)
            return
        if state == "error":
            rec.error(f"analysis: {s.json()['error']}")
            return
        if time.monotonic() > deadline + 30:
            rec.error("analysis: not done 30 s after the run")
            return
        time.sleep(0.02)


def _client(base_url: str, token: str, seconds: float, seed: int, rec: Recorder, start: threading.Barrier) -> None:
    rng = random.Random(seed)
    kinds = [k for k, w in MIX for _ in range(w)]
    with httpx.Client(base_url=base_url, headers={"X-Epcore-Token": token}, timeout=30) as c:
        start.wait()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            kind = rng.choice(kinds)
            if kind == "health":
                rec.time("health", lambda: c.get("/api/health"), 200)
            elif kind == "calc":
                body = {"power_w": rng.uniform(500, 10_000), "tokens_per_s": rng.uniform(100, 5000),
                        "price_per_kwh": 0.08, "currency": rng.choice(["USD", "EUR", "BRL"])}
                rec.time("calc", lambda: c.post("/api/calc", json=body), 200)
            else:
                _analysis(c, rec, deadline)


def run_load(base_url: str, token: str, *, clients: int = 50, seconds: float = 10.0) -> dict[str, Any]:
    """Run the load and return ``{"clients", "seconds", "requests", "rps", "errors", "kinds": {kind: stats}}``;
    stats are ``n, p50_ms, p95_ms, p99_ms, max_ms``; ``all`` pools every HTTP request."""
    rec = Recorder()
    start = threading.Barrier(clients + 1)
    threads = [threading.Thread(target=_client, args=(base_url, token, seconds, i, rec, start), daemon=True)
               for i in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join(seconds + 120)
    wall_s = time.perf_counter() - t0

    def stats(values: list[float]) -> dict[str, float]:
        a = np.asarray(values) * 1e3
        p50, p95, p99 = np.percentile(a, [50, 95, 99])
        return {"n": int(a.size), "p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99),
                "max_ms": float(a.max())}

    http = [v for k, vs in rec.latency_s.items() if k != "analysis_e2e" for v in vs]
    kinds = {k: stats(v) for k, v in sorted(rec.latency_s.items()) if v}
    kinds["all"] = stats(http) if http else {"n": 0}
    return {"clients": clients, "seconds": seconds, "wall_s": wall_s, "requests": len(http),
            "rps": len(http) / wall_s, "errors": len(rec.errors), "error_samples": rec.errors[:10],
            "kinds": kinds}


def format_report(r: dict[str, Any]) -> str:
    """A plain-text table of :func:`run_load`'s result."""
    lines = [f"{r['clients']} clients, {r['seconds']:g} s: {r['requests']:,} requests, {r['rps']:,.0f} req/s, "
             f"{r['errors']} errors",
             f"{'kind':<14}{'n':>8}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'max ms':>10}"]
    for kind, s in r["kinds"].items():
        if s.get("n"):
            lines.append(f"{kind:<14}{s['n']:>8}{s['p50_ms']:>10.1f}{s['p95_ms']:>10.1f}{s['p99_ms']:>10.1f}"
                         f"{s['max_ms']:>10.1f}")
    if "server_cpu_pct" in r:
        lines.append(f"server process CPU: {r['server_cpu_pct']:.0f}% of one core")
    lines += [f"  error: {e}" for e in r["error_samples"]]
    return "\n".join(lines)


_SERVER = """
import os, uvicorn
from epcore.console import make_app
port = int(os.environ["EPCORE_BENCH_PORT"])
app = make_app(port=port, token=os.environ["EPCORE_BENCH_TOKEN"], max_queued=int(os.environ["EPCORE_BENCH_QUEUE"]))
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", backlog=1024)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server_process(token: str, queue: int) -> Iterator[tuple[str, int]]:
    """The console in a child process (its own interpreter and GIL); yields the base URL and its pid."""
    port = _free_port()
    env = {**os.environ, "EPCORE_BENCH_PORT": str(port), "EPCORE_BENCH_TOKEN": token,
           "EPCORE_BENCH_QUEUE": str(queue)}
    proc = subprocess.Popen([sys.executable, "-c", _SERVER], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the console server did not start")
            time.sleep(0.1)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--server", choices=("process", "thread"), default="process")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    args = ap.parse_args()
    token = "bench-token"
    # Every client may have one analysis in flight: a queue that holds them all measures latency, not 429s.
    queue = args.clients
    if args.server == "process":
        with server_process(token, queue) as (url, pid):
            cpu0 = _cpu_s(pid)
            report = run_load(url, token, clients=args.clients, seconds=args.seconds)
            cpu1 = _cpu_s(pid)
        if cpu0 is not None and cpu1 is not None:
            # Near 100 %: the one-process server is the bottleneck; well below: the clients are.
            report["server_cpu_pct"] = 100 * (cpu1 - cpu0) / report["wall_s"]
    else:
        sys.path.insert(0, str(REPO / "tests"))
        from console_server import running_console  # type: ignore[import-not-found, unused-ignore]

        with running_console(token=token, max_queued=queue) as url:
            report = run_load(url, token, clients=args.clients, seconds=args.seconds)
    report["server"] = args.server
    print(json.dumps(report, indent=2) if args.json else format_report(report))


if __name__ == "__main__":
    main()
