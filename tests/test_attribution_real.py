"""J per output token on the real files of ``shared/data/real``, and ``epcore.attribute`` where they allow it.

What the files hold (their SOURCE.md):

- ``quirence-llm-energy-bench``: per-request records (``outputs_excerpt.jsonl``, 3 of the run's
  480 requests) with wall-clock start / first token / end, token counts and NVML counter joules, and a
  per-category ``summary.csv`` (40 requests a row). No power trace was copied (``telemetry.jsonl.gz``
  was left out), so the attribution tests below rebuild a trace from the records' own figures: they check
  epcore's plumbing (the records' real clocks and tokens, shares, J/token, ratio-of-sums aggregate,
  idle and dynamic energy), not a physical measurement.
- ``codecarbon-vllm-inference``: run-level totals (``output/output_N.csv``, one vLLM run of 200 requests
  each) and per-request-rate summaries; one per-request text log (Llama, run 1) with tokens, TTFT and
  TPOT but no timestamps and no energy, so no per-request attribution is possible from it.
- No other file pairs a power trace with request timings: the nvidia-smi serving traces come with
  ``latency_ms`` columns only (no start times, no tokens), zeus-nvml-sample and dcgm-exporter-scrapes
  have no requests, chuyishang and mlenergy are run summaries. The chuyishang total-vs-active figures are
  checked below as the one real reference for dynamic (idle-subtracted) J/token.

Aggregates are ratios of sums (ΣJ / Σtokens), never means of ratios (ROBUSTNESS.md §3.6).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import epcore

KWH_J = 3.6e6
QUIRENCE = "quirence-llm-energy-bench"
CC_VLLM = "codecarbon-vllm-inference"

needs_attribute = pytest.mark.skipif(not hasattr(epcore, "attribute"), reason="epcore.attribute not built yet")


# --------------------------------------------------------------------------- quirence: per-request records


def _records(shared_data: Path) -> list[dict[str, Any]]:
    path = shared_data / QUIRENCE / "outputs_excerpt.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_quirence_per_request_joules_per_output_token(shared_data: Path) -> None:
    """Each record's J/output token is its counter energy ÷ its output tokens; the aggregate is ΣJ/ΣO."""
    recs = _records(shared_data)
    assert len(recs) == 3
    energy = [r["metrics"]["gpu_energy_joules"] for r in recs]
    out = [r["metrics"]["output_tokens"] for r in recs]
    for r, e, o in zip(recs, energy, out):
        m = r["metrics"]
        assert o == r["eval_count"] and m["prompt_tokens"] == r["prompt_eval_count"]
        assert m["energy_source"] == "total_energy_counter"
        assert math.isclose(m["joules_per_output_token"], e / o, rel_tol=1e-12)
        assert math.isclose(m["output_tokens_per_joule"], o / e, rel_tol=1e-12)
    assert [round(e / o, 4) for e, o in zip(energy, out)] == [1.3881, 1.3533, 1.5992]
    # epcore reads the same token counts from the file.
    reqs = epcore.read_requests(shared_data / QUIRENCE / "outputs_excerpt.jsonl")
    assert reqs.output_tokens.tolist() == out and reqs.total_output_tokens == 229
    # Ratio of sums 327.09 J / 229 tokens = 1.4283, not the mean of the three ratios (1.4469).
    agg = math.fsum(energy) / sum(out)
    assert agg == pytest.approx(327.09 / 229, rel=1e-12)
    assert round(agg, 4) == 1.4283
    assert round(sum(e / o for e, o in zip(energy, out)) / 3, 4) == 1.4469
    # The three are "long" prompts of qwen3 q4_K_M; that category's 40-request ratio is 1.4558.
    rows = epcore.read_runs(shared_data / QUIRENCE / "summary.csv")
    (cat,) = [r for r in rows if r.label == "qwen3:4b-instruct-2507-q4_K_M long"]
    assert {r["prompt_category"] for r in recs} == {"long"}
    assert 0.95 < agg / cat.joules_per_output_token < 1.0


