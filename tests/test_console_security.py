"""The web console's defences (docs/ROBUSTNESS.md §4), tested over real HTTP.

DNS rebinding (foreign Host), cross-site requests (foreign Origin, missing or
wrong token), the token-on-every-request mode for non-loopback binds,
security headers, upload limits counted while streaming (declared, chunked
and lying lengths), gzip bombs, client file names that look like paths,
upload ids that are not ids, cleanup of uploads, the bounded analysis queue,
and a crashing analysis that must not take the console down.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_server import ConsoleURL, running_console

import epcore.console.api as console_api
from epcore.console.analysis import Limits
from epcore.console.jobs import JobQueue

DATA = Path(__file__).parent / "data"
SEED: dict[str, Any] = {"power_w": 5600, "tokens_per_s": 2500}


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleURL]:
    root = tmp_path_factory.mktemp("console-tmp")
    with running_console(max_upload_bytes=1000, max_decompressed_bytes=1 << 20, tmp_root=root) as url:
        yield url


def _post(url: str, path: str, token: str | None, **kw: Any) -> httpx.Response:
    headers = dict(kw.pop("headers", {}))
    if token is not None:
        headers["X-Epcore-Token"] = token
    return httpx.post(url + path, headers=headers, timeout=30, **kw)


def _error(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code, r.text
    assert r.headers["content-type"] == "application/json"
    _has_security_headers(r)


def _has_security_headers(r: httpx.Response) -> None:
    h = r.headers
    assert h["content-security-policy"].startswith(
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"
    assert h["cache-control"] == "no-store"
    assert "access-control-allow-origin" not in h


def _wait(url: str, job_id: str, timeout_s: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        s: dict[str, Any] = httpx.get(f"{url}/api/analyses/{job_id}", timeout=30).json()
        if s["state"] in ("done", "error"):
            return s
        assert time.monotonic() < deadline, s
        time.sleep(0.02)


def _upload(url: str, token: str, content: bytes, name: str = "f") -> str:
    r = _post(url, "/api/uploads", token, params={"name": name}, content=content)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _all_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


# --- Host, Origin, token -------------------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.example:{port}", "localhost.evil.example:{port}", "localhost",
                                  "127.0.0.1:1", "attacker.com", ""])
def test_foreign_host_is_refused(console: ConsoleURL, host: str) -> None:
    port = console.rsplit(":", 1)[1]
    r = httpx.get(console + "/api/health", headers={"Host": host.format(port=port)})
    _error(r, 403, "forbidden_host")
    r = _post(console, "/api/calc", console.token, json=SEED, headers={"Host": host.format(port=port)})
    _error(r, 403, "forbidden_host")


@pytest.mark.parametrize("host", ["localhost:{port}", "127.0.0.1:{port}", "[::1]:{port}", "LOCALHOST:{port}"])
def test_loopback_hosts_are_accepted(console: ConsoleURL, host: str) -> None:
    port = console.rsplit(":", 1)[1]
    r = httpx.get(console + "/api/health", headers={"Host": host.format(port=port)})
    assert r.status_code == 200
    _has_security_headers(r)


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://localhost:1", "https://127.0.0.1:{port}"])
def test_foreign_origin_is_refused(console: ConsoleURL, origin: str) -> None:
    port = console.rsplit(":", 1)[1]
    r = _post(console, "/api/calc", console.token, json=SEED, headers={"Origin": origin.format(port=port)})
    _error(r, 403, "forbidden_origin")


def test_own_origin_is_accepted(console: ConsoleURL) -> None:
    r = _post(console, "/api/calc", console.token, json=SEED, headers={"Origin": console})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("token", [None, "", "wrong", "x" * 43])
def test_post_without_the_token_is_refused(console: ConsoleURL, token: str | None) -> None:
    _error(_post(console, "/api/calc", token, json=SEED), 403, "bad_token")
    _error(_post(console, "/api/uploads", token, content=b"abc"), 403, "bad_token")


def test_preflight_is_never_approved(console: ConsoleURL) -> None:
    r = httpx.options(console + "/api/calc", headers={"Origin": console, "Access-Control-Request-Method": "POST",
                                                      "Access-Control-Request-Headers": "x-epcore-token"})
    assert r.status_code >= 400
    assert "access-control-allow-origin" not in r.headers and "access-control-allow-headers" not in r.headers


def test_get_needs_no_token_on_loopback(console: ConsoleURL) -> None:
    assert httpx.get(console + "/api/meta", timeout=30).status_code == 200


def test_exposed_console_needs_the_token_on_every_request() -> None:
    with running_console(require_token=True, token="launch-token") as url:
        _error(httpx.get(url + "/api/health"), 403, "bad_token")
        _error(httpx.get(url + "/api/health", params={"token": "nope"}), 403, "bad_token")
        with httpx.Client(base_url=url) as c:
            r = c.get("/api/health", params={"token": "launch-token"})
            assert r.status_code == 200
            cookie = r.headers["set-cookie"]
            assert cookie.startswith("epcore_token=launch-token;")
            assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
            assert c.get("/api/health").status_code == 200  # the cookie carries it from now on
            _error(c.post("/api/calc", json=SEED), 403, "bad_token")  # POSTs still need the header
            assert c.post("/api/calc", json=SEED, headers={"X-Epcore-Token": "launch-token"}).status_code == 200
        assert httpx.get(url + "/api/health", headers={"X-Epcore-Token": "launch-token"}).status_code == 200


def test_wildcard_bind_accepts_any_host_but_needs_the_token() -> None:
    with running_console(host="0.0.0.0", token="t") as url:
        assert url.app.state.console.require_token is True
        _error(httpx.get(url + "/api/health", headers={"Host": "gpu-box.lan:8787"}), 403, "bad_token")
        r = httpx.get(url + "/api/health", headers={"Host": "gpu-box.lan:8787", "X-Epcore-Token": "t"})
        assert r.status_code == 200


def test_errors_and_static_carry_the_headers(console: ConsoleURL) -> None:
    _error(httpx.get(console + "/api/nope"), 404, "not_found")
    _error(httpx.get(console + "/static/%2e%2e/%2e%2e/etc/passwd"), 404, "not_found")
    r = httpx.get(console + "/")
    _has_security_headers(r)


# --- uploads -------------------------------------------------------------------------------


def test_upload_over_the_limit_declared(console: ConsoleURL) -> None:
    root = console.app.state.console.uploads.root
    before = _all_files(root)
    _error(_post(console, "/api/uploads", console.token, content=b"x" * 1001), 413, "too_large")
    assert _all_files(root) == before
    assert _post(console, "/api/uploads", console.token, content=b"x" * 1000).status_code == 201


def test_upload_over_the_limit_chunked(console: ConsoleURL) -> None:
    """No Content-Length at all: the bytes are counted as they stream and the partial file removed."""
    root = console.app.state.console.uploads.root
    before = _all_files(root)

    def body() -> Iterator[bytes]:
        for _ in range(10):
            yield b"y" * 300

    r = _post(console, "/api/uploads", console.token, content=body())
    assert r.request.headers.get("transfer-encoding") == "chunked" and "content-length" not in r.request.headers
    _error(r, 413, "too_large")
    assert _all_files(root) == before


def _raw_request(url: str, head: str, body: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(head.encode() + body)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while data := s.recv(65536):
            chunks.append(data)
    return b"".join(chunks)


def test_lying_content_length_cannot_smuggle_bytes(console: ConsoleURL) -> None:
    """A Content-Length under the limit with a body over it: only the declared bytes are the upload
    (HTTP framing), the rest is not a file; nothing over the limit is ever stored."""
    root = console.app.state.console.uploads.root
    port = console.rsplit(":", 1)[1]
    head = (f"POST /api/uploads?name=lie HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Epcore-Token: {console.token}\r\n"
            "Content-Type: application/octet-stream\r\nContent-Length: 100\r\nConnection: close\r\n\r\n")
    answer = _raw_request(console, head, b"z" * 5000)
    assert answer.startswith(b"HTTP/1.1 201"), answer[:200]
    assert all(p.stat().st_size <= 1000 for p in _all_files(root))
    # A declared length over the limit is refused before the body is read.
    head = head.replace("Content-Length: 100", "Content-Length: 999999999")
    answer = _raw_request(console, head, b"z" * 10)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


@pytest.mark.parametrize("path", ["/api/uploads?name=slow", "/api/calc"])
def test_a_stalled_body_times_out(path: str) -> None:
    """Slow-drip clients: a body that stops arriving fails with 408 and leaves no file behind."""
    with running_console(body_idle_timeout_s=0.5) as url:
        port = url.rsplit(":", 1)[1]
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Epcore-Token: {url.token}\r\n"
                "Content-Length: 100\r\n\r\n")
        with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as s:
            s.sendall(head.encode() + b"{" * 10)  # 10 of the 100 bytes, then nothing
            started = time.monotonic()
            answer = b""
            while b"}}" not in answer and (chunk := s.recv(65536)):  # the JSON error ends with "}}"
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b'"body_timeout"' in answer and time.monotonic() - started < 5
        assert list(url.app.state.console.uploads.root.iterdir()) == []


def test_path_like_names_are_display_only(console: ConsoleURL, tmp_path: Path) -> None:
    store = console.app.state.console.uploads
    parent = store.root.parent
    outside_before = {p for p in parent.rglob("*") if store.root not in p.parents and p != store.root}
    for name in ("../../etc/passwd", "/etc/passwd", "..\\..\\boot.ini", "a/../../b", "<script>x</script>"):
        r = _post(console, "/api/uploads", console.token, params={"name": name}, content=b"data")
        assert r.status_code == 201
        up = r.json()
        assert up["name"] == name and len(up["id"]) == 32 and int(up["id"], 16) >= 0
        stored = store.root / up["id"]
        assert stored.read_bytes() == b"data"
        assert oct(stored.stat().st_mode & 0o777) == "0o600"
    assert oct(store.root.stat().st_mode & 0o777) == "0o700"
    outside_after = {p for p in parent.rglob("*") if store.root not in p.parents and p != store.root}
    assert outside_after == outside_before  # nothing written outside the private directory
    assert {p.name for p in store.root.iterdir()} == {k for k in store._uploads}


@pytest.mark.parametrize("bad_id", ["../../etc/passwd", "/etc/passwd", "A" * 32, "g" * 32, "0" * 31, "0" * 33,
                                    ".", "", 12345])
def test_ids_that_are_not_ids_are_not_found(console: ConsoleURL, bad_id: Any) -> None:
    r = _post(console, "/api/analyses", console.token, json={"power": bad_id})
    assert r.status_code in (404, 422), r.text
    assert r.json()["error"]["code"] in ("unknown_upload", "invalid_type")


def test_upload_is_deleted_after_its_analysis(console: ConsoleURL) -> None:
    store = console.app.state.console.uploads
    good = _upload(console, console.token, (DATA / "sample_attribution_power.csv").read_bytes())
    bad = _upload(console, console.token, b"not a trace at all")
    for upload_id, state in ((good, "done"), (bad, "error")):
        assert (store.root / upload_id).exists()
        job = _post(console, "/api/analyses", console.token, json={"power": upload_id}).json()
        s = _wait(console, job["id"])
        assert s["state"] == state, s
        assert not (store.root / upload_id).exists()
        # A second analysis of the same upload: it is gone.
        again = _post(console, "/api/analyses", console.token, json={"power": upload_id})
        _error(again, 404, "unknown_upload")


def test_shutdown_removes_the_private_directory(tmp_path: Path) -> None:
    with running_console(tmp_root=tmp_path) as url:
        _upload(url, url.token, b"abc")
        root = url.app.state.console.uploads.root
        assert root.exists() and root.parent == tmp_path
    assert not root.exists()


# --- decompression -------------------------------------------------------------------------


def test_gzip_bomb_power_is_a_typed_error(console: ConsoleURL) -> None:
    bomb = gzip.compress(b"timestamp_ns,power_w\n" + b"0,100\n" * (4 << 20), 6)  # 24 MiB → ~25 kB
    assert len(bomb) < 1000 * 100
    with running_console(max_decompressed_bytes=1 << 20) as url:
        upload_id = _upload(url, url.token, bomb, "bomb.csv.gz")
        started = time.monotonic()
        job = _post(url, "/api/analyses", url.token, json={"power": upload_id}).json()
        s = _wait(url, job["id"])
        assert s["state"] == "error" and s["error"]["code"] == "decompression_limit", s
        assert time.monotonic() - started < 10
        assert "bomb.csv.gz" in s["error"]["message"]
        assert httpx.get(url + "/api/health").status_code == 200


def test_gzip_bomb_requests_is_a_typed_error() -> None:
    header = b"request_id,start_time,end_time,input_tokens,output_tokens\n"
    bomb = gzip.compress(header + b"r,1750000005,1750000010,1,1\n" * (2 << 20))  # 56 MiB → ~100 kB
    with running_console(max_decompressed_bytes=1 << 20) as url:
        p = _upload(url, url.token, (DATA / "sample_attribution_power.csv").read_bytes())
        q = _upload(url, url.token, bomb, "requests.csv.gz")
        job = _post(url, "/api/analyses", url.token, json={"power": p, "requests": q}).json()
        s = _wait(url, job["id"])
        assert s["state"] == "error" and s["error"]["code"] == "decompression_limit", s


def test_decompression_cap_follows_the_file_size() -> None:
    lim = Limits(max_decompressed_bytes=4 << 30, max_ratio=250.0)
    assert lim.cap(1000) == 64 << 20  # small files: a floor, so a genuine small .gz is fine
    assert lim.cap(10 << 20) == 2500 << 20  # 10 MiB × 250
    assert lim.cap(1 << 30) == 4 << 30  # never past the absolute cap


# --- the analysis queue and crash isolation ------------------------------------------------


def test_queue_full_is_429(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def slow(job: Any, spec: Any, limits: Any) -> dict[str, Any]:
        release.wait(30)
        return {"ok": True}

    monkeypatch.setattr(console_api, "run_analysis", slow)
    with running_console(max_running=1, max_queued=1) as url:
        ids = [_upload(url, url.token, b"x") for _ in range(3)]
        first = _post(url, "/api/analyses", url.token, json={"power": ids[0]})
        second = _post(url, "/api/analyses", url.token, json={"power": ids[1]})
        assert first.status_code == 202 and second.status_code == 202
        third = _post(url, "/api/analyses", url.token, json={"power": ids[2]})
        _error(third, 429, "busy")
        assert httpx.get(url + "/api/health").status_code == 200  # the server itself is not blocked
        release.set()
        assert _wait(url, first.json()["id"])["state"] == "done"
        assert _wait(url, second.json()["id"])["state"] == "done"
        # The refused upload was given back: it can be analysed now.
        assert _post(url, "/api/analyses", url.token, json={"power": ids[2]}).status_code == 202


def test_disk_is_bounded_across_uploads() -> None:
    with running_console(max_upload_bytes=100, max_total_upload_bytes=250) as url:
        store = url.app.state.console.uploads
        a = _upload(url, url.token, b"a" * 100)
        _upload(url, url.token, b"b" * 100)
        _error(_post(url, "/api/uploads", url.token, content=b"c" * 100), 507, "storage_full")
        assert store.disk_bytes == 200 and len(list(store.root.iterdir())) == 2
        s = _wait(url, _post(url, "/api/analyses", url.token, json={"power": a}).json()["id"])
        assert s["state"] == "error" and store.disk_bytes == 100  # analysed (not a trace) and deleted
        _upload(url, url.token, b"c" * 100)


def test_too_many_pending_uploads_is_429() -> None:
    with running_console(max_pending_uploads=2) as url:
        _upload(url, url.token, b"a")
        _upload(url, url.token, b"b")
        _error(_post(url, "/api/uploads", url.token, content=b"c"), 429, "too_many_uploads")


class FakePanic(BaseException):
    """Like pyo3's PanicException: a BaseException, not an Exception."""


