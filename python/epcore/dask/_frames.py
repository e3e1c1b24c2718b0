"""pandas tables of fleet results, and their empty forms (the ``meta`` Dask needs)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..results import ChannelEnergy
from ._pieces import FilePiece
from ._stitch import ChannelTotals

__all__ = ["channels_frame", "buckets_frame", "files_frame", "records"]

_TS = "datetime64[ns, UTC]"


def _times(ns: Sequence[int] | np.ndarray[Any, Any]) -> Any:
    import pandas as pd

    return pd.Series(np.asarray(ns, dtype=np.int64)).astype("datetime64[ns]").dt.tz_localize("UTC").astype(_TS)


def channels_frame(rows: Sequence[tuple[ChannelEnergy, ChannelTotals]]) -> Any:
    """One row per channel (nullable floats: a ratio that cannot be computed is <NA>, never NaN)."""
    import pandas as pd

    return pd.DataFrame({
        "channel": pd.Series([c.name for c, _ in rows], dtype="string"),
        "energy_j": pd.Series([c.energy_j for c, _ in rows], dtype="float64"),
        "duration_s": pd.Series([c.duration_s for c, _ in rows], dtype="float64"),
        "mean_power_w": pd.Series([c.mean_power_w for c, _ in rows], dtype="Float64"),
        "n_samples": pd.Series([c.quality.n_samples for c, _ in rows], dtype="int64"),
        "n_gaps": pd.Series([c.quality.n_gaps for c, _ in rows], dtype="int64"),
        "gap_s": pd.Series([c.quality.gap_s for c, _ in rows], dtype="float64"),
        "coverage": pd.Series([c.quality.coverage for c, _ in rows], dtype="Float64"),
        "first_time": _times([c.first_t_ns for c, _ in rows]),
        "last_time": _times([c.last_t_ns for c, _ in rows]),
        "n_files": pd.Series([len(t.files) for _, t in rows], dtype="int64"),
    })


def buckets_frame(totals: Sequence[ChannelTotals]) -> Any:
    """One row per channel and bucket (or window): energy, integrated fraction, gaps."""
    import pandas as pd

    names: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    energy: list[float] = []
    coverage: list[float | None] = []
    gaps: list[int] = []
    for t in totals:
        if t.windows is None or t.window_energy_j is None or t.window_covered_ns is None or t.window_n_gaps is None:
            continue
        first, last = t.partial.first_t_ns, t.partial.last_t_ns
        for (s, e), en, cov, g in zip(t.windows.tolist(), t.window_energy_j.tolist(),
                                      t.window_covered_ns.tolist(), t.window_n_gaps.tolist()):
            names.append(t.channel)
            starts.append(s)
            ends.append(e)
            energy.append(en)
            gaps.append(g)
            if e > s:
                coverage.append(cov / (e - s))
            else:  # a zero-length window is covered if it sits inside the trace (as epcore.integrate does)
                inside = first is not None and last is not None and first <= s <= last
                coverage.append(1.0 if inside else 0.0)
    return pd.DataFrame({
        "channel": pd.Series(names, dtype="string"),
        "start": _times(starts),
        "end": _times(ends),
        "energy_j": pd.Series(energy, dtype="float64"),
        "coverage": pd.Series(coverage, dtype="Float64"),
        "n_gaps": pd.Series(gaps, dtype="int64"),
    })


def files_frame(pieces: Sequence[FilePiece]) -> Any:
    """One row per file read: its channels, rows, bytes and read-and-integrate seconds."""
    import pandas as pd

    return pd.DataFrame({
        "file": pd.Series([p.source.path for p in pieces], dtype="string"),
        "channels": pd.Series([",".join(c.channel for c in p.channels) for p in pieces], dtype="string"),
        "rows": pd.Series([p.rows for p in pieces], dtype="int64"),
        "bytes": pd.Series([p.bytes for p in pieces], dtype="int64"),
        "seconds": pd.Series([p.seconds for p in pieces], dtype="float64"),
    })


def records(df: Any) -> list[dict[str, Any]]:
    """JSON-ready rows: times as ISO 8601 strings, missing values None."""
    import pandas as pd

    out: list[dict[str, Any]] = []
    for row in df.to_dict(orient="records"):
        clean: dict[str, Any] = {}
        for k, v in row.items():
            if v is pd.NA or v is None or (isinstance(v, float) and math.isnan(v)):
                clean[k] = None
            elif isinstance(v, pd.Timestamp):
                clean[k] = v.isoformat()
            elif isinstance(v, np.generic):
                clean[k] = v.item()
            else:
                clean[k] = v
        out.append(clean)
    return out