def test_quirence_summary_ratio_of_sums(shared_data: Path) -> None:
    """summary.csv: per row J/output token = gpu_energy_joules ÷ output_tokens (40 requests each);
    per model and overall the aggregate is ΣJ/ΣO, which the mean of the row ratios overstates by 15 %."""
    path = shared_data / QUIRENCE / "summary.csv"
    with open(path, newline="") as f:
        raw = list(csv.DictReader(f))
    runs = epcore.read_runs(path)
    assert len(runs) == len(raw) == 12
    for r, row in zip(runs, raw):
        assert int(row["request_count"]) == 40
        assert r.energy_j == float(row["gpu_energy_joules"]) and r.output_tokens == float(row["output_tokens"])
        assert math.isclose(r.joules_per_output_token, float(row["joules_per_output_token"]), rel_tol=1e-10)
    e = math.fsum(r.energy_j for r in runs)
    o = sum(r.output_tokens for r in runs)
    assert runs.joules_per_output_token == pytest.approx(e / o, rel=1e-15)
    assert round(e, 3) == 67774.315 and o == 46590
    assert round(e / o, 4) == 1.4547
    mean_of_ratios = sum(r.joules_per_output_token for r in runs) / len(runs)
    assert round(mean_of_ratios, 4) == 1.6751
    per_model: dict[str, list[Any]] = {}
    for r in runs:
        per_model.setdefault(r.model, []).append(r)
    got = {m: round(math.fsum(x.energy_j for x in rs) / sum(x.output_tokens for x in rs), 4)
           for m, rs in per_model.items()}
    assert got == {"llama3.2:3b-instruct-q4_K_M": 1.1153, "llama3.2:3b-instruct-q8_0": 1.4831,
                   "qwen3:4b-instruct-2507-q4_K_M": 1.4016, "qwen3:4b-instruct-2507-q8_0": 1.8793}


def _hold_trace(reqs: Any, level_w: list[float], idle_w: float) -> Any:
    """One channel, "hold" rule: ``level_w[i]`` over [start_i, end_i), ``idle_w`` elsewhere, on a 100 ms grid
    (the run's NVML sampling period) from 2 s before the first start to 2 s after the last end, plus a sample
    at every start and end so each window holds exactly its level."""
    s = reqs.start_ns.astype(np.int64)
    e = reqs.end_ns.astype(np.int64)
    grid = np.arange(int(s.min()) - 2_000_000_000, int(e.max()) + 2_000_000_001, 100_000_000, dtype=np.int64)
    t = np.unique(np.concatenate([grid, s, e]))
    p = np.full(len(t), idle_w)
    for si, ei, w in zip(s, e, level_w):
        p[(t >= si) & (t < ei)] = w
    return epcore.PowerTrace.from_samples({"gpu0": (t, p)}, rule="hold"), t


def _by_id(att: Any) -> dict[str, dict[str, Any]]:
    d = att.requests.to_dict()
    return {rid: {k: v[i] for k, v in d.items()} for i, rid in enumerate(d["request_id"])}


