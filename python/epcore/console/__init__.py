"""epcore's local web console: the calculator, scenarios and trace analysis in a browser.

``epcore console`` (or :func:`serve`) starts it on ``http://127.0.0.1:8787``.
Every number is computed by the Python API (the Rust core) and formatted on
the server; the page only shows it. It needs the ``console`` extra
(``pip install 'epcore[console]'``: starlette, uvicorn, python-multipart,
matplotlib); ``import epcore`` never imports any of them, and without them
:func:`make_app` and :func:`serve` raise a one-line :class:`epcore.ConfigError`.

Security (docs/ROBUSTNESS.md §4): loopback only by default; a Host allowlist
against DNS rebinding; a per-launch token in ``X-Epcore-Token`` on every
state-changing request, and on every request at all when bound beyond
loopback; uploads streamed with a byte limit into a private directory, named
by uuid, deleted after their analysis and at shutdown.

>>> app = make_app(port=8787, token="t0k")
>>> app.state.console.token, app.state.console.require_token
('t0k', False)
>>> app.state.console.close()
"""

from __future__ import annotations

import importlib.util
import socket
import sys
import webbrowser
from typing import TYPE_CHECKING, Any

from ..exceptions import ConfigError

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = ["make_app", "require_console_deps", "serve"]

_DEPS = ("starlette", "uvicorn")


def require_console_deps() -> None:
    """Raise :class:`epcore.ConfigError` (one line) unless the ``console`` extra is installed."""
    missing = [m for m in _DEPS if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(
            f"the web console needs {', '.join(missing)}: install epcore[console]",
            code="missing_dependency", value=", ".join(missing),
            hint="pip install 'epcore[console]'",
        )


def make_app(**kwargs: Any) -> Starlette:
    """The console's Starlette app for one launch.

    Keywords: ``host`` (default ``127.0.0.1``) and ``port`` (8787): the
    address the Host allowlist accepts; ``token`` (default: a fresh
    ``secrets.token_urlsafe(32)``); ``require_token`` (default: True unless
    ``host`` is loopback); ``max_upload_bytes`` (2 GiB); ``max_running`` (2)
    and ``max_queued`` (4) analyses; ``max_pending_uploads`` (64) and ``max_total_upload_bytes``
    (4 × ``max_upload_bytes``) on disk at once;
    ``max_decompressed_bytes`` (4 GiB) and ``max_ratio`` (250) per file;
    ``tmp_root`` (where the private upload directory is made); ``static_dir``;
    ``body_idle_timeout_s`` (30: a request body that stalls longer fails with 408).
    """
    require_console_deps()
    from .app import build_app

    return build_app(**kwargs)


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8787,
    open_browser: bool = True,
    max_upload_bytes: int = 2 << 30,
    log_level: str = "warning",
    **kwargs: Any,
) -> None:
    """Run the console until Ctrl-C, printing its URL (and a loud warning when not on loopback)."""
    require_console_deps()
    import uvicorn

    from .security import is_loopback, is_wildcard

    # Bind first: a port in use is one clear OSError line, before anything is printed or opened.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host.strip("[]"), port), family=family, backlog=128)
    app = make_app(host=host, port=port, max_upload_bytes=max_upload_bytes, **kwargs)
    state = app.state.console
    print(f"epcore console: {state.url}", flush=True)
    if is_wildcard(host):
        print(f"  from another machine: http://{socket.gethostname()}:{port}/?token={state.token}", flush=True)
    if not is_loopback(host):
        print(
            f"WARNING: the console listens on {host}, beyond this machine. Anyone who can reach port {port} "
            "and has the token in the URL above can use it and upload files; keep the URL private, and prefer "
            "the default --host 127.0.0.1 with an SSH tunnel.",
            file=sys.stderr, flush=True,
        )
    if open_browser:
        try:
            webbrowser.open(state.url)
        except Exception:  # no browser here (a server, a container): the printed URL is enough
            pass
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="on",
                            timeout_keep_alive=5, server_header=False, limit_concurrency=256)
    uvicorn.Server(config).run(sockets=[sock])
