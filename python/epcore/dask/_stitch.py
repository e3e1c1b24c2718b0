"""The reduce: a channel's pieces, from any files, stitched in time order into one-machine figures.

Pieces are ordered by their first timestamp. Their partials merge with
``Partial.merge``, which re-runs the boundary sample through the sequential
rules, so totals and quality counts are those of integrating the
concatenated rows. Bucket and window energies are the pieces' own plus, for
each boundary, the segment between one piece's last sample and the next
one's first, integrated by the core with the same options; they are added
with ``math.fsum`` (exactly rounded, so the order of pieces does not matter).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .. import _core
from ..exceptions import EpcoreError, TraceError
from ._errors import in_file
from ._pieces import HEAD_ROWS, ChannelPiece, Params, Windows, gap_threshold_ns, grid, recompute

__all__ = ["ChannelTotals", "stitch_channel", "order_pieces"]


@dataclass(frozen=True)
class ChannelTotals:
    """One channel over all its files: the merged partial and per-window sums."""

    channel: str
    partial: _core.Partial
    files: tuple[str, ...]
    windows: Windows | None
    window_energy_j: npt.NDArray[np.float64] | None
    window_covered_ns: npt.NDArray[np.int64] | None
    window_n_gaps: npt.NDArray[np.int64] | None


def order_pieces(pieces: Iterable[ChannelPiece]) -> list[ChannelPiece]:
    """Pieces in time order; overlapping pieces are an error naming both files.

    Touching at one timestamp is allowed: the merge keeps an identical
    duplicate once and rejects a conflicting one, as one concatenated trace would.
    """
    ordered = sorted(pieces, key=lambda p: (p.t_min_ns, p.t_max_ns, p.source.path))
    for a, b in zip(ordered, ordered[1:]):
        if b.t_min_ns < a.t_max_ns:
            raise TraceError(
                f"{b.source.path}: channel {a.channel}: its rows ({b.t_min_ns} ns to {b.t_max_ns} ns) overlap "
                f"those of {a.source.path} ({a.t_min_ns} ns to {a.t_max_ns} ns)",
                code="overlapping_files", path=b.source.path, value=str(b.t_min_ns),
                reason="two files hold overlapping time ranges of one channel",
                hint="each channel's files must cover disjoint time ranges (drop the duplicate file, or name "
                     "channels apart with channel_by=)",
            )
    return ordered


def _threshold(ordered: Sequence[ChannelPiece], params: Params) -> int:
    """The one-machine gap threshold: explicit, or resolved from the head of the whole channel."""
    if params.max_gap_ns is not None:
        return params.max_gap_ns
    heads, n = [], 0
    for p in ordered:
        heads.append(p.head_t_ns)
        n += p.head_t_ns.size
        if n >= HEAD_ROWS:
            break
    return gap_threshold_ns(np.concatenate(heads) if heads else np.zeros(0, dtype=np.int64))


def _boundary(a: ChannelPiece, b: ChannelPiece, params: Params, windows: Windows | None) -> (
        tuple[Windows, npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.int64]] | None):
    """Per-window figures of the segment from ``a``'s last sample to ``b``'s first."""
    if a.last is None or b.first is None or b.first[0] <= a.last[0]:
        return None  # nothing between them (a shared timestamp adds no time)
    w = windows if windows is not None else (
        grid(a.last[0], b.first[0], params.bucket_ns) if params.bucket_ns is not None else None)
    if w is None:
        return None
    t = np.array([a.last[0], b.first[0]], dtype=np.int64)
    v = np.array([a.last[1], b.first[1]], dtype=np.float64)
    try:
        _, (e, cov, gaps) = _core.integrate_windows(t, v, w, a.options.build(), 1)
    except EpcoreError as err:
        raise in_file(err, b.source.path, also=a.source.path) from None
    return w, np.asarray(e, np.float64), np.asarray(cov, np.int64), np.asarray(gaps, np.int64)


def stitch_channel(pieces: Sequence[ChannelPiece], params: Params) -> ChannelTotals:
    """Merge one channel's pieces (from any files) into the one-machine result."""
    ordered = order_pieces(pieces)
    gap = _threshold(ordered, params)
    ordered = [p if p.options.max_gap_ns == gap else recompute(p.source, params, p.channel, gap) for p in ordered]
    merged = ordered[0].partial
    for a, b in zip(ordered, ordered[1:]):
        try:
            merged = merged.merge(b.partial)
        except EpcoreError as e:
            raise in_file(e, b.source.path, also=a.source.path) from None
    parts: list[tuple[Windows, npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.int64]]] = []
    for p in ordered:
        if p.windows is not None and p.window_energy_j is not None and p.window_covered_ns is not None \
                and p.window_n_gaps is not None:
            parts.append((p.windows, p.window_energy_j, p.window_covered_ns, p.window_n_gaps))
    for a, b in zip(ordered, ordered[1:]):
        seg = _boundary(a, b, params, params.windows)
        if seg is not None:
            parts.append(seg)
    files = tuple(dict.fromkeys(p.source.path for p in ordered))
    if merged.n_samples < 2:
        raise TraceError(
            f"{files[0]}: channel {ordered[0].channel}: {merged.n_samples} usable sample(s) in all its files "
            f"({', '.join(files)}), at least 2 needed for an integral",
            code="insufficient_samples", path=files[0], value=str(merged.n_samples),
            hint="an energy integral needs at least two samples of one channel",
        )
    if params.windows is None and params.bucket_ns is None:
        return ChannelTotals(ordered[0].channel, merged, files, None, None, None, None)
    w = params.windows if params.windows is not None else _channel_grid(ordered, params)
    energy, covered, n_gaps = _sum_windows(w, parts)
    return ChannelTotals(ordered[0].channel, merged, files, w, energy, covered, n_gaps)


def _channel_grid(ordered: Sequence[ChannelPiece], params: Params) -> Windows:
    assert params.bucket_ns is not None
    # Every piece's own buckets lie inside the buckets of the whole channel's row range.
    return grid(ordered[0].t_min_ns, max(p.t_max_ns for p in ordered), params.bucket_ns)


def _sum_windows(
    w: Windows,
    parts: Sequence[tuple[Windows, npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.int64]]],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Add the parts' per-window figures into the windows ``w``, matched by (start, end)."""
    index = {(int(s), int(e)): i for i, (s, e) in enumerate(w.tolist())}
    terms: defaultdict[int, list[float]] = defaultdict(list)
    covered = np.zeros(len(w), dtype=np.int64)
    gaps = np.zeros(len(w), dtype=np.int64)
    for pw, e, cov, g in parts:
        if pw.shape == w.shape and np.array_equal(pw, w):
            # Explicit windows: every piece got the same list (duplicates included), so add by position.
            for i in range(len(w)):
                terms[i].append(float(e[i]))
            covered += cov.astype(np.int64)
            gaps += g.astype(np.int64)
            continue
        for k, (s, end) in enumerate(pw.tolist()):
            j = index.get((int(s), int(end)))
            if j is None:
                continue  # a piece's own bucket outside the channel's span cannot hold energy
            terms[j].append(float(e[k]))
            covered[j] += int(cov[k])
            gaps[j] += int(g[k])
    energy = np.array([math.fsum(terms[i]) for i in range(len(w))], dtype=np.float64)
    return energy, covered, gaps
