"""Errors raised inside a Dask task, re-raised naming the file they came from.

A worker's exception travels to the client pickled; ``BaseException``
pickles its ``__dict__`` too, so the structured attributes (``code``,
``path``, ``line``...) survive the trip.
"""

from __future__ import annotations

from .. import exceptions as _exc
from ..exceptions import EpcoreError

__all__ = ["in_file", "io_error"]


def in_file(e: EpcoreError, path: str, also: str | None = None) -> EpcoreError:
    """``e`` with ``path`` (and ``also``, a second file involved) in its message and ``path`` attribute."""
    msg = str(e)
    if e.path is not None and e.path.startswith("<"):
        # A dataset fragment is read as an in-memory table ("<Table>"): name its file instead.
        msg = msg.replace(e.path, path, 1)
    named = msg if msg.startswith(path) else f"{path}: {msg}"
    if also is not None:
        named = f"{named} (with {also})"
    # Keep the class: callers catch ParseError / TraceError / SchemaError by type.
    return type(e)(
        named, code=e.code, reason=e.reason, hint=e.hint, value=e.value, path=path,
        line=e.line if e.path in (None, path) or e.path.startswith("<") else None,
        column=e.column, byte_offset=e.byte_offset, index=e.index,
    )


def io_error(e: OSError, path: str) -> EpcoreError:
    """An operating-system failure reading ``path`` as a typed error (the whole compute fails)."""
    return _exc.ParseError(
        f"{path}: cannot read: {e.strerror or e}", code="io_error", path=path, reason=str(e.strerror or e),
        hint="check that every worker sees the file at this path (shared storage) and can read it",
    )
