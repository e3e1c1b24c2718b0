#!/usr/bin/env python3
"""epcore.batch against polars and numpy: steady-state figures of 1e7 scenarios.

Issue 5's target: batch conversion of 1e7 rows, 5+ outputs, at ≥ 1.5× polars
lazy select (common-subexpression elimination) and ≥ 4× plain numpy, in one run.

Data (generated in memory, seed 0): 1e7 scenarios with five float64 input
columns, power_w 50–10,000 W, tokens_per_s 10–20,000, price_per_kwh
0.02–0.40, query_tokens 50–4,000 and grid_g_co2_per_kwh 20–900 (uniform), PUE 1.
Five outputs, the figures of BASELINES.md §5 (40 B read + 40 B written per row):
joules_per_token, cost_per_million_tokens, wh_per_query, cost_per_query and
g_co2_per_query, each the expression ``epcore.steady_state`` evaluates, so
every method gives the same bits. A second table converts all ten IT figures.

Methods (each timed ``--runs`` times in a row after one warm-up; median and min–max):

* ``epcore.batch(..., out=prev)``: outputs written into the arrays of the
  previous result (BASELINES §5: fresh pages cost about 2× on this VM), every
  core, and 1 thread; ``epcore.batch(...)`` with fresh outputs;
* polars lazy ``select`` (CSE on, the engine's default threads) from a
  DataFrame holding the five columns, and eager ``select`` [extra];
* numpy naive expressions (fresh temporaries and outputs): "plain numpy";
* numpy with ``out=`` into preallocated outputs, shared subexpressions reused [extra];
* ceiling [reference]: a five-column ``np.copyto`` into preallocated outputs.

epcore also checks every row against the calculator's domain (the baselines
check nothing), and gives a typed error or a masked null on a bad row.

Usage: ``bench_batch.py [--quick] [--rows N] [--runs N]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

from compare import Target, best_of, machine_line, si, table  # noqa: E402

SEED = 0
J_PER_WH = 3600.0
J_PER_KWH = 3.6e6
M = 1e6
FIVE = ("joules_per_token", "cost_per_million_tokens", "wh_per_query", "cost_per_query", "g_co2_per_query")
TEN = ("joules_per_token", "wh_per_token", "kwh_per_million_tokens", "cost_per_million_tokens", "wh_per_query",
       "cost_per_query", "queries_per_kwh", "tokens_per_kwh", "g_co2_per_query", "g_co2_per_million_tokens")
INPUTS = ("power_w", "tokens_per_s", "price_per_kwh", "query_tokens", "grid_g_co2_per_kwh")


def make_inputs(n: int, seed: int = SEED) -> dict[str, np.ndarray]:
    """The five input columns of the module docstring."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 5]))
    return {
        "power_w": rng.uniform(50.0, 10_000.0, n),
        "tokens_per_s": rng.uniform(10.0, 20_000.0, n),
        "price_per_kwh": rng.uniform(0.02, 0.40, n),
        "query_tokens": rng.uniform(50.0, 4_000.0, n),
        "grid_g_co2_per_kwh": rng.uniform(20.0, 900.0, n),
    }


# --------------------------------------------------------------------------- numpy


