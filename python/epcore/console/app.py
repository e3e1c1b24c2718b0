"""The console's Starlette app: routes, error handling, static files, the page with its token.

Every route is wrapped so that nothing leaves as a traceback or a plain-text
500: an :class:`~epcore.console.responses.ApiError` is its typed JSON, an
:class:`epcore.EpcoreError` a 422 with the core's code, anything else a 500
``internal_error`` (logged server-side). Unknown ``/api`` paths and wrong
methods are JSON too. The security middleware is the outermost layer, so its
headers are on every answer.

>>> import asyncio, httpx
>>> app = build_app(port=8787, token="t0k")
>>> async def ask():
...     async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8787") as c:
...         body = {"power_w": 5600, "tokens_per_s": 2500}
...         return (await c.get("/api/health"), await c.post("/api/calc", json=body),
...                 await c.post("/api/calc", json=body, headers={"X-Epcore-Token": "t0k"}))
>>> ok, refused, calc = asyncio.run(ask())
>>> ok.json()["status"], ok.headers["cache-control"], refused.json()["error"]["code"]
('ok', 'no-store', 'bad_token')
>>> [r["it"] for r in calc.json()["rows"] if r["name"] == "cost_per_million_tokens"]
['$0.0498']
>>> app.state.console.close()  # what the lifespan does at shutdown: the uploads go
"""

from __future__ import annotations

import html
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ..exceptions import EpcoreError
from . import api
from .analysis import Limits
from .jobs import JobQueue
from .openapi import ROUTES, openapi
from .responses import ApiError, JSONResponse, api_error_from
from .security import SecurityMiddleware, is_loopback
from .state import ConsoleState
from .uploads import UploadStore

__all__ = ["STATIC_DIR", "build_app"]

log = logging.getLogger("epcore.console")

#: The page, its script and its style (package data: shipped inside the wheel).
STATIC_DIR = Path(__file__).resolve().parent / "static"
TOKEN_PLACEHOLDER = "{{EPCORE_TOKEN}}"

Handler = Callable[[Request], Awaitable[Response]]


def _guarded(handler: Handler) -> Handler:
    """``handler`` with every failure turned into typed JSON."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as e:
            return e.response()
        except EpcoreError as e:
            return api_error_from(e).response()
        except Exception:  # a bug: log it here, answer one line there
            log.exception("console handler %s failed", request.url.path)
            return ApiError(500, "internal_error", "the console hit an internal error",
                            hint="see the console's terminal for details").response()

    run.__name__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


async def index(request: Request) -> Response:
    """GET /: the page, with this launch's token in ``<meta name="epcore-token">``."""
    state: ConsoleState = request.app.state.console
    page = request.app.state.static_dir / "index.html"
    try:
        text = page.read_text(encoding="utf-8")
    except OSError:
        return HTMLResponse("<!doctype html><title>epcore console</title><p>The console page is missing from "
                            "this installation (epcore/console/static/index.html).</p>", status_code=503)
    return HTMLResponse(text.replace(TOKEN_PLACEHOLDER, html.escape(state.token, quote=True)))


async def openapi_handler(request: Request) -> JSONResponse:
    """GET /api/openapi.json."""
    return JSONResponse(openapi())


_HANDLERS: dict[str, Handler] = {
    "health": api.health,
    "meta": api.meta,
    "openapi": openapi_handler,
    "calc": api.calc,
    "sensitivity": api.sensitivity_handler,
    "fleet": api.fleet_handler,
    "floor": api.floor_handler,
    "crossover": api.crossover_handler,
    "compare": api.compare,
    "upload": api.upload,
    "create_analysis": api.create_analysis,
    "get_analysis": api.get_analysis,
}


def _routes(static_dir: Path) -> list[BaseRoute]:
    routes: list[BaseRoute] = [Route("/", index, methods=["GET"])]
    for path, method, name in ROUTES:
        routes.append(Route(path, _guarded(_HANDLERS[name]), methods=[method], name=name))
    # No symlinks followed, no directory listings: only the shipped files.
    routes.append(Mount("/static", app=StaticFiles(directory=static_dir, check_dir=False, follow_symlink=False),
                        name="static"))
    return routes


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    code = codes.get(exc.status_code, "http_error")
    message = {404: f"no such path: {request.url.path}", 405: f"{request.method} is not allowed here"}.get(
        exc.status_code, str(exc.detail))
    return ApiError(exc.status_code, code, message).response()


async def _server_error(request: Request, exc: Exception) -> Response:
    return ApiError(500, "internal_error", "the console hit an internal error").response()


def build_app(
    *,
    host: str = "127.0.0.1",
    port: int = 8787,
    token: str | None = None,
    require_token: bool | None = None,
    max_upload_bytes: int = 2 << 30,
    max_running: int = 2,
    max_queued: int = 4,
    max_pending_uploads: int = 64,
    max_total_upload_bytes: int | None = None,
    max_decompressed_bytes: int = 4 << 30,
    max_ratio: float = 250.0,
    tmp_root: str | Path | None = None,
    static_dir: str | Path | None = None,
    body_idle_timeout_s: float = 30.0,
) -> Starlette:
    """The console app for one launch (see :func:`epcore.console.make_app`)."""
    state = ConsoleState(
        token=token if token is not None else secrets.token_urlsafe(32),
        host=host,
        port=int(port),
        require_token=(not is_loopback(host)) if require_token is None else bool(require_token),
        uploads=UploadStore(max_upload_bytes=max_upload_bytes, max_pending=max_pending_uploads,
                            root=None if tmp_root is None else Path(tmp_root),
                            max_total_bytes=max_total_upload_bytes),
        jobs=JobQueue(max_running=max_running, max_queued=max_queued),
        limits=Limits(max_decompressed_bytes=int(max_decompressed_bytes), max_ratio=float(max_ratio)),
        body_idle_timeout_s=float(body_idle_timeout_s),
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            state.close()  # the uploads go with the launch

    sdir = STATIC_DIR if static_dir is None else Path(static_dir)
    handlers: dict[Any, Any] = {HTTPException: _http_error, Exception: _server_error}
    app = Starlette(
        routes=_routes(sdir),
        middleware=[Middleware(SecurityMiddleware, token=state.token, host=host, port=int(port),
                               require_token=state.require_token)],
        exception_handlers=handlers,
        lifespan=lifespan,
    )
    app.state.console = state
    app.state.static_dir = sdir
    return app
