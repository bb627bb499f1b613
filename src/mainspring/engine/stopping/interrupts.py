"""Where a cancel may interrupt a thread: inside a user's function, never in the engine's code.

A cancel (cancellation.py) stops a thread by raising FlowRunCancelled in it: with
`PyThreadState_SetAsyncExc`, raised at the thread's next bytecode check, or in the main thread
with a signal whose handler raises. Raised in the engine's code around a function (its hooks,
result persistence, a cache lock's release, the bookkeeping after it returned, a queued run's
setup), it would leave a run in a wrong state, a lock held, or an exception out of the engine.
So every thread running flows or tasks has a `CallGuard`:

- `calling` is true only while the user's function of the innermost run on the thread runs:
  the drivers set it around the call (`TaskRunEngine.call`, `CancellableRun.call_interruptibly`),
  and a task or subflow called from a function clears it until it returns (`engine_entry`);
- a canceller interrupts the thread only while `calling`, checked under `lock`;
- the thread clears `calling` (`stop`) and then, under the same lock, withdraws an interrupt
  sent but not raised yet: a function that returned between the send and the thread's next
  bytecode check would otherwise get it in the engine. From then on no interrupt is pending and
  none can come. (The main thread's signal handler runs in that thread and checks `calling`
  itself when it fires: nothing to withdraw there.);
- a cancel that found the thread in the engine is not lost: a run checks for one right after
  setting `calling`, before its function starts, and `engine_entry` when it gives control back
  to the function that called it; a run waiting to retry is woken (`wait`).

Timeouts (timeouts.py) go through the same guard: each timed run on the thread has a deadline in
`deadlines`; one that passes while `calling` raises its RunTimeout (sent under `lock` like a
cancel, or raised by the main thread's SIGALRM handler), else it is left `due`, and so is one
sent but withdrawn by `stop`. A due timeout is raised where a cancel is checked (`take_due`):
when a function of the timed run, or of a run it called on this thread, starts or gets control
back. It is dropped when its run's timed block ends: that run's function has returned.

An async task run on an event loop of its own is stopped by cancelling its asyncio task instead,
only while its function is awaited (`AsyncCall`).

Cost on the hot path: a lock taken once per call of a task's function (`stop`), and once more
when a function calls or submits a task (`engine_entry`); the rest is attribute reads (`due`
among them: a run without a timeout pays nothing else).
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from mainspring.engine.context import flow_run_context

F = TypeVar("F", bound=Callable[..., Any])

_local = threading.local()


#: `CallGuard.sent`: no interrupt sent during this call, a signal, an asynchronous exception
NOTHING, SIGNAL, ASYNC = 0, 1, 2


class CallGuard:
    """Whether the thread it belongs to may be interrupted now: see the module's docstring."""

    __slots__ = ("calling", "deadlines", "due", "ident", "lock", "sent", "wake")

    def __init__(self) -> None:
        self.ident = threading.get_ident()
        self.lock = threading.Lock()
        self.calling = False  # set and cleared by its own thread only
        self.sent = NOTHING  # what interrupted the current call: one interrupt per call
        self.wake: threading.Event | None = None  # set while a run waits to retry
        #: timeouts.Deadline of each timed run on the thread, outermost first (own thread only)
        self.deadlines: list[Any] = []
        #: a deadline among them passed and its RunTimeout is not raised yet (`take_due`)
        self.due = False

    def stop(self) -> None:
        """The user's function returned or raised: from now on nothing interrupts the thread.

        `with`, not acquire/try: an exception pending since before `calling` was cleared can
        be raised right after `acquire` returns, and must not leave the lock held."""
        self.calling = False  # first: a signal handler running from here on raises nothing
        with self.lock:  # a canceller that saw `calling` has sent by now, or sends nothing
            sent = self.sent
            if sent:
                self.sent = NOTHING  # before the withdrawal: it may raise what it withdraws
                if sent == ASYNC:
                    # cycle: stopping.cancellation -> this module
                    from mainspring.engine.stopping.cancellation import withdraw_async_exception

                    withdraw_async_exception()
                    for deadline in self.deadlines:  # a timeout withdrawn, not raised: due
                        if deadline.claimed and not deadline.raised:
                            deadline.claimed = False
                            self.due = True

    def take_due(self) -> None:
        """Raise the RunTimeout of a deadline that passed while no function ran (the innermost
        one). Called by the thread itself right after it set `calling`."""
        with self.lock:
            error = None
            for deadline in reversed(self.deadlines):
                if deadline.expired and not deadline.claimed:
                    deadline.claimed = True
                    error = deadline.error()
                    break
            self.recheck_due()
        if error is not None:
            raise error

    def recheck_due(self) -> None:
        """Recompute `due` (under `lock`). Cleared first and only ever set after: a SIGALRM
        handler that marks a deadline due meanwhile (it takes no lock) is not overwritten."""
        self.due = False
        if any(d.expired and not d.claimed for d in self.deadlines):
            self.due = True

    def wait(self, seconds: float, cancelled: Callable[[], bool]) -> None:
        """Sleep `seconds` (a retry's delay) unless a cancel comes, checked by `cancelled`."""
        if seconds <= 0:
            return
        self.wake = wake = threading.Event()
        try:
            if not cancelled():  # after `wake` is set up: a later cancel sets it
                wake.wait(seconds)
        finally:
            self.wake = None

    def end_wait(self) -> None:
        """End the retry's wait the thread is in, if any (`wait`): a cancel or a timeout came.
        Takes no lock: a signal handler running in the thread itself calls it too."""
        wake = self.wake
        if wake is not None:
            wake.set()

    def interrupt(self, error: Callable[[], BaseException]) -> None:
        """Raise `error()` in the thread if its user's function is running (another thread)."""
        # cycle: stopping.cancellation -> this module
        from mainspring.engine.stopping.cancellation import interrupt_thread

        with self.lock:
            self.end_wait()
            if self.calling and not self.sent:
                # the main thread's handler calls this when its signal fires, in that thread
                checked = lambda: error() if self.calling else None  # noqa: E731
                self.sent = ASYNC if interrupt_thread(self.ident, checked) else SIGNAL


