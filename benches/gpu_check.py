#!/usr/bin/env python3
"""The prepared GPU check of ``epcore record``'s NVML source: one command on a machine with an NVIDIA GPU.

    python benches/gpu_check.py --out /tmp/gpu_check.parquet

What it does, in order:

1. NVML and torch: ``pynvml.nvmlInit()`` (nvidia-ml-py) and ``torch.cuda``. Where
   either is missing it prints one ``skipped: no GPU (...)`` line and exits 0, or
   exits 1 under ``--require-gpu``. Nothing here fakes NVML: the check runs the
   real library or does not run.
2. Records every visible GPU with :class:`epcore.record.NvmlSource` at
   ``--interval-ms`` (20) into ``--out`` while a workload runs: ``--idle-s`` (1)
   idle, ``--seconds`` (10) of bf16 matmuls on ``cuda:0``, ``--idle-s`` idle.
   The tensors are made before the recording starts, so CUDA's start-up is not
   in it.
3. Independently of epcore, reads each recorded GPU's total-energy counter
   (``nvmlDeviceGetTotalEnergyConsumption``, mJ) just before the recording starts
   and just after it stops, by UUID: the recorder's counter energy must fall
   within that bracket (it covers a slightly shorter span), which checks units,
   device mapping and the counter field end to end.
4. Per GPU: energy from the counter and from integrated power, and their
   difference (%); the sampler's achieved rate, p99 interval and CPU %; the
   power field used (``NVML_FI_DEV_POWER_INSTANT`` or averaged
   ``nvmlDeviceGetPowerUsage``).
5. Reads ``--out`` back with :func:`epcore.read_power` and runs ``epcore energy``
   and ``epcore attribute --power OUT`` on it (one pseudo-request spanning the
   matmul phase), so the file is known to feed the analysis commands.

Exit status: 0 when every GPU with both quantities agrees within
``--tolerance-pct`` (5) and the file reads back; 1 otherwise (each failed
check is printed as ``FAIL: ...``). ``--json`` also prints all figures as one
JSON object on the last line.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from epcore.record import RecordReport, SourceInfo

# bf16 matmuls of this size keep a datacenter GPU near its power limit; smaller ones leave it idling on launches.
_N = 8192
_BATCH = 20  # matmuls queued between synchronizations: the GPU never waits on Python


def _skip(reason: str, require_gpu: bool) -> int:
    print(f"skipped: no GPU ({reason})")
    return 1 if require_gpu else 0


def _nvml_problem() -> str | None:
    """None when NVML initialises and sees a GPU; else why not, in a few words."""
    try:
        import pynvml
    except ImportError:
        return "nvidia-ml-py is not installed: pip install 'epcore[nvml]'"
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as e:
        return f"NVML did not initialise: {e}"
    try:
        if pynvml.nvmlDeviceGetCount() == 0:
            return "NVML sees no GPU"
    finally:
        pynvml.nvmlShutdown()
    return None


def _torch_problem() -> str | None:
    try:
        torch: Any = importlib.import_module("torch")
    except ImportError:
        return "torch is not installed; the workload needs torch with CUDA"
    if not torch.cuda.is_available():
        return "torch.cuda.is_available() is False (CPU-only torch, or CUDA_VISIBLE_DEVICES hides every GPU)"
    return None


class _Workload:
    """bf16 matmuls on cuda:0 with an idle stretch before and after; times in wall-clock ns."""

    def __init__(self, seconds: float, idle_s: float) -> None:
        # Through importlib: torch is only on GPU machines, and the type checker need not know it.
        torch: Any = importlib.import_module("torch")
        self.torch = torch
        self.seconds, self.idle_s = seconds, idle_s
        dev = torch.device("cuda:0")
        self.a = torch.randn(_N, _N, device=dev, dtype=torch.bfloat16)
        self.b = torch.randn(_N, _N, device=dev, dtype=torch.bfloat16)
        self.a @ self.b  # cuBLAS picks its kernel now, not inside the recording
        torch.cuda.synchronize()
        self.start_ns = self.end_ns = 0
        self.n_matmuls = 0

    def run(self) -> None:
        time.sleep(self.idle_s)
        self.start_ns = time.time_ns()
        t0 = time.monotonic()
        while time.monotonic() - t0 < self.seconds:
            for _ in range(_BATCH):
                self.a @ self.b
            self.torch.cuda.synchronize()
            self.n_matmuls += _BATCH
        self.end_ns = time.time_ns()
        time.sleep(self.idle_s)

    @property
    def tflops(self) -> float:
        return 2 * _N**3 * self.n_matmuls / ((self.end_ns - self.start_ns) / 1e9) / 1e12


def _counters_mj() -> dict[str, int]:
    """Every GPU's total-energy counter (mJ since the driver loaded), straight from NVML, by UUID.

    A GPU without the counter is left out (its bracket is then n/a)."""
    import pynvml

    out = {}
    for i in range(pynvml.nvmlDeviceGetCount()):
        h = pynvml.nvmlDeviceGetHandleByIndex(i)
        uuid = pynvml.nvmlDeviceGetUUID(h)
        try:
            out[uuid.decode() if isinstance(uuid, bytes) else str(uuid)] = int(
                pynvml.nvmlDeviceGetTotalEnergyConsumption(h))
        except pynvml.NVMLError_NotSupported:
            continue
    return out


def _iso(ns: int) -> str:
    return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _cli_json(*args: str) -> tuple[int, dict[str, Any] | None, str]:
    """``epcore ARGS --json`` in-process: (exit code, the JSON object, stderr)."""
    from epcore.cli import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli(*args, "--json")
    try:
        return code, json.loads(out.getvalue()), err.getvalue()
    except json.JSONDecodeError:
        return code, None, err.getvalue()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("/tmp/gpu_check.parquet"), help=".parquet or .csv")
    ap.add_argument("--interval-ms", type=float, default=20.0)
    ap.add_argument("--seconds", type=float, default=10.0, help="matmul phase, s")
    ap.add_argument("--idle-s", type=float, default=1.0, help="idle before and after the matmuls, s")
    ap.add_argument("--tolerance-pct", type=float, default=5.0, help="counter vs integrated power, %%")
    ap.add_argument("--require-gpu", action="store_true", help="exit 1 instead of 0 when there is no GPU")
    ap.add_argument("--json", action="store_true", help="also print every figure as one JSON line")
    args = ap.parse_args(argv)

    problem = _nvml_problem() or _torch_problem()
    if problem is not None:
        return _skip(problem, args.require_gpu)

    import pynvml

    import epcore
    from epcore.record import NvmlSource, Recorder, journal_path, meta_path

    # The script's own output from an earlier run: the recorder never overwrites a file, so clear it to rerun.
    for old in (args.out, meta_path(args.out), journal_path(args.out), meta_path(journal_path(args.out))):
        old.unlink(missing_ok=True)
    # Our own NVML session for the bracket reads: NVML counts inits, so the recorder's shutdown leaves it open.
    pynvml.nvmlInit()
    try:
        work = _Workload(args.seconds, args.idle_s)
        rec = Recorder(NvmlSource(None), interval_ms=args.interval_ms, out=args.out,
                       metadata={"workload": f"gpu_check: {args.seconds:g} s bf16 matmuls on cuda:0"})
        before_mj = _counters_mj()  # every GPU, by UUID: the bracket opens before the recording does
        with rec:
            work.run()
        after_mj = _counters_mj()
    finally:
        pynvml.nvmlShutdown()
    assert rec.info is not None
    failures = _check_report(rec.report, rec.info, before_mj, after_mj, work, args)
    failures += _read_back(epcore, args.out, work, rec.report.energy_j, args.tolerance_pct, _FIGURES)
    for f in failures:
        print(f"FAIL: {f}")
    print("ok: counter and integrated power agree, the file reads back" if not failures else
          f"{len(failures)} check(s) failed")
    if args.json:
        print(json.dumps(_FIGURES, allow_nan=False, default=str))
    return 1 if failures else 0


# Every figure printed, for --json.
_FIGURES: dict[str, Any] = {}


def _check_report(report: RecordReport, info: SourceInfo, before_mj: dict[str, int], after_mj: dict[str, int],
                  work: _Workload, args: argparse.Namespace) -> list[str]:
    """Print the recorder's figures per GPU; the checks that failed, as lines."""
    s = report.stats
    _FIGURES.update({
        "out": str(args.out), "interval_ms": args.interval_ms, "workload_s": args.seconds, "idle_s": args.idle_s,
        "tflops_bf16": work.tflops, "duration_s": report.duration_s, **s.to_dict(), "source": info.to_dict(),
        "channels": [],
    })
    print(f"workload: {args.seconds:g} s of {_N}x{_N} bf16 matmuls on cuda:0, {work.tflops:.0f} TFLOP/s, "
          f"{args.idle_s:g} s idle before and after")
    print(f"sampler: {s.n_samples} samples in {report.duration_s:.2f} s, {s.achieved_hz:.2f} Hz achieved at "
          f"{args.interval_ms:g} ms, interval p50 {_ms(s.interval_p50_ms)}, p99 {_ms(s.interval_p99_ms)}, "
          f"max {_ms(s.interval_max_ms)}, {s.n_late} late, {s.n_skipped} skipped, "
          f"sampler CPU {s.cpu_percent:.2f} % of one core")
    failures = []
    if s.n_skipped > 0.01 * max(1, s.n_samples):
        failures.append(f"the sampler skipped {s.n_skipped} of {s.n_samples + s.n_skipped} deadlines (> 1 %)")
    for ch, meta in zip(report.channels, info.channels):
        uuid = meta.meta.get("uuid")
        bracket_j = (after_mj[uuid] - before_mj[uuid]) / 1e3 if uuid in before_mj and uuid in after_mj else None
        print(f"{ch.name} ({meta.meta.get('name', '?')}, {uuid}, driver {meta.meta.get('driver_version', '?')}): "
              f"power from {ch.power_field} ({ch.power_semantics}), counter {ch.energy_field}")
        print(f"  energy: counter {_j(ch.energy_counter_j)}, integrated power {_j(ch.energy_power_j)}, "
              f"difference {_j(ch.difference_j)} ({_pct(ch.difference_percent)}); NVML counter read around "
              f"the recording {_j(bracket_j)}; {ch.n_missing} missing reads")
        _FIGURES["channels"].append({**ch.to_dict(), "uuid": uuid, "gpu": meta.meta.get("name"),
                                     "nvml_bracket_j": bracket_j})
        if ch.energy_counter_j is None or ch.energy_power_j is None:
            failures.append(f"{ch.name}: needs both the energy counter and power to compare "
                            f"(counter {_j(ch.energy_counter_j)}, power {_j(ch.energy_power_j)})")
        elif ch.difference_percent is None or abs(ch.difference_percent) > args.tolerance_pct:
            failures.append(f"{ch.name}: counter and integrated power differ by {_pct(ch.difference_percent)} "
                            f"(more than {args.tolerance_pct:g} %)")
        if bracket_j is not None and ch.energy_counter_j is not None:
            # The recording starts after the first bracket read and ends before the second, so it must fall
            # inside; the bracket also holds the recorder's start and stop (ms at idle power), hence 90 %.
            # A unit slip (mJ as J) or the wrong GPU is far outside either bound.
            if not (0.0 <= ch.energy_counter_j <= bracket_j):
                failures.append(f"{ch.name}: recorded counter energy {_j(ch.energy_counter_j)} is outside "
                                f"NVML's own reading around the recording ({_j(bracket_j)})")
            elif ch.energy_counter_j < 0.9 * bracket_j:
                failures.append(f"{ch.name}: recorded counter energy {_j(ch.energy_counter_j)} is under 90 % of "
                                f"NVML's own reading around the recording ({_j(bracket_j)})")
    return failures


