"""Deterministic synthetic data for the benchmarks (seed 0), like docs/BASELINES.md.

* :func:`trace` — a GPU power trace: nominal 1 kHz with ±10 % period jitter,
  2 gaps of 0.5–30 s per 2²⁰ samples (at random rows), idle near 70 W and bursts of
  600–700 W with 50 ms ramps, 3 % noise, 0.01 W resolution. Timestamps are
  int64 ns on a µs grid (so the 6-decimal CSV holds them exactly), epoch
  2024-05-29 (1 717 000 000 s).
* :func:`windows` — request windows ``(start_ns, end_ns)`` with random starts
  (unsorted, as requests come) and lengths uniform in 0.1–9.7 s (mean 4.9 s).
* :func:`write_csv` — the canonical ``time_s,power_w`` CSV of the same trace,
  written block by block in bounded memory (about 400 MB/s).
* :func:`reference_energy` — the trapezoid energy with the gap rule applied,
  summed in extended precision: what every method is checked against.

The trace is generated in fixed blocks of :data:`BLOCK` samples, so the first
``n`` samples are the same whatever ``n`` is, and the CSV holds exactly the
first rows of :func:`trace`.

>>> t, p = trace(5)
>>> t.dtype, p.dtype, bool(np.all(np.diff(t) > 0))
(dtype('int64'), dtype('float64'), True)
>>> t2, p2 = trace(3)
>>> bool(np.array_equal(t[:3], t2) and np.array_equal(p[:3], p2))
True
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator

import numpy as np

SEED = 0
#: First timestamp of every trace (ns since 1970).
T0_NS = 1_717_000_000 * 10**9
#: Samples drawn per generator step (fixed, so traces are prefixes of each other).
BLOCK = 1 << 20
#: The gap threshold epcore resolves for these traces: max(5 × median dt, 2 s) = 2 s.
MAX_GAP_NS = 2_000_000_000

_IDLE_W = 70.0
_RAMP_S = 0.05
_INT_DIGITS = 6  # power up to 999 999.99 W in the CSV formatter
_ROW_W = 10 + 1 + 6 + 1 + _INT_DIGITS + 1 + 2 + 1  # fixed-width row before squeezing


class TraceStream:
    """An endless trace, drawn :data:`BLOCK` samples at a time."""

    def __init__(self, seed: int = SEED, rate_hz: float = 1000.0, jitter: float = 0.10,
                 gaps_per_million: float = 2.0) -> None:
        s_sched, s_time, s_pow = np.random.SeedSequence(seed).spawn(3)
        self._rs = np.random.default_rng(s_sched)
        self._rt = np.random.default_rng(s_time)
        self._rp = np.random.default_rng(s_pow)
        self._period_us = 1e6 / rate_hz
        self._jitter = jitter
        self._gaps_per_million = gaps_per_million
        # The first sample lands at T0 + (first dt - one period), i.e. within ±10 % of a period of T0.
        self._t_prev = T0_NS - round(self._period_us) * 1000
        # Schedule breakpoints (seconds since T0, watts); always covers the next block.
        self._bp_t = np.array([-1.0])
        self._bp_v = np.array([_IDLE_W])
        self._sched_end = -1.0

    def _extend_schedule(self, from_s: float, until_s: float) -> None:
        # Drop breakpoints before the block (keeping the one at or before its start).
        keep = max(0, int(np.searchsorted(self._bp_t, from_s, side="right")) - 1)
        ts, vs = [self._bp_t[keep:]], [self._bp_v[keep:]]
        c = self._sched_end
        while c <= until_s + 1.0:
            k = 4096
            idle = self._rs.exponential(2.0, k) + 0.2          # s at idle
            burst = self._rs.exponential(1.0, k) + 0.1         # s at the burst level
            level = self._rs.uniform(600.0, 700.0, k)          # W
            idle_w = _IDLE_W + self._rs.uniform(-3.0, 3.0, k)  # W
            start = c + np.concatenate(([0.0], np.cumsum(idle + burst + 2 * _RAMP_S)[:-1]))
            pts_t = np.stack([start + 1e-9, start + idle, start + idle + _RAMP_S,
                              start + idle + _RAMP_S + burst], axis=1).ravel()
            pts_v = np.stack([idle_w, idle_w, level, level], axis=1).ravel()
            ts.append(pts_t)
            vs.append(pts_v)
            c = float(start[-1] + idle[-1] + burst[-1] + 2 * _RAMP_S)
        self._bp_t = np.concatenate(ts)
        self._bp_v = np.concatenate(vs)
        self._sched_end = c

    def block(self) -> tuple[np.ndarray, np.ndarray]:
        """The next :data:`BLOCK` samples: int64 ns timestamps and float64 watts."""
        m = BLOCK
        dt_us = np.rint(self._period_us * (1.0 + self._jitter * self._rt.uniform(-1.0, 1.0, m))).astype(np.int64)
        n_gaps = round(self._gaps_per_million * m / 1e6)  # a fixed count, so every size has gaps
        pos = self._rt.integers(0, m, n_gaps)
        dt_us[pos] += np.rint(self._rt.uniform(0.5, 30.0, n_gaps) * 1e6).astype(np.int64)
        t = np.cumsum(dt_us)
        t *= 1000
        t += self._t_prev
        self._t_prev = int(t[-1])
        rel_s = (t - T0_NS).astype(np.float64) * 1e-9
        if rel_s[-1] >= self._sched_end:
            self._extend_schedule(float(rel_s[0]), float(rel_s[-1]))
        base = np.interp(rel_s, self._bp_t, self._bp_v)
        p = base * (1.0 + 0.03 * self._rp.standard_normal(m))
        np.maximum(p, 0.0, out=p)
        p = np.rint(p * 100.0) / 100.0  # 0.01 W resolution, the same double a CSV parser reads
        return t, p

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        while True:
            yield self.block()


def trace(n: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` samples: ``(t_ns int64, power_w float64)``."""
    n = int(n)
    t = np.empty(n, dtype=np.int64)
    p = np.empty(n, dtype=np.float64)
    i = 0
    for bt, bp in TraceStream(seed):
        if i >= n:
            break
        k = min(n - i, len(bt))
        t[i:i + k] = bt[:k]
        p[i:i + k] = bp[:k]
        i += k
    return t, p


