"""The web console's JSON API, end to end over HTTP (uvicorn on loopback, httpx).

Figures are checked against the Python API they come from and against the
README's seed (5.6 kW at 2,500 tok/s, $0.08/kWh: 2.24 J/token, $0.0498 per
million tokens, $0.0000249 per query, 3,214.29 queries per kWh). Every error
is a typed JSON 4xx; the OpenAPI document lists exactly the served routes.
"""

from __future__ import annotations

import contextlib
import io
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_server import ConsoleURL, running_console

import epcore
import epcore.display
from epcore.cli import RATE_CAVEAT, cli
from epcore.console.openapi import ROUTES

DATA = Path(__file__).parent / "data"
POWER = DATA / "sample_attribution_power.csv"
REQUESTS = DATA / "sample_attribution_requests.csv"
SEED: dict[str, Any] = {"power_w": 5600, "tokens_per_s": 2500, "price_per_kwh": 0.08}


@pytest.fixture(scope="module")
def console() -> Iterator[ConsoleURL]:
    with running_console() as url:
        yield url


@pytest.fixture()
def client(console: ConsoleURL) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=console, headers={"X-Epcore-Token": console.token}, timeout=30) as c:
        yield c


def _row(rows: list[dict[str, Any]], name: str, unit: str | None = None) -> dict[str, Any]:
    return next(r for r in rows if r["name"] == name and (unit is None or r["unit"] == unit))


