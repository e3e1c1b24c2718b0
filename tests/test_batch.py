"""epcore.batch: bitwise the steady-state calculator row by row, at any thread count, with
typed errors or masked nulls for bad rows, Arrow/pandas/polars in and out, the ML.ENERGY
identities on real data, and the ``epcore batch`` command."""

from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import epcore
from epcore._reference_batch import FIGURES, reference_row
from epcore.cli import cli

from conftest import scaled_examples

IT_NAMES = FIGURES
ALL_NAMES = tuple(epcore.batch_output_names())


def bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64).view(np.int64)


def steady(i: int, cols: dict[str, Any]) -> Any:
    kw = {k: (float(v[i]) if isinstance(v, np.ndarray) else v) for k, v in cols.items()}
    return epcore.steady_state(**kw)


# --------------------------------------------------------------------------- equal to steady_state

# Wide magnitudes on purpose: the fast path's box ends at 1e±30, rows outside it take the
# row-by-row path, and some overflow (invalid in both).
magnitude = st.one_of(
    st.floats(min_value=1e-3, max_value=1e5),
    st.floats(min_value=1e-300, max_value=1e300),
    st.sampled_from([0.0, -1.0, math.nan, math.inf, 1e-35, 1e35]),
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    n = draw(st.integers(min_value=1, max_value=12))

    def col(values: st.SearchStrategy[float], scalar_ok: bool = True) -> Any:
        if scalar_ok and draw(st.booleans()):
            return draw(values)
        return np.array(draw(st.lists(values, min_size=n, max_size=n)), dtype=np.float64)

    cols: dict[str, Any] = {
        "power_w": col(magnitude, scalar_ok=False),
        "tokens_per_s": col(magnitude),
        "price_per_kwh": col(st.one_of(st.floats(min_value=-0.5, max_value=1.0), st.just(0.0))),
        "query_tokens": col(st.floats(min_value=1.0, max_value=1e4)),
        "pue": col(st.floats(min_value=1.0, max_value=3.0)),
    }
    if draw(st.booleans()):
        cols["grid_g_co2_per_kwh"] = col(st.floats(min_value=0.0, max_value=1200.0))
    return cols, draw(st.booleans())


@settings(max_examples=scaled_examples(200))
@given(scenarios())
def test_every_output_is_steady_state_row_by_row(case: tuple[dict[str, Any], bool]) -> None:
    cols, allow_negative = case
    for k in ("tokens_per_s", "price_per_kwh", "query_tokens", "pue", "grid_g_co2_per_kwh"):
        v = cols.get(k)
        if v is not None and not isinstance(v, np.ndarray):
            # A bad scalar spoils every row: an error in both modes, checked elsewhere.
            try:
                epcore.steady_state(**{"power_w": 1.0, "tokens_per_s": 1.0, k: v},
                                    allow_negative_price=allow_negative)
            except epcore.ConfigError:
                return
    names = [n for n in ALL_NAMES if "co2" not in n or "grid_g_co2_per_kwh" in cols]
    r = epcore.batch(**cols, allow_negative_price=allow_negative, outputs=names, on_invalid="null")
    n = len(cols["power_w"])
    assert r.valid is not None and r.valid.shape == (n,)
    for i in range(n):
        try:
            s = steady(i, {**cols, "allow_negative_price": allow_negative})
        except epcore.ConfigError:
            assert not r.valid[i], f"row {i}: steady_state refuses it, batch does not"
            assert all(math.isnan(r[k][i]) for k in names)
            continue
        assert r.valid[i], f"row {i}: {r.quality.first_invalid}"
        fac = s.facility if s.facility is not None else s.it
        for k in names:
            want = getattr(fac, k.removeprefix("facility_")) if k.startswith("facility_") else getattr(s, k)
            assert bits(np.array([r[k][i]]))[0] == bits(np.array([want]))[0], (k, i, r[k][i], want)
    assert r.quality.n_invalid == int(n - r.valid.sum())


@settings(max_examples=scaled_examples(100))
@given(scenarios())
def test_reference_agrees(case: tuple[dict[str, Any], bool]) -> None:
    cols, allow_negative = case
    if any(not isinstance(v, np.ndarray) for k, v in cols.items() if k != "power_w"):
        cols = {k: (v if isinstance(v, np.ndarray) else np.full(len(cols["power_w"]), v)) for k, v in cols.items()}
    names = [n for n in ALL_NAMES if "co2" not in n or "grid_g_co2_per_kwh" in cols]
    r = epcore.batch(**cols, allow_negative_price=allow_negative, outputs=names, on_invalid="null")
    assert r.valid is not None
    for i in range(len(cols["power_w"])):
        ref = reference_row(**{k: float(v[i]) for k, v in cols.items()}, allow_negative_price=allow_negative)
        assert bool(r.valid[i]) == (ref is not None), i
        if ref is not None:
            for k in names:
                assert r[k][i] == ref[k], (k, i)


def test_seed_row_and_defaults() -> None:
    r = epcore.batch(power_w=5600, tokens_per_s=2500)
    assert r.n_rows == 1 and list(r) == list(IT_NAMES[:8])
    s = epcore.steady_state(power_w=5600, tokens_per_s=2500)
    for k in r:
        assert r[k][0] == getattr(s, k)
    assert r.currency == "USD" and r.valid is None


def test_facility_and_carbon_columns_appear_when_asked_for() -> None:
    p = np.array([5600.0, 700.0])
    assert "facility_joules_per_token" not in epcore.batch(power_w=p, tokens_per_s=2500)
    r = epcore.batch(power_w=p, tokens_per_s=2500, pue=1.3, grid_g_co2_per_kwh=400)
    assert list(r) == list(ALL_NAMES)
    r = epcore.batch(power_w=p, tokens_per_s=2500, pue=np.array([1.0, 1.5]))
    assert "facility_joules_per_token" in r and "g_co2_per_query" not in r
    # PUE 1 on a row: its facility figures are its IT figures.
    assert r["facility_joules_per_token"][0] == r["joules_per_token"][0]
    assert r["facility_joules_per_token"][1] == 700 * 1.5 / 2500


# --------------------------------------------------------------------------- threads, broadcast, out=


def big_inputs(n: int = 300_000) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    x = {
        "power_w": rng.uniform(50, 10_000, n),
        "tokens_per_s": rng.uniform(10, 20_000, n),
        "price_per_kwh": rng.uniform(0, 0.4, n),
        "query_tokens": rng.uniform(1, 4000, n),
        "pue": rng.uniform(1, 2, n),
        "grid_g_co2_per_kwh": rng.uniform(0, 900, n),
    }
    x["power_w"][::997] = 1e-40  # outside the fast box, still valid
    x["power_w"][12_345], x["tokens_per_s"][12_345] = 1e308, 1e-5  # J/token overflows: invalid
    return x


def test_thread_count_does_not_change_a_bit() -> None:
    x = big_inputs()
    base = epcore.batch(**x, threads=1, on_invalid="null")
    assert base.quality.n_invalid >= 1 and base.quality.threads == 1
    for threads in (2, 3, 7, 0):
        r = epcore.batch(**x, threads=threads, on_invalid="null")
        assert r.quality.threads >= 1
        assert np.array_equal(r.valid, base.valid)
        for k in base:
            assert np.array_equal(bits(r[k]), bits(base[k])), (threads, k)


def test_scalars_broadcast_like_arrays() -> None:
    x = big_inputs(50_000)
    del x["tokens_per_s"]
    scalar = epcore.batch(**x, tokens_per_s=2500.0, on_invalid="null")
    full = epcore.batch(**x, tokens_per_s=np.full(50_000, 2500.0), on_invalid="null")
    for k in scalar:
        assert np.array_equal(bits(scalar[k]), bits(full[k]))
    ints = epcore.batch(power_w=[5600, 700], tokens_per_s=np.array([2500, 2500]))  # lists and ints are fine
    assert ints["joules_per_token"].tolist() == [2.24, 0.28]


def test_out_reuses_buffers_and_checks_them() -> None:
    p = np.array([5600.0, 700.0])
    r = epcore.batch(power_w=p, tokens_per_s=2500)
    arrays = {k: r[k] for k in r}
    r2 = epcore.batch(power_w=p * 2, tokens_per_s=2500, out=r)
    assert all(r2[k] is arrays[k] for k in r2)
    assert r2["joules_per_token"].tolist() == [4.48, 0.56]
    mine = {"joules_per_token": np.zeros(2)}
    r3 = epcore.batch(power_w=p, tokens_per_s=2500, outputs=["joules_per_token"], out=mine)
    assert r3["joules_per_token"] is mine["joules_per_token"] and mine["joules_per_token"][0] == 2.24
    for bad in (np.zeros(3), np.zeros(2, dtype=np.float32), np.zeros(4)[::2]):
        with pytest.raises(epcore.ConfigError, match="out"):
            epcore.batch(power_w=p, tokens_per_s=2500, outputs=["joules_per_token"], out={"joules_per_token": bad})
    with pytest.raises(epcore.ConfigError, match="overlaps the input power_w"):
        epcore.batch(power_w=p, tokens_per_s=2500, outputs=["joules_per_token"], out={"joules_per_token": p})


def test_inputs_are_read_in_place() -> None:
    p = np.array([5600.0, 700.0])
    p.flags.writeable = False  # read-only inputs (Arrow's zero-copy views) are fine
    assert epcore.batch(power_w=p, tokens_per_s=2500)["joules_per_token"][0] == 2.24


# --------------------------------------------------------------------------- bad rows


def test_bad_row_raises_naming_row_column_and_value() -> None:
    t = np.full(100_000, 2500.0)
    t[77_777] = -4.0
    t[90_000] = 0.0
    for threads in (1, 2):
        with pytest.raises(epcore.ConfigError) as ei:
            epcore.batch(power_w=np.full(100_000, 5600.0), tokens_per_s=t, threads=threads)
        e = ei.value
        assert str(e) == "row 77777: tokens_per_s = -4: must be > 0"
        assert (e.index, e.column, e.code, e.value) == (77_777, "tokens_per_s", "invalid_argument", "-4")
    with pytest.raises(epcore.ConfigError, match=r"row 1: pue = 0.5: power usage effectiveness must be >= 1"):
        epcore.batch(power_w=[1.0, 1.0], tokens_per_s=1.0, pue=np.array([1.0, 0.5]))
    with pytest.raises(epcore.ConfigError, match=r"row 0: price_per_kwh = -0.1: negative price"):
        epcore.batch(power_w=[1.0], tokens_per_s=1.0, price_per_kwh=np.array([-0.1]))
    assert epcore.batch(power_w=[1.0], tokens_per_s=1.0, price_per_kwh=np.array([-0.1]),
                        allow_negative_price=True)["cost_per_query"][0] < 0
    with pytest.raises(epcore.ConfigError, match=r"row 0: power_w / tokens_per_s = .*double precision"):
        epcore.batch(power_w=[1e300], tokens_per_s=[1e-300])


def test_bad_scalars_and_arguments() -> None:
    with pytest.raises(epcore.ConfigError, match=r"^pue = 0.9"):
        epcore.batch(power_w=[1.0, 2.0], tokens_per_s=1.0, pue=0.9, on_invalid="null")
    with pytest.raises(epcore.ConfigError, match="currency"):
        epcore.batch(power_w=[1.0], tokens_per_s=1.0, currency="usd")
    with pytest.raises(epcore.ConfigError) as ei:
        epcore.batch(power_w=[1.0], tokens_per_s=1.0, outputs=["joule_per_token"])
    assert ei.value.code == "unknown_code" and "joules_per_token" in (ei.value.hint or "")
    with pytest.raises(epcore.ConfigError, match="grid_g_co2_per_kwh"):
        epcore.batch(power_w=[1.0], tokens_per_s=1.0, outputs=["g_co2_per_query"])
    with pytest.raises(epcore.SchemaError, match="tokens_per_s has 3 rows"):
        epcore.batch(power_w=[1.0, 2.0], tokens_per_s=[1.0, 2.0, 3.0])
    with pytest.raises(epcore.SchemaError, match="one-dimensional"):
        epcore.batch(power_w=np.ones((2, 2)), tokens_per_s=1.0)
    with pytest.raises(epcore.ConfigError, match="on_invalid"):
        epcore.batch(power_w=[1.0], tokens_per_s=1.0, on_invalid="skip")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="tokens_per_s"):
        epcore.batch(power_w=[1.0])


