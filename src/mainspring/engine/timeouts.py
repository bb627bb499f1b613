"""Timeouts for sync code: interrupt a function that runs past `timeout_seconds`.

Sync Python offers no clean way to stop a running function, so two mechanisms are used:
- in the main thread, `SIGALRM` (via `setitimer`): it also interrupts blocking calls such as
  `time.sleep` or a socket read, because the signal handler raises in the main thread; a
  shorter timeout inside a longer one (a task's inside its flow's) nests its alarm;
- elsewhere (task runner threads, or when an alarm is already set), the exception is injected
  into the running thread with `PyThreadState_SetAsyncExc`; it is raised at the thread's next
  Python bytecode, so a blocking C call finishes first.
Async code needs neither: the driver uses `asyncio.timeout`.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import threading
import time
from collections.abc import Iterator

from mainspring.exceptions import MainspringTimeoutError


class RunTimeout(MainspringTimeoutError):
    """Raised inside a run that exceeded its timeout.

    `owner` is the id of the run whose timeout fired. A flow that calls a timed-out task sees
    the task's RunTimeout come out of the call; that flow failed, it did not time out itself.
    """

    def __init__(self, message: str, owner: str | None = None) -> None:
        super().__init__(message)
        self.owner = owner


def is_own_timeout(exc: BaseException, run_id: str) -> bool:
    """Whether `exc` is the timeout of run `run_id` (then the run ends TimedOut, else Failed)."""
    return isinstance(exc, RunTimeout) and exc.owner == run_id


def _timeout_message(seconds: float, label: str) -> str:
    return f"{label} exceeded timeout of {seconds:g} second(s)"


@contextlib.contextmanager
def timeout_after(seconds: float | None, label: str, owner: str | None = None) -> Iterator[None]:
    """Raise RunTimeout (for run `owner`) in this thread if the block runs past `seconds`."""
    if seconds is None:
        yield
        return
    if seconds <= 0:
        raise RunTimeout(_timeout_message(seconds, label), owner)
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        outer = signal.getitimer(signal.ITIMER_REAL)[0]
        if outer == 0 or seconds < outer:  # no alarm yet, or ours comes first: nest it
            with _alarm(seconds, label, owner, outer):
                yield
            return
    with _async_exception(seconds, label, owner):
        yield


@contextlib.contextmanager
def _alarm(seconds: float, label: str, owner: str | None, outer: float) -> Iterator[None]:
    """SIGALRM after `seconds`; an enclosing alarm due in `outer` seconds (a flow's timeout
    around a task's) is suspended meanwhile and re-armed for what is left of it after."""

    def on_alarm(signum: int, frame: object) -> None:
        raise RunTimeout(_timeout_message(seconds, label), owner)

    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:  # an outer deadline already passed fires at once
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started), 1e-6))


class _ThreadTimeout(RunTimeout):
    """Injected into a worker thread. Its own class because PyThreadState_SetAsyncExc takes a
    class, not an instance: the message is set on the class by the timer before injection."""


@contextlib.contextmanager
def _async_exception(seconds: float, label: str, owner: str | None) -> Iterator[None]:
    thread_id = threading.get_ident()
    message = _timeout_message(seconds, label)
    exc_class = type("RunTimeout", (_ThreadTimeout,), {"__init__": _fixed_message(message, owner)})
    finished = threading.Event()
    lock = threading.Lock()

    def fire() -> None:
        with lock:
            if not finished.is_set():
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(thread_id), ctypes.py_object(exc_class)
                )

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            finished.set()
        timer.cancel()


def _fixed_message(message: str, owner: str | None):
    def __init__(self: RunTimeout, *args: object) -> None:
        RunTimeout.__init__(self, message, owner)

    return __init__
