"""``epcore energy`` over many files: the fleet path, on Dask (:mod:`epcore.dask`).

:func:`epcore.cli.energy` hands over here when it gets more than one FILE, a
glob, or any of ``--dask``, ``--by``, ``--channel-by``; one plain file without
them keeps the single-file path. Every file (or Parquet fragment) is one task;
the per-channel partials are merged in time order, so the figures equal the
one-machine result (see the README, "Fleet scale: Dask").

``--dask`` picks where the tasks run: ``tcp://host:8786`` (or ``host:8786``)
connects to a running scheduler; ``local[N]`` starts N worker processes on
this machine (loopback only, no dashboard) and stops them afterwards; without
it the tasks run one after another in this process (dask's synchronous
scheduler: dask and pandas, no distributed needed).

>>> local_workers("local[4]"), local_workers("local"), local_workers("tcp://10.0.0.5:8786")
(4, 2, None)
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from .cli import (
    ByName,
    _bad_input_exits_1,
    _bars,
    _iso_ns,
    _late_progress,
    _print_csv,
    _print_json,
    _quality_notes,
    _stdout,
)
from .display import fmt_number
from .exceptions import ConfigError

if TYPE_CHECKING:
    from .dask import FleetEnergyResult

__all__ = ["energy_fleet", "local_workers"]

# ``local`` alone: two workers, the smallest pool that runs anything in parallel.
_LOCAL_DEFAULT_WORKERS = 2
_LOCAL = re.compile(r"local(?:\[(\d+)\])?\Z")
# An address distributed.Client understands: a scheme (tcp://, tls://, ucx://, inproc://) or host:port.
_ADDRESS = re.compile(r"([a-z][a-z0-9+.-]*://\S+|[^\s:/]+:\d+)\Z")


def local_workers(address: str) -> int | None:
    """Workers of ``local[N]`` (``local``: 2); None for a scheduler address; a bad value is a usage error.

    >>> for bad in ("local[0]", "scheduler"):
    ...     try:
    ...         local_workers(bad)
    ...     except Exception as e:  # typer.BadParameter: exit 2 with this line
    ...         print(e.format_message())
    Invalid value for --dask: 'local[0]': a local cluster needs at least 1 worker
    Invalid value for --dask: 'scheduler': expected a scheduler address (tcp://host:8786) or local[N]
    """
    import typer

    m = _LOCAL.match(address.strip())
    if m is not None:
        n = _LOCAL_DEFAULT_WORKERS if m.group(1) is None else int(m.group(1))
        if n < 1:
            raise typer.BadParameter(f"{address!r}: a local cluster needs at least 1 worker", param_hint="--dask")
        return n
    if _ADDRESS.match(address.strip()) is None:
        raise typer.BadParameter(
            f"{address!r}: expected a scheduler address (tcp://host:8786) or local[N]", param_hint="--dask")
    return None


def _paths(files: Sequence[Path], *, absolute: bool) -> str | list[str]:
    """One argument goes to :func:`epcore.dask.energy` as given (a glob, a Parquet dataset directory, a file),
    so a dataset's hive partitions stay visible; several go as a list (globs in it are expanded there).

    ``absolute``: for a remote scheduler, whose workers do not share this shell's working directory.

    >>> _paths([Path("a.csv"), Path("b.csv")], absolute=False)
    ['a.csv', 'b.csv']
    >>> _paths([Path("t/*.csv")], absolute=True) == os.path.join(os.getcwd(), "t", "*.csv")
    True
    """
    text = [os.path.abspath(f) if absolute else str(f) for f in files]
    return text[0] if len(text) == 1 else text


@contextmanager
def _scheduler(address: str | None) -> Iterator[dict[str, Any]]:
    """The ``compute`` keywords that run the graph where ``--dask`` says, and the cluster's lifetime."""
    if address is None:
        yield {"scheduler": "synchronous"}
        return
    import logging

    import distributed

    # distributed's constructors carry no annotations: typed as Any here rather than ignored line by line.
    Client: Any = distributed.Client
    LocalCluster: Any = distributed.LocalCluster
    n = local_workers(address)
    if n is None:
        # The connect timeout is dask's (distributed.comm.timeouts.connect, 30 s by default).
        with Client(address.strip(), set_as_default=False) as client:
            yield {"scheduler": client}
        return
    # Loopback only and no dashboard: nothing of this machine is exposed for a command that ends.
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            Client(cluster, set_as_default=False) as client:
        yield {"scheduler": client}


def energy_fleet(
    files: Sequence[Path],
    *,
    dask: str | None,
    by: ByName | None,
    channel_by: str | None,
    read_kwargs: dict[str, Any],
    as_json: bool,
    as_csv: bool,
) -> None:
    """Integrate ``files`` as one fleet and print totals, per channel and per bucket (or JSON / CSV)."""
    if dask is not None:
        local_workers(dask)  # a malformed --dask is a usage error before any work
    where = "in this process" if dask is None else dask.strip()
    with _bad_input_exits_1():
        _require("dask", "pandas", *(() if dask is None else ("distributed",)))
        from . import dask as ed

        paths = _paths(files, absolute=dask is not None and local_workers(dask) is None)
        lazy = ed.energy(paths, channel_by=channel_by, by=None if by is None else by.value, **read_kwargs)
        with _scheduler(dask) as compute_kwargs, _spinner(f"integrating {_describe(paths)} {where}"):
            res = lazy.compute(**compute_kwargs)
    _quality_notes(res.quality)
    if as_json:
        _print_json({"scheduler": "synchronous" if dask is None else dask.strip(), **res.to_dict()})
    elif as_csv:
        frame = res.buckets if by is not None else res.channels
        _print_csv(*_frame_csv(frame))
    else:
        out = _stdout()
        for t in _tables(res, paths, where):
            out.print(t)


def _require(*modules: str) -> None:
    """The fleet path's optional dependencies, or one typed error saying what to install."""
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            raise ConfigError(
                f"several files (or --dask, --by, --channel-by) need {name}, which is not installed: "
                f"pip install 'dask[distributed]' pandas",
                code="missing_dependency", value=name, hint="pip install 'dask[distributed]' pandas",
            ) from None


def _describe(paths: str | list[str]) -> str:
    return paths if isinstance(paths, str) else f"{len(paths):,} files"


@contextmanager
def _spinner(text: str) -> Iterator[None]:
    """A transient spinner on an interactive stderr while the graph runs (blank for its first second)."""
    if not _bars():
        yield
        return
    with _late_progress() as bar:
        bar.add_task(text, total=None)
        yield


# --------------------------------------------------------------------------- tables


def _missing(v: Any) -> bool:
    """None, NaN, pandas' NA (nullable columns: a ratio that cannot be computed) or NaT."""
    if v is None:
        return True
    import pandas as pd

    return v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v)


