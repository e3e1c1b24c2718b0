"""The background sampling loop: deadlines on the monotonic clock, no drift.

Deadline ``k`` is ``start + k * interval`` on ``time.monotonic_ns()``, so a
slow read delays one sample, never the ones after it (no accumulated drift).
When a read overruns whole intervals, the deadlines it covered are skipped and
counted rather than fired back to back. Each sample's timestamp is the
monotonic midpoint of its read, mapped to wall time through one anchor taken at
start (``time.time_ns()`` and ``time.monotonic_ns()`` read back to back), so a
wall-clock step (NTP) during a run cannot reorder or stretch the trace.

>>> import pathlib, tempfile, epcore
>>> from epcore.record import ReplaySource, Sampler, MemorySink
>>> p = pathlib.Path(tempfile.mkdtemp()) / "flat.csv"
>>> _ = p.write_text("timestamp_ns,power_w\\n0,100\\n200000000,100\\n")
>>> src = ReplaySource(p)
>>> info = src.open()
>>> sink = MemorySink(info)
>>> s = Sampler(src, interval_ms=10, sink=sink)
>>> s.start(); s.wait(timeout_s=5); stats = s.stop()
True
>>> 5 <= stats.n_samples <= 22, stats.error is None
(True, True)
"""

from __future__ import annotations

import math
import threading
import time
from array import array
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from ..exceptions import ConfigError
from .source import PowerSource, Reading, SourceEnded

__all__ = ["Sampler", "SamplerStats", "Sink"]

#: The loop sleeps in slices at most this long, so stop() is honoured promptly.
_SLICE_NS = 50_000_000


class Sink(Protocol):
    """Where the sampler hands each sample (a writer, a memory buffer, several)."""

    def write(self, t_ns: int, reading: Reading) -> None: ...