def windows(n: int, t_first: int, t_last: int, seed: int = SEED,
            min_s: float = 0.1, max_s: float = 9.7) -> np.ndarray:
    """``n`` windows, shape ``(n, 2)`` int64 ns, random starts inside ``[t_first, t_last]``, unsorted."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    length = np.rint(rng.uniform(min_s, max_s, int(n)) * 1e9).astype(np.int64)
    span = np.maximum(t_last - t_first - length, 1)
    start = t_first + (rng.random(int(n)) * span).astype(np.int64)
    return np.ascontiguousarray(np.stack([start, start + length], axis=1))


def reference_energy(t: np.ndarray, p: np.ndarray, max_gap_ns: int = MAX_GAP_NS,
                     prev: tuple[int, float] | None = None) -> float:
    """Trapezoid energy (J), intervals longer than ``max_gap_ns`` excluded, summed in extended precision.

    Each term ``(p0 + p1) · dt_ns`` is one rounding; terms are summed in
    ``np.longdouble`` per block and the block sums with ``math.fsum``.
    ``prev`` is the sample before ``t[0]`` when summing a trace in pieces.
    """
    parts = []
    step = 1 << 22
    if prev is not None:
        t = np.concatenate(([prev[0]], t))
        p = np.concatenate(([prev[1]], p))
    for lo in range(0, max(len(t) - 1, 0), step):
        hi = min(lo + step, len(t) - 1)
        dt = t[lo + 1:hi + 1] - t[lo:hi]
        term = (p[lo:hi] + p[lo + 1:hi + 1]) * dt.astype(np.float64)
        term[dt > max_gap_ns] = 0.0
        parts.append(float(np.sum(term, dtype=np.longdouble)))
    return math.fsum(parts) / 2e9


def format_csv_rows(t: np.ndarray, p: np.ndarray) -> bytes:
    """``time_s,power_w`` rows: 6-decimal seconds, 2-decimal watts, built with numpy digit arithmetic."""
    m = len(t)
    us = t // 1000
    sec, frac = np.divmod(us, 10**6)
    if m and (sec.min() < 10**9 or sec.max() >= 10**10):
        raise ValueError("the formatter expects 10-digit epoch seconds")
    cw = np.rint(p * 100.0).astype(np.int64)
    if m and (cw.min() < 0 or cw.max() >= 10 ** (_INT_DIGITS + 2)):
        raise ValueError("power out of the formatter's range")
    ip, fp = np.divmod(cw, 100)
    buf = np.empty((m, _ROW_W), dtype=np.uint8)

    def digits(x: np.ndarray, col: int, width: int) -> None:
        x = x.copy()
        for j in range(width - 1, -1, -1):
            x, d = np.divmod(x, 10)
            buf[:, col + j] = d
            buf[:, col + j] += 48

    digits(sec, 0, 10)
    buf[:, 10] = ord(".")
    digits(frac, 11, 6)
    buf[:, 17] = ord(",")
    digits(ip, 18, _INT_DIGITS)
    buf[:, 18 + _INT_DIGITS] = ord(".")
    digits(fp, 19 + _INT_DIGITS, 2)
    buf[:, -1] = ord("\n")
    # Squeeze out the leading zeros of the integer watts (at least one digit stays).
    n_dig = np.ones(m, dtype=np.int64)
    for j in range(1, _INT_DIGITS):
        n_dig += ip >= 10**j
    keep = np.ones((m, _ROW_W), dtype=bool)
    keep[:, 18:18 + _INT_DIGITS] = np.arange(_INT_DIGITS)[None, :] >= (_INT_DIGITS - n_dig)[:, None]
    return buf[keep].tobytes()


def write_csv(path: str | os.PathLike[str], *, target_bytes: int | None = None, n_rows: int | None = None,
              seed: int = SEED, max_gap_ns: int = MAX_GAP_NS) -> dict[str, float]:
    """Write the trace as a canonical CSV of about ``target_bytes`` (whole rows) or ``n_rows`` rows.

    Memory stays bounded (one generator block at a time). Returns the rows,
    the bytes and the reference energy of what was written.
    """
    if (target_bytes is None) == (n_rows is None):
        raise ValueError("give exactly one of target_bytes and n_rows")
    header = b"time_s,power_w\n"
    size = len(header)
    rows = 0
    parts: list[float] = []
    prev: tuple[int, float] | None = None
    with open(path, "wb") as f:
        f.write(header)
        sub = 1 << 18  # format in sub-blocks to keep the fixed-width buffers small
        for bt, bp in TraceStream(seed):
            done = False
            for lo in range(0, len(bt), sub):
                t, p = bt[lo:lo + sub], bp[lo:lo + sub]
                if n_rows is not None:
                    k = min(len(t), n_rows - rows)
                    t, p = t[:k], p[:k]
                    done = rows + k >= n_rows
                data = format_csv_rows(t, p)
                if target_bytes is not None and size + len(data) >= target_bytes:
                    # Cut at the last row that fits.
                    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n")) + 1
                    k = int(np.searchsorted(ends, target_bytes - size, side="right"))
                    k = max(k, 1)
                    data = data[:ends[k - 1]]
                    t, p = t[:k], p[:k]
                    done = True
                f.write(data)
                size += len(data)
                if len(t):
                    parts.append(reference_energy(t, p, max_gap_ns, prev))
                    prev = (int(t[-1]), float(p[-1]))
                rows += len(t)
                if done:
                    break
            if done:
                break
    return {"rows": rows, "bytes": size, "energy_j": math.fsum(parts)}


if __name__ == "__main__":  # pragma: no cover - manual check of speed and content
    import sys
    import tempfile
    import time

    mb = float(sys.argv[1]) if len(sys.argv) > 1 else 100.0
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "trace.csv")
        t0 = time.perf_counter()
        info = write_csv(path, target_bytes=int(mb * 1e6))
        dt = time.perf_counter() - t0
        print(info, f"{dt:.1f} s, {info['bytes'] / dt / 1e6:.0f} MB/s")
        with open(path, "rb") as f:
            print(f.read(200).decode())