def test_a_crashing_analysis_does_not_take_the_console_down(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(job: Any, spec: Any, limits: Any) -> dict[str, Any]:
        raise FakePanic("called `Option::unwrap()` on a `None` value")

    monkeypatch.setattr(console_api, "run_analysis", boom)
    with running_console() as url:
        store = url.app.state.console.uploads
        upload_id = _upload(url, url.token, b"x")
        s = _wait(url, _post(url, "/api/analyses", url.token, json={"power": upload_id}).json()["id"])
        assert s["state"] == "error" and s["error"]["code"] == "internal_error"
        assert "FakePanic" in s["error"]["message"] and "\n" not in s["error"]["message"]
        assert not (store.root / upload_id).exists()
        assert httpx.get(url + "/api/health").status_code == 200
        assert url.app.state.console.jobs.active == 0


def test_memory_error_is_typed() -> None:
    q = JobQueue(max_running=1, max_queued=0)

    def oom(job: Any) -> dict[str, Any]:
        raise MemoryError

    job = q.submit(oom)
    assert job.wait(10)
    assert job.snapshot()["error"]["code"] == "out_of_memory"
    q.shutdown()


def test_handler_bug_is_a_json_500(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(body: object) -> Any:
        raise RuntimeError("a bug\nwith a second line")

    monkeypatch.setattr(console_api, "_calc", broken)
    with running_console() as url:
        r = _post(url, "/api/calc", url.token, json=SEED)
        _error(r, 500, "internal_error")
        assert "a bug" not in r.text  # details go to the server log, not to the page
