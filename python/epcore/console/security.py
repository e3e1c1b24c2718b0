"""The console's front door: Host allowlist, Origin check, launch token, security headers.

One pure-ASGI middleware (no ``BaseHTTPMiddleware``: it would buffer
streamed uploads and cost a task per request) runs before every route:

1. **Host** must be ``localhost:PORT``, ``127.0.0.1:PORT``, ``[::1]:PORT`` or
   the explicit ``--host`` (a DNS-rebinding page arrives with its own name:
   403 ``forbidden_host``). A wildcard bind (``0.0.0.0``/``::``) accepts any
   name, as Jupyter does, because the token is then required on *every* request.
2. **Origin**, when present, must be our own origin (403 ``forbidden_origin``).
3. **Token**: every non-GET request carries ``X-Epcore-Token`` equal to the
   per-launch token (403 ``bad_token``); a cross-site page cannot set that
   header without a CORS preflight we never answer. When the console is
   exposed beyond loopback, GETs need it too: from the header, the
   ``epcore_token`` cookie, or ``?token=`` (which sets that cookie,
   ``SameSite=Strict; HttpOnly``).
4. Every response gets CSP, ``nosniff``, ``no-referrer``, ``Cache-Control:
   no-store`` and no CORS header at all.

>>> sorted(allowed_hosts("127.0.0.1", 8787))
['127.0.0.1:8787', '[::1]:8787', 'localhost:8787']
>>> sorted(allowed_hosts("gpu-box.lan", 80))
['127.0.0.1:80', '[::1]:80', 'gpu-box.lan:80', 'localhost:80']
>>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("0.0.0.0"), is_wildcard("0.0.0.0")
(True, True, False, True)
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

__all__ = ["SECURITY_HEADERS", "SecurityMiddleware", "TOKEN_COOKIE", "TOKEN_HEADER", "allowed_hosts",
           "is_loopback", "is_wildcard"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_HEADER = "x-epcore-token"
TOKEN_COOKIE = "epcore_token"

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'")

#: Sent on every response, errors included.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    # The page embeds the launch token: no cache may keep it, nor any API answer.
    (b"cache-control", b"no-store"),
)

_SAFE_METHODS = frozenset({"GET", "HEAD"})


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``)."""
    h = host.strip("[]").lower()
    if h == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    """True for the any-address binds ``0.0.0.0`` and ``::``."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def _host_port(host: str, port: int) -> str:
    h = host.strip("[]").lower()
    return f"[{h}]:{port}" if ":" in h else f"{h}:{port}"


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    """The ``Host`` header values accepted: the loopback names, plus ``host`` itself when it is a name."""
    names = {f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"}
    if not is_wildcard(host):
        names.add(_host_port(host, port))
    return frozenset(names)


def _error_body(code: str, message: str, hint: str | None) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "hint": hint, "field": None}}).encode()


class SecurityMiddleware:
    """Reject foreign hosts, origins and missing tokens; add the security headers to every response."""

    def __init__(self, app: ASGIApp, *, token: str, host: str, port: int, require_token: bool) -> None:
        self.app = app
        self.token = token.encode()
        self.hosts = allowed_hosts(host, port)
        self.any_host = is_wildcard(host)
        self.require_token = require_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            # No websockets here; lifespan passes through.
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        host = headers.get(b"host", b"").decode("latin-1").lower()
        if not self.any_host and host not in self.hosts:
            await _reject(send, 403, "forbidden_host", f"Host {host!r} is not this console",
                          "open the console at the URL it printed (localhost or 127.0.0.1)")
            return
        method = scope["method"]
        origin = headers.get(b"origin")
        # Checked on every method: a foreign page has no business here even with a harmless GET.
        if origin is not None and origin.decode("latin-1").lower() != f"http://{host}":
            await _reject(send, 403, "forbidden_origin", "cross-origin request refused",
                          "use the console page itself")
            return
        set_cookie = False
        if method not in _SAFE_METHODS:
            if not self._matches(headers.get(TOKEN_HEADER.encode())):
                await _reject(send, 403, "bad_token", "missing or wrong X-Epcore-Token header",
                              "reload the console page: the token changes at every launch")
                return
        elif self.require_token:
            query = _query_token(scope)
            if self._matches(query):
                set_cookie = True
            elif not (self._matches(headers.get(TOKEN_HEADER.encode())) or self._matches(_cookie_token(headers))):
                await _reject(send, 403, "bad_token", "this console needs its launch token",
                              "open the URL with ?token=... that `epcore console` printed")
                return
        cookie = self._cookie() if set_cookie else None

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _OURS]
                raw.extend(SECURITY_HEADERS)
                if cookie is not None:
                    raw.append((b"set-cookie", cookie))
                message["headers"] = raw
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _matches(self, given: bytes | None) -> bool:
        # Constant-time: the token must not leak one byte at a time through timing.
        return given is not None and hmac.compare_digest(given, self.token)

    def _cookie(self) -> bytes:
        return f"{TOKEN_COOKIE}={self.token.decode()}; Path=/; HttpOnly; SameSite=Strict".encode()


_OURS = frozenset(k for k, _ in SECURITY_HEADERS) | {b"access-control-allow-origin"}


def _headers(scope: Scope) -> dict[bytes, bytes]:
    # Last value wins; names are lower-case in ASGI.
    return {k: v for k, v in scope.get("headers", [])}


def _query_token(scope: Scope) -> bytes | None:
    qs = scope.get("query_string", b"").decode("latin-1")
    values = parse_qs(qs).get("token")
    return values[-1].encode() if values else None


def _cookie_token(headers: dict[bytes, bytes]) -> bytes | None:
    raw = headers.get(b"cookie")
    if raw is None:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw.decode("latin-1"))
    except Exception:  # a malformed Cookie header is just "no token"
        return None
    morsel = jar.get(TOKEN_COOKIE)
    return None if morsel is None else morsel.value.encode()


async def _reject(send: Send, status: int, code: str, message: str, hint: str | None) -> None:
    body = _error_body(code, message, hint)
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                    *SECURITY_HEADERS],
    })
    await send({"type": "http.response.body", "body": body})
