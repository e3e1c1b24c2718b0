"""Turn ``paths`` (a glob, a Parquet dataset directory, or a list) into one source per task."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass

from ..exceptions import ConfigError

__all__ = ["Source", "PathsArg", "expand", "expand_files"]

PathsArg = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]


@dataclass(frozen=True)
class Source:
    """One file to read in one task. ``partition`` holds the hive keys of a
    Parquet dataset fragment (``gpu=GPU-1/part.parquet``), added as columns."""

    path: str
    partition: tuple[tuple[str, str], ...] = ()


def expand_files(paths: PathsArg, what: str = "paths") -> list[str]:
    """Files named by a glob, a path, or a list of either, sorted within each glob.

    >>> expand_files(["b.csv", "a.csv"])
    ['b.csv', 'a.csv']
    """
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not items:
        raise ConfigError(f"{what}: no files given", code="invalid_argument", value="[]",
                          hint="pass a glob such as 'telemetry/*.parquet' or a list of files")
    out: list[str] = []
    for item in items:
        p = os.fspath(item)
        if glob.has_magic(p):
            found = sorted(glob.glob(p, recursive=True))
            if not found:
                raise ConfigError(f"{what}: the glob {p!r} matches no file", code="invalid_argument", value=p,
                                  hint="check the pattern and quote it so the shell does not expand it")
            out.extend(found)
        else:
            out.append(p)
    return out


def expand(paths: PathsArg) -> list[Source]:
    """Sources for :func:`epcore.dask.energy`: a directory is a Parquet dataset
    (one source per fragment, hive partitioning), anything else files."""
    if isinstance(paths, (str, os.PathLike)) and os.path.isdir(os.fspath(paths)):
        return _dataset(os.fspath(paths))
    return [Source(p) for p in expand_files(paths)]


def _dataset(root: str) -> list[Source]:
    import pyarrow.dataset as ds

    try:
        dataset = ds.dataset(root, format="parquet", partitioning="hive")
    except OSError as e:
        raise ConfigError(f"{root}: cannot open as a Parquet dataset: {e}", code="invalid_argument", value=root,
                          hint="a directory must hold Parquet files, optionally in key=value subdirectories") from None
    out = []
    for frag in dataset.get_fragments():
        keys = ds.get_partition_keys(frag.partition_expression)
        out.append(Source(str(frag.path), tuple(sorted((str(k), str(v)) for k, v in keys.items()))))
    if not out:
        raise ConfigError(f"{root}: the Parquet dataset has no files", code="invalid_argument", value=root)
    return sorted(out, key=lambda s: s.path)
