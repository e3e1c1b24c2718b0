"""The quality report every result carries: what was used, repaired, missing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["QualityReport"]



@dataclass(frozen=True)
class QualityReport:
    """Counts and coverage behind a number.

    ``coverage`` is integrated time over the span from first to last sample
    (``None`` when the span is zero); ``complete`` means no gap and no dropped
    row. ``lower_bound`` is true when a counter reset lost the energy between the
    last reading and the reset.
    """

    method: str
    max_gap_s: float
    n_rows: int = 0
    n_samples: int = 0
    n_nonfinite: int = 0
    n_negative_clamped: int = 0
    n_duplicate_identical: int = 0
    n_reordered: int = 0
    n_gaps: int = 0
    gap_s: float = 0.0
    covered_s: float = 0.0
    span_s: float = 0.0
    n_wraps: int = 0
    n_resets: int = 0
    min_dt_s: float | None = None
    max_dt_s: float | None = None
    power_semantics: str = "unknown"
    had_bom: bool = False
    unterminated_final_line: bool = False
    truncated_tail: bool = False
    warnings: tuple[str, ...] = field(default=())
    #: The format read, and how it was stored (``gzip``/``zstd``).
    format: str | None = None
    compression: str | None = None
    #: Timestamps were local times without a zone, read as UTC (``tz`` not given).
    naive_time: bool = False
    tz: str | None = None
    #: Values whose unit suffix differed from the column's unit and were converted.
    n_unit_normalized: int = 0
    #: Rows read but not used, by reason (another metric, a warm-up phase...).
    skipped: tuple[tuple[str, int], ...] = field(default=())

    @property
    def coverage(self) -> float | None:
        """Integrated fraction of the span, or None for a zero span."""
        return self.covered_s / self.span_s if self.span_s > 0 else None

    @property
    def n_repairs(self) -> int:
        """Rows dropped or changed by a documented repair."""
        return (
            self.n_nonfinite
            + self.n_negative_clamped
            + self.n_duplicate_identical
            + self.n_reordered
            + int(self.truncated_tail)
        )

    @property
    def mean_dt_s(self) -> float | None:
        """Mean interval between accepted samples."""
        return self.span_s / (self.n_samples - 1) if self.n_samples > 1 else None

    @property
    def lower_bound(self) -> bool:
        """True when a counter reset may have lost energy."""
        return self.n_resets > 0

    @property
    def complete(self) -> bool:
        """No gap and nothing dropped."""
        return self.n_gaps == 0 and self.n_repairs == 0

    @classmethod
    def from_partial(
        cls, d: Mapping[str, Any], *, power_semantics: str = "unknown", **file_flags: Any
    ) -> QualityReport:
        """Build from ``Partial.to_dict()`` of the core."""
        return cls(
            method=d["method"],
            max_gap_s=d["max_gap_ns"] / 1e9,
            n_rows=d["n_rows"],
            n_samples=d["n_samples"],
            n_nonfinite=d["n_nonfinite"],
            n_negative_clamped=d["n_negative_clamped"],
            n_duplicate_identical=d["n_duplicate_identical"],
            n_gaps=d["n_gaps"],
            gap_s=d["gap_ns"] / 1e9,
            covered_s=d["covered_ns"] / 1e9,
            span_s=d["span_ns"] / 1e9,
            n_wraps=d["n_wraps"],
            n_resets=d["n_resets"],
            min_dt_s=None if d["min_dt_ns"] is None else d["min_dt_ns"] / 1e9,
            max_dt_s=None if d["max_dt_ns"] is None else d["max_dt_ns"] / 1e9,
            power_semantics=power_semantics,
            **file_flags,
        )

    @classmethod
    def combine(cls, reports: Iterable[QualityReport], **file_flags: Any) -> QualityReport:
        """One report for several channels: counts add, the span is the longest."""
        rs = list(reports)
        first = rs[0]
        dts_min = [r.min_dt_s for r in rs if r.min_dt_s is not None]
        dts_max = [r.max_dt_s for r in rs if r.max_dt_s is not None]
        semantics = {r.power_semantics for r in rs}
        return cls(
            method=first.method,
            max_gap_s=max(r.max_gap_s for r in rs),
            n_rows=sum(r.n_rows for r in rs),
            n_samples=sum(r.n_samples for r in rs),
            n_nonfinite=sum(r.n_nonfinite for r in rs),
            n_negative_clamped=sum(r.n_negative_clamped for r in rs),
            n_duplicate_identical=sum(r.n_duplicate_identical for r in rs),
            n_reordered=sum(r.n_reordered for r in rs),
            n_gaps=sum(r.n_gaps for r in rs),
            gap_s=sum(r.gap_s for r in rs),
            covered_s=sum(r.covered_s for r in rs),
            span_s=sum(r.span_s for r in rs),
            n_wraps=sum(r.n_wraps for r in rs),
            n_resets=sum(r.n_resets for r in rs),
            min_dt_s=min(dts_min) if dts_min else None,
            max_dt_s=max(dts_max) if dts_max else None,
            power_semantics=semantics.pop() if len(semantics) == 1 else "mixed",
            **file_flags,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields, derived ones included; never NaN or inf."""
        d = asdict(self)
        d["warnings"] = list(self.warnings)
        d["skipped"] = dict(self.skipped)
        d["coverage"] = self.coverage
        d["complete"] = self.complete
        d["lower_bound"] = self.lower_bound
        d["n_repairs"] = self.n_repairs
        d["mean_dt_s"] = self.mean_dt_s
        return d