def numpy_naive(x: dict[str, np.ndarray], names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Each figure as one numpy expression, as a user would write it (steady_state's operation order)."""
    p, t, c, q, g = (x[k] for k in INPUTS)
    exprs: dict[str, Callable[[], np.ndarray]] = {
        "joules_per_token": lambda: p / t,
        "wh_per_token": lambda: p / (t * J_PER_WH),
        "kwh_per_million_tokens": lambda: p * M / (t * J_PER_KWH),
        "cost_per_million_tokens": lambda: p * M * c / (t * J_PER_KWH),
        "wh_per_query": lambda: p * q / (t * J_PER_WH),
        "cost_per_query": lambda: p * q * c / (t * J_PER_KWH),
        "queries_per_kwh": lambda: t * J_PER_KWH / (p * q),
        "tokens_per_kwh": lambda: t * J_PER_KWH / p,
        "g_co2_per_query": lambda: p * q * g / (t * J_PER_KWH),
        "g_co2_per_million_tokens": lambda: p * M * g / (t * J_PER_KWH),
    }
    return {k: exprs[k]() for k in names}


class NumpyOut:
    """numpy with ``out=``: shared subexpressions (p·q, t·3.6e6, t·3600, p·1e6) computed once
    into preallocated scratch, every output written in place; the same operations as steady_state."""

    def __init__(self, n: int, names: tuple[str, ...]) -> None:
        self.names = names
        self.out = {k: np.empty(n) for k in names}
        self.s = {k: np.empty(n) for k in ("pq", "kwh_den", "wh_den", "pm", "tmp")}

    def __call__(self, x: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        p, t, c, q, g = (x[k] for k in INPUTS)
        s, o, want = self.s, self.out, set(self.names)
        np.multiply(p, q, out=s["pq"])
        np.multiply(t, J_PER_KWH, out=s["kwh_den"])
        np.multiply(t, J_PER_WH, out=s["wh_den"])
        np.multiply(p, M, out=s["pm"])
        tmp = s["tmp"]

        def ratio(name: str, num: np.ndarray, den: np.ndarray) -> None:
            if name in want:
                np.divide(num, den, out=o[name])

        def scaled(name: str, a: np.ndarray, b: np.ndarray, den: np.ndarray) -> None:
            if name in want:
                np.multiply(a, b, out=tmp)
                np.divide(tmp, den, out=o[name])

        ratio("joules_per_token", p, t)
        ratio("wh_per_token", p, s["wh_den"])
        ratio("kwh_per_million_tokens", s["pm"], s["kwh_den"])
        scaled("cost_per_million_tokens", s["pm"], c, s["kwh_den"])
        ratio("wh_per_query", s["pq"], s["wh_den"])
        scaled("cost_per_query", s["pq"], c, s["kwh_den"])
        ratio("queries_per_kwh", s["kwh_den"], s["pq"])
        ratio("tokens_per_kwh", s["kwh_den"], p)
        scaled("g_co2_per_query", s["pq"], g, s["kwh_den"])
        scaled("g_co2_per_million_tokens", s["pm"], g, s["kwh_den"])
        return o


# --------------------------------------------------------------------------- polars


def polars_exprs(names: tuple[str, ...]) -> list[Any]:
    import polars as pl

    p, t, c, q, g = (pl.col(k) for k in INPUTS)
    e = {
        "joules_per_token": p / t,
        "wh_per_token": p / (t * J_PER_WH),
        "kwh_per_million_tokens": p * M / (t * J_PER_KWH),
        "cost_per_million_tokens": p * M * c / (t * J_PER_KWH),
        "wh_per_query": p * q / (t * J_PER_WH),
        "cost_per_query": p * q * c / (t * J_PER_KWH),
        "queries_per_kwh": t * J_PER_KWH / (p * q),
        "tokens_per_kwh": t * J_PER_KWH / p,
        "g_co2_per_query": p * q * g / (t * J_PER_KWH),
        "g_co2_per_million_tokens": p * M * g / (t * J_PER_KWH),
    }
    return [e[k].alias(k) for k in names]


# --------------------------------------------------------------------------- runs


def max_rel(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a)
    b = np.asarray(b)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def bench(n: int, names: tuple[str, ...], runs: int, with_baselines_extra: bool) -> dict[str, float]:
    """Time every method on ``n`` rows for ``names``; print the table; return median seconds by method."""
    import epcore

    x = make_inputs(n)
    ref = epcore.batch(**x, outputs=list(names))  # also the arrays out= reuses
    methods: list[tuple[str, Callable[[], Any]]] = [
        ("epcore.batch(..., out=prev), every core", lambda: epcore.batch(**x, outputs=names, out=ref)),
        ("epcore.batch(..., out=prev), 1 thread",
         lambda: epcore.batch(**x, outputs=names, out=ref, threads=1)),
        ("epcore.batch(...), fresh outputs, every core", lambda: epcore.batch(**x, outputs=names)),
    ]
    try:
        import polars as pl
    except ImportError:
        pl = None
        print("polars is not installed (pip install polars): its rows are skipped")
    if pl is not None:
        df = pl.DataFrame(x)
        exprs = polars_exprs(names)
        methods.append(("polars lazy select (CSE)", lambda: df.lazy().select(exprs).collect()))
        if with_baselines_extra:
            methods.append(("[extra] polars eager select", lambda: df.select(exprs)))
    methods.append(("numpy naive expressions (plain numpy)", lambda: numpy_naive(x, names)))
    npo = NumpyOut(n, names)
    methods.append(("[extra] numpy out= into preallocated, shared subexpressions", lambda: npo(x)))
    dst = [np.empty(n) for _ in INPUTS]

    def copy_ceiling() -> None:
        for d, k in zip(dst, INPUTS):
            np.copyto(d, x[k])

    if len(names) == len(INPUTS):
        methods.append(("[reference] 5-column np.copyto into preallocated, 1 thread", copy_ceiling))

    times: dict[str, list[float]] = {}
    errs: dict[str, str] = {}
    for name, fn in methods:
        ts, res = best_of(fn, runs)
        times[name] = ts
        if name.startswith("[reference]"):
            errs[name] = ""
            continue
        if pl is not None and isinstance(res, pl.DataFrame):
            got = {k: res[k].to_numpy() for k in names}
        else:
            got = {k: res[k] for k in names}
        errs[name] = f"{max(max_rel(got[k], ref[k]) for k in names):.0e}"
        del res, got

    t_ep = statistics.median(times[methods[0][0]])
    rows = []
    for name, _ in methods:
        ts = times[name]
        m = statistics.median(ts)
        rows.append([name, f"{m * 1e3:,.1f}", f"{min(ts) * 1e3:,.1f}–{max(ts) * 1e3:,.1f}", si(n / m) + "rows/s",
                     f"{(8 * len(INPUTS) + 8 * len(names)) * n / m / 1e9:.1f}", f"{m / t_ep:.2f}×", errs[name]])
    print(f"median of {runs} consecutive runs after 1 warm-up, per method\n")
    print(table(["method", "median ms", "min–max ms", "rows/s", f"GB/s ({8 * (len(INPUTS) + len(names))} B/row)",
                 "time ÷ epcore out=", "max rel diff vs epcore"], rows))
    return {name: statistics.median(ts) for name, ts in times.items()} | {
        f"best: {name}": min(ts) for name, ts in times.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1e6 rows, 3 runs")
    ap.add_argument("--rows", type=float, default=None, help="rows (default 1e7, --quick 1e6)")
    ap.add_argument("--runs", type=int, default=None, help="timed runs per method (default 7, --quick 3)")
    args = ap.parse_args(argv)
    n = int(args.rows or (1e6 if args.quick else 1e7))
    runs = args.runs or (3 if args.quick else 7)
    t_start = time.perf_counter()
    print("# batch conversion: epcore.batch vs polars and numpy\n")
    print(machine_line())

    print(f"\n## {n:.0e} rows, 5 inputs → 5 outputs ({', '.join(FIVE)})\n")
    five = bench(n, FIVE, runs, with_baselines_extra=True)
    print(f"\n## {n:.0e} rows, 5 inputs → all 10 IT figures\n")
    ten = bench(n, TEN, runs, with_baselines_extra=False)

    ep = "epcore.batch(..., out=prev), every core"
    fresh = "epcore.batch(...), fresh outputs, every core"
    pl_lazy = "polars lazy select (CSE)"
    naive = "numpy naive expressions (plain numpy)"
    sz = f"{n:.0e} rows"
    targets: list[Target] = []
    for label, t in (("5 outputs", five), ("10 outputs", ten)):
        def note(base: str) -> str:
            return (f"best-of ratio {t['best: ' + base] / t['best: ' + ep]:.2f}×; "
                    f"fresh outputs: median {t[base] / t[fresh]:.2f}×")

        if pl_lazy in t:
            targets.append(Target(f"batch {sz}, {label}: epcore (out=) vs polars lazy select (CSE)",
                                  t[pl_lazy] / t[ep], 1.5, note=note(pl_lazy)))
        targets.append(Target(f"batch {sz}, {label}: epcore (out=) vs plain numpy", t[naive] / t[ep], 4.0,
                              note=note(naive)))
    print("\n## summary (ratios of medians; the best-of ratio in brackets)\n")
    for tg in targets:
        print(tg.line())
    n_met = sum(tg.met for tg in targets)
    print(f"\n{n_met}/{len(targets)} targets met; total {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