def test_null_mode_masks_counts_and_never_hides_nan() -> None:
    p = np.array([5600.0, 0.0, 5600.0, math.nan, 700.0])
    t = np.array([2500.0, 2500.0, math.inf, 2500.0, 7000.0])
    r = epcore.batch(power_w=p, tokens_per_s=t, on_invalid="null")
    assert r.valid is not None and r.valid.tolist() == [True, False, False, False, True]
    q = r.quality
    assert (q.n_rows, q.n_invalid, q.n_valid) == (5, 3, 2)
    assert q.first_invalid is not None
    assert (q.first_invalid.row, q.first_invalid.column, q.first_invalid.reason) == (1, "power_w", "must be > 0")
    assert q.to_dict()["first_invalid"]["row"] == 1
    for k in r:
        assert np.isnan(r[k][~r.valid]).all() and np.isfinite(r[k][r.valid]).all()
    assert r.to_arrow()["joules_per_token"].to_pylist() == [2.24, None, None, None, 0.1]
    assert r.to_arrow()["joules_per_token"].null_count == 3
    # A reused mask is rewritten, not merged.
    r2 = epcore.batch(power_w=np.full(5, 1.0), tokens_per_s=1.0, on_invalid="null", out=r)
    assert r2.valid is r.valid and r2.valid.all() and r2.quality.n_invalid == 0


