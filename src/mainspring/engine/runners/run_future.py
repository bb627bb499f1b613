"""A light future for task runs: the subset of `concurrent.futures.Future` the engine uses.

`concurrent.futures.Future` builds a `threading.Condition` per future and takes it in every
method; a mapped task run went through that about seven times. This one is a few slots and a
C-level lock held while the run is unfinished: waiting is acquiring it, finishing is releasing
it. Its methods behave like the standard ones (`result` and `exception` raise `TimeoutError`
and `CancelledError` the same way), so code written against either works.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import CancelledError
from typing import Any

_PENDING, _RUNNING, _CANCELLED, _FINISHED = range(4)
_callbacks_lock = threading.Lock()


class RunFuture:
    __slots__ = ("_callbacks", "_error", "_lock", "_status", "_value")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()  # released once the future is finished or cancelled
        self._status = _PENDING
        self._value: Any = None
        self._error: BaseException | None = None
        self._callbacks: list[Callable[[RunFuture], Any]] | None = None

    # -- the producer's side ------------------------------------------------------------------
    def set_running_or_notify_cancel(self) -> bool:
        """Mark the run started; False (and nothing to run) if it was cancelled while queued."""
        if self._status == _CANCELLED:
            return False
        self._status = _RUNNING
        return True

    def set_result(self, value: Any) -> None:
        self._value = value
        self._finish(_FINISHED)

    def set_exception(self, error: BaseException) -> None:
        self._error = error
        self._finish(_FINISHED)

    def cancel(self) -> bool:
        """Cancel a run that has not started; False once it runs or has finished."""
        if self._status != _PENDING:
            return self._status == _CANCELLED
        self._finish(_CANCELLED)
        return True

    def _finish(self, status: int) -> None:
        with _callbacks_lock:  # so a callback added concurrently runs exactly once
            self._status = status
            callbacks, self._callbacks = self._callbacks, None
        self._lock.release()
        for callback in callbacks or ():
            callback(self)

    # -- the consumer's side ------------------------------------------------------------------
    def done(self) -> bool:
        return self._status >= _CANCELLED

    def cancelled(self) -> bool:
        return self._status == _CANCELLED

    def running(self) -> bool:
        return self._status == _RUNNING

    def wait(self, timeout: float | None = None) -> bool:
        if self._status >= _CANCELLED:
            return True
        if self._lock.acquire(timeout=-1 if timeout is None else max(timeout, 0)):
            self._lock.release()  # let every other waiter through too
            return True
        return False

    def result(self, timeout: float | None = None) -> Any:
        if not self.wait(timeout):
            raise TimeoutError
        if self._status == _CANCELLED:
            raise CancelledError
        if self._error is not None:
            raise self._error
        return self._value

    def exception(self, timeout: float | None = None) -> BaseException | None:
        if not self.wait(timeout):
            raise TimeoutError
        if self._status == _CANCELLED:
            raise CancelledError
        return self._error

    def add_done_callback(self, fn: Callable[[RunFuture], Any]) -> None:
        """Call `fn(future)` when it finishes (now, if it already has)."""
        with _callbacks_lock:
            if self._status < _CANCELLED:
                if self._callbacks is None:
                    self._callbacks = []
                self._callbacks.append(fn)
                return
        fn(self)
