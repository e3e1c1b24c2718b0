"""Fork safety: a process that ran epcore's multi-threaded paths, then forked
(multiprocessing's "fork" start method, pre-fork servers, Dask's forked
workers), gets the same results in the child, without a deadlock.

rayon's global pool (``batch(threads=0)``) keeps its worker threads in the
parent; the binding notices the fork and runs the child's call on a fresh
pool. Everything else spawns its threads per call.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import epcore
from epcore import _core

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32" or "fork" not in multiprocessing.get_all_start_methods(),
                       reason="os.fork() is POSIX only"),
    # Python >= 3.12 warns that forking a process with threads may deadlock: that is what this tests.
    pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning"),
]

S = 1_000_000_000
T0 = 1_717_000_000 * S
DATA = Path(__file__).resolve().parent / "data"
CHILD_TIMEOUT_S = 60
# Past 2 x 2^20 rows integrate() splits the work over two threads; past 2^15 rows batch() does.
N_INTEGRATE = (1 << 21) + 12_345
N_BATCH = 1 << 17


def _inputs() -> dict[str, Any]:
    t = T0 + np.arange(N_INTEGRATE, dtype=np.int64) * 10_000_000
    v = 200.0 + 50.0 * np.sin(np.arange(N_INTEGRATE) * 1e-3)
    cols = {"power_w": np.linspace(300.0, 700.0, N_BATCH), "tokens_per_s": np.linspace(1000.0, 9000.0, N_BATCH)}
    return {"t": t, "v": v, "cols": cols}


def _work(threads: int) -> dict[str, Any]:
    """Every multi-threaded entry point once, reduced to plain values to compare."""
    x = _inputs()
    r = epcore.integrate(x["t"], x["v"], threads=threads)
    p = epcore.partial(x["t"], x["v"], threads=threads)
    b = epcore.batch(x["cols"], threads=threads)
    tr = epcore.read_power(DATA / "sample_attribution_power.csv")
    att = epcore.attribute(tr, epcore.read_requests(DATA / "sample_attribution_requests.csv"), threads=threads)
    return {
        "integrate_j": r.energy_j.hex(),
        "partial": p.to_bytes(),
        "batch": {k: v.tobytes() for k, v in b.items()},
        "attribute_j_per_token": att.joules_per_output_token,
        "forked": _core.forked_from_pool_owner(),
    }


def _child(conn: multiprocessing.connection.Connection, threads: int) -> None:
    try:
        conn.send(_work(threads))
    finally:
        conn.close()


def _run_in_fork(threads: int) -> dict[str, Any]:
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, threads))
    proc.start()
    send.close()
    try:
        # poll() bounds the wait: a deadlocked child fails the test instead of hanging it.
        assert recv.poll(CHILD_TIMEOUT_S), f"forked child did not finish within {CHILD_TIMEOUT_S} s (deadlock?)"
        out: dict[str, Any] = recv.recv()
    finally:
        proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join()
    assert proc.exitcode == 0
    return out


@pytest.mark.parametrize("threads", [0, 2])
def test_child_after_parent_used_the_pools_gets_the_same_results(threads: int) -> None:
    # The parent runs everything first, rayon's global pool included (threads=0 starts it).
    parent = _work(threads)
    epcore.batch(_inputs()["cols"], threads=0)
    assert not _core.forked_from_pool_owner()
    child = _run_in_fork(threads)
    assert child.pop("forked") is True
    parent.pop("forked")
    assert child == parent


def test_pool_owner_keeps_using_the_global_pool() -> None:
    cols = _inputs()["cols"]
    first = epcore.batch(cols, threads=0)
    again = epcore.batch(cols, threads=0)
    assert not _core.forked_from_pool_owner()
    assert first.quality.threads == again.quality.threads >= 1
    assert all(np.array_equal(first[k], again[k]) for k in first)
