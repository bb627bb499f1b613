"""Cancelling a running flow run from outside: stop its code, start nothing more.

A cancel is asked for elsewhere (`mainspring flow-run cancel`, the API): the run is marked
Cancelling in the store, and the process running it learns so from its next heartbeat answer
(engine/stopping/heartbeats.py), so a cancel lands within one `heartbeat_interval`. The flow's
engine then calls `request_cancel`, which stops the run the way a timeout stops it (timeouts.py),
but ending Cancelled:

- the flow's own thread is interrupted with `FlowRunCancelled`: in the main thread by a signal
  (SIGUSR1, whose handler the top-level flow installs with its SIGTERM/SIGINT handlers), which
  also breaks out of a blocking `time.sleep` or socket read; in any other thread by
  `PyThreadState_SetAsyncExc`, raised at the thread's next bytecode; an async flow's asyncio
  task is cancelled instead;
- threads running its submitted task runs get `FlowRunCancelled` the same way, so those runs
  end Cancelled (a blocking C call finishes first; a process-pool task's function cannot be
  stopped, its result is ignored); an async task run on an event loop of its own has its
  asyncio task cancelled; a task run waiting to retry is woken;
- its running subflow runs are cancelled the same way, each with its own task runs;
- task calls and subflow calls made after the request raise `FlowRunCancelled` instead of
  starting, and task runs that have not called their function yet (queued, or waiting for
  upstream runs) end Cancelled without calling it.

The exception is raised only while a user's function runs, never in the engine's code around
it (interrupts.py says how).
"""

from __future__ import annotations

import ctypes
import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from mainspring.engine.stopping import heartbeats
from mainspring.engine.stopping.interrupts import CallGuard, current_guard
from mainspring.exceptions import FlowRunCancelled
from mainspring.model import StateType
from mainspring.model.states import Cancelled

#: the signal that interrupts a cancelled flow in the main thread (None where there is none)
CANCEL_SIGNAL: signal.Signals | None = getattr(signal, "SIGUSR1", None)


#: what the main thread's handler raises: set just before the signal is sent
_pending_main: Callable[[], BaseException | None] | None = None
_handler_installed = False


def install_handler() -> object:
    """Install the main thread's cancel handler (main thread only); return the previous one."""
    global _handler_installed
    if CANCEL_SIGNAL is None:
        return None
    previous = signal.signal(CANCEL_SIGNAL, _on_cancel_signal)
    _handler_installed = True
    return previous


def restore_handler(previous: object) -> None:
    """Put back a handler the program had installed itself. The default one is not put back:
    a cancel decided just before the flow ended may still send its signal, and the default
    action of SIGUSR1 is to kill the process; ours does nothing when no cancel is pending."""
    global _handler_installed
    if CANCEL_SIGNAL is None or previous in (signal.SIG_DFL, None, _on_cancel_signal):
        return
    signal.signal(CANCEL_SIGNAL, previous)  # type: ignore[arg-type]
    _handler_installed = False


def _on_cancel_signal(signum: int, frame: object) -> None:
    global _pending_main
    pending, _pending_main = _pending_main, None
    if pending is not None:
        error = pending()
        if error is not None:
            raise error


def interrupt_thread(thread_id: int, error: Callable[[], BaseException | None]) -> bool:
    """Raise `error()` (None: nothing) in the thread `thread_id`, soon; True when that is an
    asynchronous exception, which the thread can take back (`withdraw_async_exception`) until it
    is raised.

    The main thread gets a signal while our handler is installed (it interrupts blocking
    calls; `error` is called when it fires); other threads get an asynchronous exception of a
    class made for the message.
    """
    global _pending_main
    if (
        thread_id == threading.main_thread().ident
        and _handler_installed
        and CANCEL_SIGNAL is not None
    ):
        _pending_main = error
        signal.pthread_kill(thread_id, CANCEL_SIGNAL)
        return False
    exc = error()
    if exc is None:
        return False
    message = str(exc)
    exc_class = type(
        "FlowRunCancelled",
        (type(exc),),
        {"__init__": lambda self, *args: type(exc).__init__(self, message)},
    )
    target = ctypes.c_ulong(thread_id)
    ctypes.pythonapi.PyThreadState_SetAsyncExc(target, ctypes.py_object(exc_class))
    return True


class _Withdrawn(BaseException):
    """Put in place of an asynchronous exception being withdrawn, and caught at once."""


def withdraw_async_exception() -> None:
    """Clear the asynchronous exception pending in the calling thread, if any.

    Not with `PyThreadState_SetAsyncExc(id, NULL)`: CPython would keep its interpreter-wide
    "asynchronous exception pending" flag set for good, and on 3.11 traced code (a debugger,
    coverage, a profiler) then loops forever at its next call. The pending exception is
    replaced by one raised and caught here instead: raising it clears that flag.
    """
    try:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(threading.get_ident()), ctypes.py_object(_Withdrawn)
        )
        _check_point()
    except _Withdrawn:
        pass


def _check_point() -> None:
    """A Python call: a pending asynchronous exception is raised as it starts, at the latest."""


