"""The one protocol every power source speaks, and the values it hands over.

The sampler loop knows nothing but :class:`PowerSource`: ``open()`` once
(what the channels are and how they are measured), ``read()`` at every
deadline (one reading of every channel, taken now), ``close()`` at the end.
A source that runs out (a replayed file) raises :class:`SourceEnded`.

>>> from epcore.record import ChannelInfo, Reading, SourceInfo
>>> info = SourceInfo("demo", (ChannelInfo("gpu0", power_field="p", energy_field=None),))
>>> info.channel_names, info.has_power, info.has_energy
(('gpu0',), True, False)
>>> Reading(power_w=(250.0,), energy_j=(None,)).power_w
(250.0,)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = ["ChannelInfo", "PowerSource", "Reading", "SourceEnded", "SourceInfo"]


class SourceEnded(Exception):
    """Raised by :meth:`PowerSource.read` when the source has nothing more to give
    (a replayed file played to its end). The sampler stops cleanly on it; it is
    not an error and is never re-raised."""


@dataclass(frozen=True)
class ChannelInfo:
    """How one channel is measured.

    ``power_field`` / ``energy_field`` name what is read (an NVML field or
    function, a sysfs file), None when the channel has no such quantity.
    ``power_semantics`` is ``"instantaneous"``, ``"averaged"`` (a moving
    average over about a second: it lags steps in load) or ``"unknown"``;
    ``meta`` holds the device's identity (GPU name, UUID, driver version...).
    """

    name: str
    power_field: str | None
    energy_field: str | None
    power_semantics: str = "unknown"
    meta: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "power_field": self.power_field, "energy_field": self.energy_field,
            "power_semantics": self.power_semantics, "meta": dict(self.meta),
        }


@dataclass(frozen=True)
class SourceInfo:
    """What :meth:`PowerSource.open` found: the source's name and its channels, in reading order."""

    source: str
    channels: tuple[ChannelInfo, ...]
    meta: Mapping[str, str] = field(default_factory=dict)

    @property
    def channel_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.channels)

    @property
    def has_power(self) -> bool:
        """Some channel reports power (W)."""
        return any(c.power_field is not None for c in self.channels)

    @property
    def has_energy(self) -> bool:
        """Some channel reports a cumulative energy counter (J)."""
        return any(c.energy_field is not None for c in self.channels)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "channels": [c.to_dict() for c in self.channels], "meta": dict(self.meta)}


@dataclass(frozen=True)
class Reading:
    """One sample of every channel, in :attr:`SourceInfo.channels` order.

    ``power_w`` in W and ``energy_j`` a cumulative counter in J (monotonic:
    sources undo wraps); None where the channel has no such quantity or this
    one read failed (written as an empty cell, counted as missing by readers,
    never a 0).
    """

    power_w: tuple[float | None, ...]
    energy_j: tuple[float | None, ...]


@runtime_checkable
class PowerSource(Protocol):
    """A source of power and energy readings (NVML, RAPL, a replayed file...)."""

    def open(self) -> SourceInfo:
        """Acquire the device(s); say what the channels are. Raises ConfigError with a hint when unusable."""
        ...

    def read(self) -> Reading:
        """One reading of every channel, taken now. Raises :class:`SourceEnded` when exhausted."""
        ...

    def close(self) -> None:
        """Release the device(s); safe to call twice."""
        ...