def _plain(v: Any) -> Any:
    """A pandas or numpy cell as a Python value: times as exact UTC ISO strings, unknowns as None."""
    if _missing(v):
        return None
    if hasattr(v, "isoformat") and hasattr(v, "value"):  # pandas Timestamp: integer ns since the epoch
        return _iso_ns(int(v.value))
    if hasattr(v, "item"):  # numpy scalar
        return v.item()
    return v


def _cell(v: Any) -> str:
    """A table cell: numbers as the other commands show them, times in UTC, unknowns as an em dash."""
    v = _plain(v)
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    if isinstance(v, str) and v.endswith(".000000000Z"):  # a bucket edge: whole seconds read better
        return v[: -len(".000000000Z")] + "Z"
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return fmt_number(v)
    return str(v)


# The per-channel and per-bucket columns shown, in order, when the result has them: (column, heading).
_CHANNEL_COLS = (("channel", "channel"), ("energy_j", "energy (J)"), ("duration_s", "duration (s)"),
                 ("mean_power_w", "mean (W)"), ("n_samples", "samples"), ("n_gaps", "gaps"),
                 ("coverage", "coverage"), ("n_files", "files"))
_BUCKET_COLS = (("channel", "channel"), ("start", "start (UTC)"), ("end", "end (UTC)"),
                ("energy_j", "energy (J)"), ("coverage", "coverage"))


def _frame_table(title: str, frame: Any, cols: tuple[tuple[str, str], ...]) -> Table:
    present = [(c, h) for c, h in cols if c in frame.columns]
    t = Table(title=title)
    for c, h in present:
        t.add_column(h, justify="left" if c in ("channel", "start", "end") else "right")
    for row in frame[[c for c, _ in present]].itertuples(index=False, name=None):
        t.add_row(*(_coverage(v) if c == "coverage" else _cell(v) for (c, _), v in zip(present, row)))
    return t


def _coverage(v: Any) -> str:
    v = _plain(v)
    return "—" if not isinstance(v, (int, float)) else f"{v:.2%}"


def _tables(res: FleetEnergyResult, paths: str | list[str], where: str) -> list[Table]:
    totals = Table(title=f"energy of {_describe(paths)}", show_header=False)
    totals.add_column("quantity")
    totals.add_column("value", justify="right")
    q = res.quality
    totals.add_row("energy (J)", fmt_number(res.energy_j))
    totals.add_row("energy (Wh)", fmt_number(res.energy_wh))
    totals.add_row("channels", fmt_number(len(res.channels)))
    totals.add_row("files", fmt_number(len(res.per_file)))
    totals.add_row("samples", fmt_number(q.n_samples))
    totals.add_row("gaps", f"{q.n_gaps} ({fmt_number(q.gap_s)} s)")
    totals.add_row("coverage", "—" if q.coverage is None else f"{q.coverage:.2%}")
    totals.add_row("ran", where)
    tables = [totals, _frame_table("channels", res.channels, _CHANNEL_COLS)]
    if res.buckets is not None and len(res.buckets):
        tables.append(_frame_table("per bucket", res.buckets, _BUCKET_COLS))
    return tables


# --------------------------------------------------------------------------- CSV


def _frame_csv(frame: Any) -> tuple[list[str], list[list[Any]]]:
    """A pandas table as CSV header and rows (every column, in the result's order)."""
    header = [str(c) for c in frame.columns]
    rows = [[_plain(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    return header, rows
