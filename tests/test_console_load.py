"""50 concurrent clients against the console for a few seconds: no errors, bounded latency.

The mix (benches/bench_console.py): GET /api/health, POST /api/calc with
random inputs, and small uploads + analyses polled to the end. The server
runs in this process (a thread), so the clients and the server share one
GIL on whatever cores the machine has: the p99 bound (2 s) is generous on
purpose; the figures printed are the measurement (``pytest -s`` shows them;
``benches/bench_console.py`` runs the server in its own process for the README).
"""

from __future__ import annotations

import sys
from pathlib import Path

from console_server import running_console

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benches"))
from bench_console import format_report, run_load  # noqa: E402

CLIENTS = 50
SECONDS = 6.0


def test_fifty_concurrent_clients(record_property: object) -> None:
    # Each client has at most one analysis in flight: a queue that holds them all, so the run measures
    # latency; the 429 path has its own test (test_console_security.py).
    with running_console(max_queued=CLIENTS) as url:
        report = run_load(url, url.token, clients=CLIENTS, seconds=SECONDS)
        uploads_left = len(url.app.state.console.uploads)
        active = url.app.state.console.jobs.active
    print("\n" + format_report(report))
    kinds = report["kinds"]
    assert report["errors"] == 0, report["error_samples"]
    assert kinds["health"]["n"] > 0 and kinds["calc"]["n"] > 0 and kinds["analysis_e2e"]["n"] > 0
    assert kinds["all"]["p99_ms"] < 2000, kinds["all"]
    assert uploads_left == 0 and active == 0  # every upload was analysed and deleted
