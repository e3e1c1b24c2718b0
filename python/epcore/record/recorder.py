"""Record live: a source, a background sampler, a streaming file, a report.

>>> import pathlib, tempfile, time, epcore
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "in.csv").write_text("timestamp_ns,power_w\\n0,200\\n10000000000,200\\n")
>>> src = epcore.ReplaySource(d / "in.csv", speed=20)
>>> with epcore.Recorder(src, interval_ms=20, out=d / "run.parquet") as rec:
...     time.sleep(0.3)
>>> 0.25 < rec.trace.duration_s < 0.6, round(rec.trace.energy_j / rec.trace.duration_s)
(True, 200)
>>> epcore.read_power(d / "run.parquet").channels
('0',)
>>> rec.report.channels[0].preferred
'power'
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import numpy as np

from ..exceptions import ConfigError, TraceError
from ..trace import PowerTrace
from .auto import open_source
from .metadata import recording_metadata
from .report import ChannelReport, RecordReport
from .sampler import Sampler, SamplerStats
from .source import PowerSource, SourceInfo
from .writer import MemorySink, Tee, Writer, open_writer

__all__ = ["Recorder"]

_T = TypeVar("_T")


class Recorder:
    """Sample ``source`` every ``interval_ms`` in the background, streaming to ``out``
    (``.parquet`` or ``.csv``; in memory only when None).

    ``source`` is a :class:`PowerSource`, a name (``"auto"``, ``"nvml"``,
    ``"rapl"``) or None for auto: NVML if it initialises, else RAPL if
    readable, else ConfigError saying why neither works. ``gpus`` (NVML indices
    or UUIDs) overrides ``CUDA_VISIBLE_DEVICES``.

    After :meth:`stop` (or the ``with`` block): :attr:`trace` (power if
    recorded, else the energy counter), :attr:`power_trace`,
    :attr:`counter_trace`, :attr:`report` and :attr:`stats`.
    """

    def __init__(self, source: PowerSource | str | None = None, interval_ms: float = 20,
                 out: str | os.PathLike[str] | None = None, gpus: Sequence[int | str] | None = None,
                 metadata: dict[str, Any] | None = None) -> None:
        if isinstance(source, str) or source is None:
            source = open_source(source or "auto", gpus=gpus)
        elif gpus is not None:
            raise ConfigError("gpus= applies when the Recorder chooses the source", code="invalid_argument",
                              hint="pass NvmlSource(gpus) as the source instead")
        self.source: PowerSource = source
        self.interval_ms = float(interval_ms)
        self.out = None if out is None else Path(out)
        self.extra_metadata = metadata
        self.info: SourceInfo | None = None
        self._sampler: Sampler | None = None
        self._memory: MemorySink | None = None
        self._writer: Writer | None = None
        self._stats: SamplerStats | None = None
        self._report: RecordReport | None = None
        self._stopped = False
        self._traces: dict[str, PowerTrace | None] = {}

    # Running.

    def start(self) -> Recorder:
        """Open the source and the output, start sampling."""
        if self._sampler is not None:
            raise ConfigError("this Recorder was already started", code="invalid_argument",
                              hint="make a new Recorder for each run")
        info = self.source.open()
        try:
            self.info = info
            self._memory = MemorySink(info)
            meta = recording_metadata(info, self.interval_ms, self.extra_metadata)
            self._writer = None if self.out is None else open_writer(self.out, info, meta)
            sink = self._memory if self._writer is None else Tee(self._writer, self._memory)
            self._sampler = Sampler(self.source, self.interval_ms, sink)
            self._sampler.start()
        except BaseException:
            if self._writer is not None:
                self._writer.close({"error": "failed to start"})
            self.source.close()
            raise
        if self._writer is not None:
            self._writer.update_metadata({"anchor_wall_ns": self._sampler.anchor_wall_ns,
                                          "anchor_mono_ns": self._sampler.anchor_mono_ns})
        # A program that exits without stop() still gets a complete, closed file.
        atexit.register(self._stop_at_exit)
        return self

    def _stop_at_exit(self) -> None:
        if not self._stopped:
            try:
                self.stop()
            except Exception:  # noqa: BLE001 - at exit there is no one left to tell but stderr
                import traceback

                traceback.print_exc()

    @property
    def running(self) -> bool:
        return self._sampler is not None and self._sampler.running

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the source ends by itself (a replay played out) or fails; True if it did."""
        if self._sampler is None:
            raise ConfigError("wait() before start()", code="invalid_argument", hint="call start() first")
        return self._sampler.wait(timeout_s)

    def stop(self) -> RecordReport:
        """Stop sampling, close the file (metadata gets the sampler stats) and the source.
        A source or sink error that stopped the sampler is raised here, after the file is closed."""
        if self._sampler is None:
            raise ConfigError("stop() before start()", code="invalid_argument", hint="call start() first")
        if self._report is not None:
            return self._report
        atexit.unregister(self._stop_at_exit)
        error: BaseException | None = None
        try:
            self._stats = self._sampler.stop()
        except BaseException as e:
            error = e
            self._stats = self._sampler.stats
        try:
            if self._writer is not None:
                self._writer.close({"sampler": self._stats.to_dict(), "n_samples": self._stats.n_samples})
        finally:
            self.source.close()
            self._stopped = True
        # The report covers what was recorded even when an error ended the run early.
        self._report = self._build_report()
        if error is not None:
            raise error
        return self._report

    def __enter__(self) -> Recorder:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            self.stop()
        except BaseException:
            if ev is None:
                raise
            # The body's exception wins; the file is closed either way.

    # Results.

    @property
    def stats(self) -> SamplerStats:
        if self._stats is not None:
            return self._stats
        if self._sampler is None:
            raise ConfigError("not started", code="invalid_argument", hint="call start() first")
        return self._sampler.stats

    @property
    def report(self) -> RecordReport:
        return self._after_stop(self._report)

    @property
    def power_trace(self) -> PowerTrace | None:
        """The power samples of the channels that have power (None if none do)."""
        return self._trace("power")

    @property
    def counter_trace(self) -> PowerTrace | None:
        """The energy counters, integrated with the counter rule (None if no channel has one)."""
        return self._trace("energy")

    @property
    def trace(self) -> PowerTrace:
        """The power trace when power was recorded, else the counter trace."""
        tr = self.power_trace or self.counter_trace
        if tr is None:
            raise TraceError("nothing was recorded", code="too_few_samples",
                             hint="record for at least two sampling intervals")
        return tr

    def _after_stop(self, value: _T | None) -> _T:
        if value is None:
            raise ConfigError("results are ready after stop()", code="invalid_argument",
                              hint="leave the with block, or call stop()")
        return value

    def _series(self, quantity: str) -> dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
        mem = self._after_stop(self._memory if self._stopped else None)
        t = np.frombuffer(mem.t_ns, dtype=np.int64) if len(mem.t_ns) else np.zeros(0, np.int64)
        out = {}
        for i, ch in enumerate(mem.info.channels):
            has = ch.power_field if quantity == "power" else ch.energy_field
            if has is None:
                continue
            v = np.frombuffer(mem.power_w[i] if quantity == "power" else mem.energy_j[i], dtype=np.float64)
            keep = np.isfinite(v)
            if int(keep.sum()) >= 2:
                out[ch.name] = (t[keep], v[keep])
        return out

    def _trace(self, quantity: str) -> PowerTrace | None:
        if quantity not in self._traces:
            self._traces[quantity] = self._build_trace(quantity)
        return self._traces[quantity]

    def _build_trace(self, quantity: str) -> PowerTrace | None:
        series = self._series(quantity)
        if not series:
            return None
        src = str(self.out) if self.out is not None else f"<record {self.info.source if self.info else ''}>"
        if quantity == "power":
            return PowerTrace.from_samples(dict(series), power_semantics=self._semantics(), source=src)
        return PowerTrace.from_samples(dict(series), rule="counter", source=src)

    def _semantics(self) -> str:
        kinds = {c.power_semantics for c in (self.info.channels if self.info else ()) if c.power_field}
        return kinds.pop() if len(kinds) == 1 else "unknown"

    def _build_report(self) -> RecordReport:
        assert self.info is not None and self._memory is not None and self._stats is not None
        power = self._trace("power")
        counter = self._trace("energy")
        p_j = {c.name: c.energy_j for c in power.result.channels} if power else {}
        c_j = {c.name: c.energy_j for c in counter.result.channels} if counter else {}
        mem = self._memory
        channels = tuple(
            ChannelReport.build(
                ch.name, c_j.get(ch.name), p_j.get(ch.name), n_samples=len(mem),
                n_missing=mem.n_missing_power[i] + mem.n_missing_energy[i],
                power_semantics=ch.power_semantics, power_field=ch.power_field, energy_field=ch.energy_field)
            for i, ch in enumerate(self.info.channels))
        t = mem.t_ns
        duration = (t[-1] - t[0]) / 1e9 if len(t) >= 2 else 0.0
        return RecordReport(self.info.source, None if self.out is None else str(self.out), channels,
                            duration, self._stats)