# --------------------------------------------------------------------------- tables in and out


def table_inputs() -> dict[str, list[float | None]]:
    return {
        "power_w": [5600.0, 700.0, 669.0],
        "tokens_per_s": [2500.0, 7000.0, 7037.0],
        "price_per_kwh": [0.08, 0.12, 0.3],
        "other": [1.0, 2.0, 3.0],
    }


def check_table_result(r: epcore.BatchResult) -> None:
    want = epcore.batch(power_w=np.array([5600.0, 700.0, 669.0]), tokens_per_s=np.array([2500.0, 7000.0, 7037.0]),
                        price_per_kwh=np.array([0.08, 0.12, 0.3]), pue=1.2)
    assert list(r) == list(want)
    for k in want:
        assert np.array_equal(r[k], want[k])


def test_arrow_in_and_out() -> None:
    pa = pytest.importorskip("pyarrow")
    t = pa.table(table_inputs())
    r = epcore.batch(t, pue=1.2)
    check_table_result(r)
    check_table_result(epcore.batch(t.to_batches()[0], pue=1.2))
    out = r.to_arrow()
    assert out.column_names == list(r) and out.schema.metadata == {b"currency": b"USD"}
    assert pa.table(r).equals(out)  # through __arrow_c_stream__
    # A nullable integer column: cast to float64; a null row raises with its index, or masks.
    t2 = pa.table({"power_w": pa.array([5600, None, 700], pa.int64()), "tokens_per_s": [2500.0, 2500.0, 2500.0]})
    with pytest.raises(epcore.ConfigError, match=r"row 1: power_w = null") as ei:
        epcore.batch(t2)
    assert (ei.value.index, ei.value.column) == (1, "power_w")
    r2 = epcore.batch(t2, on_invalid="null")
    assert r2.to_arrow()["joules_per_token"].to_pylist() == [2.24, None, 0.28]
    with pytest.raises(epcore.ConfigError, match="both a column of the table and an argument"):
        epcore.batch(t, power_w=1.0)
    with pytest.raises(epcore.SchemaError, match="no watts column"):
        epcore.batch(t, columns={"power_w": "watts"})


