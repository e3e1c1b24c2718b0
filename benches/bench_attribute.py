#!/usr/bin/env python3
"""epcore.attribute against numpy and pandas: per-request energy of concurrent requests.

Issue 4's target: 1e5 concurrent requests over a 1e7-sample trace attributed in
under 1 s on this machine, with the ratio against a straightforward numpy /
pandas per-request loop.

Data (generated in memory, seed 0; nothing is written to disk):

* one channel ``gpu0``: 1e7 samples at 1 ms ± 10 % jitter on a µs grid (2.8 h),
  power following the load N (active requests), a logistic step from 100 W to
  700 W around the mean load (``100 + 600 / (1 + exp(-(N - N̄) / 0.08 N̄))``) with
  3 % noise and a 10-minute ±5 % swell, clipped to 100–700 W, 0.01 W resolution,
  no gaps;
* 1e5 requests: Poisson arrivals over the trace (about 10 /s), durations
  uniform 5–60 s (mean concurrency about 320 at full size), first token 20 ms–0.5 s
  after the start (gamma), input tokens log-uniform 32–4096, output tokens
  8–40 tok/s over the decode phase.

Methods:

* ``epcore.attribute(trace, requests, weight="equal" | "tokens")`` (defaults
  otherwise: idle "auto", the regression and the distribution included), best of
  ``--runs`` after one warm-up;
* numpy per-request loop: N(t) at every sample (``searchsorted`` on the sorted
  starts and ends), q = P/N, then for each request ``np.trapezoid`` over
  ``q[a:b]`` with ``searchsorted`` slice bounds (edges not interpolated);
* pandas per-request loop: the same q in a DataFrame on a DatetimeIndex,
  ``df.loc[start:end]`` per request, ``np.trapezoid`` on the slice;
* [extra] numpy exact sweep, vectorized: the spec's sweep in numpy (segment
  energies from a cumulative trapezoid with exact edges, active weights from
  ``bincount`` + ``cumsum``, per-request shares from a prefix of E/W), for
  ``equal`` and ``tokens``: what a careful numpy user would write, and an exact
  oracle for epcore's energies.

The per-request loops take minutes at 1e5 requests, so they run on a random
subset (``--subset``, default 2,000) and their time is extrapolated linearly:
``setup + loop × n / subset`` (the output says so). epcore's peak RSS is taken
from a fresh child process: its high-water mark (VmHWM) is reset through
``/proc/self/clear_refs`` once the data and inputs are built, so the peak after
the call is the call's own (see compare.py's CHILD for why not ru_maxrss).

Usage: ``bench_attribute.py [--quick] [--requests N] [--samples N] [--subset N] [--runs N]``
"""

from __future__ import annotations

import argparse
import gc
import inspect
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

import baselines  # noqa: E402
from compare import Target, best_of, machine_line, si, table  # noqa: E402

SEED = 0
T0_NS = 1_717_000_000 * 10**9
MAX_GAP_NS = 2_000_000_000  # the trace has none: every interval is 0.9–1.1 ms
#: Agreement of the per-request loop (samples inside the window, N at sample times) with epcore.
LOOP_TOL = 2e-3
#: Agreement of the exact numpy sweep with epcore (relative; absolute in J below 1 J).
EXACT_TOL = 1e-9

# --------------------------------------------------------------------------- data


class Case:
    """A trace and its requests, all numpy arrays (requests sorted by start, unique starts)."""

    def __init__(self, t: np.ndarray, p: np.ndarray, start: np.ndarray, first: np.ndarray, end: np.ndarray,
                 n_in: np.ndarray, n_out: np.ndarray) -> None:
        self.t, self.p = t, p
        self.start, self.first, self.end = start, first, end
        self.n_in, self.n_out = n_in, n_out

    def __len__(self) -> int:
        return len(self.start)