@needs_attribute
def test_quirence_attribute_reproduces_the_records(shared_data: Path) -> None:
    """Trace rebuilt from each record's energy (E_i / latency_i held over its window, 20 W between: the
    excerpt has no idle figure, 20 W is a stand-in) with the records' real clocks and tokens: epcore's
    per-request energy and J/output token equal the file's to 1e-9, the aggregate is ΣJ/ΣO, prefill and
    decode split the window at the first token, and idle "auto" finds the 20 W between requests."""
    path = shared_data / QUIRENCE / "outputs_excerpt.jsonl"
    recs = {r["request_id"]: r for r in _records(shared_data)}
    reqs = epcore.read_requests(path)
    ids = reqs.request_id.tolist()
    energy = [recs[i]["metrics"]["gpu_energy_joules"] for i in ids]
    lat_s = ((reqs.end_ns - reqs.start_ns) / 1e9).tolist()
    trace, t = _hold_trace(reqs, [e / d for e, d in zip(energy, lat_s)], 20.0)

    att = epcore.attribute(trace, reqs, weight="tokens", idle_w=None)
    rows = _by_id(att)
    for i, e, d, ttft in zip(ids, energy, lat_s, ((reqs.first_token_ns - reqs.start_ns) / 1e9).tolist()):
        r = rows[i]
        assert r["coverage"] == 1.0 and r["reason"] is None
        assert r["energy_j"] == pytest.approx(e, rel=1e-9)
        assert r["joules_per_output_token"] == pytest.approx(recs[i]["metrics"]["joules_per_output_token"], rel=1e-9)
        assert r["prefill_energy_j"] == pytest.approx(e * ttft / d, rel=1e-9)
        assert r["decode_energy_j"] == pytest.approx(e * (d - ttft) / d, rel=1e-9)
        assert r["joules_per_token"] == pytest.approx(e / (r["input_tokens"] + r["output_tokens"]), rel=1e-9)
    assert att.attributed_energy_j == pytest.approx(327.09, rel=1e-9)
    assert att.joules_per_output_token == pytest.approx(327.09 / 229, rel=1e-9)  # ratio of sums: 1.4283
    idle_s = (t[-1] - t[0]) / 1e9 - math.fsum(lat_s)
    assert att.unattributed_energy_j == pytest.approx(20.0 * idle_s, rel=1e-9)
    assert att.total_energy_j == pytest.approx(att.attributed_energy_j + att.unattributed_energy_j, rel=1e-9)

    auto = epcore.attribute(trace, reqs)
    assert auto.idle_w == {"gpu0": pytest.approx(20.0)} and auto.idle_source == {"gpu0": "idle_segments"}
    rows = _by_id(auto)
    for i, e, d in zip(ids, energy, lat_s):
        assert rows[i]["dynamic_energy_j"] == pytest.approx(e - 20.0 * d, rel=1e-9)


@needs_attribute
def test_quirence_attribute_from_average_power(shared_data: Path) -> None:
    """Trace from each record's ``average_gpu_power_watts`` alone, held over its window: epcore's energy is
    P̄ × latency, 0.89–0.93 % below the counter joules, because the file's average is over its sampled
    duration (energy ÷ P̄ = 1.125 / 1.125 / 0.766 s), 6.8–10.5 ms longer than the wall-clock request."""
    recs = {r["request_id"]: r for r in _records(shared_data)}
    reqs = epcore.read_requests(shared_data / QUIRENCE / "outputs_excerpt.jsonl")
    ids = reqs.request_id.tolist()
    power = [recs[i]["metrics"]["average_gpu_power_watts"] for i in ids]
    lat_s = ((reqs.end_ns - reqs.start_ns) / 1e9).tolist()
    trace, _ = _hold_trace(reqs, power, 20.0)
    rows = _by_id(epcore.attribute(trace, reqs, idle_w=None))
    for i, pw, d in zip(ids, power, lat_s):
        m = recs[i]["metrics"]
        sampled_s = m["gpu_energy_joules"] / pw
        assert 0.006 < sampled_s - d < 0.011
        got = rows[i]["energy_j"]
        assert got == pytest.approx(pw * d, rel=1e-9)
        assert 0.0085 < 1 - got / m["gpu_energy_joules"] < 0.0095
        assert 0.0085 < 1 - rows[i]["joules_per_output_token"] / m["joules_per_output_token"] < 0.0095


# --------------------------------------------------------------------------- codecarbon-vllm: run-level totals


def _metric_value(path: Path) -> dict[str, str]:
    with open(path, newline="") as f:
        return {row[0]: row[1] for row in csv.reader(f)}


