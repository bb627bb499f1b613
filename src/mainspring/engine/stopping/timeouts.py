"""Timeouts for sync code: interrupt a function that runs past `timeout_seconds`.

Sync Python offers no clean way to stop a running function, so two mechanisms are used:
- in the main thread, `SIGALRM` (via `setitimer`): it also interrupts blocking calls such as
  `time.sleep` or a socket read, because the signal handler raises in the main thread; a
  shorter timeout inside a longer one (a task's inside its flow's) nests its alarm;
- elsewhere (task runner threads, or when an alarm is already set), the exception is injected
  into the running thread with `PyThreadState_SetAsyncExc`; it is raised at the thread's next
  Python bytecode, so a blocking C call finishes first.
Async code needs neither: the driver uses `asyncio.timeout`.

Either way the RunTimeout is raised only inside a user's function: the timed run's, or one it
called on the same thread (a flow's timeout may land in a task it called; that task fails, the
flow times out). A timeout that passes while the thread is in the engine's code (a function
just returned, a task's hooks, its result being written) waits, `due`, for the next function of
the run to start or get control back, and is dropped if the run's function has returned. The
thread's interrupts.CallGuard decides, as it does for a cancel: see interrupts.py.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import threading
import time
from collections.abc import Iterator

from mainspring.engine.stopping.interrupts import ASYNC, CallGuard, current_guard
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


class Deadline:
    """One timed run's timeout on one thread, in its guard's `deadlines` while its block runs.

    `expired`: the time is up; `claimed`: its RunTimeout is sent or raised (a sent one
    withdrawn by the guard is unclaimed again); `raised`: the RunTimeout was created in the
    thread, which happens when it is raised there; `ended`: the block is over.
    """

    __slots__ = ("claimed", "ended", "expired", "guard", "message", "owner", "raised")

    def __init__(self, guard: CallGuard, message: str, owner: str | None) -> None:
        self.guard = guard
        self.message = message
        self.owner = owner
        self.expired = self.claimed = self.raised = self.ended = False

    def error(self) -> RunTimeout:
        """The RunTimeout to raise in the thread (now: it counts as raised)."""
        self.raised = True
        return RunTimeout(self.message, self.owner)

    def expire(self) -> None:
        """The timer thread's: raise the timeout in the guarded thread if its function runs,
        else leave it due."""
        if self.ended:
            return
        self.expired = True
        guard = self.guard
        guard.due = True  # before `calling` is read: a function starting now sees one or the other
        with guard.lock:
            if self.ended or self.claimed:
                return
            if guard.calling and not guard.sent:
                self.claimed = True
                guard.sent = ASYNC
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(guard.ident), ctypes.py_object(self._injected())
                )
            else:
                guard.due = True
                guard.end_wait()  # a retry's wait: the next attempt meets the timeout

    def expire_here(self, signum: int = 0, frame: object = None) -> None:
        """The SIGALRM handler, run by the guarded thread itself between two of its bytecodes:
        raise if its function runs, else leave the timeout due. No lock: the thread may be
        holding it, and nothing else sends for this deadline."""
        self.expired = True
        guard = self.guard
        if guard.calling and not guard.sent and not self.claimed:
            self.claimed = True
            raise self.error()
        guard.due = True
        guard.end_wait()  # a retry's wait, which this handler interrupted

    def _injected(self) -> type[RunTimeout]:
        """PyThreadState_SetAsyncExc takes a class, not an instance: one made for this deadline,
        whose instance, created in the thread when it is raised there, marks it raised."""
        deadline = self

        def __init__(self: RunTimeout, *args: object) -> None:
            RunTimeout.__init__(self, deadline.message, deadline.owner)
            deadline.raised = True

        return type("RunTimeout", (_ThreadTimeout,), {"__init__": __init__})


class _ThreadTimeout(RunTimeout):
    """The base of the classes injected into a thread (`Deadline._injected`)."""

    owner: str | None

    def __reduce__(self) -> tuple:
        """Pickled (a process pool's outcome, a persisted state) as a plain RunTimeout: the
        class made for the deadline holds it, and the deadline its thread's guard and lock."""
        return (RunTimeout, (str(self), self.owner))


@contextlib.contextmanager
def timeout_after(seconds: float | None, label: str, owner: str | None = None) -> Iterator[None]:
    """Raise RunTimeout (for run `owner`) in the function this block calls if it runs past
    `seconds`; the caller sets the thread's guard `calling` around that function."""
    if seconds is None:
        yield
        return
    if seconds <= 0:
        raise RunTimeout(_timeout_message(seconds, label), owner)
    guard = current_guard()
    deadline = Deadline(guard, _timeout_message(seconds, label), owner)
    guard.deadlines.append(deadline)
    try:
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
            outer = signal.getitimer(signal.ITIMER_REAL)[0]
            if outer == 0 or seconds < outer:  # no alarm yet, or ours comes first: nest it
                with _alarm(seconds, deadline, outer):
                    yield
                return
        timer = threading.Timer(seconds, deadline.expire)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()
    finally:
        with guard.lock:  # from here the timer sends nothing: its run's function has returned
            deadline.ended = True
            guard.deadlines.remove(deadline)
            guard.recheck_due()


@contextlib.contextmanager
def _alarm(seconds: float, deadline: Deadline, outer: float) -> Iterator[None]:
    """SIGALRM after `seconds`; an enclosing alarm due in `outer` seconds (a flow's timeout
    around a task's) is suspended meanwhile and re-armed for what is left of it after."""
    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, deadline.expire_here)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:  # an outer deadline already passed fires at once
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started), 1e-6))