def _read_back(epcore: Any, out: Path, work: _Workload, recorded_j: float, tolerance_pct: float,
               figures: dict[str, Any]) -> list[str]:
    """The file through read_power, ``epcore energy`` and ``epcore attribute``: what failed, if anything."""
    failures = []
    # The file holds both columns; the canonical readers integrate power_w: compare with the power figures.
    tr = epcore.read_power(out)
    figures["read_back"] = {"energy_j": tr.energy_j, "n_samples": tr.quality.n_samples, "channels": tr.channels}
    print(f"read back: {out} holds {tr.quality.n_samples} samples on {len(tr.channels)} channel(s), "
          f"integrating to {_j(tr.energy_j)} (recorder's preferred total {_j(recorded_j)})")
    if recorded_j > 0 and abs(tr.energy_j - recorded_j) > tolerance_pct / 100 * recorded_j:
        failures.append(f"the file integrates to {_j(tr.energy_j)}, the recorder reported {_j(recorded_j)}")
    code, energy, err = _cli_json("energy", str(out))
    if code != 0 or energy is None:
        failures.append(f"epcore energy {out} exited {code}: {err.strip()}")
    with tempfile.TemporaryDirectory() as d:
        requests = Path(d) / "requests.csv"
        # One pseudo-request over the matmul phase: attribution must find the workload's energy in it.
        requests.write_text("request_id,start_time,end_time,input_tokens,output_tokens\n"
                            f"matmuls,{_iso(work.start_ns)},{_iso(work.end_ns)},1,{max(1, work.n_matmuls)}\n")
        code, att, err = _cli_json("attribute", "--power", str(out), "--requests", str(requests))
    if code != 0 or att is None:
        failures.append(f"epcore attribute --power {out} exited {code}: {err.strip()}")
    else:
        figures["attribute"] = {k: v for k, v in att.items() if k != "requests"}
        shown = {k: figures["attribute"].get(k) for k in ("total_energy_j", "attributed_energy_j",
                                                          "unattributed_energy_j")}
        print(f"epcore attribute --power {out}: exit 0; {json.dumps(shown, default=str)}")
    return failures


def _j(v: float | None) -> str:
    return "n/a" if v is None else f"{v:,.1f} J"


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:+.2f} %"


def _ms(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f} ms"


if __name__ == "__main__":
    sys.exit(main())