def test_pandas_in_and_out() -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(table_inputs())
    r = epcore.batch(df, pue=1.2)
    check_table_result(r)
    back = r.to_pandas()
    assert list(back.columns) == list(r) and len(back) == 3
    assert back["joules_per_token"].iloc[0] == 2.24
    df.loc[1, "power_w"] = None
    assert epcore.batch(df, on_invalid="null").to_pandas()["joules_per_token"].isna().tolist() == [False, True, False]


def test_polars_in_and_out() -> None:
    pl = pytest.importorskip("polars")
    df = pl.DataFrame(table_inputs())
    r = epcore.batch(df, pue=1.2)
    check_table_result(r)
    back = r.to_polars()
    assert back.columns == list(r) and back["joules_per_token"][0] == 2.24
    assert pl.DataFrame(r).equals(back)  # through __arrow_c_stream__
    nulls = pl.DataFrame({"power_w": [5600.0, None], "tokens_per_s": [2500.0, 2500.0]})
    assert epcore.batch(nulls, on_invalid="null").to_polars()["joules_per_token"].null_count() == 1


def test_dict_of_arrays_with_renamed_columns() -> None:
    d = {"watts": np.array([5600.0]), "tps": np.array([2500.0])}
    r = epcore.batch(d, columns={"power_w": "watts", "tokens_per_s": "tps"})
    assert r["joules_per_token"][0] == 2.24
    with pytest.raises(epcore.ConfigError, match="not an input"):
        epcore.batch(d, columns={"power": "watts"})


