"""Signals while a top-level flow runs: SIGTERM and SIGINT end it Crashed, never Running.

SIGTERM (a container stopping, `kill`) raises `TerminationSignal`, so the flow run is marked
Crashed and the process then exits like Python's default would. Both SIGTERM and SIGINT are
also *noted*: `asyncio.run` turns Ctrl-C into a cancellation of the flow's asyncio task (and
SIGTERM's teardown cancels what is left), and a cancellation that follows a signal is the
process going down, a crash, where any other cancellation is a deliberate Cancelled.

The handler that lets a cancel requested from outside interrupt the main thread (SIGUSR1, see
cancellation.py) is installed and restored with these.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from mainspring.engine.stopping import cancellation
from mainspring.exceptions import TerminationSignal

#: the SIGINT or SIGTERM that reached this process while a top-level flow ran, if any
interruption: BaseException | None = None


def install() -> tuple[Any, Any, Any] | None:
    """Install the handlers (main thread only: signals are delivered there); return what
    `restore` needs, or None when nothing was installed."""
    global interruption
    if threading.current_thread() is not threading.main_thread():
        return None
    interruption = None
    previous_sigterm = signal.signal(signal.SIGTERM, _raise_termination)
    previous_sigint = signal.signal(
        signal.SIGINT, _noting_interrupt(signal.getsignal(signal.SIGINT))
    )
    previous_cancel = cancellation.install_handler()
    return previous_sigterm, previous_sigint, previous_cancel


def restore(previous: tuple[Any, Any, Any] | None) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
        cancellation.restore_handler(previous[2])


def _raise_termination(signum: int, frame: Any) -> None:
    global interruption
    interruption = error = TerminationSignal(128 + signum)
    raise error


def _noting_interrupt(previous: Any) -> Any:
    """A SIGINT handler that notes the interruption, then does what `previous` did (raise
    KeyboardInterrupt, or asyncio.run's cancelling of its main task)."""

    def on_sigint(signum: int, frame: Any) -> None:
        global interruption
        interruption = KeyboardInterrupt()
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt

    return on_sigint
