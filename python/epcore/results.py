"""Typed results of an integration."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core
from .quality import QualityReport

__all__ = ["ChannelEnergy", "IntegrationResult"]


def _ratio(num: float, den: float) -> float | None:
    """A ratio that cannot be computed is None, never inf or NaN."""
    return num / den if den > 0 else None


class EnergyUnits:
    """``energy_wh`` and ``energy_kwh`` of a result whose ``energy_j`` is its energy."""

    energy_j: float

    @property
    def energy_wh(self) -> float:
        return self.energy_j / 3600.0

    @property
    def energy_kwh(self) -> float:
        return self.energy_j / 3.6e6


@dataclass(frozen=True)
class ChannelEnergy(EnergyUnits):
    """Energy of one channel (one GPU, one power domain)."""

    name: str
    energy_j: float
    duration_s: float
    first_t_ns: int
    last_t_ns: int
    min_power_w: float | None
    max_power_w: float | None
    quality: QualityReport

    @property
    def mean_power_w(self) -> float | None:
        """Energy over integrated (non-gap) time; None if nothing was integrated."""
        return _ratio(self.energy_j, self.quality.covered_s)

    @classmethod
    def from_partial(cls, name: str, part: _core.Partial, power_semantics: str = "unknown",
                     **quality_extra: Any) -> ChannelEnergy:
        """Build from the core's partial of a whole channel."""
        d = part.to_dict()
        q = QualityReport.from_partial(d, power_semantics=power_semantics, **quality_extra)
        # A counter's values are cumulative energy, not power.
        is_counter = d["method"] == "counter"
        return cls(
            name=name,
            energy_j=d["energy_j"],
            duration_s=d["span_ns"] / 1e9,
            first_t_ns=d["first_t_ns"],
            last_t_ns=d["last_t_ns"],
            min_power_w=None if is_counter else d["min_value"],
            max_power_w=None if is_counter else d["max_value"],
            quality=q,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "energy_j": self.energy_j,
            "energy_wh": self.energy_wh,
            "duration_s": self.duration_s,
            "mean_power_w": self.mean_power_w,
            "min_power_w": self.min_power_w,
            "max_power_w": self.max_power_w,
            "first_t_ns": self.first_t_ns,
            "last_t_ns": self.last_t_ns,
            "samples": self.quality.n_samples,
            "quality": self.quality.to_dict(),
        }


@dataclass(frozen=True)
class IntegrationResult(EnergyUnits):
    """Energy of a trace, per channel and per window, with its quality report.

    ``window_energy_j[i]`` sums all channels over window ``i``;
    ``window_channel_energy_j[c, i]`` keeps them apart. ``window_coverage[i]``
    is the integrated fraction of the window, the smallest over channels.
    """

    energy_j: float
    duration_s: float
    channels: tuple[ChannelEnergy, ...]
    quality: QualityReport
    window_energy_j: npt.NDArray[np.float64] | None = None
    window_channel_energy_j: npt.NDArray[np.float64] | None = None
    window_coverage: npt.NDArray[np.float64] | None = None
    window_n_gaps: npt.NDArray[np.int64] | None = None
    source: str | None = None

    @classmethod
    def from_channels(
        cls, channels: list[ChannelEnergy], *, source: str | None = None, **file_flags: Any
    ) -> IntegrationResult:
        """Totals over channels; ``file_flags`` go into the combined quality report."""
        first = min(c.first_t_ns for c in channels)
        last = max(c.last_t_ns for c in channels)
        return cls(
            energy_j=math.fsum(c.energy_j for c in channels),
            duration_s=(last - first) / 1e9,
            channels=tuple(channels),
            quality=QualityReport.combine((c.quality for c in channels), **file_flags),
            source=source,
        )

    @property
    def method(self) -> str:
        return self.quality.method

    @property
    def samples(self) -> int:
        return self.quality.n_samples

    @property
    def mean_power_w(self) -> float | None:
        """Sum over channels of each channel's mean power over its integrated time."""
        means = [c.mean_power_w for c in self.channels]
        if any(m is None for m in means):
            return None
        return float(sum(m for m in means if m is not None))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: plain floats and lists, None where a ratio is undefined."""
        d: dict[str, Any] = {
            "energy_j": self.energy_j,
            "energy_wh": self.energy_wh,
            "duration_s": self.duration_s,
            "mean_power_w": self.mean_power_w,
            "samples": self.samples,
            "method": self.method,
            "source": self.source,
            "channels": [c.to_dict() for c in self.channels],
            "quality": self.quality.to_dict(),
        }
        if self.window_energy_j is not None:
            d["windows"] = {
                "energy_j": self.window_energy_j.tolist(),
                "coverage": None if self.window_coverage is None else self.window_coverage.tolist(),
                "n_gaps": None if self.window_n_gaps is None else self.window_n_gaps.tolist(),
            }
        return d