def _wait(client: httpx.Client, job_id: str, timeout_s: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        r = client.get(f"/api/analyses/{job_id}")
        assert r.status_code == 200, r.text
        s: dict[str, Any] = r.json()
        assert 0.0 <= s["progress"] <= 1.0
        if s["state"] in ("done", "error"):
            return s
        assert time.monotonic() < deadline, s
        time.sleep(0.02)


def _upload(client: httpx.Client, content: bytes, name: str) -> str:
    r = client.post("/api/uploads", params={"name": name}, content=content,
                    headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 201, r.text
    up = r.json()
    assert up["bytes"] == len(content) and up["name"] == name
    return str(up["id"])


# --- health, meta, page --------------------------------------------------------------------


def test_health(client: httpx.Client) -> None:
    r = client.get("/api/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "version": epcore.__version__}
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["content-type"] == "application/json"


def test_meta(client: httpx.Client, console: ConsoleURL) -> None:
    m = client.get("/api/meta").json()
    codes = {c["code"]: c for c in m["currencies"]}
    assert set(codes) == set(epcore.CURRENCIES)
    assert codes["BRL"]["name"] == "Brazilian real" and codes["BRL"]["has_rate"] is True
    assert codes["JPY"]["decimals"] == 0
    regions = {g["code"]: g for g in m["grid_regions"]}
    assert len(regions) == len(epcore.grid_regions())
    assert regions["DEU"]["g_co2_per_kwh"] == epcore.grid_intensity("DE").g_co2_per_kwh
    assert {"code", "name", "g_co2_per_kwh", "year"} <= set(regions["DEU"])
    assert m["rates"] == {"date": "2025-05-09", "source": epcore.Rates.bundled().source, "note": RATE_CAVEAT}
    assert m["defaults"]["price_per_kwh"] == 0.08 and m["defaults"]["pue"] == 1.0
    assert m["limits"]["max_upload_bytes"] == console.app.state.console.uploads.max_upload_bytes
    assert "nvidia-smi" in m["analysis"]["formats"]


def test_index_carries_the_token(tmp_path: Path) -> None:
    static = tmp_path / "static"
    static.mkdir()
    (static / "index.html").write_text('<meta name="epcore-token" content="{{EPCORE_TOKEN}}"><p>hi</p>')
    (static / "app.js").write_text("console.log(1);\n")
    with running_console(static_dir=static, token="tok-123") as url:
        page = httpx.get(url + "/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert '<meta name="epcore-token" content="tok-123">' in page.text
        assert page.headers["cache-control"] == "no-store"  # the token must not be cached
        js = httpx.get(url + "/static/app.js")
        assert js.status_code == 200 and "javascript" in js.headers["content-type"]
        assert js.headers["x-content-type-options"] == "nosniff"
        missing = httpx.get(url + "/static/nope.js")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_shipped_page_has_the_token_placeholder() -> None:
    from epcore.console.app import STATIC_DIR, TOKEN_PLACEHOLDER

    index = STATIC_DIR / "index.html"
    if index.exists():  # helper-written front end; the server half must work without it too
        assert TOKEN_PLACEHOLDER in index.read_text(encoding="utf-8")
    else:
        with running_console() as url:
            assert httpx.get(url + "/").status_code == 503


# --- steady state --------------------------------------------------------------------------


def test_calc_seed_figures(client: httpx.Client) -> None:
    r = client.post("/api/calc", json=SEED)
    assert r.status_code == 200, r.text
    d = r.json()
    rows = d["rows"]
    assert _row(rows, "joules_per_token")["it"] == "2.24"
    assert _row(rows, "cost_per_million_tokens")["it"] == "$0.0498"
    assert _row(rows, "cost_per_query")["it"] == "$0.0000249"
    assert _row(rows, "queries_per_kwh")["it"] == "3,214.29"
    assert _row(rows, "cost_per_query")["unit"] == "USD"
    assert all(row["facility"] is None for row in rows)
    assert not any(row["name"].startswith("g_co2") for row in rows)  # no grid: no carbon rows
    assert d["rate_line"] is None and d["rate_note"] is None and d["grid"] is None
    assert d["pue_note"].startswith("IT energy only (PUE 1.0)")
    assert d["result"] == epcore.steady_state(**SEED).to_dict()
    assert d["sensitivity"] == epcore.sensitivity(**SEED).to_dict()
    assert d["sensitivity_svg"].startswith("<svg") and "<script" not in d["sensitivity_svg"]
    assert [x["scenario"] for x in d["sensitivity_rows"]["rows"]][0] == "base"


def test_calc_currency_switch(client: httpx.Client) -> None:
    usd = client.post("/api/calc", json=SEED).json()
    brl = client.post("/api/calc", json={**SEED, "currency": "BRL", "price_currency": "USD"}).json()
    want = epcore.steady_state(**SEED, currency="BRL", price_currency="USD")
    cost = _row(brl["rows"], "cost_per_million_tokens")
    assert cost["it"] == epcore.format_money(want.cost_per_million_tokens, "BRL") and cost["it"].startswith("R$")
    assert cost["unit"] == "BRL"
    assert cost["it"] != _row(usd["rows"], "cost_per_million_tokens")["it"]
    assert brl["rate_line"].startswith("1 USD = 5.65651 BRL (rate of 2025-05-09, European Central Bank")
    assert RATE_CAVEAT in brl["rate_line"] and brl["rate_note"] == RATE_CAVEAT
    assert _row(brl["rows"], "joules_per_token")["it"] == "2.24"  # energy does not change with money
    assert brl["sensitivity"]["currency"] == "BRL"
    eur = client.post("/api/calc", json={**SEED, "currency": "EUR"}).json()
    assert _row(eur["rows"], "cost_per_million_tokens")["it"].startswith("€")
    assert eur["rate_line"].startswith("1 USD = ")


def test_calc_pue_and_grid(client: httpx.Client) -> None:
    d = client.post("/api/calc", json={**SEED, "pue": 1.3, "grid": "DE"}).json()
    assert d["pue_note"] == "facility = IT × PUE 1.3"
    jpt = _row(d["rows"], "joules_per_token")
    assert (jpt["it"], jpt["facility"]) == ("2.24", "2.912")
    region = epcore.grid_intensity("DE")
    assert d["grid"] == region.to_dict()
    assert d["grid_line"].startswith("grid DEU (Germany): 380.95 gCO2e/kWh, 2023")
    want = epcore.steady_state(**SEED, pue=1.3, grid_g_co2_per_kwh=region.g_co2_per_kwh)
    assert d["result"] == want.to_dict()
    assert _row(d["rows"], "g_co2_per_query")["it"] == epcore.display.fmt_number(want.g_co2_per_query)
    custom = client.post("/api/calc", json={**SEED, "grid_g_co2_per_kwh": 400}).json()
    assert custom["grid"] is None and custom["result"]["grid_g_co2_per_kwh"] == 400.0


def test_sensitivity(client: httpx.Client) -> None:
    d = client.post("/api/sensitivity", json={**SEED, "grid_g_co2_per_kwh": 400}).json()
    want = epcore.sensitivity(**SEED, grid_g_co2_per_kwh=400)
    assert d["sensitivity"] == want.to_dict()
    table = d["rows"]
    assert [r["scenario"] for r in table["rows"]] == ["base", *(r.scenario for r in want.rows)]
    assert {c["name"] for c in table["columns"]} >= {"joules_per_token", "g_co2_per_query"}
    doubled = next(r for r in table["rows"] if r["lever"] == "throughput_per_watt")
    assert doubled["values"]["joules_per_token"] == "1.12" and doubled["changes"]["joules_per_token"] == "-50.0%"
    other = client.post("/api/sensitivity", json={**SEED, "power_w": 7000}).json()
    assert other["svg"] != d["svg"]


def test_fleet(client: httpx.Client) -> None:
    body: dict[str, Any] = {"nodes": 1200, "power_w_per_node": 5600, "utilization": 0.6,
                            "idle_power_w_per_node": 1600, "tokens_per_s_per_node": 2500, "pue": 1.56,
                            "grid_g_co2_per_kwh": 400}
    d = client.post("/api/fleet", json=body).json()
    assert d["result"] == epcore.fleet(**body).to_dict() and d["ranged"] is False
    assert _row(d["rows"], "draw_w_per_node")["it"] == "4,000"
    assert _row(d["rows"], "power_mw")["facility"] == "7.488"
    ranged = client.post("/api/fleet", json={**body, "utilization": [0.5, 0.7]}).json()
    assert ranged["ranged"] is True
    assert " – " in _row(ranged["rows"], "power_mw")["it"]


def test_floor(client: httpx.Client) -> None:
    d = client.post("/api/floor", json={"price_per_mtok": 0.60, "joules_per_token": 2.24}).json()
    assert d["result"] == epcore.api_floor(price_per_mtok=0.60, joules_per_token=2.24).to_dict()
    floor = _row(d["rows"], "energy_cost_per_mtok")
    assert floor["output"] == "0.0497778" and _row(d["rows"], "headroom")["output"] == "12.0536×"


def test_crossover(client: httpx.Client) -> None:
    body = {"training_mwh": 1300, "queries_per_day": 5e7, "wh_per_query": 0.3, "pue": 1.1}
    d = client.post("/api/crossover", json=body).json()
    assert d["result"] == epcore.crossover(**body).to_dict()
    assert _row(d["rows"], "days_to_cross")["value"] == "78.7879"
    never = client.post("/api/crossover", json={**body, "queries_per_day": 0}).json()
    assert _row(never["rows"], "days_to_cross")["value"] == "never (no queries)"


def test_compare(client: httpx.Client) -> None:
    scenarios = [SEED, {**SEED, "tokens_per_s": 5000, "label": "2x <b>"},
                 {**SEED, "currency": "BRL", "price_currency": "USD"}]
    d = client.post("/api/compare", json={"scenarios": scenarios}).json()
    assert len(d["results"]) == 3 and d["currency"] == "USD"
    assert _row(d["results"][1]["rows"], "joules_per_token")["it"] == "1.12"
    assert all("sensitivity_svg" not in r for r in d["results"])
    assert d["svg"].startswith("<svg") and "2x &lt;b&gt;" in d["svg"] and "<b>" not in d["svg"]
    assert "-50%" in d["svg"]


# --- errors --------------------------------------------------------------------------------

ERRORS: list[tuple[str, Any, int, str, str | None]] = [
    ("/api/calc", {**SEED, "tokens_per_s": 0}, 422, "*", "tokens_per_s"),
    ("/api/calc", {"tokens_per_s": 2500}, 422, "missing_field", "power_w"),
    ("/api/calc", {**SEED, "power_w": "5600"}, 422, "invalid_type", "power_w"),
    ("/api/calc", {**SEED, "power_w": True}, 422, "invalid_type", "power_w"),
    ("/api/calc", {**SEED, "colour": "red"}, 422, "unknown_field", "colour"),
    ("/api/calc", {**SEED, "currency": "XYZ"}, 422, "unknown_code", "currency"),
    ("/api/calc", {**SEED, "price_currency": "XYQ"}, 422, "unknown_code", "price_currency"),
    ("/api/calc", {**SEED, "currency": "AED"}, 422, "*", "currency"),
    ("/api/calc", {**SEED, "grid": "NOWHERE"}, 422, "unknown_code", "grid"),
    ("/api/calc", {**SEED, "grid": "DE", "grid_g_co2_per_kwh": 300}, 422, "conflicting_fields", "grid"),
    ("/api/calc", {**SEED, "pue": 0.5}, 422, "*", "pue"),
    ("/api/calc", [1, 2], 400, "bad_json", None),
    ("/api/sensitivity", {"power_w": -1, "tokens_per_s": 1}, 422, "*", "power_w"),
    ("/api/fleet", {"nodes": 10, "power_w_per_node": 5600, "utilization": 1.5}, 422, "*", "utilization"),
    ("/api/fleet", {"nodes": 10, "power_w_per_node": 5600, "utilization": [0.1, 0.2, 0.3]}, 422, "invalid_value",
     "utilization"),
    ("/api/floor", {"joules_per_token": 2.24}, 422, "*", "*"),
    ("/api/crossover", {"training_mwh": 1300, "queries_per_day": 1, "wh_per_query": 0.3, "joules_per_token": 2},
     422, "*", "wh_per_query"),
    ("/api/compare", {"scenarios": []}, 422, "invalid_value", "scenarios"),
    ("/api/compare", {"scenarios": [SEED] * 9}, 422, "invalid_value", "scenarios"),
    ("/api/compare", {"scenarios": [SEED, {**SEED, "pue": 0}]}, 422, "*", "scenarios[1].pue"),
    ("/api/analyses", {"power": "../../etc/passwd"}, 404, "unknown_upload", "power"),
    ("/api/analyses", {"power": "0" * 32}, 404, "unknown_upload", "power"),
    ("/api/analyses", {}, 422, "missing_field", "power"),
]


def _check_error(r: httpx.Response, status: int, code: str, field: str | None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == "no-store"
    err: dict[str, Any] = r.json()["error"]
    assert set(err) == {"code", "message", "hint", "field"}
    assert isinstance(err["code"], str) and err["code"]
    if code != "*":
        assert err["code"] == code, err
    if field != "*":
        assert err["field"] == field, err
    assert "\n" not in err["message"] and "Traceback" not in err["message"]
    return err


@pytest.mark.parametrize(("path", "body", "status", "code", "field"), ERRORS)
def test_errors_are_typed_json(client: httpx.Client, path: str, body: Any, status: int, code: str,
                               field: str | None) -> None:
    _check_error(client.post(path, json=body), status, code, field)


@pytest.mark.parametrize("raw", [b"{not json", b"", b'{"power_w": NaN, "tokens_per_s": 1}', b"\xff\xfe"])
def test_malformed_json(client: httpx.Client, raw: bytes) -> None:
    r = client.post("/api/calc", content=raw, headers={"Content-Type": "application/json"})
    _check_error(r, 400, "bad_json", None)


def test_json_body_limit(client: httpx.Client) -> None:
    r = client.post("/api/calc", json={**SEED, "label": "x" * 100_000})
    _check_error(r, 413, "too_large", None)


def test_unknown_paths_and_methods(client: httpx.Client) -> None:
    _check_error(client.get("/api/nope"), 404, "not_found", None)
    _check_error(client.get("/api/calc"), 405, "method_not_allowed", None)
    _check_error(client.get("/api/analyses/../../etc/passwd"), 404, "not_found", None)
    _check_error(client.get("/api/analyses/" + "a" * 32), 404, "unknown_analysis", None)


def test_bad_message_names_the_field_and_hint(client: httpx.Client) -> None:
    err = _check_error(client.post("/api/calc", json={**SEED, "grid": "DEX"}), 422, "unknown_code", "grid")
    assert "DEU" in (err["hint"] or err["message"])


# --- OpenAPI -------------------------------------------------------------------------------


def test_openapi_lists_exactly_the_served_routes(client: httpx.Client, console: ConsoleURL) -> None:
    doc = client.get("/api/openapi.json").json()
    assert doc["openapi"] == "3.1.0"
    listed = {(p, m.upper()) for p, ops in doc["paths"].items() for m in ops}
    served = set()
    for route in console.app.routes:
        path = getattr(route, "path", "")
        if path.startswith("/api"):
            served |= {(path, m) for m in (route.methods or ()) if m != "HEAD"}
    assert listed == served == {(p, m) for p, m, _ in ROUTES}
    # Each listed route answers (not 404/405): the document cannot describe a route that is not there.
    for path, method in listed:
        url = path.replace("{id}", "f" * 32)
        r = client.request(method, url, json={} if method == "POST" else None)
        assert r.status_code not in (405,), (path, r.text)
        assert r.status_code != 404 or r.json()["error"]["code"] != "not_found", (path, r.text)
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["responses"] and op["operationId"]
            if method == "post" and path != "/api/uploads":
                assert "requestBody" in op
    refs = json.dumps(doc)
    for name in doc["components"]["schemas"]:
        assert f"#/components/schemas/{name}" in refs or name in ("Error",)


# --- trace analysis ------------------------------------------------------------------------


def test_trace_analysis(client: httpx.Client, console: ConsoleURL) -> None:
    store = console.app.state.console.uploads
    before = {x.name for x in store.root.iterdir()}
    p = _upload(client, POWER.read_bytes(), "power <b>.csv")
    q = _upload(client, REQUESTS.read_bytes(), "requests.csv")
    assert {x.name for x in store.root.iterdir()} - before == {p, q}
    r = client.post("/api/analyses", json={"power": p, "requests": q})
    assert r.status_code == 202, r.text
    s = _wait(client, r.json()["id"])
    assert s["state"] == "done" and s["error"] is None and s["progress"] == 1.0, s
    res = s["result"]
    want = epcore.attribute(epcore.read_power(POWER), epcore.read_requests(REQUESTS))
    headline = {h["label"]: h for h in res["headline"]}
    assert headline["energy per output token"]["value"] == epcore.display.fmt_number(want.joules_per_output_token)
    assert headline["energy per output token"]["unit"] == "J/token"
    assert headline["requests"]["value"] == "3"
    assert res["attribution"]["joules_per_output_token"] == pytest.approx(want.joules_per_output_token, rel=1e-12)
    assert res["energy"]["energy_j"] == pytest.approx(want.total_energy_j, rel=1e-12)
    assert set(res["svgs"]) == {"power", "jpt", "histogram", "phases"}
    assert all(v.startswith("<svg") for v in res["svgs"].values())
    assert {d["name"] for d in res["distribution"]} >= {"energy_j", "joules_per_output_token"}
    assert res["quality"]["trace"]["n_samples"] == 22 and res["quality"]["requests"] is not None
    text = json.dumps(s)
    assert str(store.root) not in text and p not in text  # no server path, no upload id in the result
    assert res["energy"]["source"] == "power <b>.csv"
    assert {x.name for x in store.root.iterdir()} <= before  # both uploads deleted once the analysis finished


def test_trace_analysis_power_only(client: httpx.Client) -> None:
    p = _upload(client, (DATA / "sample_trace.csv").read_bytes(), "trace.csv")
    s = _wait(client, client.post("/api/analyses", json={"power": p}).json()["id"])
    assert s["state"] == "done", s
    res = s["result"]
    assert res["attribution"] is None and set(res["svgs"]) == {"power"}
    want = epcore.read_power(DATA / "sample_trace.csv")
    assert res["energy"]["energy_j"] == want.energy_j
    assert {h["label"] for h in res["headline"]} >= {"total energy", "duration", "mean power"}


def test_trace_analysis_errors_are_typed(client: httpx.Client, console: ConsoleURL) -> None:
    root = str(console.app.state.console.uploads.root)
    p = _upload(client, b"this is,not\na power,trace\n", "junk.csv")
    s = _wait(client, client.post("/api/analyses", json={"power": p}).json()["id"])
    assert s["state"] == "error" and s["result"] is None
    err = s["error"]
    assert set(err) == {"code", "message", "hint", "field"} and err["code"] not in ("internal_error",)
    assert root not in json.dumps(err) and "\n" not in err["message"]
    # nvidia-smi logs have local times: joining them with a request log needs tz (a typed error says so).
    p = _upload(client, (DATA / "sample_nvidia_smi.csv.gz").read_bytes(), "smi.csv.gz")
    q = _upload(client, REQUESTS.read_bytes(), "requests.csv")
    s = _wait(client, client.post("/api/analyses", json={"power": p, "requests": q}).json()["id"])
    assert s["state"] == "error" and s["error"]["code"] == "naive_time" and "tz" in s["error"]["hint"]
    assert "smi.csv.gz" in s["error"]["message"] and root not in json.dumps(s)


def test_analysis_options(client: httpx.Client) -> None:
    p = _upload(client, POWER.read_bytes(), "p.csv")
    q = _upload(client, REQUESTS.read_bytes(), "q.csv")
    body = {"power": p, "requests": q, "format": "csv", "requests_format": "csv", "weight": "equal",
            "idle_w": 50, "offset_s": "0.5"}
    s = _wait(client, client.post("/api/analyses", json=body).json()["id"])
    assert s["state"] == "done", s
    a = s["result"]["attribution"]
    want = epcore.attribute(epcore.read_power(POWER), epcore.read_requests(REQUESTS), weight="equal", idle_w=50.0,
                            offset_ns=500_000_000)
    assert a["weight"] == "equal" and a["offset_ns"] == 500_000_000
    assert a["joules_per_output_token"] == pytest.approx(want.joules_per_output_token, rel=1e-12)
    for bad, field in (({"weight": "heavy"}, "weight"), ({"idle_w": "sometimes"}, "idle_w"),
                       ({"offset_s": "1e-10"}, "offset_s"), ({"format": "xls"}, "format")):
        p2 = _upload(client, b"x", "x")
        _check_error(client.post("/api/analyses", json={"power": p2, **bad}), 422, "*", field)


# --- the command -----------------------------------------------------------------------------


def test_console_command_help() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli("console", "--help") == 0
    text = out.getvalue()
    assert "--host" in text and "--max-upload-mb" in text and "--no-open" in text


def test_console_command_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert cli("console", "--no-open", "--port", str(port)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:"), err


def test_console_command_without_the_extra(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "uvicorn" else real(name, *a))
    assert cli("console", "--no-open") == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "epcore[console]" in err and len(err.splitlines()) == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _launch(*args: str) -> tuple[subprocess.Popen[str], str]:
    """``epcore console --no-open ARGS`` in a child process; its first stdout line (the URL)."""
    code = "import sys; from epcore.cli import main; sys.argv = ['epcore', *sys.argv[1:]]; main()"
    proc = subprocess.Popen([sys.executable, "-c", code, "console", "--no-open", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    return proc, line


def _first_health(proc: subprocess.Popen[str], url: str) -> httpx.Response:
    """``GET /api/health`` once the launched console answers (20 s at most, and only while it runs)."""
    deadline = time.monotonic() + 20
    while True:
        try:
            return httpx.get(url + "/api/health", timeout=2)
        except httpx.TransportError:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)


def test_console_command_serves_until_interrupted() -> None:
    port = _free_port()
    proc, line = _launch("--port", str(port), "--max-upload-mb", "0.001")
    try:
        assert line == f"epcore console: http://127.0.0.1:{port}/", line
        url = f"http://127.0.0.1:{port}"
        health = _first_health(proc, url)
        assert health.json()["status"] == "ok"
        assert httpx.get(url + "/api/meta").json()["limits"]["max_upload_bytes"] == 1048
        page = httpx.get(url + "/")
        assert page.status_code == 200 and "{{EPCORE_TOKEN}}" not in page.text
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode in (0, 130), err  # Ctrl-C: a clean stop, no traceback
    assert "Traceback" not in err


def test_console_command_beyond_loopback_warns_and_needs_the_token() -> None:
    port = _free_port()
    proc, line = _launch("--host", "0.0.0.0", "--port", str(port))
    try:
        assert line.startswith(f"epcore console: http://127.0.0.1:{port}/?token="), line
        token = line.split("?token=", 1)[1]
        url = f"http://127.0.0.1:{port}"
        refused = _first_health(proc, url)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "bad_token"
        assert httpx.get(url + "/api/health", params={"token": token}).status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert "WARNING" in err and "0.0.0.0" in err and "Traceback" not in err
