"""Run-level energy summaries that benchmark harnesses publish: energy and tokens per run.

Not traces: each row is a whole run (or a steady-state window) with its
energy or average power and its token count. They are what users compare a
measured trace against, and what the steady-state calculator takes. Formats:

- ``mlenergy``: ML.ENERGY leaderboard ``tasks/*.json`` (``configurations``) or
  the flattened CSV; steady-state ``avg_power_watts`` (all GPUs) and
  ``output_throughput_tokens_per_sec``;
- ``codecarbon-vllm``: CodeCarbon-vLLM ``output_N.csv`` (``metric,value``;
  component energies already include the PUE);
- ``codecarbon-vllm-summary``: its per-request-rate ``summary.csv`` (means of 5 runs);
- ``llm-energy-bench``: ``summary.csv`` of Quirence llm-energy-bench (NVML counter joules);
- ``energy-summary-json``: a JSON object with ``M1_total_energy_J`` / ``M2_total_tokens``
  (chuyishang inference-energy);
- ``codecarbon-vllm-log``: its per-request text log (``Token Length`` / ``TTFT`` / ``TPOT`` /
  ``Output Tokens`` blocks, units inside values, no timestamps): the run's tokens and latencies;
- ``vllm-bench``: ``vllm bench serve`` result JSON with its energy keys (``gpu_energy_j``).

Aggregates are ratios of sums (ΣJ / Σtokens), never means of per-run ratios.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .exceptions import ParseError, SchemaError

__all__ = ["RunSummary", "RunSummaries", "read_runs", "RUN_FORMATS"]

RUN_FORMATS = ("mlenergy", "codecarbon-vllm", "codecarbon-vllm-summary", "codecarbon-vllm-log", "llm-energy-bench",
               "energy-summary-json", "vllm-bench")
KWH_J = 3.6e6
MAX_BYTES = 256 << 20


@dataclass(frozen=True)
class RunSummary:
    """One run as its source reports it. ``energy_j`` is IT energy (no PUE) when the
    source says which; ``facility_energy_j`` includes the PUE."""

    label: str
    source: str
    line: int | None = None
    model: str | None = None
    hardware: str | None = None
    energy_j: float | None = None
    facility_energy_j: float | None = None
    pue: float | None = None
    duration_s: float | None = None
    avg_power_w: float | None = None
    output_tokens: float | None = None
    input_tokens: float | None = None
    output_tokens_per_s: float | None = None
    #: The J per output token the source itself states, if it does.
    reported_joules_per_output_token: float | None = None
    #: True for a steady-state window rather than a whole run.
    steady_state: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def joules_per_output_token(self) -> float | None:
        """Energy ÷ output tokens, or average power ÷ output throughput (steady state); None if neither is known."""
        if self.energy_j is not None and self.output_tokens:
            return self.energy_j / self.output_tokens
        if self.avg_power_w is not None and self.output_tokens_per_s:
            return self.avg_power_w / self.output_tokens_per_s
        return None

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "extra"}
        d["joules_per_output_token"] = self.joules_per_output_token
        d["extra"] = dict(self.extra)
        return d


class RunSummaries(tuple[RunSummary, ...]):
    """The runs of a file, with ratio-of-sums totals."""

    @property
    def energy_j(self) -> float | None:
        es = [r.energy_j for r in self]
        return math.fsum(e for e in es if e is not None) if es and all(e is not None for e in es) else None

    @property
    def output_tokens(self) -> float | None:
        ts = [r.output_tokens for r in self]
        return math.fsum(t for t in ts if t is not None) if ts and all(t is not None for t in ts) else None

    @property
    def joules_per_output_token(self) -> float | None:
        """ΣJ / Σtokens over the runs (None unless every run has both)."""
        e, t = self.energy_j, self.output_tokens
        return e / t if e is not None and t else None


def _num(raw: Any, *, path: str, line: int | None, column: str, required: bool = True) -> float | None:
    """A finite number from a JSON value or CSV text; typed error otherwise."""
    if raw is None or (isinstance(raw, str) and raw.strip() in ("", "null", "None", "N/A", "NA")):
        if required:
            raise ParseError(
                f"{path}:{line}: column {column}: missing value" if line else f"{path}: {column}: missing value",
                code="bad_value", path=path, line=line, column=column, value="", reason="missing value",
                hint="the summary row is incomplete",
            )
        return None
    try:
        x = float(raw)
    except (TypeError, ValueError):
        x = math.nan
    if isinstance(raw, bool) or not math.isfinite(x):
        where = f"{path}:{line}: column {column}" if line else f"{path}: {column}"
        raise ParseError(
            f"{where}: cannot read {str(raw)[:64]!r} as a finite number", code="bad_value", path=path, line=line,
            column=column, value=str(raw)[:64], reason="not a finite number", hint="numbers are plain decimals",
        )
    return x


def _read_text(path: str) -> str:
    size = os.path.getsize(path)
    if size > MAX_BYTES:
        raise ParseError(f"{path}: {size} bytes is too large for a run summary", code="record_too_long", path=path,
                         reason="file too large", hint="run summaries are small files; is this a trace?")
    raw = open(path, "rb").read()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ParseError(f"{path}: not UTF-8 text (byte {e.start})", code="unsupported_encoding", path=path,
                         byte_offset=e.start, reason="invalid UTF-8", hint="re-save the file as UTF-8") from None


def _json(path: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ParseError(f"{path}:{e.lineno}: invalid JSON: {e.msg}", code="bad_value", path=path, line=e.lineno,
                         byte_offset=e.pos, reason=e.msg, hint="is the file complete?") from None


def _rows(path: str, text: str) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    for row in reader:
        if None in row or any(v is None for v in row.values()):
            raise ParseError(f"{path}:{reader.line_num}: wrong number of fields", code="unequal_lengths", path=path,
                             line=reader.line_num, reason="wrong number of fields",
                             hint="a quoted comma or a cut line?")
        yield reader.line_num, row


def _sniff(path: str, text: str) -> str:
    head = text.lstrip()[:4096]
    if head.startswith("{"):
        if '"configurations"' in head:
            return "mlenergy"
        if '"M1_total_energy_J"' in head:
            return "energy-summary-json"
        if '"gpu_energy_j"' in text or '"output_throughput"' in head:
            return "vllm-bench"
    if "\nToken Length:" in head and "\nOutput Tokens:" in head:
        return "codecarbon-vllm-log"
    first = head.splitlines()[0] if head else ""
    if first.startswith("metric,value"):
        return "codecarbon-vllm"
    if "Avg EFU" in first:
        return "codecarbon-vllm-summary"
    if "gpu_energy_joules" in first and "output_tokens" in first:
        return "llm-energy-bench"
    if "energy_per_token_joules" in first and "avg_power_watts" in first:
        return "mlenergy"
    raise SchemaError(
        f"{path}: not a run summary epcore recognises", code="unrecognized_format", path=path, line=1,
        reason="unknown layout", hint=f"name it with format= (one of: {', '.join(RUN_FORMATS)})",
    )


def _mlenergy(path: str, text: str) -> list[RunSummary]:
    if text.lstrip().startswith("{"):
        doc = _json(path, text)
        confs = doc.get("configurations") if isinstance(doc, dict) else None
        if not isinstance(confs, list):
            raise SchemaError(f"{path}: no 'configurations' list", code="schema", path=path,
                              reason="missing configurations", hint="expected an ML.ENERGY tasks/*.json file")
        items: list[tuple[int | None, Mapping[str, Any]]] = [(None, c) for c in confs]
        task = str(doc.get("task", ""))
    else:
        items = list(_rows(path, text))
        task = ""
    out = []
    for i, (line, c) in enumerate(items):
        if not isinstance(c, Mapping):
            raise SchemaError(f"{path}: configuration {i} is not an object", code="schema", path=path,
                              reason="not an object", hint="expected an ML.ENERGY tasks/*.json file")
        def n(key: str, required: bool = True) -> float | None:
            return _num(c.get(key), path=path, line=line, column=key if line else f"configurations[{i}].{key}",
                        required=required)
        out.append(RunSummary(
            label=f"{c.get('task', task)}/{c.get('model_id')}/{c.get('gpu_model')}x{c.get('num_gpus')}"
                  f"/batch{c.get('max_num_seqs')}",
            source=path, line=line, model=str(c.get("model_id")), hardware=f"{c.get('num_gpus')}x{c.get('gpu_model')}",
            avg_power_w=n("avg_power_watts"), output_tokens_per_s=n("output_throughput_tokens_per_sec"),
            reported_joules_per_output_token=n("energy_per_token_joules"), steady_state=True,
            extra={"energy_per_request_joules": n("energy_per_request_joules", False),
                   "avg_output_len": n("avg_output_len", False), "max_num_seqs": n("max_num_seqs", False),
                   "avg_batch_size": n("avg_batch_size", False)},
        ))
    return out


def _metric_value(path: str, text: str) -> list[RunSummary]:
    m: dict[str, tuple[int, str]] = {}
    reader = csv.reader(io.StringIO(text, newline=""))
    for row in reader:
        if reader.line_num == 1:
            continue
        if len(row) != 2:
            raise ParseError(f"{path}:{reader.line_num}: expected 2 fields, found {len(row)}",
                             code="unequal_lengths", path=path, line=reader.line_num, reason="expected metric,value",
                             hint="a quoted comma?")
        m[row[0].strip()] = (reader.line_num, row[1].strip())

    def n(key: str, required: bool = True) -> float | None:
        line, raw = m.get(key, (None, None))
        if raw is None and required:
            raise SchemaError(f"{path}: no '{key}' row", code="schema", path=path, column=key,
                              reason=f"missing metric {key!r}", hint="expected a CodeCarbon-vLLM output_N.csv")
        return _num(raw, path=path, line=line, column=key, required=required)

    total = n("Total energy after PUE (kWh)")
    raw_it = n("Raw IT energy before PUE (kWh)")
    pue = n("PUE used")
    assert total is not None and raw_it is not None
    efu = n("Energy Consumption per Functional Unit (kWh/FU)", False)
    return [RunSummary(
        label=os.path.basename(path), source=path, model=m.get("Model benchmarked", (0, None))[1],
        energy_j=raw_it * KWH_J, facility_energy_j=total * KWH_J, pue=pue, output_tokens=n("Total output tokens"),
        reported_joules_per_output_token=None if efu is None else efu * KWH_J,
        extra={"gpu_energy_j": (n("GPU energy (kWh)", False) or 0.0) * KWH_J,
               "cpu_energy_j": (n("CPU energy (kWh)", False) or 0.0) * KWH_J,
               "ram_energy_j": (n("RAM energy (kWh)", False) or 0.0) * KWH_J,
               "request_rate_rps": n("Request rate (rps)", False),
               "carbon_kg_per_kwh": n("Carbon intensity used (kgCO2eq/kWh)", False),
               "started": m.get("Benchmark datetime", (0, None))[1]},
    )]


def _codecarbon_summary(path: str, text: str) -> list[RunSummary]:
    out = []
    for line, r in _rows(path, text):
        def n(key: str) -> float | None:
            return _num(r.get(key), path=path, line=line, column=key)
        energy, pue, tokens = n("Avg Energy Consumed (kWh)"), n("PUE"), n("Avg Output Tokens")
        assert energy is not None and pue is not None
        efu = n("Avg EFU (kWh/FU)")
        out.append(RunSummary(
            label=f"{r['Model']} {r['FU_Config']} {r['RPS']} rps", source=path, line=line, model=r["Model"],
            energy_j=energy * KWH_J / pue, facility_energy_j=energy * KWH_J, pue=pue, output_tokens=tokens,
            reported_joules_per_output_token=None if efu is None else efu * KWH_J,
            extra={"request_rate_rps": n("RPS"), "runs": r.get("CSV Files", "").count(";") + 1},
        ))
    return out


def _llm_energy_bench(path: str, text: str) -> list[RunSummary]:
    out = []
    for line, r in _rows(path, text):
        def n(key: str, required: bool = True) -> float | None:
            return _num(r.get(key), path=path, line=line, column=key, required=required)
        out.append(RunSummary(
            label=f"{r.get('model')} {r.get('prompt_category')}", source=path, line=line, model=r.get("model"),
            hardware=r.get("host_id"), energy_j=n("gpu_energy_joules"), output_tokens=n("output_tokens"),
            input_tokens=n("prompt_tokens"), reported_joules_per_output_token=n("joules_per_output_token", False),
            extra={"requests": n("request_count", False), "energy_source": r.get("energy_source"),
                   "median_power_w": n("average_gpu_power_median_watts", False)},
        ))
    return out


def _energy_summary_json(path: str, text: str) -> list[RunSummary]:
    d = _json(path, text)
    if not isinstance(d, dict):
        raise SchemaError(f"{path}: expected a JSON object", code="schema", path=path, reason="not an object",
                          hint="expected M1_total_energy_J, M2_total_tokens, ...")

    def n(key: str, required: bool = True) -> float | None:
        return _num(d.get(key), path=path, line=None, column=key, required=required)

    return [RunSummary(
        label=os.path.basename(path), source=path, energy_j=n("M1_total_energy_J"), output_tokens=n("M2_total_tokens"),
        duration_s=n("M3_total_time_s"), avg_power_w=n("M6_avg_power_W", False),
        reported_joules_per_output_token=n("D1_energy_per_token_J", False),
        extra={"idle_power_w": n("idle_power_W", False), "active_energy_j": n("active_energy_J", False),
               "requests": n("total_requests", False), "peak_power_w": n("M7_peak_power_W", False)},
    )]


def _vllm_bench(path: str, text: str) -> list[RunSummary]:
    d = _json(path, text)
    if not isinstance(d, dict) or "gpu_energy_j" not in d:
        raise SchemaError(f"{path}: no 'gpu_energy_j' key", code="schema", path=path, column="gpu_energy_j",
                          reason="no energy keys",
                          hint="vllm bench serve writes energy keys only with its GPU energy meter; "
                               "otherwise read the request log with epcore.read_requests and a power trace")

    def n(key: str, required: bool = True) -> float | None:
        return _num(d.get(key), path=path, line=None, column=key, required=required)

    return [RunSummary(
        label=os.path.basename(path), source=path, model=d.get("model_id"), energy_j=n("gpu_energy_j"),
        duration_s=n("gpu_energy_duration_s", False), avg_power_w=n("gpu_avg_power_w", False),
        output_tokens=n("total_output_tokens"), input_tokens=n("total_input_tokens", False),
        reported_joules_per_output_token=n("gpu_energy_per_output_token_j", False),
    )]


_DURATION_S = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6}


def _codecarbon_vllm_log(path: str, text: str) -> list[RunSummary]:
    """Blocks of ``Token Length: 12`` / ``TTFT: 0.132 s`` / ``TPOT: 63.123 ms`` / ``Output Tokens: 200``."""
    fields = {"Token Length": "input", "TTFT": "ttft", "TPOT": "tpot", "Output Tokens": "output"}
    totals = {"input": 0.0, "output": 0.0, "ttft": 0.0, "tpot": 0.0}
    seen = {k: 0 for k in totals}
    rps = None
    for line_no, line in enumerate(text.splitlines(), start=1):
        key, sep, raw = line.partition(":")
        if key == "rps" and sep:
            rps = _num(raw.strip(), path=path, line=line_no, column="rps")
        if key not in fields or not sep:
            continue
        what = fields[key]
        parts = raw.split()
        unit = parts[1] if len(parts) == 2 else None
        if len(parts) not in (1, 2) or (what in ("ttft", "tpot")) != (unit is not None) or (
                unit is not None and unit not in _DURATION_S):
            raise ParseError(f"{path}:{line_no}: {key}: cannot read {raw.strip()[:64]!r}", code="bad_value",
                             path=path, line=line_no, column=key, value=raw.strip()[:64],
                             reason="expected a number (with s or ms for times)",
                             hint="blocks read 'Token Length: 12', 'TTFT: 0.132 s', 'TPOT: 63.1 ms'")
        x = _num(parts[0], path=path, line=line_no, column=key)
        assert x is not None
        if what in ("input", "output") and (x < 0 or x != int(x)):
            raise ParseError(f"{path}:{line_no}: {key}: {parts[0]} is not a token count", code="bad_value",
                             path=path, line=line_no, column=key, value=parts[0], reason="not a whole number",
                             hint="token counts are whole numbers >= 0")
        totals[what] += x * (_DURATION_S[unit] if unit else 1.0)
        seen[what] += 1
    n = seen["output"]
    if n == 0 or len(set(seen.values())) != 1:
        raise SchemaError(f"{path}: incomplete request blocks ({seen})", code="schema", path=path,
                          reason="every block needs Token Length, TTFT, TPOT and Output Tokens",
                          hint="is the log cut short?")
    return [RunSummary(
        label=os.path.basename(path), source=path, output_tokens=totals["output"], input_tokens=totals["input"],
        extra={"requests": n, "mean_ttft_s": totals["ttft"] / n, "mean_tpot_s": totals["tpot"] / n,
               "request_rate_rps": rps},
    )]


_READERS = {
    "mlenergy": _mlenergy, "codecarbon-vllm": _metric_value, "codecarbon-vllm-summary": _codecarbon_summary,
    "codecarbon-vllm-log": _codecarbon_vllm_log, "llm-energy-bench": _llm_energy_bench, "energy-summary-json": _energy_summary_json, "vllm-bench": _vllm_bench,
}


def read_runs(path: str | os.PathLike[str], *, format: str | None = None) -> RunSummaries:
    """Read a run-level energy summary file (format sniffed, or named).

    >>> import epcore, json, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "summary.json"
    >>> _ = p.write_text(json.dumps({"M1_total_energy_J": 1000.0, "M2_total_tokens": 400, "M3_total_time_s": 10}))
    >>> runs = epcore.read_runs(p)
    >>> runs[0].joules_per_output_token, runs.joules_per_output_token
    (2.5, 2.5)
    """
    shown = os.fspath(path)
    text = _read_text(shown)
    if not text.strip():
        raise ParseError(f"{shown}: the file is empty", code="empty_input", path=shown, reason="empty",
                         hint="check that the harness wrote its summary")
    fmt = format or _sniff(shown, text)
    reader = _READERS.get(fmt)
    if reader is None:
        raise SchemaError(f"format = {fmt!r}: expected one of {', '.join(RUN_FORMATS)}", code="invalid_argument",
                          value=fmt, reason="unknown format", hint=f"one of {', '.join(RUN_FORMATS)}")
    return RunSummaries(reader(shown, text))
