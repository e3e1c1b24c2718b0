"""Signals for ``epcore record``: forwarded to a wrapped command, or the end of a recording.

While ``epcore record`` runs, SIGINT, SIGTERM and SIGHUP never kill epcore
itself: a recording killed half-way would leave a file without its last rows
or a Parquet journal never converted. :class:`StopSignals` catches them and
only notes them; with a child command (:meth:`StopSignals.forward_to`) each one is
also passed on to the child, which decides when the run ends. epcore then
waits for the child, closes the file and exits with the child's code
(:func:`exit_code`).

One exception, so the child does not get Ctrl-C twice: a Ctrl-C typed at a
terminal reaches every process of the terminal's foreground process group,
and the child, spawned in epcore's group, already has it. A SIGINT arriving
while epcore's group is the foreground group of a terminal on stdin, stdout or
stderr is therefore not sent again (:func:`terminal_delivers_sigint`); a
SIGINT sent with ``kill`` to a backgrounded or detached epcore is forwarded.

>>> exit_code(0), exit_code(3), exit_code(-signal.SIGTERM), exit_code(-signal.SIGINT)
(0, 3, 143, 130)
>>> signal_name(signal.SIGTERM), signal_name(99)
('SIGTERM', 'signal 99')
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from types import FrameType, TracebackType
from typing import Any

__all__ = ["FORWARDED", "StopSignals", "exit_code", "signal_name", "terminal_delivers_sigint"]

#: The signals that end a recording (or are forwarded to the wrapped command).
FORWARDED: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def exit_code(returncode: int) -> int:
    """A child's :attr:`subprocess.Popen.returncode` as a shell reports it: 128 + N when killed by signal N."""
    return 128 - returncode if returncode < 0 else returncode


def signal_name(signum: int) -> str:
    """``SIGTERM`` for 15; ``signal N`` for a number Python has no name for."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def terminal_delivers_sigint() -> bool:
    """True when epcore's process group is a terminal's foreground group: Ctrl-C there reaches the child too."""
    pgrp = os.getpgrp()
    for fd in (0, 1, 2):
        try:
            if os.isatty(fd) and os.tcgetpgrp(fd) == pgrp:
                return True
        except OSError:
            continue  # closed, or not our controlling terminal
    return False


class StopSignals:
    """Catch SIGINT, SIGTERM and SIGHUP while recording; forward them to the child once :meth:`forward_to` names it.

    A context manager: the previous handlers come back on exit. Outside the main
    thread Python cannot install handlers; then nothing is caught (the caller's
    own handling stays in force) and :attr:`installed` is False.

    >>> with StopSignals() as sig:
    ...     os.kill(os.getpid(), signal.SIGTERM)
    ...     sig.wait_s(1.0)
    ...     [signal_name(s) for s in sig.received]
    True
    ['SIGTERM']
    """

    def __init__(self) -> None:
        self.received: list[int] = []
        self.child: subprocess.Popen[Any] | None = None
        #: Signals that came while there was no child yet: :meth:`forward_to` passes them on.
        self.pending: list[int] = []
        #: Signals not passed on because the terminal had delivered them to the child already.
        self.not_forwarded: list[int] = []
        self.installed = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for s in FORWARDED:
                self._previous[s] = signal.signal(s, self._handle)
            self.installed = True
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        # Runs in the main thread between bytecodes: note, forward, return. Never raise here, so that the
        # recorder's stop and the file's close always run.
        self.received.append(signum)
        child = self.child
        if child is None:
            self.pending.append(signum)
            return
        if signum == signal.SIGINT and terminal_delivers_sigint():
            self.not_forwarded.append(signum)
            return
        # send_signal polls first without blocking and skips a child already reaped: no stray kill of a reused pid.
        child.send_signal(signum)

    def forward_to(self, child: subprocess.Popen[Any]) -> None:
        """Pass every signal from now on to ``child``, and those that came while it was being started."""
        # Handlers run in this (the main) thread between bytecodes: once child is set, none appends to pending.
        self.child = child
        while self.pending:
            child.send_signal(self.pending.pop(0))

    def wait_s(self, seconds: float, *, step_s: float = 0.05) -> bool:
        """Sleep up to ``seconds``, waking early once a signal has arrived; True if one has."""
        import time

        end = time.monotonic() + seconds
        while not self.received:
            left = end - time.monotonic()
            if left <= 0:
                return False
            # time.sleep resumes after a handler (PEP 475); short steps notice the flag soon after.
            time.sleep(min(step_s, left))
        return True