# --------------------------------------------------------------------------- ML.ENERGY leaderboard


def test_mlenergy_joules_per_token_on_every_row(shared_data: Path) -> None:
    """FORMATS.md §13: energy_per_token_joules = avg_power_watts / output_throughput_tokens_per_sec
    (max rel. err 2.2e-16) and energy_per_request_joules = energy_per_token_joules × avg_output_len."""
    pa_csv = pytest.importorskip("pyarrow.csv")
    t = pa_csv.read_csv(shared_data / "mlenergy-leaderboard-v3" / "llm_configs_flat.csv")
    assert t.num_rows == 565
    r = epcore.batch(t, columns={"power_w": "avg_power_watts", "tokens_per_s": "output_throughput_tokens_per_sec",
                                 "query_tokens": "avg_output_len"})
    jpt = r["joules_per_token"]
    pub = t["energy_per_token_joules"].to_numpy()
    rel = np.abs(jpt - pub) / pub
    assert rel.max() <= 2.3e-16, rel.max()
    assert int(np.count_nonzero(jpt == pub)) >= 300  # most rows are the same double exactly
    per_request = t["energy_per_request_joules"].to_numpy()
    out_len = t["avg_output_len"].to_numpy()
    assert np.array_equal(pub * out_len, per_request)  # the published identity, exactly
    assert (np.abs(jpt * out_len - per_request) / per_request).max() <= 4.5e-16
    # wh_per_query with query_tokens = mean output length is the energy per request in Wh.
    assert np.allclose(r["wh_per_query"] * 3600.0, per_request, rtol=1e-15, atol=0)
    # Llama-3.1-8B-Instruct, 1×H100, max_num_seqs=128 (SOURCE.md): 0.095 J/token, 38.5 J/request.
    rows = [i for i in range(t.num_rows) if t["model_id"][i].as_py() == "meta-llama/Llama-3.1-8B-Instruct"
            and t["gpu_model"][i].as_py() == "H100" and t["num_gpus"][i].as_py() == 1
            and t["max_num_seqs"][i].as_py() == 128]
    assert rows and round(float(jpt[rows[0]]), 3) == 0.095 and round(float(jpt[rows[0]] * out_len[rows[0]]), 1) == 38.5


# --------------------------------------------------------------------------- CLI


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli(*args)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture()
def scenarios_csv(tmp_path: Path) -> Path:
    f = tmp_path / "scenarios.csv"
    f.write_text("name,power_w,tokens_per_s,pue\nseed,5600,2500,1.2\nsmall,700,7000,1.0\n")
    return f


