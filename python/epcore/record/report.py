"""The final report of a recording: energy from counters and from integrated power, side by side.

Where a channel has both, the counter is preferred (it is the device's own
integral at its internal rate; integrated samples miss what happens between
them, and averaged power lags). The difference says how far the two agree.

>>> from epcore.record import ChannelReport
>>> c = ChannelReport.build("gpu0", 1000.0, 1012.0, n_samples=500, n_missing=0, power_semantics="instantaneous",
...                         power_field="NVML_FI_DEV_POWER_INSTANT", energy_field="nvmlDeviceGetTotalEnergyConsumption")
>>> c.preferred, c.energy_j, c.difference_j, c.difference_percent
('counter', 1000.0, 12.0, 1.2)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .sampler import SamplerStats

__all__ = ["ChannelReport", "RecordReport"]


@dataclass(frozen=True)
class ChannelReport:
    """One channel: ``energy_counter_j`` (counter delta over the run), ``energy_power_j``
    (trapezoid integral of the power samples), their ``difference_j`` (power minus counter) and
    ``difference_percent`` (of the counter); ``energy_j`` is the preferred one, named by ``preferred``.
    A figure the channel cannot give is None, never 0."""

    name: str
    energy_j: float | None
    preferred: str | None
    energy_counter_j: float | None
    energy_power_j: float | None
    difference_j: float | None
    difference_percent: float | None
    n_samples: int
    n_missing: int
    power_semantics: str
    power_field: str | None
    energy_field: str | None

    @classmethod
    def build(cls, name: str, counter_j: float | None, power_j: float | None, *, n_samples: int,
              n_missing: int, power_semantics: str, power_field: str | None,
              energy_field: str | None) -> ChannelReport:
        diff = None if counter_j is None or power_j is None else power_j - counter_j
        pct = None if diff is None or counter_j is None or counter_j <= 0 else 100.0 * diff / counter_j
        preferred = "counter" if counter_j is not None else ("power" if power_j is not None else None)
        return cls(name, counter_j if counter_j is not None else power_j, preferred, counter_j, power_j, diff,
                   pct, n_samples, n_missing, power_semantics, power_field, energy_field)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RecordReport:
    """What a recording measured and how well it kept time.

    ``energy_j`` is the sum of the channels' preferred energies. Timing:
    ``achieved_hz``, ``interval_p99_ms`` and the sampler's own CPU cost
    (``cpu_percent`` of one core) come from :attr:`stats`.
    """

    source: str
    out: str | None
    channels: tuple[ChannelReport, ...]
    duration_s: float
    stats: SamplerStats

    @property
    def energy_j(self) -> float:
        return sum(c.energy_j for c in self.channels if c.energy_j is not None)

    @property
    def n_samples(self) -> int:
        return self.stats.n_samples

    @property
    def achieved_hz(self) -> float:
        return self.stats.achieved_hz

    @property
    def interval_p99_ms(self) -> float | None:
        return self.stats.interval_p99_ms

    @property
    def cpu_percent(self) -> float:
        return self.stats.cpu_percent

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "out": self.out, "energy_j": self.energy_j, "duration_s": self.duration_s,
            "n_samples": self.n_samples, "achieved_hz": self.achieved_hz,
            "interval_p99_ms": self.interval_p99_ms, "cpu_percent": self.cpu_percent,
            "channels": [c.to_dict() for c in self.channels], "sampler": self.stats.to_dict(),
        }

    def __str__(self) -> str:
        def f(x: float | None, spec: str = ".1f") -> str:
            return "-" if x is None else format(x, spec)

        lines = [f"{'channel':<16} {'counter J':>12} {'power J':>12} {'diff J':>10} {'diff %':>8} preferred"]
        for c in self.channels:
            lines.append(f"{c.name:<16} {f(c.energy_counter_j):>12} {f(c.energy_power_j):>12} "
                         f"{f(c.difference_j):>10} {f(c.difference_percent, '.2f'):>8} {c.preferred or '-'}")
        s = self.stats
        lines.append(f"{s.n_samples} samples in {self.duration_s:.2f} s: {s.achieved_hz:.1f} Hz "
                     f"(target {1e3 / s.interval_ms:.1f}), p99 interval {f(s.interval_p99_ms, '.2f')} ms, "
                     f"sampler CPU {s.cpu_percent:.2f} % of a core")
        return "\n".join(lines)