REQUESTED = "its cancellation was requested (mainspring flow-run cancel or the API)"

#: how long a cancelled flow waits for its interrupted task runs to end themselves Cancelled
#: before it marks those still running as Cancelled and returns
TASK_GRACE_SECONDS = 2.0


class CancellableRun:
    """What a flow run engine needs to be cancelled from outside (mixed into FlowRunEngine).

    `start_watching` at the start of the run registers it for heartbeats with `on_store_state`
    as the listener; `stop_watching` at its end unregisters it.
    """

    # provided by FlowRunEngine / RunEngine
    record: Any
    recorder: Any
    context: Any
    label: str
    log: Callable[[int, str], None]

    def init_cancellation(self) -> None:
        self.cancel_message: str | None = None
        self.guard: CallGuard | None = None  # of the thread running the flow's function
        self.async_task: Any = None  # an async flow's asyncio task, and its loop
        self.loop: Any = None
        #: an async flow awaited by its caller runs in the caller's asyncio task
        self.shares_task = False
        self._cancel_lock = threading.Lock()
        self._wake: threading.Event | None = None
        self._crash_noted = False

    # -- around the run -------------------------------------------------------------------------
    def start_watching(self) -> None:
        self.guard = current_guard()
        heartbeats.register(self.record.id, self.recorder, self.on_store_state)

    def stop_watching(self) -> None:
        heartbeats.unregister(self.record.id)

    def call_interruptibly(self, call: Callable[[], Any]) -> Any:
        """Run the flow's function; a cancel requested meanwhile raises FlowRunCancelled in it,
        a timeout RunTimeout (timeouts.py)."""
        guard = self.guard
        assert guard is not None
        guard.calling = True
        try:
            if self.cancel_message is not None:  # checked after `calling` is set: see interrupts
                raise FlowRunCancelled(self.cancel_message)
            if guard.due:  # a timeout around this run passed while it was not interruptible
                guard.take_due()
            return call()
        finally:
            guard.stop()

    def wait_before_retry(self, seconds: float) -> None:
        """Sleep before a retry; a cancel requested meanwhile ends the wait."""
        if seconds > 0 and self.cancel_message is None:
            self._wake = threading.Event()
            self._wake.wait(seconds)

    # -- learning of a cancel -------------------------------------------------------------------
    def on_store_state(self, state_type: StateType) -> None:
        """Heartbeat listener: the store's view of this run (heartbeat thread)."""
        if state_type in (StateType.CANCELLING, StateType.CANCELLED):
            self.request_cancel(REQUESTED)
        elif state_type is StateType.CRASHED and not self._crash_noted:
            self._crash_noted = True
            self.log(
                logging.WARNING,
                "The store has this run as Crashed (its heartbeats were late); it goes on, and "
                "the state it ends in will replace Crashed",
            )

    def request_cancel(self, message: str, by_parent: bool = False) -> None:
        """Stop the run: interrupt its function and its task runs, start nothing more.

        `by_parent`: its parent flow run is being cancelled. If this run shares its caller's
        asyncio task, the caller's cancel cancels that task (once: a second request could
        outlive the CancelledError and cancel the caller's next await), and this run, marked
        cancelled first, takes that CancelledError as its own.
        """
        with self._cancel_lock:
            if self.cancel_message is not None or self.record.state.is_final():
                return
            self.cancel_message = message
        context = self.context
        if context is not None:
            # before any interrupt: a run that was not interruptible when asked sees it later
            context.cancel_message = message
        self.log(logging.WARNING, f"Cancelling: {message}; stopping its code and its task runs")
        targets: dict[int, Any] = {}  # each thread once, however many runs it is running
        if context is not None:
            targets.update((id(t), t) for t in list(context.interrupts.values()))
        if self.async_task is None and self.guard is not None:
            targets[id(self.guard)] = self.guard
        # subflows first: marked cancelled before an interrupt of their code reaches them
        for target in sorted(targets.values(), key=lambda t: not isinstance(t, CancellableRun)):
            target.interrupt(lambda: FlowRunCancelled(message))
        if self.async_task is not None and not (by_parent and self.shares_task):
            self.loop.call_soon_threadsafe(self.async_task.cancel, message)
        if self._wake is not None:
            self._wake.set()

    def interrupt(self, error: Callable[[], BaseException]) -> None:
        """As a subflow, listed in its parent's `interrupts`: the parent is being cancelled, so
        this run is too (its submitted task runs, its asyncio task; it starts nothing more)."""
        self.request_cancel(str(error()), by_parent=True)

    # -- ending --------------------------------------------------------------------------------
    def cancel_task_runs(self, context: Any) -> None:
        """After a cancel: give interrupted task runs a moment to end themselves Cancelled,
        then mark those still going (blocked in a C call, or in another process) Cancelled."""
        deadline = time.monotonic() + TASK_GRACE_SECONDS
        while context.active_task_runs and time.monotonic() < deadline:
            time.sleep(0.01)
        message = f"Flow run {self.record.name!r} was cancelled while this task run was running"
        context.end_active_task_runs(Cancelled, message)