def current_guard() -> CallGuard:
    """The calling thread's guard."""
    try:
        return _local.guard
    except AttributeError:
        guard = _local.guard = CallGuard()
        return guard


def engine_entry(method: F) -> F:
    """For engine code a user's function calls (a task or a subflow): no interrupt lands in
    it; a cancel of the caller's flow run requested meanwhile, or a timeout of the caller (or
    of a run around it on this thread) that passed meanwhile, is raised on the way back."""

    @functools.wraps(method)
    def entry(*args: Any, **kwargs: Any) -> Any:
        guard = getattr(_local, "guard", None)
        if guard is None or not guard.calling:  # not called from a function: nothing to do
            return method(*args, **kwargs)
        caller = flow_run_context.get()
        guard.stop()
        try:
            result = method(*args, **kwargs)
        finally:
            guard.calling = True
            if guard.due:  # the caller's timeout passed meanwhile: it lands here, in the caller
                guard.take_due()
        if caller is not None and caller.cancel_message is not None:
            caller.check_cancelled()  # what an interrupt would have raised, in the caller
        return result

    return entry  # type: ignore[return-value]


class AsyncCall:
    """Stops an async task run on an event loop of its own: its asyncio task is cancelled, only
    if its function is being awaited when the loop runs the cancel. Flag and callback live in
    the loop's thread, where nothing else runs meanwhile: no lock needed."""

    __slots__ = ("calling", "loop", "message", "task")

    def __init__(self) -> None:
        import asyncio  # here, not at the top: `import mainspring` stays light

        self.loop = asyncio.get_running_loop()
        self.task = asyncio.current_task()
        self.calling = False
        self.message: str | None = None  # set when this cancelled the task

    def interrupt(self, error: Callable[[], BaseException]) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: the run is over
            self.loop.call_soon_threadsafe(self._cancel, error)

    def _cancel(self, error: Callable[[], BaseException]) -> None:
        if self.calling and self.message is None and self.task is not None:
            self.message = str(error())
            self.task.cancel(self.message)
