"""The numpy baselines epcore is compared with (the methods of docs/BASELINES.md).

The polars baseline lives in ``polars_baseline.py``, which imports no numpy, so
its peak RSS in a fresh process is polars' own.

All of them apply epcore's gap rule (an interval longer than ``max_gap_ns`` adds
no energy), so their results can be checked against epcore's; it costs them one
compare pass at most.

>>> import numpy as np
>>> t = np.array([0, 10**9, 2 * 10**9, 30 * 10**9, 31 * 10**9])
>>> p = np.array([100.0, 300.0, 300.0, 100.0, 100.0])
>>> w = np.array([[0, 5 * 10**8], [5 * 10**8, 31 * 10**9]])
>>> windows_exact(t, p, w).tolist()                 # the gap 2 s -> 30 s adds nothing
[75.0, 525.0]
>>> trapezoid_int64_ns(t, p) == 0.5e-9 * float(np.sum((p[1:] + p[:-1]) * np.diff(t)))
True
"""

from __future__ import annotations

import numpy as np

from gen import MAX_GAP_NS


def trapezoid_int64_ns(t: np.ndarray, p: np.ndarray) -> float:
    """The numpy expression on int64 ns timestamps (BASELINES "numpy expr, int64 ns"), gaps bridged."""
    return 0.5e-9 * float(np.sum((p[1:] + p[:-1]) * np.diff(t)))


def prefix(t: np.ndarray, p: np.ndarray, max_gap_ns: int = MAX_GAP_NS) -> np.ndarray:
    """Cumulative trapezoid ``F[k]`` (W·ns, doubled) from sample 0 to sample k, gap intervals zeroed."""
    dt = np.diff(t)
    seg = p[:-1] + p[1:]
    seg *= dt
    gaps = np.flatnonzero(dt > max_gap_ns)
    seg[gaps] = 0.0
    f = np.empty(len(t), dtype=np.float64)
    f[0] = 0.0
    np.cumsum(seg, out=f[1:])
    return f


def windows_query(t: np.ndarray, p: np.ndarray, f: np.ndarray, w: np.ndarray,
                  max_gap_ns: int = MAX_GAP_NS) -> np.ndarray:
    """Energy (J) of each ``(start_ns, end_ns)`` row of ``w``, given the prefix ``f``.

    ``searchsorted`` (on the sorted edges) finds the segment holding each edge; the part of that
    segment before the edge is the exact trapezoid of the linear interpolant
    (zero inside a gap). Edges before the trace get 0, after it the total.
    """
    n = len(t)
    x = w.ravel()
    # Sorted keys make searchsorted walk the timestamps nearly in order (5× faster than random keys).
    order = np.argsort(x)
    k = np.empty(len(x), dtype=np.intp)
    k[order] = np.searchsorted(t, x[order], side="right")
    k -= 1
    kc = np.clip(k, 0, n - 2)
    t0 = t[kc]
    dt = t[kc + 1] - t0
    u = (x - t0).astype(np.float64)
    p0 = p[kc]
    p1 = p[kc + 1]
    dtf = dt.astype(np.float64)
    px = p0 + (p1 - p0) * (u / dtf)
    part = (p0 + px) * u
    fx = f[kc] + np.where((k >= 0) & (k <= n - 2) & (dt <= max_gap_ns), part, 0.0)
    fx[k < 0] = 0.0
    fx[k >= n - 1] = f[n - 1]
    fx = fx.reshape(-1, 2)
    return (fx[:, 1] - fx[:, 0]) / 2e9


def windows_exact(t: np.ndarray, p: np.ndarray, w: np.ndarray, max_gap_ns: int = MAX_GAP_NS) -> np.ndarray:
    """Prefix build plus queries: the best exact numpy method (BASELINES §3)."""
    return windows_query(t, p, prefix(t, p, max_gap_ns), w, max_gap_ns)


def numpy_loadtxt_energy(path: str, max_gap_s: float = MAX_GAP_NS / 1e9) -> float:
    """``numpy.loadtxt`` then the trapezoid (float seconds), gap intervals excluded."""
    a = np.loadtxt(path, delimiter=",", skiprows=1)
    t, p = a[:, 0], a[:, 1]
    dt = np.diff(t)
    term = (p[1:] + p[:-1]) * dt
    term[dt > max_gap_s] = 0.0
    return 0.5 * float(np.sum(term))
