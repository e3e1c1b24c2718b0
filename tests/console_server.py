"""Run the web console on a free loopback port for a test.

Use::

    with running_console(max_upload_bytes=1024) as url:
        assert httpx.get(url + "/api/health").json()["status"] == "ok"

The yielded base URL (``"http://127.0.0.1:PORT"``) is a ``str``; it also carries
``.token`` (the per-launch token POSTs need in ``X-Epcore-Token``) and ``.app``
(the Starlette app, e.g. to look at ``app.state.console``).

The socket is bound here, before the app is built, so the port is ours (no
find-a-free-port-then-bind race) and the app's Host allowlist knows it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from epcore.console import make_app


class ConsoleURL(str):
    """The base URL, with the launch token and the app attached."""

    token: str
    app: Any


@contextmanager
def running_console(**make_app_kwargs: Any) -> Iterator[ConsoleURL]:
    """Start uvicorn in a daemon thread on 127.0.0.1:<free port>; yield the base URL; stop it.

    ``make_app_kwargs`` go to :func:`epcore.console.make_app` (``token=``,
    ``max_upload_bytes=``, ``max_running=``, ...); ``host``/``port`` are set here.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    make_app_kwargs.setdefault("host", "127.0.0.1")
    app = make_app(port=port, **make_app_kwargs)
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_keep_alive=5, server_header=False,
                            limit_concurrency=None, backlog=512)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name=f"epcore-console-{port}")
    thread.start()
    deadline = time.monotonic() + 20.0
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the console server thread died during startup")
        if time.monotonic() > deadline:
            raise RuntimeError("the console server did not start within 20 s")
        time.sleep(0.01)
    url = ConsoleURL(f"http://127.0.0.1:{port}")
    url.token = app.state.console.token
    url.app = app
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=20.0)
        sock.close()
