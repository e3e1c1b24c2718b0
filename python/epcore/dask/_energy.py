"""``epcore.dask.energy``: the energy of many telemetry files, one Dask task per file."""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from .._arrays import windows_ns
from ..exceptions import ConfigError
from ..integration import options as _options
from ..quality import QualityReport
from ..results import ChannelEnergy, EnergyUnits
from ._graph import compute_one, delayed, file_stamps, frame_from, token
from ._frames import buckets_frame, channels_frame, files_frame, records
from ._inputs import PathsArg, Source, expand
from ._pieces import BUCKET_NS, ChannelPiece, FilePiece, Params, read_piece
from ._stitch import ChannelTotals, stitch_channel

__all__ = ["energy", "FleetEnergy", "FleetEnergyResult"]

#: Options that change the integral; they go to the integrator, not only to the reader.
_OPTION_KWARGS = ("negative_tolerance_w", "max_power_w", "counter_modulus")


@dataclass(frozen=True, eq=False)  # DataFrames have no boolean equality
class FleetEnergyResult(EnergyUnits):
    """Energy of a fleet's files: total, per channel, per bucket or window, per file.

    ``channels``, ``buckets`` (None without ``by``/``windows``) and ``per_file``
    are pandas DataFrames; ``quality`` adds up the channels' quality reports;
    ``channel_energies`` holds each channel as :class:`epcore.ChannelEnergy`.
    Pickles (it is plain data), so it can be returned from any task.
    """

    energy_j: float
    channels: Any
    buckets: Any
    per_file: Any
    quality: QualityReport
    channel_energies: tuple[ChannelEnergy, ...]
    by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: tables as lists of rows, times as ISO 8601 strings, missing values None."""
        return {
            "energy_j": self.energy_j,
            "energy_wh": self.energy_wh,
            "by": self.by,
            "channels": records(self.channels),
            "buckets": None if self.buckets is None else records(self.buckets),
            "per_file": records(self.per_file),
            "quality": self.quality.to_dict(),
        }


def reduce_pieces(pieces: Sequence[FilePiece], params: Params, by: str | None) -> FleetEnergyResult:
    """The reduce task: stitch every channel across its files, then tabulate."""
    by_channel: defaultdict[str, list[ChannelPiece]] = defaultdict(list)
    for fp in pieces:
        for cp in fp.channels:
            by_channel[cp.channel].append(cp)
    semantics = {fp.power_semantics for fp in pieces}
    semantic = semantics.pop() if len(semantics) == 1 else "mixed"
    totals = [stitch_channel(by_channel[name], params) for name in sorted(by_channel)]
    energies = [ChannelEnergy.from_partial(t.channel, t.partial, semantic) for t in totals]
    if not energies:
        raise ConfigError("the files hold no channel with samples", code="empty", value=str(len(pieces)),
                          hint="check the files and the value= / channel_by= columns")
    warnings = tuple(dict.fromkeys(f"{fp.source.path}: {w}" for fp in pieces for w in fp.warnings))
    quality = QualityReport.combine((c.quality for c in energies), warnings=warnings)
    windowed = params.bucket_ns is not None or params.windows is not None
    return FleetEnergyResult(
        energy_j=math.fsum(c.energy_j for c in energies),
        channels=channels_frame(list(zip(energies, totals))),
        buckets=buckets_frame(totals) if windowed else None,
        per_file=files_frame(pieces),
        quality=quality,
        channel_energies=tuple(energies),
        by=by,
    )


class FleetEnergy:
    """A lazy fleet energy: a Dask graph of one read task per file and one reduce.

    :meth:`compute` runs it on the current Dask scheduler (a ``distributed.Client``
    if one is active, else Dask's default; pass ``scheduler="synchronous"`` to
    run in-process). :attr:`channels` and :attr:`buckets` are Dask DataFrames for
    pipelines that stay in Dask.
    """

    def __init__(self, sources: list[Source], params: Params, by: str | None) -> None:
        self.sources = tuple(sources)
        self.params = params
        tok = token(sources, params, by, file_stamps(s.path for s in sources))
        self.pieces = [delayed(read_piece, s, params, key=f"epcore-read-{i}-{tok}") for i, s in enumerate(sources)]
        self.delayed = delayed(reduce_pieces, self.pieces, params, by, key=f"epcore-stitch-{tok}")

    def __repr__(self) -> str:
        return f"FleetEnergy(files={len(self.sources)})"

    def compute(self, **dask_compute_kwargs: Any) -> FleetEnergyResult:
        """Run the graph: ``dask.compute`` keyword arguments (``scheduler=``...) pass through."""
        result = compute_one(self.delayed, **dask_compute_kwargs)
        assert isinstance(result, FleetEnergyResult)
        return result

    @property
    def channels(self) -> Any:
        """The per-channel table as a one-partition Dask DataFrame."""
        part = delayed(_attr, self.delayed, "channels", key=f"epcore-channels-{self.delayed.key}")
        return frame_from(part, channels_frame([]))

    @property
    def buckets(self) -> Any:
        """The per-bucket (or window) table as a one-partition Dask DataFrame (empty without by/windows)."""
        part = delayed(_attr, self.delayed, "buckets", key=f"epcore-buckets-{self.delayed.key}")
        return frame_from(part, buckets_frame([]))


def _attr(result: FleetEnergyResult, name: str) -> Any:
    value = getattr(result, name)
    return buckets_frame([]) if value is None else value


def _windows(by: str | None, windows: Any) -> tuple[int | None, npt.NDArray[np.int64] | None]:
    if by is not None and windows is not None:
        raise ConfigError("pass by= or windows=, not both", code="invalid_argument", value=str(by))
    if by is not None:
        if by not in BUCKET_NS:
            raise ConfigError(f"by = {by!r}: expected 'hour' or 'day'", code="invalid_argument", value=str(by),
                              hint="for other buckets pass windows=[(start, end), ...]")
        return BUCKET_NS[by], None
    if windows is None:
        return None, None
    w = windows_ns(windows)
    if w.size and bool(np.any(w[:, 1] < w[:, 0])):
        i = int(np.flatnonzero(w[:, 1] < w[:, 0])[0])
        raise ConfigError(f"windows[{i}] ends before it starts", code="invalid_argument", index=i,
                          value=f"({int(w[i, 0])}, {int(w[i, 1])})")
    return None, w


def energy(
    paths: PathsArg,
    *,
    format: str | None = None,
    channel_by: str | None = None,
    by: Literal["hour", "day"] | None = None,
    windows: Any = None,
    tz: str | None = None,
    rule: str = "trapezoid",
    max_gap_s: float | None = None,
    value: str | None = None,
    prefer: str | None = None,
    strict: bool = False,
    threads: int = 1,
    **read_kwargs: Any,
) -> FleetEnergy:
    """The energy of many power or energy-counter files, computed by Dask, equal to one machine's.

    ``paths`` is a glob (``"telemetry/*.csv.gz"``), a directory holding a
    Parquet dataset (hive partitioning by channel or time: one task per
    fragment), or a list of files, in any format :func:`epcore.read_power`
    reads. ``channel_by`` names the column (or label) that tells channels
    apart. A channel may span many files: its pieces are ordered by time and
    stitched, so totals equal integrating the concatenated rows bit for bit;
    bucket energies (``by="hour"``/``"day"``, UTC) or ``windows`` (``(start,
    end)`` pairs in any time form :func:`epcore.integrate` takes) agree with
    it to 1e-12 relative (they add the pieces' window integrals). ``threads``
    is the core's threads per task (the workers are the parallelism); other
    keyword arguments go to :func:`epcore.read_power`.

    The automatic gap threshold is the one-machine one: resolved from the
    head of the whole channel (its earliest pieces); a piece whose own head
    gave another is integrated again with it. A failure in any task (a
    corrupt or missing file, overlapping files of one channel) raises a typed
    :class:`epcore.EpcoreError` naming the file(s) and fails the whole
    compute. The text readers need two samples of each channel in each file;
    Parquet pieces may hold one. Canonical CSV names channels in its
    ``channel`` column; ``channel_by`` names the column (Parquet, Arrow) or
    label (Prometheus...) for the other readers.

    >>> import epcore.dask as ed, pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.csv").write_text("time_s,channel,power_w\\n0,gpu0,100\\n1,gpu0,100\\n")
    >>> _ = (d / "b.csv").write_text("time_s,channel,power_w\\n2,gpu0,300\\n3,gpu0,300\\n")
    >>> res = ed.energy(str(d / "*.csv"), by="hour").compute(scheduler="synchronous")
    >>> res.energy_j, res.channels["n_files"].tolist()   # 100 J, 200 J across the files' boundary, 300 J
    (600.0, [2])
    >>> res.buckets[["channel", "energy_j"]].values.tolist()
    [['gpu0', 600.0]]
    """
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
        raise ConfigError(f"threads = {threads!r}: must be an integer >= 0", code="invalid_argument",
                          value=repr(threads))
    option_kwargs = {k: read_kwargs.pop(k) for k in _OPTION_KWARGS if k in read_kwargs}
    # Validate every option once, here, rather than in each task.
    checked = _options(rule=rule, max_gap_s=max_gap_s, strict=strict, **option_kwargs)
    bucket_ns, w = _windows(by, windows)
    params = Params(
        format=format, channel_by=channel_by, tz=tz, value=value, prefer=prefer, rule=rule,
        max_gap_ns=checked.max_gap_ns, strict=strict, threads=threads, bucket_ns=bucket_ns, windows=w,
        read_kwargs=tuple(sorted(read_kwargs.items())), **option_kwargs,
    )
    sources = expand(os.fspath(paths) if isinstance(paths, os.PathLike) else paths)
    return FleetEnergy(sources, params, by if by is not None else ("windows" if w is not None else None))
