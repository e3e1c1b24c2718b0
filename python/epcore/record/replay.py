"""Play a recorded power/energy file back as a live source, at its own pace.

Used in tests and demos where no GPU or RAPL is at hand: ``read()`` returns
each channel's value linearly interpolated at the elapsed time (times
``speed``) since ``open()``, measured from the file's first timestamp, and
raises :class:`SourceEnded` once every channel has played to its end.
Power keeps its watts at any ``speed``; an energy counter's increase is
divided by ``speed``, so the replayed counter stays consistent with the
replayed power (the file's energy over a ``1/speed`` shorter run).

A canonical CSV with both ``power_w`` and ``energy_j`` columns (what
``epcore record`` writes) plays both back: the power through
:func:`epcore.read_power`, the counter through the same reader on the file's
``energy_j`` column (needs pyarrow).

>>> import pathlib, tempfile
>>> from epcore.record import ReplaySource
>>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
>>> _ = p.write_text("timestamp_ns,channel,power_w\\n0,gpu0,100\\n1000000000,gpu0,300\\n")
>>> src = ReplaySource(p, speed=1000)
>>> src.open().channels[0].power_field
'power_w'
>>> 100.0 <= src.read().power_w[0] <= 300.0
True
"""

from __future__ import annotations

import bisect
import os
import time
from typing import Any

import numpy as np

from ..exceptions import ConfigError
from .source import ChannelInfo, Reading, SourceEnded, SourceInfo

__all__ = ["ReplaySource"]

_Series = tuple[list[int], list[float]]


class ReplaySource:
    """A file read with :func:`epcore.read_power`, played back at ``speed`` times real time."""

    def __init__(self, path: str | os.PathLike[str], speed: float = 1.0, **read_options: Any) -> None:
        if not (isinstance(speed, (int, float)) and speed > 0 and np.isfinite(speed)):
            raise ConfigError(f"replay speed must be a positive number, got {speed!r}", code="invalid_argument",
                              value=repr(speed), hint="1.0 plays at the recorded pace, 10 ten times faster")
        self.path = os.fspath(path)
        self.speed = float(speed)
        self.read_options = read_options
        self._power: list[_Series | None] = []
        self._energy: list[_Series | None] = []
        self._t0 = 0
        self._t_end = 0
        self._mono0 = 0
        self._info: SourceInfo | None = None

    def open(self) -> SourceInfo:
        from ..trace import read_power

        main = read_power(self.path, **self.read_options)
        self._power, self._energy = [], []
        scale = 1.0 if main.counter_unit_j is None else main.counter_unit_j
        series = {name: _finite(s.t_ns, s.values * scale) for name, s in main.samples.items()}
        other = self._counter_column() if main.quantity == "power" else {}
        names = list(dict.fromkeys([*series, *other]))
        power = main.quantity == "power"
        semantics = str(main.info.get("power_semantics", "unknown"))
        field = str(main.info.get("value_column") or ("power_w" if power else "energy_j"))
        channels = []
        for n in names:
            p = series.get(n) if power else None
            e = other.get(n) if power else series.get(n)
            self._power.append(p)
            self._energy.append(e)
            channels.append(ChannelInfo(
                n, power_field=field if p is not None else None,
                energy_field=("energy_j" if power else field) if e is not None else None,
                power_semantics=semantics if p is not None else "unknown",
                meta={"replay_of": self.path, "format": main.format}))
        starts = [s[0][0] for s in [*self._power, *self._energy] if s is not None and s[0]]
        ends = [s[0][-1] for s in [*self._power, *self._energy] if s is not None and s[0]]
        if not starts:
            raise ConfigError(f"{self.path}: no samples to replay", code="invalid_argument", path=self.path,
                              hint="replay a trace with at least two samples per channel")
        self._t0, self._t_end = min(starts), max(ends)
        self._info = SourceInfo("replay", tuple(channels), meta={"path": self.path, "speed": repr(self.speed)})
        self._mono0 = time.monotonic_ns()
        return self._info

    def _counter_column(self) -> dict[str, _Series]:
        """The energy_j column of a canonical CSV or Parquet file that also has power_w
        (the readers take the power column first)."""
        if self.read_options or not _has_both_columns(self.path):
            return {}
        from ..trace import read_power

        if _is_parquet(self.path):
            tr = read_power(self.path, value="energy_j")
        else:
            import pyarrow as pa
            import pyarrow.csv as pacsv

            # A row cut by a crash is skipped, as the text reader drops it (with its warning, on the power).
            table = pacsv.read_csv(
                self.path, parse_options=pacsv.ParseOptions(invalid_row_handler=lambda row: "skip"),
                convert_options=pacsv.ConvertOptions(column_types={"channel": pa.string(),
                                                                   "energy_j": pa.float64()}))
            cols = [c for c in ("timestamp_ns", "time_s", "channel", "energy_j") if c in table.column_names]
            tr = read_power(table.select(cols), value="energy_j")
        return {name: _finite(s.t_ns, s.values) for name, s in tr.samples.items()}

    def read(self) -> Reading:
        if self._info is None:
            raise ConfigError("read() before open()", code="invalid_argument", hint="call open() first")
        t = self._t0 + int((time.monotonic_ns() - self._mono0) * self.speed)
        if t > self._t_end:
            raise SourceEnded(self.path)
        return Reading(tuple(_at(s, t) for s in self._power), tuple(self._counter(s, t) for s in self._energy))

    def _counter(self, series: _Series | None, t: int) -> float | None:
        """The counter at t, its increase since the file's start divided by ``speed``: played faster, the
        same power lasts shorter, so the replayed counter stays the integral of the replayed power."""
        e = _at(series, t)
        if e is None or series is None or self.speed == 1.0:
            return e
        return series[1][0] + (e - series[1][0]) / self.speed

    def close(self) -> None:
        self._info = None


def _finite(t_ns: Any, values: Any) -> _Series:
    keep = np.isfinite(values)
    return [int(x) for x in t_ns[keep]], [float(x) for x in values[keep]]


def _at(series: _Series | None, t: int) -> float | None:
    """Linear interpolation at t; None outside the channel's span (it has no value there)."""
    if series is None:
        return None
    ts, vs = series
    if not ts or t < ts[0] or t > ts[-1]:
        return None
    i = bisect.bisect_right(ts, t)
    if i >= len(ts):
        return vs[-1]
    t_a, t_b = ts[i - 1], ts[i]
    if t_b == t_a:
        return vs[i]
    return vs[i - 1] + (vs[i] - vs[i - 1]) * ((t - t_a) / (t_b - t_a))


def _is_parquet(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"PAR1"


def _has_both_columns(path: str) -> bool:
    """A power_w and an energy_j column (pyarrow needed to read the second one)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        return False
    try:
        if _is_parquet(path):
            names = [n.encode() for n in pq.read_schema(path).names]
        else:
            with open(path, "rb") as f:
                names = [c.strip().strip(b'"') for c in f.readline(4096).strip().split(b",")]
    except OSError:
        return False
    return b"energy_j" in names and b"power_w" in names
