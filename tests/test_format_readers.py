"""Prometheus text and JSON, RAPL and CodeCarbon readers, and token counters.

The golden cases of these formats (``tests/golden/{prometheus,
prometheus_json,rapl,codecarbon}/``) run in ``test_golden_formats.py``; here
they are also sniffed without a format. Real files from ``shared/data/real``
are checked against figures computed here independently.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import epcore
from conftest import scaled_examples

GOLDEN = Path(__file__).parent / "golden"
FOLDERS = ("prometheus", "prometheus_json", "rapl", "codecarbon")
CASES = [
    p for f in FOLDERS for p in sorted((GOLDEN / f).iterdir()) if not p.name.endswith(".expected.json")
]


def _expected(path: Path) -> dict[str, Any]:
    return json.loads((path.parent / (path.name.split(".")[0] + ".expected.json")).read_text())


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_folder_has_cases_of_both_kinds(folder: str) -> None:
    names = [p.name for p in CASES if p.parent.name == folder]
    assert len([n for n in names if n.startswith("err_")]) >= 12
    assert len([n for n in names if n.startswith("ok_")]) >= 7


@pytest.mark.parametrize("path", [p for p in CASES if p.name.startswith("ok_")], ids=lambda p: p.name)
def test_golden_formats_are_sniffed(path: Path) -> None:
    exp = _expected(path)
    r = epcore.integrate_file(path, **exp.get("options", {}))
    assert r.quality.format == path.parent.name.replace("_", "-")


def test_a_line_longer_than_the_cap_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "long.prom"
    p.write_text('# scrape_time 1717000000\nDCGM_FI_DEV_POWER_USAGE 1\nDCGM_FI_DEV_POWER_USAGE{gpu="' + "x" * (1 << 21) + '"} 1\n')
    with pytest.raises(epcore.ParseError) as info:
        epcore.integrate_file(p, format="prometheus")
    assert info.value.code == "record_too_long"
    assert info.value.line == 3


# ---- real files


def test_real_dcgm_scrapes_have_no_time_and_exact_counters(shared_data: Path, tmp_path: Path) -> None:
    d = shared_data / "dcgm-exporter-scrapes"
    l40s = (d / "l40s_upcloud_scrape_excerpt.prom").read_text()
    t4 = (d / "t4_eccd_scrape_excerpt.prom").read_text()
    for name in ("l40s_upcloud_scrape_excerpt.prom", "t4_eccd_scrape_excerpt.prom"):
        # A single scrape of /metrics carries no time: nothing to integrate, and the error says how to fix it.
        with pytest.raises(epcore.SchemaError) as info:
            epcore.read_power(d / name)
        assert "scrape_time" in str(info.value.hint)
    # The same scrapes, timed and concatenated; the second one 30 s and 9 kJ / 6 kJ later.
    later = l40s.replace("5551899580", "5560899580") + t4.replace("15152422938", "15158422938")
    body = f"# scrape_time 1717000000\n{l40s}{t4}# scrape_time 1717000030\n{later}"
    p = tmp_path / "two_scrapes.prom"
    p.write_text(body)
    tr = epcore.read_power(p)
    assert tr.format == "prometheus" and tr.quantity == "counter" and tr.counter_unit_j == 1e-3
    l40s_id = "GPU-5b4e07f6-3a86-4340-039d-25f2a83cdc43"
    t4_id = "GPU-6d5c0ac5-74d7-3130-46f1-e93ed57f469a"
    assert tr.channels == (l40s_id, t4_id)
    assert tr.samples[l40s_id].values.tolist() == [5551899580.0, 5560899580.0]
    assert tr.samples[t4_id].values.tolist() == [15152422938.0, 15158422938.0]
    # 15152422938 mJ is 4.209 kWh since boot (the SOURCE.md figure).
    assert round(tr.samples[t4_id].values[0] * 1e-3 / 3.6e6, 3) == 4.209
    assert {c.name: c.energy_j for c in tr.result.channels} == {l40s_id: 9000.0, t4_id: 6000.0}
    power = epcore.read_power(p, prefer="power")
    assert power.samples[l40s_id].values.tolist() == [35.686, 35.686]
    assert power.samples[t4_id].values.tolist() == [68.244, 68.244]
    assert math.isclose(power.energy_j, 30 * (35.686 + 68.244), rel_tol=1e-12)


def _codecarbon_runs(path: Path) -> list[list[dict[str, str]]]:
    """Group rows into runs: same run_id and start (timestamp − duration) within 2 s."""
    runs: list[list[dict[str, str]]] = []
    starts: list[float] = []
    for r in csv.DictReader(path.open()):
        end = dt.datetime.fromisoformat(r["timestamp"]).replace(tzinfo=dt.timezone.utc).timestamp()
        start = end - float(r["duration"])
        if runs and runs[-1][0]["run_id"] == r["run_id"] and abs(starts[-1] - start) <= 2:
            runs[-1].append(r)
        else:
            runs.append([r])
            starts.append(start)
    return runs


def test_real_codecarbon_emissions(shared_data: Path) -> None:
    path = shared_data / "codecarbon" / "examples" / "emissions.csv"
    runs = _codecarbon_runs(path)
    assert (sum(map(len, runs)), len(runs)) == (28, 18)

    def total_j(col: str) -> float:
        kwh = sum(Fraction(next(r[col] for r in reversed(run) if r[col])) for run in runs if any(r[col] for r in run))
        return float(kwh * 3_600_000)

    r = epcore.integrate_file(path)
    assert r.quality.format == "codecarbon" and r.quality.naive_time
    got = {c.name: c.energy_j for c in r.channels}
    for ch in ("cpu", "gpu", "ram"):
        assert math.isclose(got[ch], total_j(f"{ch}_energy"), rel_tol=1e-12), ch
    assert math.isclose(r.energy_j, 28988.818207719552, rel_tol=1e-12)
    # Two snapshots of one run lack cpu_energy and energy_consumed: missing, never zero.
    assert r.quality.n_nonfinite == 2
    assert r.quality.warnings == ()  # pue is 1.0 throughout
    total = epcore.integrate_file(path, value="energy_consumed")
    assert math.isclose(total.energy_j, total_j("energy_consumed"), rel_tol=1e-12)
    assert math.isclose(total.energy_j, 28960.511385014706, rel_tol=1e-12)
    # The span is the first run's start to the last snapshot: 10:33:17.53 to 17:03:13.
    assert math.isclose(r.duration_s, (dt.datetime(2024, 5, 31, 17, 3, 13) - dt.datetime(2024, 5, 31, 10, 39, 13)).total_seconds() + 355.46638011932373, rel_tol=1e-12)
    paris = epcore.integrate_file(path, tz="Europe/Paris")
    assert paris.energy_j == r.energy_j and not paris.quality.naive_time


def test_real_codecarbon_rapl_profiling_tables_are_not_rapl_logs(shared_data: Path) -> None:
    files = sorted((shared_data / "codecarbon" / "rapl_cpu_load_profiling").glob("*/*.csv"))
    assert len(files) == 10
    for f in files:
        # Neither sniffed as a RAPL log nor as an emissions file...
        with pytest.raises(epcore.ParseError) as info:
            epcore.read_power(f)
        assert info.value.code == "unrecognized_format"
        # ...and refused with the reason when named.
        with pytest.raises(epcore.SchemaError) as schema:
            epcore.read_power(f, format="rapl")
        assert "per-task kWh" in str(schema.value.hint)
    # What the tables do hold: rapl_energy (kWh) over its task matches the NEXT row's rapl_power.
    nxt, same = [], []
    for f in files:
        rows = list(csv.DictReader(f.open()))
        p = [float(r["rapl_energy"]) * 3.6e6 / float(r["duration"]) for r in rows]
        w = [float(r["rapl_power"]) for r in rows]
        nxt += [abs(p[i] / w[i + 1] - 1) for i in range(len(rows) - 1)]
        same += [abs(p[i] / w[i] - 1) for i in range(len(rows)) if w[i]]
    assert float(np.median(nxt)) < 0.01 < 0.1 < float(np.median(same))


# ---- token counters


def _vllm_scrape(t: str, prompt: float, gen: float, created: str, engine: str = "0") -> str:
    lbl = f'engine="{engine}",model_name="meta-llama/Llama-3.1-8B-Instruct"'
    return (
        f"# scrape_time {t}\n"
        "# HELP vllm:prompt_tokens_total Number of prefill tokens processed.\n"
        "# TYPE vllm:prompt_tokens_total counter\n"
        f"vllm:prompt_tokens_total{{{lbl}}} {prompt:e}\n"
        f"vllm:prompt_tokens_created{{{lbl}}} {created}\n"
        f"vllm:generation_tokens_total{{{lbl}}} {gen:.1f}\n"
        f"vllm:generation_tokens_created{{{lbl}}} {created}\n"
        f"vllm:time_to_first_token_seconds_bucket{{{lbl},le=\"+Inf\"}} 12.0\n"
    )


def test_token_counters_from_vllm_scrapes(tmp_path: Path) -> None:
    body = "".join(
        [
            _vllm_scrape("1717000000", 42_421_665, 27_453, "1716990000.5"),
            _vllm_scrape("1717000000", 1_000, 2_000, "1716990000.5", engine="1"),
            _vllm_scrape("1717000015", 42_431_665, 28_453, "1716990000.5"),
            _vllm_scrape("1717000015", 1_500, 2_700, "1716990000.5", engine="1"),
            # engine 0 restarted and its prompt counter regrew past the old value: only _created tells.
            _vllm_scrape("1717000030", 42_500_000, 400, "1717000020.25"),
        ]
    )
    p = tmp_path / "vllm.prom.gz"
    p.write_bytes(gzip.compress(body.encode()))
    tc = epcore.read_token_counters(p)
    assert tc.format == "prometheus" and len(tc) == 5
    assert tc.t_ns.dtype == np.int64 and tc.prompt_tokens_total.dtype == np.float64
    assert tc.t_ns.tolist() == sorted(tc.t_ns.tolist())
    assert set(tc.instance.tolist()) == {'{engine="0"}', '{engine="1"}'}
    assert set(tc.advance.tolist()) == {"per_iteration"}
    m = tc.totals["meta-llama/Llama-3.1-8B-Instruct"]
    assert m.prompt_tokens == 10_000 + 42_500_000 + 500
    assert m.generation_tokens == 1_000 + 400 + 700
    assert (m.n_series, m.n_resets, m.lower_bound) == (2, 2, True)
    assert m.reason is None
    json.dumps(tc.to_dict(), allow_nan=False)
    for chunk in (1, 7):
        again = epcore.read_token_counters(p, chunk_bytes=chunk)
        assert again.totals == tc.totals
        assert np.array_equal(again.t_ns, tc.t_ns)


def test_token_counters_from_query_range_json(tmp_path: Path) -> None:
    def series(name: str, inst: str, values: list[list[Any]]) -> dict[str, Any]:
        labels = {"__name__": name, "instance": inst, "job": "sglang", "model_name": "Qwen/Qwen2.5-7B-Instruct"}
        return {"metric": labels, "values": values}

    doc = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [
                series("sglang:generation_tokens_total", "a:30000", [[1717000000, "100"], [1717000015, "NaN"], [1717000030, "180"]]),
                series("sglang:prompt_tokens_total", "a:30000", [[1717000000, "1000"], [1717000030, "1900"]]),
                series("sglang:generation_tokens_total", "b:30000", [[1717000000, "7"]]),
            ],
        },
    }
    p = tmp_path / "sglang.json"
    p.write_text(json.dumps(doc))
    tc = epcore.read_token_counters(p)
    assert tc.format == "prometheus-json"
    m = tc.totals["Qwen/Qwen2.5-7B-Instruct"]
    assert (m.advance, m.prompt_tokens, m.generation_tokens) == ("on_completion", 900, 80)
    assert m.lower_bound  # series b has a single sample: its increase is unknown
    assert tc.skipped == {"missing values (NaN or Inf)": 1}
    row = int(np.flatnonzero(tc.instance == 'b:30000{job="sglang"}')[0])
    assert math.isnan(tc.prompt_tokens_total[row]) and tc.generation_tokens_total[row] == 7.0


def test_token_counter_errors_are_typed(tmp_path: Path) -> None:
    p = tmp_path / "rate.prom"
    p.write_text('# scrape_time 1717000000\nvllm:generation_tokens_total{model_name="m"} 12.5\n')
    with pytest.raises(epcore.ParseError) as info:
        epcore.read_token_counters(p)
    assert (info.value.code, info.value.line, info.value.value) == ("bad_value", 2, "12.5")
    p.write_text('vllm:generation_tokens_total{model_name="m"} 12\n')
    with pytest.raises(epcore.SchemaError, match="scrape_time"):
        epcore.read_token_counters(p)
    p.write_text("# scrape_time 1717000000\nnode_load1 0.5\n")
    with pytest.raises(epcore.SchemaError, match="node_load1"):
        epcore.read_token_counters(p)
    with pytest.raises(epcore.ConfigError):
        epcore.read_token_counters(p, format="csv")
    one = tmp_path / "one.prom"
    one.write_text('# scrape_time 1717000000\nvllm:generation_tokens_total{model_name="m"} 12\n')
    m = epcore.read_token_counters(one).totals["m"]
    assert m.generation_tokens is None and m.reason is not None and m.lower_bound


# ---- arbitrary bytes


_SEEDS = [p.read_bytes() for p in CASES if p.name.startswith("ok_") and not p.name.endswith(".gz")]


@settings(max_examples=scaled_examples(300))
@given(
    seed=st.sampled_from(_SEEDS),
    cut=st.integers(min_value=0, max_value=10_000),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=4),
    fmt=st.sampled_from(["prometheus", "prometheus-json", "rapl", "codecarbon", None]),
)
def test_mangled_inputs_give_a_result_or_a_typed_error(
    tmp_path_factory: pytest.TempPathFactory, seed: bytes, cut: int, flips: list[tuple[int, int]], fmt: str | None
) -> None:
    data = bytearray(seed[: max(1, len(seed) - cut % max(1, len(seed)))])
    for at, byte in flips:
        data[at % len(data)] = byte
    p = tmp_path_factory.mktemp("m") / "x"
    p.write_bytes(bytes(data))
    results = []
    for chunk in (1 << 20, 3):
        try:
            r = epcore.integrate_file(p, format=fmt, chunk_bytes=chunk)
            results.append(("ok", r.energy_j))
            assert math.isfinite(r.energy_j)
        except epcore.EpcoreError as e:
            results.append((e.code, e.line))
    assert results[0] == results[1]


def test_a_directory_of_scrapes_is_timed_by_file_mtime(shared_data: Path, tmp_path: Path) -> None:
    """One file per scrape, as cron + curl leave them: read in mtime order, each at its mtime."""
    import os

    real = (shared_data / "dcgm-exporter-scrapes" / "t4_eccd_scrape_excerpt.prom").read_text()
    base = 15152422938
    d = tmp_path / "scrapes"
    d.mkdir()
    t0 = 1_760_000_000
    # Written out of name order: mtime decides. 70 W for 15 s = 1050 J = 1,050,000 mJ per scrape.
    for k, name in enumerate(["c.prom", "a.prom", "b.prom"]):
        text = real.replace(str(base), str(base + k * 1_050_000))
        if k == 1:
            text = text.rstrip("\n")  # a file without a final newline stays its own lines
        p = d / name
        p.write_text(text)
        os.utime(p, (t0 + 15 * k, t0 + 15 * k))
    r = epcore.integrate_file(d)
    assert r.method == "counter"
    assert r.energy_j == pytest.approx(2 * 1050.0, rel=1e-12)
    assert r.duration_s == pytest.approx(30.0)
    # An error names the file and its own line, not the line of the joined stream.
    bad = d / "b.prom"
    bad.write_text(real.replace(str(base), "12x"))
    os.utime(bad, (t0 + 30, t0 + 30))
    with pytest.raises(epcore.EpcoreError) as e:
        epcore.integrate_file(d)
    assert e.value.path is not None and e.value.path.endswith("b.prom")
    assert e.value.line == 3