def test_cli_csv_to_parquet_and_csv(scenarios_csv: Path, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "results.parquet"
    code, stdout, stderr = run_cli("batch", str(scenarios_csv), "--out", str(out), "--price-per-kwh", "0.1",
                                   "--grid-g-co2-per-kwh", "400")
    assert code == 0, stderr
    t = pq.read_table(out)
    assert t.column_names[:4] == ["name", "power_w", "tokens_per_s", "pue"]  # inputs kept, then figures
    assert t["joules_per_token"].to_pylist() == [2.24, 0.1]
    want = epcore.steady_state(power_w=5600, tokens_per_s=2500, price_per_kwh=0.1, pue=1.2, grid_g_co2_per_kwh=400)
    assert t["facility_cost_per_query"][0].as_py() == want.facility.cost_per_query  # type: ignore[union-attr]
    assert t.schema.metadata[b"currency"] == b"USD"
    assert "2 rows" in stdout
    csv_out = tmp_path / "results.csv"
    code, _, stderr = run_cli("batch", str(out), "--out", str(csv_out), "--no-inputs", "--outputs",
                              "joules_per_token,cost_per_query")
    assert code == 0, stderr
    lines = csv_out.read_text().splitlines()
    assert lines[0] == "joules_per_token,cost_per_query" and lines[1].startswith("2.24,")


def test_cli_json_summary_and_null_rows(tmp_path: Path) -> None:
    f = tmp_path / "s.csv"
    f.write_text("power_w,tokens_per_s\n5600,2500\n0,2500\n,2500\n")
    out = tmp_path / "r.csv"
    code, stdout, stderr = run_cli("batch", str(f), "--out", str(out), "--on-invalid", "null", "--json")
    assert code == 0, stderr
    d = json.loads(stdout)
    assert (d["n_rows"], d["n_invalid"], d["first_invalid"]["row"]) == (3, 2, 1)
    assert d["out"] == str(out) and d["currency"] == "USD" and "joules_per_token" in d["outputs"]
    rows = out.read_text().splitlines()
    assert rows[2].endswith(",") and rows[1].split(",")[2] == "2.24"  # null → empty cell


def test_cli_errors(scenarios_csv: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("power_w,tokens_per_s\n5600,2500\n5600,-1\n")
    code, _, stderr = run_cli("batch", str(bad), "--out", str(tmp_path / "r.csv"))
    assert code == 1 and stderr.strip() == "error: row 1: tokens_per_s = -1: must be > 0"
    code, _, stderr = run_cli("batch", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "r.csv"))
    assert code == 1 and stderr.startswith("error: ") and "missing.csv" in stderr
    code, _, stderr = run_cli("batch", str(scenarios_csv), "--out", str(tmp_path / "r.xlsx"))
    assert code == 2
    code, _, stderr = run_cli("batch", str(scenarios_csv))
    assert code == 2  # --out is required
    nocol = tmp_path / "nocol.csv"
    nocol.write_text("watts,tps\n5600,2500\n")
    code, _, stderr = run_cli("batch", str(nocol), "--out", str(tmp_path / "r.csv"))
    assert code == 1 and "no power_w" in stderr
    code, _, stderr = run_cli("batch", str(nocol), "--out", str(tmp_path / "r.csv"), "--column", "power_w=watts",
                              "--column", "tokens_per_s=tps")
    assert code == 0, stderr
    code, _, stderr = run_cli("batch", str(nocol), "--out", str(tmp_path / "r.csv"), "--column", "watts")
    assert code == 2


def test_a_price_in_another_currency_is_converted_as_steady_state_does() -> None:
    rates = epcore.Rates.from_mapping({"USD": 1.1252, "BRL": 6.3957}, date="2025-05-09")
    power = np.array([5600.0, 700.0, 1200.0])
    r = epcore.batch(power_w=power, tokens_per_s=2500.0, price_per_kwh=0.08, price_currency="USD",
                     currency="BRL", rates=rates, outputs=["cost_per_million_tokens", "cost_per_query"])
    assert (r.currency, r.rate_date) == ("BRL", "2025-05-09")
    assert r.rate == pytest.approx(6.3957 / 1.1252, rel=1e-15)
    for i, p in enumerate(power):
        one = epcore.steady_state(power_w=float(p), tokens_per_s=2500.0, price_per_kwh=0.08, price_currency="USD",
                                  currency="BRL", rates=rates)
        assert r["cost_per_million_tokens"][i] == pytest.approx(one.cost_per_million_tokens, rel=1e-15)
        assert r["cost_per_query"][i] == pytest.approx(one.cost_per_query, rel=1e-15)
    # The default price (0.08 of the price's currency) is converted too.
    d = epcore.batch(power_w=power, tokens_per_s=2500.0, price_currency="USD", currency="BRL", rates=rates,
                     outputs=["cost_per_query"])
    assert d["cost_per_query"][0] == pytest.approx(r["cost_per_query"][0], rel=1e-15)
