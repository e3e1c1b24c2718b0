"""Run-level summaries: the identities each source documents hold as read."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import epcore


def test_mlenergy_identity_on_every_configuration(shared_data: Path) -> None:
    d = shared_data / "mlenergy-leaderboard-v3"
    runs = [r for task in sorted((d / "tasks").glob("*.json")) for r in epcore.read_runs(task)]
    flat = epcore.read_runs(d / "llm_configs_flat.csv")
    assert len(runs) == len(flat) == 565
    worst = max(abs(r.joules_per_output_token - r.reported_joules_per_output_token) / r.reported_joules_per_output_token
                for r in runs if r.joules_per_output_token and r.reported_joules_per_output_token)
    assert worst < 1e-12
    assert all(r.steady_state and r.energy_j is None for r in runs)
    # J per request = J per token × mean output length, per the leaderboard.
    r0 = runs[0]
    assert math.isclose(r0.extra["energy_per_request_joules"],
                        r0.reported_joules_per_output_token * r0.extra["avg_output_len"], rel_tol=1e-12)


def test_codecarbon_vllm_runs_and_their_pue(shared_data: Path) -> None:
    d = shared_data / "codecarbon-vllm-inference" / "TechxGenus_DeepSeek-V2-Lite-AWQ"
    (run,) = epcore.read_runs(d / "output" / "output_0.csv")
    assert run.pue == 1.11 and run.output_tokens == 38291
    assert math.isclose(run.facility_energy_j, 0.007935 * 3.6e6)
    assert math.isclose(run.energy_j, 0.007148 * 3.6e6)
    # The file's own per-token figure is facility energy over tokens.
    assert math.isclose(run.reported_joules_per_output_token, run.facility_energy_j / run.output_tokens, rel_tol=1e-3)
    outs = [epcore.read_runs(p)[0] for p in sorted((d / "output").glob("output_*.csv"))]
    assert len(outs) >= 20
    summary = epcore.read_runs(d / "summary.csv")
    assert len(summary) == 10
    # 64 rps: the mean of per-run ratios (EFU) is far from the ratio of the means (the documented outlier).
    r64 = [r for r in summary if r.extra["request_rate_rps"] == 64][0]
    assert r64.reported_joules_per_output_token / (r64.facility_energy_j / r64.output_tokens) > 2.5


def test_llm_energy_bench_and_summary_json(shared_data: Path) -> None:
    runs = epcore.read_runs(shared_data / "quirence-llm-energy-bench" / "summary.csv")
    assert len(runs) >= 4
    for r in runs:
        assert math.isclose(r.joules_per_output_token, r.reported_joules_per_output_token, rel_tol=1e-9)
    total = runs.joules_per_output_token
    assert total == pytest.approx(sum(r.energy_j for r in runs) / sum(r.output_tokens for r in runs))
    (s,) = epcore.read_runs(shared_data / "chuyishang-inference-energy" / "summary.json")
    assert s.energy_j == 212340.9954298465 and s.output_tokens == 118615
    assert math.isclose(s.joules_per_output_token, s.reported_joules_per_output_token, rel_tol=1e-12)


def test_vllm_bench_energy_keys_and_bad_input(tmp_path: Path) -> None:
    p = tmp_path / "bench.json"
    p.write_text(json.dumps({"gpu_energy_j": 5000.0, "total_output_tokens": 2000, "total_input_tokens": 9000,
                             "gpu_energy_duration_s": 20.0, "gpu_avg_power_w": 250.0}))
    (r,) = epcore.read_runs(p)
    assert r.joules_per_output_token == 2.5 and r.avg_power_w == 250.0
    p.write_text(json.dumps({"gpu_energy_j": "NaN", "total_output_tokens": 1}))
    with pytest.raises(epcore.ParseError) as e:
        epcore.read_runs(p)
    assert e.value.column == "gpu_energy_j"
    p.write_text('{"M1_total_energy_J": 1.0,')
    with pytest.raises(epcore.ParseError, match="invalid JSON"):
        epcore.read_runs(p, format="energy-summary-json")
    q = tmp_path / "x.csv"
    q.write_text("metric,value\nPUE used,1.1\n")
    with pytest.raises(epcore.SchemaError, match="Total energy after PUE"):
        epcore.read_runs(q)
    q.write_text("a,b\n1,2\n")
    with pytest.raises(epcore.SchemaError) as e2:
        epcore.read_runs(q)
    assert e2.value.code == "unrecognized_format"
    q.write_text("")
    with pytest.raises(epcore.ParseError):
        epcore.read_runs(q)


def test_codecarbon_vllm_per_request_text_log(shared_data: Path) -> None:
    log = shared_data / "codecarbon-vllm-inference" / "meta-llama_Llama-3.1-8B" / "results_1_per_request_log.txt"
    (r,) = epcore.read_runs(log)
    text = log.read_text()
    assert r.extra["requests"] == text.count("Output Tokens:") == 200
    assert r.output_tokens == sum(int(x.split(":")[1]) for x in text.splitlines() if x.startswith("Output Tokens:"))
    assert r.extra["request_rate_rps"] == 8
    assert 0.01 < r.extra["mean_tpot_s"] < 1.0 and r.energy_j is None


def test_text_log_errors_name_the_line(tmp_path: Path) -> None:
    p = tmp_path / "log.txt"
    p.write_text("rps: 8\nPrompt: x\nToken Length: 12\nTTFT: 0.1 s\nTPOT: 63 ms\nOutput Tokens: 2O0\n")
    with pytest.raises(epcore.ParseError) as e:
        epcore.read_runs(p, format="codecarbon-vllm-log")
    assert e.value.line == 6 and e.value.column == "Output Tokens"
    p.write_text("Prompt: x\nToken Length: 12\nTTFT: 0.1\nTPOT: 63 ms\nOutput Tokens: 200\n")
    with pytest.raises(epcore.ParseError) as e:
        epcore.read_runs(p, format="codecarbon-vllm-log")
    assert e.value.line == 3