def active_counts(t: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """N(t): requests with start <= t <= end, at every t (two ``searchsorted`` on sorted copies)."""
    s = np.sort(start)
    e = np.sort(end)
    return np.searchsorted(s, t, side="right") - np.searchsorted(e, t, side="left")


def make_case(n_samples: int, n_requests: int, seed: int = SEED) -> Case:
    """The deterministic trace and requests described in the module docstring."""
    n, m = int(n_samples), int(n_requests)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 4]))
    dt_us = np.rint(1000.0 * (1.0 + 0.1 * rng.uniform(-1.0, 1.0, n))).astype(np.int64)
    dt_us[0] = 0
    t = np.cumsum(dt_us)
    t *= 1000
    t += T0_NS
    span_s = (t[-1] - t[0]) / 1e9

    dur_hi = min(60.0, span_s / 3)
    dur_lo = min(5.0, dur_hi / 4)
    dur = rng.uniform(dur_lo, dur_hi, m)
    # Poisson arrivals conditioned on m of them: normalised cumulative exponentials.
    arr = np.cumsum(rng.exponential(1.0, m))
    arr *= (span_s - dur_hi) / arr[-1]
    start = t[0] + np.floor(arr * 1e9).astype(np.int64)
    # Strictly increasing starts (a tie is a 1 ns shift), so results can be matched by start.
    k = np.arange(m, dtype=np.int64)
    start = np.maximum.accumulate(start - k) + k
    ttft = np.minimum(np.minimum(rng.gamma(2.0, 0.075, m) + 0.02, 0.5), 0.5 * dur)
    first = start + np.rint(ttft * 1e9).astype(np.int64)
    end = start + np.rint(dur * 1e9).astype(np.int64)
    n_in = np.exp(rng.uniform(np.log(32), np.log(4096), m)).astype(np.int64)
    n_out = np.maximum(1, np.rint((dur - ttft) * rng.uniform(8.0, 40.0, m))).astype(np.int64)

    busy = active_counts(t, start, end).astype(np.float64)
    mean_busy = max(float(busy.mean()), 1.0)
    level = 100.0 + 600.0 / (1.0 + np.exp(-(busy - mean_busy) / (0.08 * mean_busy)))
    rel_s = (t - t[0]) / 1e9
    level *= 1.0 + 0.05 * np.sin(2 * np.pi * rel_s / 600.0)
    level *= 1.0 + 0.03 * rng.standard_normal(n)
    np.clip(level, 100.0, 700.0, out=level)
    p = np.rint(level * 100.0) / 100.0
    return Case(t, p, start, first, end, n_in, n_out)


def epcore_inputs(case: Case) -> tuple[Any, Any]:
    import epcore

    trace = epcore.PowerTrace.from_samples({"gpu0": (case.t, case.p)}, rule="trapezoid")
    reqs = epcore.Requests.from_arrays(start_ns=case.start, end_ns=case.end, first_token_ns=case.first,
                                       input_tokens=case.n_in, output_tokens=case.n_out)
    return trace, reqs


def energies_by_start(case: Case, att: Any, column: str = "energy_j") -> np.ndarray:
    """The per-request column of an Attribution, in the case's order (matched on start_ns)."""
    d = att.requests.to_dict()
    s = np.asarray(d["start_ns"], dtype=np.int64)
    v = np.array([np.nan if x is None else x for x in d[column]], dtype=np.float64)
    order = np.argsort(s)
    pos = np.searchsorted(s[order], case.start)
    if not np.array_equal(s[order][pos], case.start):
        raise AssertionError("epcore's per-request table does not hold the generated start times")
    return v[order][pos]


# --------------------------------------------------------------------------- baselines


def loop_setup(case: Case) -> np.ndarray:
    """q = P/N at every sample (0 where no request is active)."""
    n_act = active_counts(case.t, case.start, case.end)
    return np.divide(case.p, n_act, out=np.zeros_like(case.p), where=n_act > 0)


