"""The sampling loop, timed against the replay source: rate, drift, skipped deadlines, CPU cost, errors."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from epcore.exceptions import ConfigError
from epcore.record import MemorySink, Reading, ReplaySource, Sampler, SourceInfo
from epcore.record.source import ChannelInfo


def flat_trace(path: Path, seconds: float = 30.0, watts: float = 250.0) -> Path:
    """A constant-power trace long enough to replay for ``seconds``."""
    path.write_text(f"timestamp_ns,channel,power_w\n0,gpu0,{watts}\n{int(seconds * 1e9)},gpu0,{watts}\n")
    return path


def run_for(src: object, interval_ms: float, seconds: float) -> tuple[Sampler, MemorySink]:
    info = src.open()  # type: ignore[attr-defined]
    sink = MemorySink(info)
    s = Sampler(src, interval_ms, sink)  # type: ignore[arg-type]
    s.start()
    time.sleep(seconds)
    s.stop()
    return s, sink


def test_rate_and_no_drift_over_two_seconds(tmp_path: Path) -> None:
    s, sink = run_for(ReplaySource(flat_trace(tmp_path / "t.csv")), 20, 2.0)
    st = s.stats
    t = list(sink.t_ns)
    deadline = t[:-1]  # the last sample is the one taken at stop
    # Deadline k sits at anchor + k * 20 ms: the samples stay on that grid (offset = jitter only, no drift).
    step = 20_000_000
    offsets = [(x - st.anchor_wall_ns) - round((x - st.anchor_wall_ns) / step) * step for x in deadline]
    # Loose bounds: the CI VM has 2 shared cores; a drifting loop would be off by whole intervals.
    assert sorted(abs(o) for o in offsets)[int(0.9 * len(offsets))] < 5_000_000, offsets
    assert max(abs(o) for o in offsets) < 10_000_000, offsets
    last_k = round((deadline[-1] - st.anchor_wall_ns) / step)
    assert 95 <= last_k <= 101, last_k
    assert len(deadline) + st.n_skipped == last_k + 1
    assert st.n_samples == len(t)
    assert 44.0 <= st.achieved_hz <= 51.0, st
    assert st.interval_p50_ms is not None and 19.0 <= st.interval_p50_ms <= 21.5, st
    assert st.interval_p99_ms is not None and st.interval_max_ms is not None
    assert st.interval_p50_ms <= st.interval_p99_ms <= st.interval_max_ms
    assert 0.0 <= st.cpu_percent < 50.0 and st.cpu_s > 0.0
    assert st.error is None and not st.ended
    assert 1.9 <= st.duration_s <= 2.3
    # Timestamps are wall time, anchored once.
    assert abs(t[0] - st.anchor_wall_ns) < 50_000_000


def test_replay_end_stops_the_loop(tmp_path: Path) -> None:
    src = ReplaySource(flat_trace(tmp_path / "t.csv", seconds=3.0), speed=10)
    info = src.open()
    sink = MemorySink(info)
    s = Sampler(src, 10, sink)
    s.start()
    assert s.wait(timeout_s=5)
    st = s.stop()
    assert st.ended and st.error is None
    assert 20 <= st.n_samples <= 32  # 0.3 s at 10 ms


class SlowSource:
    """Takes ``delay_s`` per read: deadlines it overruns are skipped, not fired in a burst."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s

    def open(self) -> SourceInfo:
        return SourceInfo("slow", (ChannelInfo("x", "p", None),))

    def read(self) -> Reading:
        time.sleep(self.delay_s)
        return Reading((1.0,), (None,))

    def close(self) -> None:
        pass


def test_overrun_deadlines_are_skipped_and_counted() -> None:
    s, sink = run_for(SlowSource(0.025), 10, 0.6)
    st = s.stats
    assert st.n_skipped >= 15, st
    assert st.interval_p50_ms is not None and st.interval_p50_ms >= 25.0
    # No burst: never two samples closer than the read itself takes.
    t = list(sink.t_ns)
    assert min(b - a for a, b in zip(t, t[1:])) >= 20_000_000


class FailingSource(SlowSource):
    def __init__(self, fail_after: int) -> None:
        super().__init__(0.0)
        self.n = 0
        self.fail_after = fail_after

    def read(self) -> Reading:
        self.n += 1
        if self.n > self.fail_after:
            raise OSError("device went away")
        return Reading((1.0,), (None,))


def test_source_error_is_reraised_at_stop() -> None:
    src = FailingSource(3)
    s = Sampler(src, 5, MemorySink(src.open()))
    s.start()
    assert s.wait(timeout_s=5)
    assert isinstance(s.error, OSError)
    with pytest.raises(OSError, match="device went away"):
        s.stop()
    assert s.stats.n_samples == 3 and s.stats.error is not None


class FailingSink:
    def write(self, t_ns: int, reading: Reading) -> None:
        raise RuntimeError("disk full")


def test_sink_error_is_reraised_at_stop() -> None:
    s = Sampler(SlowSource(0.0), 5, FailingSink())
    s.start()
    assert s.wait(timeout_s=5)
    with pytest.raises(RuntimeError, match="disk full"):
        s.stop()


@pytest.mark.parametrize("bad", [0, -5, float("nan"), float("inf")])
def test_bad_interval_is_a_config_error(bad: float) -> None:
    with pytest.raises(ConfigError, match="interval_ms"):
        Sampler(SlowSource(0.0), bad, FailingSink())


def test_stop_is_prompt_and_start_once() -> None:
    s = Sampler(SlowSource(0.0), 5000, MemorySink(SlowSource(0.0).open()))
    s.start()
    with pytest.raises(ConfigError):
        s.start()
    time.sleep(0.05)
    t0 = time.monotonic()
    st = s.stop()
    assert time.monotonic() - t0 < 0.5
    assert st.n_samples == 2  # the first deadline (at start) and the sample at stop
