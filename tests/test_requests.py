"""Request logs → the canonical requests table (issue 3, token side).

Golden cases in ``tests/golden/requests/`` (one ``.expected.json`` per case,
values computed by hand) for every format and failure kind, read with several
chunk sizes; the real Ollama excerpt and latency CSVs of ``shared/data/real``;
the canonical CSV against the plain-Python reference reader of
``epcore._reference`` (hypothesis); arbitrary bytes never escape as anything
but an ``EpcoreError``; the exports, the CLI and the arguments.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import epcore
from epcore._reference import read_requests_csv_reference
from epcore.cli import cli
from epcore.request_logs import COLUMNS, Requests, read_requests, sniff_requests

CASES = Path(__file__).parent / "golden" / "requests"
FILES = sorted(p for p in CASES.iterdir() if not p.name.endswith(".expected.json"))
FORMATS = ("csv", "vllm", "sglang", "aiperf", "ollama")
T0 = 1_750_000_000_000_000_000


def _expected(path: Path) -> dict[str, Any]:
    return dict(json.loads((CASES / (path.name.split(".")[0] + ".expected.json")).read_text()))


def _read(path: Path, exp: dict[str, Any], **kw: Any) -> Requests:
    return read_requests(path, **{**exp.get("options", {}), **kw})


def test_corpus_covers_every_format() -> None:
    names = [p.name for p in FILES]
    assert len([n for n in names if n.startswith("ok_")]) >= 20
    assert len([n for n in names if n.startswith("err_")]) >= 45
    for f in FORMATS:
        assert any(n.startswith(f"ok_{f}") for n in names), f
        assert sum(n.startswith(f"err_{f}") for n in names) >= 3, f


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
@pytest.mark.parametrize("chunk_bytes", [1 << 20, 7, 1])
def test_golden(path: Path, chunk_bytes: int) -> None:
    exp = _expected(path)
    if "error" in exp:
        want = exp["error"]
        with pytest.raises(epcore.EpcoreError) as info:
            _read(path, exp, chunk_bytes=chunk_bytes)
        e = info.value
        assert type(e).__name__ == want["type"], str(e)
        assert e.code == want["code"], str(e)
        for key in ("line", "column", "value"):
            if key in want:
                assert getattr(e, key) == want[key], f"{key}: {e}"
        assert e.path is None or e.path.endswith(path.name)
        assert "\n" not in str(e)
        assert e.hint or e.code in ("empty_input", "invalid_argument", "length_mismatch"), str(e)
        return
    r = _read(path, exp, chunk_bytes=chunk_bytes)
    assert len(r) == exp["n"]
    cols = r.to_dict()
    for name, values in exp.get("columns", {}).items():
        assert cols[name] == values, name
    q = r.quality.to_dict()
    for key, value in exp.get("quality", {}).items():
        assert q[key] == value, f"{key}: {q[key]} != {value}"
    assert len(r.quality.warnings) == exp.get("warnings", len(r.quality.warnings))
    json.dumps(cols, allow_nan=False)
    json.dumps(r.summary(), allow_nan=False)


# --------------------------------------------------------------------------- real files


def test_real_ollama_excerpt(shared_data: Path) -> None:
    """Three records of quirence-llm-energy-bench, checked by hand against the file:
    start = started_utc, first token = start + (t_first_token_s - t_start_s), end = ended_utc."""
    path = shared_data / "quirence-llm-energy-bench" / "outputs_excerpt.jsonl"
    assert sniff_requests(path) == "ollama"
    r = read_requests(path)
    assert r.request_id.tolist() == [
        f"benchmark-v1-rtx4060ti-desktop-20260929T111918Z-f5692c-request-0000{i}" for i in (1, 3, 4)
    ]
    # 2026-09-29T11:19:30.527891Z etc.
    assert r.start_ns.tolist() == [1_790_680_770_527_891_000, 1_790_680_774_495_503_000, 1_790_680_775_624_328_000]
    assert r.end_ns.tolist() == [1_790_680_771_642_518_000, 1_790_680_775_609_988_000, 1_790_680_776_383_495_000]
    # 5171.5158168 - 5171.4175998 = 0.0982170; 5175.4612289 - 5175.385803 = 0.0754259; 5176.5914862 - 5176.5143987 = 0.0770875
    ttft = (r.first_token_ns - r.start_ns).tolist()
    assert ttft == [98_217_000, 75_425_900, 77_087_500]
    assert r.input_tokens.tolist() == [280, 280, 263]
    assert r.output_tokens.tolist() == [84, 87, 58]
    assert r.total_output_tokens == 229 and r.n_failed == 0
    assert r.token_source.tolist() == ["usage"] * 3
    assert set(r.model.tolist()) == {"qwen3:4b-instruct-2507-q4_K_M"}
    # The file's own monotonic latency_s agrees with the wall-clock end - start to within
    # the 0.36-0.90 ms between its wall-clock and monotonic reads.
    lat = [json.loads(line)["latency_s"] for line in path.read_text().splitlines()]
    for span, want in zip(((r.end_ns - r.start_ns) / 1e9).tolist(), lat):
        assert 0 <= span - want < 1e-3


@pytest.mark.parametrize("name", ["resnet50_latency.csv", "mobilenet_latency.csv"])
def test_real_latency_csv_is_not_a_request_log(shared_data: Path, name: str) -> None:
    """``latency_ms`` alone has no ids, start times or tokens (its SOURCE.md: CNN serving, no tokens)."""
    path = shared_data / "nvidia-smi-inference-serving-logs" / name
    assert sniff_requests(path) is None
    with pytest.raises(epcore.ParseError) as info:
        read_requests(path)
    assert info.value.code == "unrecognized_format"
    with pytest.raises(epcore.SchemaError) as schema:
        read_requests(path, format="csv")
    assert schema.value.line == 1 and "latencies" in (schema.value.hint or "")


# --------------------------------------------------------------------------- the canonical CSV vs the reference

_IDS = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n"), min_size=1, max_size=12)


@st.composite
def _request_rows(draw: st.DrawFn) -> tuple[bytes, int]:
    """A valid canonical CSV in one of its spellings, and its number of distinct rows."""
    n = draw(st.integers(1, 12))
    time_kind = draw(st.sampled_from(["seconds", "rfc3339", "ns"]))
    with_first = draw(st.booleans())
    extra = draw(st.sampled_from([(), ("model",), ("ok", "token_source"), ("model", "ok", "token_source", "note")]))
    stem = {"seconds": "time", "rfc3339": "time", "ns": "ns"}[time_kind]
    cols = ["request_id", f"start_{stem}", f"end_{stem}", "input_tokens", "output_tokens"]
    if with_first:
        cols.insert(2, f"first_token_{stem}")
    cols += list(extra)
    order = draw(st.permutations(cols))
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = [",".join(order)]
    ids = draw(st.lists(_IDS, min_size=n, max_size=n, unique=True))

    def fmt(ns: int) -> str:
        if time_kind == "ns":
            return str(ns)
        s, frac = divmod(ns, 10**9)
        digits = draw(st.integers(0, 9))
        f = f"{frac:09d}"
        if f[digits:].strip("0"):
            digits = 9
        dec = f"{s}.{f[:digits]}" if digits else str(s)
        if time_kind == "seconds":
            return dec
        off = draw(st.integers(-14 * 60, 14 * 60))
        local = s + off * 60
        day = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(local))
        frac_txt = f".{f[:digits]}" if digits else ""
        zone = "Z" if off == 0 and draw(st.booleans()) else f"{'-' if off < 0 else '+'}{abs(off) // 60:02d}:{abs(off) % 60:02d}"
        return f"{day}{frac_txt}{zone}"

    def quote(s: str) -> str:
        if s == "" or s != s.strip(" \t") or any(c in s for c in ',"'):
            return '"' + s.replace('"', '""') + '"'
        return s

    for i in range(n):
        start = draw(st.integers(946_684_800 * 10**9, 4_102_444_799 * 10**9))
        end = start + draw(st.integers(0, 10**12))
        if end >= 4_102_444_800 * 10**9:
            end = start
        first = draw(st.one_of(st.none(), st.integers(start, end)))
        cell = {
            "request_id": quote(ids[i]),
            f"start_{stem}": fmt(start),
            f"end_{stem}": fmt(end),
            f"first_token_{stem}": "" if first is None else fmt(first),
            "input_tokens": str(draw(st.integers(0, 2**40))),
            "output_tokens": draw(st.sampled_from(["{}", "{}.0", "+{}"])).format(draw(st.integers(0, 10**6))),
            "model": quote(draw(st.sampled_from(["", "llama, 8B", "qwen3:4b", ' "q" ']))),
            "ok": draw(st.sampled_from(["true", "FALSE", "1", "0", "yes", "No"])),
            "token_source": draw(st.sampled_from(["", "usage", "stream_chunks", "retokenized", "unknown"])),
            "note": quote(draw(st.text(max_size=5).filter(lambda s: "\r" not in s and "\n" not in s))),
        }
        lines.append(",".join(cell[c] for c in order))
    body = eol.join(lines) + (eol if draw(st.booleans()) else "")
    bom = "\ufeff" if draw(st.booleans()) else ""
    return (bom + body).encode("utf-8"), n


@given(_request_rows(), st.sampled_from([1 << 20, 5]))
def test_csv_matches_the_reference(tmp_path_factory: pytest.TempPathFactory, case: tuple[bytes, int],
                                   chunk_bytes: int) -> None:
    data, n = case
    path = tmp_path_factory.mktemp("req") / "r.csv"
    path.write_bytes(data)
    cols, info = read_requests_csv_reference(data)
    r = read_requests(path, format="csv", chunk_bytes=chunk_bytes)
    assert len(r) == n
    got = r.to_dict()
    for c in COLUMNS:
        assert got[c] == cols[c], c
    assert r.quality.unterminated_final_line == info["unterminated_final_line"]


@given(st.binary(max_size=400), st.sampled_from([None, *FORMATS]))
def test_arbitrary_bytes_give_a_typed_error_or_a_table(tmp_path_factory: pytest.TempPathFactory, data: bytes,
                                                       fmt: str | None) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "x"
    path.write_bytes(data)
    try:
        r = read_requests(path, format=fmt, anchor_ns=T0 if fmt == "vllm" else None)  # type: ignore[arg-type]
    except epcore.EpcoreError as e:
        assert e.code and "\n" not in str(e)
        return
    assert len(r) > 0 and bool(np.all(r.end_ns >= r.start_ns))


_HEAD = b"request_id,start_time,first_token_time,end_time,input_tokens,output_tokens\n"


@given(st.lists(st.sampled_from([
    b"a,1750000000,,1750000001,1,1", b"b,1750000000.5,1750000000.75,1750000002,10,3", b"", b"  ",
    b"c,2025-06-15T15:06:40Z,,2025-06-15T15:06:41+00:00,0,0", b"a,1750000000,,1750000001,1,1",
    b"d,1750000000,,1750000001,-1,1", b"e,1750000001,,1750000000,1,1", b"f,1750000000,,1750000001,1",
    b'"g,h",1750000000,,1750000001,1,1', b"a,1750000000,,1750000001,1,2", b"i,17500", b'"j',
]), max_size=8), st.sampled_from([b"\n", b"\r\n"]), st.booleans())
def test_csv_errors_agree_with_the_reference(tmp_path_factory: pytest.TempPathFactory, rows: list[bytes],
                                             eol: bytes, terminated: bool) -> None:
    data = _HEAD + eol.join(rows) + (eol if terminated else b"")
    path = tmp_path_factory.mktemp("req") / "r.csv"
    path.write_bytes(data)
    try:
        want: Any = read_requests_csv_reference(data)
    except epcore.EpcoreError as e:
        want = e
    try:
        got: Any = read_requests(path, format="csv")
    except epcore.EpcoreError as e:
        got = e
    if isinstance(want, epcore.EpcoreError):
        assert isinstance(got, epcore.EpcoreError), data
        assert (got.code, got.line or 0) == (want.code, want.line), (data, str(got))
    else:
        assert not isinstance(got, epcore.EpcoreError), (data, str(got))
        assert got.to_dict() == {c: want[0][c] for c in COLUMNS}
        assert got.quality.n_duplicate_identical == want[1]["n_duplicate_identical"]
        assert got.quality.truncated_tail == want[1]["truncated_tail"]


# --------------------------------------------------------------------------- the table and its exports


def _small(tmp_path: Path) -> Requests:
    p = tmp_path / "r.csv"
    p.write_text(
        "request_id,start_ns,first_token_ns,end_ns,input_tokens,output_tokens,model,ok,token_source\n"
        f'a,{T0},{T0 + 5},{T0 + 9},10,2,"m, 1",true,usage\n'
        f"b,{T0 + 1},,{T0 + 3},4,0,,false,unknown\n"
    )
    return read_requests(p)


def test_table_is_frozen_and_typed(tmp_path: Path) -> None:
    r = _small(tmp_path)
    assert r.start_ns.dtype == np.int64 and r.ok.dtype == np.bool_ and r.line.dtype == np.uint64
    assert r.first_token_ns.mask.tolist() == [False, True]
    assert r.has_first_token.tolist() == [True, False]
    with pytest.raises(ValueError):
        r.start_ns[0] = 0
    with pytest.raises(ValueError):
        r.request_id[0] = "x"
    assert (r.total_input_tokens, r.total_output_tokens, r.n_failed) == (14, 2, 1)
    assert r.span_ns == (T0, T0 + 9) and r.duration_s == 9e-9
    assert [row["request_id"] for row in r.rows()] == ["a", "b"]
    assert repr(r) == "Requests(n=2, format='csv', input_tokens=14, output_tokens=2, failed=1)"
    s = r.summary()
    assert (s["n_ok"], s["ok_input_tokens"], s["models"]) == (1, 10, ["m, 1"])


def test_arrow_polars_pandas(tmp_path: Path) -> None:
    r = _small(tmp_path)
    pa = pytest.importorskip("pyarrow")
    t = r.to_arrow()
    assert t.column_names == list(COLUMNS)
    assert t.schema.field("start_ns").type == pa.timestamp("ns", tz="UTC")
    assert t.column("first_token_ns").null_count == 1
    assert t.column("start_ns").cast(pa.int64()).to_pylist() == [T0, T0 + 1]
    assert pa.table(r).equals(t)  # through __arrow_c_stream__
    pl = pytest.importorskip("polars")
    df = r.to_polars()
    assert df.columns == list(COLUMNS)
    assert df["first_token_ns"].null_count() == 1
    assert df["start_ns"].dt.epoch("ns").to_list() == [T0, T0 + 1]
    assert df["model"].to_list() == ["m, 1", None]
    assert pl.DataFrame(r).shape == (2, len(COLUMNS))
    pd = pytest.importorskip("pandas")
    pdf = r.to_pandas()
    assert list(pdf.columns) == list(COLUMNS)
    assert pdf["first_token_ns"].isna().tolist() == [False, True]
    assert str(pdf["start_ns"].dtype) == "datetime64[ns, UTC]"
    assert pd.Timestamp(T0, tz="UTC") == pdf["start_ns"][0]


def test_missing_library_is_a_clear_import_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    r = _small(tmp_path)
    for mod in ("pandas", "polars", "pyarrow"):
        monkeypatch.setitem(sys.modules, mod, None)
    for method in ("to_pandas", "to_polars", "to_arrow"):
        with pytest.raises(ImportError, match=rf"Requests\.{method}\(\) needs .*pip install"):
            getattr(r, method)()


def test_csv_round_trip(tmp_path: Path) -> None:
    ids = ["plain", " edge ", 'q"uote', "com,ma", "é"]
    lines = [f'"{i.replace(chr(34), chr(34) * 2)}",{T0 + k},,{T0 + 10 + k},{k},{2 * k},,true,usage' for k, i in
             enumerate(ids)]
    p = tmp_path / "in.csv"
    p.write_text("request_id,start_ns,first_token_ns,end_ns,input_tokens,output_tokens,model,ok,token_source\n"
                 + "\n".join(lines) + "\n")
    r = read_requests(p)
    assert r.request_id.tolist() == ids
    out = tmp_path / "out.csv"
    r.to_csv(out)
    again = read_requests(out)
    assert again.to_dict() == r.to_dict()


def test_gzip_and_progress_and_interrupt(tmp_path: Path) -> None:
    body = _HEAD + b"".join(
        f"r{i},{1_750_000_000 + i},,{1_750_000_001 + i},{i % 7},{i % 5}\n".encode() for i in range(20_000)
    )
    p = tmp_path / "big.csv.gz"
    p.write_bytes(gzip.compress(body))
    seen: list[int] = []
    r = read_requests(p, chunk_bytes=4096, progress=seen.append)
    assert len(r) == 20_000 and r.quality.compression == "gzip"
    assert seen and seen == sorted(seen)

    def stop(done: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        read_requests(p, chunk_bytes=4096, progress=stop)


def test_caps_on_records_documents_and_depth(tmp_path: Path) -> None:
    p = tmp_path / "long.jsonl"
    p.write_text('{"metadata": {"x_request_id": "' + "x" * 5000 + '"}}\n')
    with pytest.raises(epcore.ParseError) as info:
        read_requests(p, format="aiperf", max_record_bytes=1000)
    assert info.value.code == "record_too_long" and info.value.line == 1
    doc = tmp_path / "doc.json"
    doc.write_text(json.dumps({"input_lens": [1] * 1000}))
    with pytest.raises(epcore.ParseError) as info:
        read_requests(doc, format="vllm", max_document_bytes=100)
    assert info.value.code == "bad_json" and "max_document_bytes" in str(info.value)
    deep = tmp_path / "deep.jsonl"
    deep.write_text('{"metadata": ' + "[" * 10 + "]" * 10 + "}\n")
    with pytest.raises(epcore.ParseError) as info:
        read_requests(deep, format="aiperf", max_json_depth=8)
    assert info.value.code == "bad_json" and "deeper than 8" in str(info.value)


def test_bad_arguments(tmp_path: Path) -> None:
    p = tmp_path / "r.csv"
    p.write_bytes(_HEAD + b"a,1750000000,,1750000001,1,1\n")
    with pytest.raises(epcore.ConfigError):
        read_requests(p, format="parquet")  # type: ignore[arg-type]
    with pytest.raises(epcore.ConfigError):
        read_requests(p, token_source="guessed")  # type: ignore[arg-type]
    with pytest.raises(epcore.ConfigError):
        read_requests(p, anchor_ns=1.75e18)  # type: ignore[arg-type]
    with pytest.raises(epcore.ConfigError):
        read_requests(p, anchor_ns=5)
    with pytest.raises(epcore.ConfigError):
        read_requests(p, start_ns=[1.5, 2.5])
    with pytest.raises(epcore.ConfigError):
        read_requests(p, max_json_depth=0)
    with pytest.raises(FileNotFoundError):
        read_requests(tmp_path / "nope.csv")
    with pytest.raises(IsADirectoryError):
        read_requests(tmp_path)


def test_anchor_and_starts_accept_datetime64(tmp_path: Path) -> None:
    doc = {"input_lens": [1, 2], "output_lens": [1, 1], "ttfts": [0.5, 0.25], "itls": [[], []],
           "start_times": [100.0, 101.5], "errors": ["", ""]}
    p = tmp_path / "v.json"
    p.write_text(json.dumps(doc))
    r = read_requests(p, anchor_ns=np.datetime64("2025-06-15T15:06:40", "s"))
    assert r.start_ns.tolist() == [T0, T0 + 1_500_000_000]
    starts = np.array(["2025-06-15T15:06:40", "2025-06-15T15:06:41"], dtype="datetime64[ns]")
    r = read_requests(p, start_ns=starts)
    assert r.quality.timing == "start_ns" and r.start_ns.tolist() == [T0, T0 + 10**9]


# --------------------------------------------------------------------------- CLI


def _run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli(*args)
    return code, out.getvalue(), err.getvalue()


def test_cli_tokens(tmp_path: Path) -> None:
    path = CASES / "ok_aiperf.jsonl"
    code, out, err = _run("tokens", str(path))
    assert code == 0 and "requests" in out and "benchmark_phase=warmup 1" in out, out + err
    code, out, _ = _run("tokens", str(path), "--json", "--out", str(tmp_path / "t.csv"))
    assert code == 0
    d = json.loads(out)
    assert d["summary"]["n_requests"] == 3 and d["summary"]["n_failed"] == 1
    assert d["quality"]["skipped"] == {"benchmark_phase=warmup": 1}
    assert len(read_requests(tmp_path / "t.csv")) == 3
    code, out, _ = _run("tokens", str(path), "--all-phases", "--json")
    assert json.loads(out)["summary"]["n_requests"] == 4
    code, out, _ = _run("tokens", str(CASES / "ok_vllm_anchor.json"), "--anchor-ns", str(T0), "--format", "vllm",
                        "--json")
    assert code == 0 and json.loads(out)["quality"]["timing"] == "anchor_ns"


@pytest.mark.parametrize("args", [
    ("err_csv_negative_tokens.csv",), ("err_vllm_no_anchor.json",), ("err_aiperf_bad_json.jsonl",),
    ("missing.csv",), ("ok_csv_seconds.csv", "--out", "/nonexistent-dir/x.csv"),
])
def test_cli_tokens_bad_input_is_one_line(args: tuple[str, ...]) -> None:
    code, out, err = _run("tokens", str(CASES / args[0]), *args[1:])
    assert code == 1, out + err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err


def test_cli_tokens_warns_once_per_warning() -> None:
    code, _, err = _run("tokens", str(CASES / "ok_csv_truncated_tail.csv"))
    assert code == 0 and err.startswith("warning: line 3: the last line is incomplete")
