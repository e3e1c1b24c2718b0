"""``epcore console``: the local web console (calculator, scenarios, trace analysis in a browser).

Registered on :data:`epcore.cli.app` when :mod:`epcore.cli` is imported; the
server itself (starlette, uvicorn) is imported only when the command runs, so
``epcore --help`` works without the ``console`` extra, and running it without
them is one ``error: ... install epcore[console]`` line and exit 1.

>>> _upload_bytes(2048), _upload_bytes(0.5)
(2147483648, 524288)
"""

from __future__ import annotations

from typing import Annotated

import typer

from .cli import PANEL_PRESENT, _bad_input_exits_1, app

__all__ = ["console_command"]


def _upload_bytes(mb: float) -> int:
    """MiB → bytes (the limit is counted while the upload streams)."""
    return int(mb * (1 << 20))


@app.command("console", rich_help_panel=PANEL_PRESENT)
def console_command(
    host: Annotated[str, typer.Option(
        help="Address to listen on. The default 127.0.0.1 keeps the console on this machine; any other "
             "address (0.0.0.0: every interface) requires the printed token on every request.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8787,
    open_browser: Annotated[bool, typer.Option("--open/--no-open", help="Open the page in a browser.")] = True,
    max_upload_mb: Annotated[float, typer.Option(
        help="Largest file accepted, MiB (counted while it streams; larger uploads get 413).", min=0.001)] = 2048,
) -> None:
    """Serve the web console at http://127.0.0.1:8787 until Ctrl-C.

    Calculator, sensitivity, fleet, API floor, training vs inference, trace analysis and comparison.

    Uploaded files go to a private temporary directory and are deleted after their analysis and at exit.
    """
    from .console import serve

    with _bad_input_exits_1():
        serve(host=host, port=port, open_browser=open_browser, max_upload_bytes=_upload_bytes(max_upload_mb))
