"""The few Dask calls used here, behind typed wrappers (dask.compute is untyped)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

__all__ = ["delayed", "compute_one", "file_stamps", "token", "frame_from"]


def delayed(fn: Callable[..., Any], *args: Any, key: str) -> Any:
    """A pure ``dask.delayed`` call of ``fn`` with a readable, content-derived key."""
    from dask.delayed import delayed as _delayed

    return _delayed(fn, pure=True)(*args, dask_key_name=key)


def compute_one(obj: Any, **kwargs: Any) -> Any:
    """``dask.compute`` of one object on the current scheduler (kwargs pass through)."""
    from dask.base import compute

    run: Callable[..., tuple[Any, ...]] = compute
    return run(obj, **kwargs)[0]


def token(*args: Any) -> str:
    """A deterministic hash of the inputs, so keys differ between different graphs."""
    from dask.base import tokenize

    return str(tokenize(*args))


def file_stamps(paths: Any) -> tuple[tuple[int, int] | None, ...]:
    """(size, mtime_ns) of each path, None where it cannot be stat'ed here.

    Keys are content-derived and a distributed scheduler keeps results under
    them while any client holds them, so a file rewritten at the same path
    must change the key, or the old figures would come back.

    >>> file_stamps(["/nonexistent/epcore"])
    (None,)
    """
    out: list[tuple[int, int] | None] = []
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:
            out.append(None)  # the read task reports the real error
            continue
        out.append((st.st_size, st.st_mtime_ns))
    return tuple(out)


def frame_from(obj: Any, meta: Any) -> Any:
    """A one-partition Dask DataFrame of a delayed pandas DataFrame."""
    import dask.dataframe as dd

    return dd.from_delayed([obj], meta=meta, verify_meta=False)
