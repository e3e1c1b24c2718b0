"""What one console launch holds: its token, upload store, job queue and limits.

>>> from epcore.console.uploads import UploadStore
>>> from epcore.console.jobs import JobQueue
>>> from epcore.console.analysis import Limits
>>> s = ConsoleState(token="t", host="127.0.0.1", port=8787, require_token=False,
...                  uploads=UploadStore(max_upload_bytes=10), jobs=JobQueue(), limits=Limits())
>>> s.url
'http://127.0.0.1:8787/'
>>> s.close()
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .analysis import Limits
from .jobs import JobQueue
from .uploads import UploadStore

__all__ = ["ConsoleState"]


@dataclass
class ConsoleState:
    """Per-launch state, on ``app.state.console``."""

    token: str
    host: str
    port: int
    require_token: bool
    uploads: UploadStore
    jobs: JobQueue
    limits: Limits
    #: Seconds a request body may stall between chunks before the request fails with 408.
    body_idle_timeout_s: float = 30.0
    meta_cache: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The address to open (with ``?token=`` when the token is required on every request)."""
        from .security import is_wildcard

        host = "127.0.0.1" if is_wildcard(self.host) else self.host
        host = f"[{host}]" if ":" in host and not host.startswith("[") else host
        query = f"?token={self.token}" if self.require_token else ""
        return f"http://{host}:{self.port}/{query}"

    def close(self) -> None:
        """Stop the workers and remove every upload (the whole private directory)."""
        self.jobs.shutdown()
        self.uploads.close()