def _summary(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


MODELS = ["meta-llama_Llama-3.1-8B", "bigscience_bloom-7b1", "TechxGenus_DeepSeek-V2-Lite-AWQ"]


def test_codecarbon_vllm_each_run_is_energy_over_tokens(shared_data: Path) -> None:
    """Every output_N.csv: its EFU = total energy after PUE ÷ total output tokens (to the file's rounding of
    kWh to 6 decimals), and its functional-unit tokens equal its output tokens (thresholds 999 s)."""
    n = 0
    for model in MODELS:
        for path in sorted((shared_data / CC_VLLM / model / "output").glob("output_*.csv")):
            m = _metric_value(path)
            (run,) = epcore.read_runs(path)
            fu = float(next(v for k, v in m.items() if k.startswith("Total amount of functional")))
            assert fu == run.output_tokens
            e_kwh = float(m["Total energy after PUE (kWh)"])
            assert run.facility_energy_j == pytest.approx(e_kwh * KWH_J, rel=1e-15)
            # EFU was computed from the unrounded energy: |EFU × O − E| stays within the 6-decimal rounding.
            assert abs(run.reported_joules_per_output_token * run.output_tokens / KWH_J - e_kwh) <= 5e-7 + 1e-12
            n += 1
    assert n == 76


def _groups(shared_data: Path) -> list[dict[str, Any]]:
    """Each summary row ("normal"), its runs read with epcore, and the ratios."""
    out = []
    for model in MODELS:
        d = shared_data / CC_VLLM / model
        for row in _summary(d / "summary.csv"):
            if row["FU_Config"] != "normal":
                continue
            runs = [epcore.read_runs(d / "output" / name)[0] for name in row["CSV Files"].split(";")]
            e = math.fsum(r.facility_energy_j for r in runs)
            it = math.fsum(r.energy_j for r in runs)
            o = sum(r.output_tokens for r in runs)
            out.append({
                "model": row["Model"], "rps": int(row["RPS"]), "row": row, "runs": runs,
                "j_per_token": e / o, "it_j_per_token": it / o,
                "mean_of_run_ratios": sum(r.facility_energy_j / r.output_tokens for r in runs) / len(runs),
                "efu_j": float(row["Avg EFU (kWh/FU)"]) * KWH_J,
            })
    return out


def test_codecarbon_vllm_run_level_ratio_of_sums(shared_data: Path) -> None:
    """Per model and request rate (5 runs): J/output token = Σ energy ÷ Σ output tokens over the runs the
    summary lists. The summary's averages are the runs' means; its EFU (a mean of per-run ratios over
    *valid functional-unit* tokens) departs from the ratio of sums by > 5 % in exactly three groups."""
    groups = _groups(shared_data)
    assert len(groups) == 15
    for g in groups:
        runs, row = g["runs"], g["row"]
        assert len(runs) == 5 and {r.extra["request_rate_rps"] for r in runs} == {g["rps"]}
        assert abs(sum(r.facility_energy_j for r in runs) / 5 / KWH_J - float(row["Avg Energy Consumed (kWh)"])) <= 1e-6
        assert sum(r.output_tokens for r in runs) / 5 == pytest.approx(float(row["Avg Output Tokens"]), abs=0.006)
        # Token counts barely vary between runs, so here the mean of per-run ratios is within 0.1 % of ΣJ/ΣO.
        assert g["mean_of_run_ratios"] == pytest.approx(g["j_per_token"], rel=1e-3)
        assert g["it_j_per_token"] == pytest.approx(g["j_per_token"] / 1.11, rel=2e-3)  # PUE 1.110
    by = {(g["model"], g["rps"]): g for g in groups}
    # Llama-3.1-8B: 0.8857 J/token at 8 rps down to 0.1061 at 128 rps (after PUE; CPU + GPU + RAM).
    assert [round(by[("meta-llama/Llama-3.1-8B", r)]["j_per_token"], 4) for r in (8, 16, 32, 64, 128)] == [
        0.8857, 0.4594, 0.2704, 0.1466, 0.1061]
    off = {k for k, g in by.items() if abs(g["efu_j"] / g["j_per_token"] - 1) > 0.05}
    assert off == {("TechxGenus/DeepSeek-V2-Lite-AWQ", 64), ("bigscience/bloom-7b1", 64), ("bigscience/bloom-7b1", 128)}
    ds = by[("TechxGenus/DeepSeek-V2-Lite-AWQ", 64)]
    assert round(ds["j_per_token"], 4) == 0.1763 and round(ds["efu_j"], 4) == 0.5435  # 4.90e-8 vs 1.51e-7 kWh


def test_codecarbon_vllm_deepseek_64_efu_explained(shared_data: Path) -> None:
    """DeepSeek 64 rps: the summary's EFU (1.51e-7 kWh/FU "normal", 1.69e-7 "strict") is reproduced exactly
    as the mean of per-run energy ÷ valid-FU-token ratios if run output_15 (the 2.8×-energy outlier) kept
    only 6,334 ("normal") / 5,534 ("strict") valid FU tokens of its 38,567 output tokens and the four others
    kept all of theirs. The ratio of sums over output tokens, 4.90e-8 kWh (0.176 J) per token, is the figure
    to use; the outlier run alone is 0.361 J/token."""
    d = shared_data / CC_VLLM / "TechxGenus_DeepSeek-V2-Lite-AWQ"
    rows = {r["FU_Config"]: r for r in _summary(d / "summary.csv") if r["RPS"] == "64"}
    names = rows["normal"]["CSV Files"].split(";")
    assert names == [f"output_{i}.csv" for i in range(15, 20)]
    runs = [epcore.read_runs(d / "output" / n)[0] for n in names]
    e_kwh = [r.facility_energy_j / KWH_J for r in runs]
    o = [r.output_tokens for r in runs]
    efu_files = [r.reported_joules_per_output_token / KWH_J for r in runs]
    assert e_kwh[0] / max(e_kwh[1:]) > 2.7
    for cfg, fu15 in (("normal", 6334), ("strict", 5534)):
        assert 5 * float(rows[cfg]["Avg Valid FU Tokens"]) - sum(o[1:]) == pytest.approx(fu15, abs=0.01)
        mean_efu = (e_kwh[0] / fu15 + sum(efu_files[1:])) / 5
        assert mean_efu == pytest.approx(float(rows[cfg]["Avg EFU (kWh/FU)"]), rel=2e-5)
    ratio = math.fsum(e_kwh) / sum(o)
    assert round(ratio, 10) == 4.90e-8 and round(ratio * KWH_J, 3) == 0.176
    assert round(runs[0].facility_energy_j / runs[0].output_tokens, 3) == 0.361
    # bloom-7b1 at 128 rps, "strict": no valid FU token in any run, and the summary prints EFU 0 (a silent 0).
    bloom_rows = _summary(shared_data / CC_VLLM / "bigscience_bloom-7b1" / "summary.csv")
    bloom = {(r["FU_Config"], r["RPS"]): r for r in bloom_rows}
    assert float(bloom[("strict", "128")]["Avg Valid FU Tokens"]) == 0.0
    assert float(bloom[("strict", "128")]["Avg EFU (kWh/FU)"]) == 0.0


def test_codecarbon_vllm_request_log_tokens_make_the_run_total(shared_data: Path) -> None:
    """Llama-3.1-8B run 1: the per-request log's 200 output-token counts add up to the run's total, so the
    run's J/output token is its energy ÷ Σ per-request tokens: 0.8854 J (after PUE), 0.7976 J (IT), GPU
    alone 0.6534 J (PUE included). The log has no timestamps and no energy: no per-request split."""
    d = shared_data / CC_VLLM / "meta-llama_Llama-3.1-8B"
    (log,) = epcore.read_runs(d / "results_1_per_request_log.txt")
    (run,) = epcore.read_runs(d / "output" / "output_1.csv")
    assert log.extra["requests"] == 200 and log.extra["request_rate_rps"] == run.extra["request_rate_rps"] == 8
    assert log.output_tokens == run.output_tokens == 35518
    assert round(run.facility_energy_j / log.output_tokens, 4) == 0.8854
    assert round(run.energy_j / log.output_tokens, 4) == 0.7976
    assert round(run.extra["gpu_energy_j"] / log.output_tokens, 4) == 0.6534
    assert log.energy_j is None


# --------------------------------------------------------------------------- chuyishang: total vs dynamic


def test_chuyishang_total_and_active_joules_per_token(shared_data: Path) -> None:
    """The one real total-vs-idle-subtracted pair: active = total − idle W × duration; per output token
    1.7902 J total, 1.6799 J active (dynamic), 6.2 % apart."""
    (s,) = epcore.read_runs(shared_data / "chuyishang-inference-energy" / "summary.json")
    active = s.extra["active_energy_j"]
    assert active == pytest.approx(s.energy_j - s.extra["idle_power_w"] * s.duration_s, rel=1e-12)
    assert round(s.joules_per_output_token, 4) == 1.7902
    assert round(active / s.output_tokens, 4) == 1.6799