def numpy_loop(case: Case, q: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Equal split, one request at a time: trapezoid of P/N over the samples inside its window."""
    t = case.t
    out = np.empty(len(idx))
    for j, i in enumerate(idx):
        a = np.searchsorted(t, case.start[i], side="left")
        b = np.searchsorted(t, case.end[i], side="right")
        out[j] = np.trapezoid(q[a:b], t[a:b]) / 1e9
    return out


def pandas_setup(case: Case, q: np.ndarray) -> Any:
    import pandas as pd

    return pd.DataFrame({"q": q}, index=pd.DatetimeIndex(pd.to_datetime(case.t, unit="ns")))


def pandas_loop(case: Case, df: Any, idx: np.ndarray) -> np.ndarray:
    """The same loop on a DataFrame: ``df.loc[start:end]`` on the time index."""
    import pandas as pd

    out = np.empty(len(idx))
    for j, i in enumerate(idx):
        sl = df.loc[pd.Timestamp(int(case.start[i])):pd.Timestamp(int(case.end[i]))]
        x = sl.index.to_numpy().view(np.int64)
        out[j] = np.trapezoid(sl["q"].to_numpy(), x) / 1e9
    return out


def numpy_sweep(case: Case, weight: str, prefill_weight: float = 1.0) -> np.ndarray:
    """The spec's sweep, vectorized (one channel, no span, requests inside the trace): energy_j per request.

    Events x = every start, first token and end plus the trace bounds; segment energies
    E_k from the cumulative trapezoid with exact (interpolated) edges; active count
    N_k and weight W_k from ``bincount`` + ``cumsum``; a request's share of a phase
    is ``w · (G[b] - G[a])`` with G the prefix of E_k / W_k (long double), plus
    ``H[b] - H[a]`` for segments whose active requests all weigh 0 (E_k / N_k).
    """
    t, p = case.t, case.p
    s, f, e = case.start, case.first, case.end
    x = np.unique(np.concatenate([s, f, e, t[:1], t[-1:]]))
    seg = np.stack([x[:-1], x[1:]], axis=1)
    energy = baselines.windows_exact(t, p, seg, MAX_GAP_NS)
    js, jf, je = np.searchsorted(x, s), np.searchsorted(x, f), np.searchsorted(x, e)
    m = len(x)
    if weight == "equal":
        wp = np.ones(len(s))
        wd = np.ones(len(s))
    elif weight == "tokens":
        wp = prefill_weight * case.n_in / ((f - s) / 1e9)
        wd = np.maximum(case.n_out - 1, 0) / ((e - f) / 1e9)
    else:
        raise ValueError(weight)

    def phase_sum(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
        return np.bincount(a, weights=w, minlength=m) - np.bincount(b, weights=w, minlength=m)

    count = np.cumsum(phase_sum(js, je, np.ones(len(s))))[:-1]
    n_pos = np.cumsum(phase_sum(js, jf, (wp > 0).astype(float)) + phase_sum(jf, je, (wd > 0).astype(float)))[:-1]
    wsum = np.cumsum(phase_sum(js, jf, wp) + phase_sum(jf, je, wd))[:-1]
    g = np.where(n_pos > 0, energy / np.where(n_pos > 0, wsum, 1.0), 0.0)
    h = np.where((n_pos == 0) & (count > 0), energy / np.maximum(count, 1), 0.0)
    gp = np.concatenate(([0.0], np.cumsum(g.astype(np.longdouble))))
    hp = np.concatenate(([0.0], np.cumsum(h.astype(np.longdouble))))
    out = wp * (gp[jf] - gp[js]) + wd * (gp[je] - gp[jf]) + (hp[je] - hp[js])
    return np.asarray(out, dtype=np.float64)


# --------------------------------------------------------------------------- timing


CHILD = r"""
import json, sys, time
here, n_samples, n_requests, weight = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
sys.path.insert(0, here)

def status_kb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1

import gc
import numpy as np
import epcore
import bench_attribute as b
case = b.make_case(n_samples, n_requests)
trace, reqs = b.epcore_inputs(case)
del case
gc.collect()
# Reset the high-water mark to the current RSS (Linux >= 4.0), so VmHWM after the call is the call's own
# peak, not the data generator's.
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    reset = True
except OSError:
    reset = False
rss_before = status_kb("VmRSS")
hwm_before = status_kb("VmHWM")
t0 = time.perf_counter()
a = epcore.attribute(trace, reqs, weight=weight)
dt = time.perf_counter() - t0
hwm_after = status_kb("VmHWM")
print(json.dumps({"s": dt, "rss_before_kb": rss_before, "hwm_before_kb": hwm_before, "hwm_after_kb": hwm_after,
                  "reset": reset, "attributed_j": a.attributed_energy_j}))
"""


def child_rss(n_samples: int, n_requests: int, weight: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", CHILD, HERE, str(n_samples), str(n_requests), weight],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"child failed:\n{out.stderr}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def rel_diff(a: np.ndarray, b: np.ndarray, floor: float = 0.0) -> np.ndarray:
    return np.abs(a - b) / np.maximum(np.abs(b), floor)


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1e5 samples, 1e3 requests, subset 200: a smoke run")
    ap.add_argument("--samples", type=float, default=None, help="trace samples (default 1e7, --quick 1e5)")
    ap.add_argument("--requests", type=float, default=None, help="requests (default 1e5, --quick 1e3)")
    ap.add_argument("--subset", type=int, default=None,
                    help="requests the per-request loops run on, extrapolated (default 2000, --quick 200)")
    ap.add_argument("--runs", type=int, default=3, help="timed runs per method after one warm-up; best is reported")
    ap.add_argument("--no-child", action="store_true", help="skip the fresh-process peak RSS measurement")
    args = ap.parse_args(argv)

    n_samples = int(args.samples or (1e5 if args.quick else 1e7))
    n_req = int(args.requests or (1e3 if args.quick else 1e5))
    subset = min(args.subset or (200 if args.quick else 2000), n_req)
    runs = args.runs

    import epcore

    print("# epcore.attribute vs numpy / pandas per-request loops")
    print(machine_line())
    print("(shared 2-core VM: timings swing with other load; check the load average above)")

    t0 = time.perf_counter()
    case = make_case(n_samples, n_req)
    gen_s = time.perf_counter() - t0
    n_act = active_counts(case.t, case.start, case.end)
    dur = (case.end - case.start) / 1e9
    print(f"\n{n_samples:.0e} samples over {(case.t[-1] - case.t[0]) / 3.6e12:.2f} h "
          f"(median dt {np.median(np.diff(case.t[:100_000])) / 1e6:.3f} ms), power {case.p.min():.0f}–"
          f"{case.p.max():.0f} W (mean {case.p.mean():.0f} W); {n_req:.0e} requests, durations "
          f"{dur.min():.1f}–{dur.max():.1f} s, concurrency at the samples: mean {n_act.mean():.0f}, max "
          f"{n_act.max()}; generated in {gen_s:.1f} s")
    del n_act

    rng = np.random.default_rng(np.random.SeedSequence([SEED, 5]))
    idx = np.sort(rng.choice(n_req, size=subset, replace=False))
    scale = n_req / subset

    rows: list[list[str]] = []
    best: dict[str, float] = {}

    def add(name: str, times: list[float]) -> None:
        b = min(times)
        best[name] = b
        rows.append([name, f"{b:.3f}", f"{statistics.median(times):.3f}", f"{b / n_req * 1e6:,.2f}"])

    # epcore -----------------------------------------------------------------
    ts, (trace, reqs) = best_of(lambda: epcore_inputs(case), runs)
    add("epcore inputs: PowerTrace.from_samples + Requests.from_arrays [setup, not in the target]", ts)
    ts, att_eq = best_of(lambda: epcore.attribute(trace, reqs, weight="equal"), runs)
    add('epcore.attribute(weight="equal")', ts)
    ts, att_tok = best_of(lambda: epcore.attribute(trace, reqs, weight="tokens"), runs)
    add('epcore.attribute(weight="tokens") [default]', ts)
    ts, _ = best_of(lambda: epcore.attribute(trace, reqs, weight="tokens", threads=1), runs)
    add('epcore.attribute(weight="tokens", threads=1) [diagnostic]', ts)
    ts, _ = best_of(lambda: epcore.attribute(trace, reqs, weight="tokens", idle_w=None), runs)
    add('epcore.attribute(weight="tokens", idle_w=None) [diagnostic]', ts)
    if "regression" in inspect.signature(epcore.attribute).parameters:
        ts, _ = best_of(lambda: epcore.attribute(trace, reqs, weight="tokens", idle_w=None, regression=False), runs)
        add('epcore.attribute(weight="tokens", idle_w=None, regression=False) [diagnostic: the sweep alone]', ts)
    e_eq = energies_by_start(case, att_eq)
    e_tok = energies_by_start(case, att_tok)

    # numpy exact sweep [extra] ------------------------------------------------
    ts, np_eq = best_of(lambda: numpy_sweep(case, "equal"), runs)
    add('[extra] numpy exact sweep, vectorized, "equal"', ts)
    ts, np_tok = best_of(lambda: numpy_sweep(case, "tokens"), runs)
    add('[extra] numpy exact sweep, vectorized, "tokens"', ts)

    # per-request loops -----------------------------------------------------------
    ts_setup, q = best_of(lambda: loop_setup(case), runs)
    ts_loop, loop_e = best_of(lambda: numpy_loop(case, q, idx), runs)
    loop_full = [min(ts_setup) + x * scale for x in ts_loop]
    add(f"numpy per-request loop, equal split (N(t) setup {min(ts_setup):.2f} s + loop on {subset:,} requests "
        f"{min(ts_loop):.2f} s × {scale:g}, EXTRAPOLATED)", loop_full)
    pandas_note = ""
    try:
        import pandas  # noqa: F401

        ts_df, df = best_of(lambda: pandas_setup(case, q), runs)
        pd_setup = min(ts_setup) + min(ts_df)
        ts_pd, pd_e = best_of(lambda: pandas_loop(case, df, idx), runs)
        pd_full = [pd_setup + x * scale for x in ts_pd]
        add(f"pandas per-request loop, df.loc[start:end] (setup {pd_setup:.2f} s + loop on {subset:,} requests "
            f"{min(ts_pd):.2f} s × {scale:g}, EXTRAPOLATED)", pd_full)
        del df
    except ImportError:
        pd_e = None
        pandas_note = "pandas is not installed: no pandas row (pip install 'pandas>=2')"

    # table -------------------------------------------------------------------------
    ep_eq, ep_tok = best['epcore.attribute(weight="equal")'], best['epcore.attribute(weight="tokens") [default]']
    np_name = next(k for k in best if k.startswith("numpy per-request loop"))
    pd_name = next((k for k in best if k.startswith("pandas per-request loop")), None)
    t_np = best[np_name]
    t_pd = best[pd_name] if pd_name else math.nan
    hdr = ["method", "best s", "median s", "µs/request", "numpy loop ÷ this", "pandas loop ÷ this"]
    for r in rows:
        b = float(r[1])
        r += [f"{t_np / b:,.1f}×", f"{t_pd / b:,.1f}×" if pd_name else "n/a"]
    print(f"\nbest of {runs} consecutive runs after 1 warm-up; {n_req:,} requests; the per-request loops ran on "
          f"a random subset of {subset:,} requests and their time is extrapolated linearly to {n_req:,} "
          f"(setup + loop × {scale:g})\n")
    print(table(hdr, rows))

    # checks -----------------------------------------------------------------------
    print("\nagreement of the energies (energy_j per request):")
    d_eq = rel_diff(np_eq, e_eq, 1.0)
    d_tok = rel_diff(np_tok, e_tok, 1.0)
    print(f"  numpy exact sweep vs epcore, equal:  max {d_eq.max():.1e} relative (absolute in J below 1 J) over "
          f"{n_req:,} requests")
    print(f"  numpy exact sweep vs epcore, tokens: max {d_tok.max():.1e}")
    d_loop = rel_diff(loop_e, e_eq[idx])
    print(f"  numpy loop vs epcore, equal, {subset:,} requests: max {d_loop.max():.1e}, p99 "
          f"{np.percentile(d_loop, 99):.1e}, median {np.median(d_loop):.1e} relative; the loop drops the part of "
          "the window outside its first and last sample (up to ~1 ms at each end of a ≥5 s window) and takes N at "
          "the samples, not between the events")
    if pd_e is not None:
        print(f"  pandas loop vs numpy loop: max abs diff {np.max(np.abs(pd_e - loop_e)):.1e} J (same slices)")
    cons = abs(att_tok.attributed_energy_j + att_tok.unattributed_energy_j - att_tok.total_energy_j)
    cons /= att_tok.total_energy_j
    print(f"  epcore tokens: attributed {att_tok.attributed_energy_j:,.1f} J + unattributed "
          f"{att_tok.unattributed_energy_j:,.1f} J vs total {att_tok.total_energy_j:,.1f} J: rel diff {cons:.1e}; "
          f"J/output token {att_tok.joules_per_output_token:.4f} (equal {att_eq.joules_per_output_token:.4f})")

    rss_note = ""
    rss: dict[str, dict[str, Any]] = {}
    if not args.no_child:
        for w in ("equal", "tokens"):
            rss[w] = child_rss(n_samples, n_req, w)
        base_mib = 16 * n_samples / 2**20
        reset = all(r["reset"] for r in rss.values())
        print("\npeak RSS, a fresh process per weight (data generated there, inputs built, "
              + ("VmHWM reset via /proc/self/clear_refs, " if reset else "VmHWM NOT reset (clear_refs refused), ")
              + "then one call):")
        for w, x in rss.items():
            up = (x["hwm_after_kb"] - x["rss_before_kb"]) / 1024
            print(f'  weight="{w}": RSS {x["rss_before_kb"] / 1024:,.0f} MiB before the call, peak '
                  f'{x["hwm_after_kb"] / 1024:,.0f} MiB during it (+{up:,.0f} MiB; {x["s"]:.3f} s, first call '
                  f"in the process); the trace's samples are {base_mib:,.0f} MiB")
        x = rss["tokens"]
        up = (x["hwm_after_kb"] - x["rss_before_kb"]) / 1024
        rss_note = f'peak RSS {x["hwm_after_kb"] / 1024:,.0f} MiB, +{up:,.0f} MiB during the call'

    size = f"{n_req:.0e} requests over {n_samples:.0e} samples"
    targets = [
        Target(f'attribute {size}: epcore weight="tokens" (best s)', ep_tok, 1.0, unit="s", higher_is_better=False,
               note=rss_note),
        Target(f'attribute {size}: epcore weight="equal" (best s)', ep_eq, 1.0, unit="s", higher_is_better=False),
        Target('numpy exact sweep matches epcore, equal + tokens (max rel diff, abs below 1 J)',
               float(max(d_eq.max(), d_tok.max())), EXACT_TOL, unit="rel", higher_is_better=False),
        Target(f"numpy per-request loop matches epcore equal split on {subset:,} requests (max rel diff)",
               float(d_loop.max()), LOOP_TOL, unit="rel", higher_is_better=False),
    ]
    print("\n## summary\n")
    for tg in targets:
        print(tg.line())
    print(f"  ratio: numpy per-request loop (extrapolated) ÷ epcore equal = {t_np / ep_eq:,.1f}×, "
          f"÷ epcore tokens = {t_np / ep_tok:,.1f}×")
    if pd_name:
        print(f"  ratio: pandas per-request loop (extrapolated) ÷ epcore equal = {t_pd / ep_eq:,.1f}×, "
              f"÷ epcore tokens = {t_pd / ep_tok:,.1f}×")
    t_sw_eq = best['[extra] numpy exact sweep, vectorized, "equal"']
    t_sw_tok = best['[extra] numpy exact sweep, vectorized, "tokens"']
    print(f"  ratio [extra]: numpy exact sweep ÷ epcore: equal {t_sw_eq / ep_eq:.2f}×, "
          f"tokens {t_sw_tok / ep_tok:.2f}× (epcore also estimates idle power, runs the regression and the "
          "distribution)")
    if pandas_note:
        print(f"  note: {pandas_note}")
    print(f"  subset loops extrapolated from {subset:,} to {n_req:,} requests ({si(scale)}×)")
    n_met = sum(t.met for t in targets)
    print(f"\n{n_met}/{len(targets)} targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