@dataclass(frozen=True)
class SamplerStats:
    """How the sampler kept time and what it cost.

    Intervals are between consecutive samples' timestamps (the final sample
    taken at stop is excluded). ``n_late`` samples were taken more than half an
    interval after their deadline; ``n_skipped`` deadlines passed without a
    sample (a read overran). ``cpu_s`` is the sampler thread's own CPU time
    (``time.thread_time_ns``), ``cpu_percent`` that as a share of one core over
    the run.
    """

    interval_ms: float
    n_samples: int
    duration_s: float
    achieved_hz: float
    interval_p50_ms: float | None
    interval_p99_ms: float | None
    interval_max_ms: float | None
    n_late: int
    n_skipped: int
    cpu_s: float
    cpu_percent: float
    anchor_wall_ns: int
    anchor_mono_ns: int
    ended: bool
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Sampler:
    """Read ``source`` (already opened) every ``interval_ms`` on a background thread, handing
    each ``(t_ns, reading)`` to ``sink.write``.

    An exception from the source or the sink stops the loop and is kept;
    :meth:`stop` re-raises it (after the thread has ended), so no error is lost.
    :class:`SourceEnded` stops the loop quietly (``stats.ended``).
    """

    def __init__(self, source: PowerSource, interval_ms: float, sink: Sink) -> None:
        if not (isinstance(interval_ms, (int, float)) and math.isfinite(interval_ms) and interval_ms > 0):
            raise ConfigError(f"interval_ms must be a positive number, got {interval_ms!r}",
                              code="invalid_argument", value=repr(interval_ms),
                              hint="e.g. interval_ms=20 (50 Hz)")
        self.source = source
        self.sink = sink
        self.interval_ns = max(1, int(round(interval_ms * 1e6)))
        self.anchor_wall_ns = 0
        self.anchor_mono_ns = 0
        self._stop = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._ended = False
        self._t_ns = array("q")
        self._deadline_sample = array("b")
        self._n_late = 0
        self._n_skipped = 0
        self._cpu_ns = 0
        self._cpu0_ns = 0
        self._end_mono_ns = 0
        self._stats: SamplerStats | None = None

    def start(self) -> None:
        """Anchor the clocks and start the thread (once)."""
        if self._thread is not None:
            raise ConfigError("this sampler was already started", code="invalid_argument",
                              hint="make a new Sampler for each run")
        # Anchor once, back to back: every timestamp is anchor_wall + (mono - anchor_mono).
        self.anchor_wall_ns = time.time_ns()
        self.anchor_mono_ns = time.monotonic_ns()
        self._thread = threading.Thread(target=self._run, name="epcore-sampler", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._done.is_set()

    @property
    def error(self) -> BaseException | None:
        """The source or sink error that stopped the loop, if any (re-raised by :meth:`stop`)."""
        return self._error

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the loop ends by itself (source ended or failed); True if it did."""
        return self._done.wait(timeout_s)

    def stop(self) -> SamplerStats:
        """Take a last sample, end the thread, return the stats; re-raise a source/sink error."""
        if self._thread is None:
            raise ConfigError("the sampler was never started", code="invalid_argument",
                              hint="call start() first")
        self._stop.set()
        self._thread.join()
        stats = self.stats
        if self._error is not None:
            raise self._error
        return stats

    @property
    def n_samples(self) -> int:
        return len(self._t_ns)

    @property
    def stats(self) -> SamplerStats:
        """Stats so far (final once the thread has ended)."""
        if self._stats is not None:
            return self._stats
        sel = list(self._deadline_sample)
        t = list(self._t_ns)[:len(sel)]  # the thread may be between the two appends
        # Intervals only between deadline-driven samples: the final stop sample comes early by design.
        dts = sorted((t[i] - t[i - 1]) / 1e6 for i in range(1, len(t)) if sel[i] and sel[i - 1])
        end = self._end_mono_ns or time.monotonic_ns()
        wall_ns = max(1, end - self.anchor_mono_ns) if self.anchor_mono_ns else 1
        duration_s = (t[-1] - t[0]) / 1e9 if len(t) >= 2 else 0.0
        stats = SamplerStats(
            interval_ms=self.interval_ns / 1e6,
            n_samples=len(t),
            duration_s=duration_s,
            achieved_hz=(len(dts) / sum(dts) * 1e3) if dts and sum(dts) > 0 else 0.0,
            interval_p50_ms=_quantile(dts, 0.50),
            interval_p99_ms=_quantile(dts, 0.99),
            interval_max_ms=dts[-1] if dts else None,
            n_late=self._n_late,
            n_skipped=self._n_skipped,
            cpu_s=self._cpu_now_ns() / 1e9,
            cpu_percent=100.0 * self._cpu_now_ns() / wall_ns,
            anchor_wall_ns=self.anchor_wall_ns,
            anchor_mono_ns=self.anchor_mono_ns,
            ended=self._ended,
            error=None if self._error is None else f"{type(self._error).__name__}: {self._error}",
        )
        if self._done.is_set():
            self._stats = stats
        return stats

    def _cpu_now_ns(self) -> int:
        """The sampler thread's CPU time: final once ended, else read live from its CPU clock (Linux)."""
        if self._done.is_set() or self._thread is None or self._thread.ident is None:
            return self._cpu_ns
        try:
            clock = time.pthread_getcpuclockid(self._thread.ident)
            return max(0, time.clock_gettime_ns(clock) - self._cpu0_ns)
        except (AttributeError, OSError):
            return self._cpu_ns

    # The thread.

    def _sample(self, deadline_driven: bool) -> None:
        before = time.monotonic_ns()
        reading = self.source.read()
        after = time.monotonic_ns()
        # The midpoint of the read is the best estimate of when the value was taken.
        mid = (before + after) // 2
        t_ns = self.anchor_wall_ns + (mid - self.anchor_mono_ns)
        self.sink.write(t_ns, reading)
        self._t_ns.append(t_ns)
        self._deadline_sample.append(1 if deadline_driven else 0)

    def _run(self) -> None:
        cpu0 = self._cpu0_ns = time.thread_time_ns()
        start = self.anchor_mono_ns
        step = self.interval_ns
        k = 0
        try:
            while not self._stop.is_set():
                deadline = start + k * step
                now = time.monotonic_ns()
                while now < deadline and not self._stop.is_set():
                    time.sleep(min(deadline - now, _SLICE_NS) / 1e9)
                    now = time.monotonic_ns()
                if self._stop.is_set():
                    break
                if now - deadline > step // 2:
                    self._n_late += 1
                self._sample(True)
                # Next deadline after now: deadlines a slow read overran are skipped, not fired in a burst.
                now = time.monotonic_ns()
                nxt = k + 1
                if now >= start + nxt * step:
                    behind = (now - start) // step + 1
                    self._n_skipped += int(behind - nxt)
                    nxt = int(behind)
                k = nxt
            if self._stop.is_set():
                # A last sample at stop, so the trace reaches the moment the run ended.
                self._sample(False)
        except SourceEnded:
            self._ended = True
        except BaseException as e:  # kept and re-raised by stop(): never swallowed
            self._error = e
        finally:
            self._cpu_ns = time.thread_time_ns() - cpu0
            self._end_mono_ns = time.monotonic_ns()
            self._done.set()


def _quantile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank quantile of sorted values (None when empty)."""
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[i]
