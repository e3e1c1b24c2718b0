"""The metadata a recording carries (Parquet schema metadata ``b"epcore"``, or the CSV sidecar)."""

from __future__ import annotations

import datetime as _dt
import os
import sys
from typing import Any

from .source import SourceInfo

__all__ = ["recording_metadata"]


def recording_metadata(info: SourceInfo, interval_ms: float, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Source, fields and devices (GPU names, UUIDs, driver), interval, host and versions.
    The clock anchor and sampler stats are added as the run starts and closes."""
    import platform
    import socket

    from .. import __version__

    return {
        "epcore_version": __version__,
        "format": "epcore-record/1",
        "source": info.source,
        "source_meta": dict(info.meta),
        "channels": [c.to_dict() for c in info.channels],
        "interval_ms": interval_ms,
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "pid": os.getpid(),
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(),
        **(extra or {}),
    }
