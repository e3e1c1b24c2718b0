"""Analysis jobs: worker threads, progress, and a bounded queue.

At most ``max_running`` analyses run at once (the Rust core releases the GIL,
so they use real cores) and ``max_queued`` more wait; past that, :meth:`JobQueue.submit`
raises :class:`QueueFull` and the API answers 429, so a burst of uploads
cannot pile up unbounded work. A job's failure is caught in its thread and
kept as a typed error: an :class:`epcore.EpcoreError` keeps its code; a
``MemoryError``, an ``OSError`` or a Rust panic (pyo3's ``PanicException``, a
``BaseException``) become ``out_of_memory`` / ``io_error`` / ``internal_error``,
and the console keeps serving.

>>> q = JobQueue(max_running=1, max_queued=0)
>>> def work(job):
...     job.update(0.5, "halfway")
...     return {"answer": 42}
>>> j = q.submit(work)
>>> j.wait(10)
True
>>> s = j.snapshot(); s["state"], s["progress"], s["result"]
('done', 1.0, {'answer': 42})
>>> from epcore import ConfigError
>>> def bad(job):
...     raise ConfigError("idle_w = -1: must be >= 0", code="invalid_argument")
>>> q.submit(bad).wait(10) and q.get(q.last_id).snapshot()["error"]["code"]
'invalid_argument'
>>> q.shutdown()
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..exceptions import EpcoreError

__all__ = ["Job", "JobQueue", "QueueFull", "error_dict"]


class QueueFull(Exception):
    """Every worker is busy and the waiting line is full."""


def error_dict(e: BaseException) -> dict[str, Any]:
    """A failure as the API's error object: ``code``, one-line ``message``, ``hint``, ``field``.

    >>> error_dict(MemoryError())["code"], error_dict(RuntimeError("boom"))["message"]
    ('out_of_memory', 'the analysis failed (RuntimeError: boom)')
    """
    if isinstance(e, EpcoreError):
        return {"code": e.code, "message": " ".join(str(e).split()), "hint": e.hint, "field": None}
    if isinstance(e, MemoryError):
        return {"code": "out_of_memory", "message": "the analysis ran out of memory",
                "hint": "analyse a shorter trace or a smaller file", "field": None}
    if isinstance(e, OSError):
        return {"code": "io_error", "message": f"file error: {e.strerror or e}", "hint": None, "field": None}
    first = (str(e).splitlines() or [""])[0][:200]
    return {"code": "internal_error", "message": f"the analysis failed ({type(e).__name__}: {first})",
            "hint": "this is a bug in epcore: please report it with the input file if you can", "field": None}


class Job:
    """One analysis: ``state`` queued → running → done | error, ``progress`` 0..1, ``stage`` text."""

    def __init__(self, job_id: str) -> None:
        self.id = job_id
        self.state = "queued"
        self.progress = 0.0
        self.stage = "queued"
        self.result: dict[str, Any] | None = None
        self.error: dict[str, Any] | None = None
        self.created = time.monotonic()
        self._lock = threading.Lock()
        self._done = threading.Event()

    def update(self, progress: float, stage: str | None = None) -> None:
        """Move the progress forward (it never goes back) and optionally name the stage."""
        with self._lock:
            self.progress = max(self.progress, min(1.0, max(0.0, float(progress))))
            if stage is not None:
                self.stage = stage

    def _finish(self, result: dict[str, Any] | None, error: dict[str, Any] | None) -> None:
        with self._lock:
            self.result, self.error = result, error
            self.state = "done" if error is None else "error"
            self.stage = "done" if error is None else "failed"
            if error is None:
                self.progress = 1.0
        self._done.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends; True if it did within ``timeout`` seconds."""
        return self._done.wait(timeout)

    @property
    def finished(self) -> bool:
        return self._done.is_set()

    def snapshot(self) -> dict[str, Any]:
        """The job as the API shows it."""
        with self._lock:
            return {"id": self.id, "state": self.state, "progress": self.progress, "stage": self.stage,
                    "result": self.result, "error": self.error}


class JobQueue:
    """A fixed pool of worker threads with a bounded line of waiting jobs."""

    def __init__(self, *, max_running: int = 2, max_queued: int = 4, keep_finished: int = 64) -> None:
        self.max_running = max(1, int(max_running))
        self.max_queued = max(0, int(max_queued))
        self.keep_finished = int(keep_finished)
        self._pool = ThreadPoolExecutor(max_workers=self.max_running, thread_name_prefix="epcore-analysis")
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._active = 0
        self._lock = threading.Lock()
        self.last_id: str | None = None

    def submit(self, work: Callable[[Job], dict[str, Any]],
               on_done: Callable[[], None] | None = None) -> Job:
        """Queue ``work(job)``; its return value becomes the job's result. ``on_done`` runs after it,
        success or not (the API deletes the uploads there). Raises :class:`QueueFull`."""
        with self._lock:
            if self._active >= self.max_running + self.max_queued:
                raise QueueFull(f"{self._active} analyses running or waiting")
            self._active += 1
            job = Job(uuid.uuid4().hex)
            self._jobs[job.id] = job
            self.last_id = job.id
            self._evict()
        try:
            self._pool.submit(self._run, job, work, on_done)
        except RuntimeError:  # the pool is shut down: the console is stopping
            with self._lock:
                self._active -= 1
            job._finish(None, {"code": "shutting_down", "message": "the console is stopping", "hint": None,
                               "field": None})
            if on_done is not None:
                on_done()
        return job

    def _run(self, job: Job, work: Callable[[Job], dict[str, Any]], on_done: Callable[[], None] | None) -> None:
        result: dict[str, Any] | None = None
        error: dict[str, Any] | None = None
        try:
            with job._lock:
                job.state, job.stage = "running", "starting"
            result = work(job)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as e:  # noqa: BLE001 - PanicException is a BaseException; keep serving
            error = error_dict(e)
        finally:
            # Clean up before the job reads "done": a client that sees "done" finds the uploads gone.
            try:
                if on_done is not None:
                    on_done()
            finally:
                with self._lock:
                    self._active -= 1
                job._finish(result, error)

    def _evict(self) -> None:
        # Keep the newest finished jobs only; running and queued ones always stay.
        finished = [k for k, j in self._jobs.items() if j.finished]
        for k in finished[: max(0, len(finished) - self.keep_finished)]:
            del self._jobs[k]

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    @property
    def active(self) -> int:
        """Jobs running or waiting."""
        with self._lock:
            return self._active

    def shutdown(self) -> None:
        """Stop taking work; drop waiting jobs; let running ones end in the background."""
        self._pool.shutdown(wait=False, cancel_futures=True)
