"""Run states: one small class shared by the engine, the store, the server and the CLI.

A state is a *type* (what the orchestration rules reason about) plus a *name* (what people read):
`Cached` is a kind of COMPLETED, `TimedOut` and `Retrying` are kinds of FAILED and RUNNING. This is
the Prefect vocabulary, so code that inspects `state.type` or `state.name` keeps working.

States are plain `__slots__` objects rather than pydantic models because the engine creates three
of them per task call and the hot path is measured in microseconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from mainspring.exceptions import (
    CancelledRun,
    CrashedRun,
    FailedRun,
    MainspringTimeoutError,
    UnfinishedRun,
)


class StateType(StrEnum):
    SCHEDULED = "SCHEDULED"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    CANCELLING = "CANCELLING"
    CRASHED = "CRASHED"
    PAUSED = "PAUSED"

    def __str__(self) -> str:
        return self.value


TERMINAL_TYPES = frozenset(
    {StateType.COMPLETED, StateType.FAILED, StateType.CANCELLED, StateType.CRASHED}
)

#: Every state name Mainspring uses, with the type it belongs to.
STATE_NAMES: dict[str, StateType] = {
    "Scheduled": StateType.SCHEDULED,
    "Late": StateType.SCHEDULED,
    "AwaitingRetry": StateType.SCHEDULED,
    "Pending": StateType.PENDING,
    "Running": StateType.RUNNING,
    "Retrying": StateType.RUNNING,
    "Paused": StateType.PAUSED,
    "Completed": StateType.COMPLETED,
    "Cached": StateType.COMPLETED,
    "Failed": StateType.FAILED,
    "TimedOut": StateType.FAILED,
    "Crashed": StateType.CRASHED,
    "Cancelling": StateType.CANCELLING,
    "Cancelled": StateType.CANCELLED,
    # a scheduled time a deployment will not run (the catch-up policy said so, with a reason)
    "Skipped": StateType.CANCELLED,
}

_UNSET: Any = object()


class State:
    """What a run is doing or how it ended, with the result or exception it carries.

    `data` holds the run's return value (COMPLETED) or the exception it raised (FAILED,
    CRASHED, CANCELLED). It lives in memory only; persistence of results is the job of
    result storage: a persisted result's `data` is a reference (store.results.ResultRef) that
    `result()` loads lazily and that the store keeps with the state.
    """

    __slots__ = ("data", "message", "name", "ts", "type")

    def __init__(
        self,
        type: StateType,
        name: str | None = None,
        message: str | None = None,
        data: Any = None,
        ts: float | None = None,
    ) -> None:
        self.type = type
        self.name = name or type.value.capitalize()
        self.message = message
        self.data = data
        self.ts = time.time() if ts is None else ts

    # -- reading -----------------------------------------------------------------------------
    @property
    def timestamp(self) -> datetime:
        return datetime.fromtimestamp(self.ts, UTC)

    def is_scheduled(self) -> bool:
        return self.type is StateType.SCHEDULED

    def is_pending(self) -> bool:
        return self.type is StateType.PENDING

    def is_running(self) -> bool:
        return self.type is StateType.RUNNING

    def is_completed(self) -> bool:
        return self.type is StateType.COMPLETED

    def is_failed(self) -> bool:
        return self.type is StateType.FAILED

    def is_crashed(self) -> bool:
        return self.type is StateType.CRASHED

    def is_cancelled(self) -> bool:
        return self.type is StateType.CANCELLED

    def is_cancelling(self) -> bool:
        return self.type is StateType.CANCELLING

    def is_paused(self) -> bool:
        return self.type is StateType.PAUSED

    def is_final(self) -> bool:
        return self.type in TERMINAL_TYPES

    def result(self, raise_on_failure: bool = True) -> Any:
        """The run's return value; for a failed, crashed or cancelled run, raise its exception.

        With `raise_on_failure=False` the exception is returned instead of raised.
        """
        data = self.data
        loader = getattr(data, "load_result", None)
        if loader is not None:  # a persisted result: loaded on first use (and kept by the
            data = loader()  # reference, which stays in `data` for the recorder to store)
        if self.type is StateType.COMPLETED:
            return data
        if self.type in TERMINAL_TYPES:
            exc = data if isinstance(data, BaseException) else None
            if exc is None:
                exc = run_error_for_state(self)
            if raise_on_failure:
                raise exc
            return exc
        raise UnfinishedRun(f"Run is in {self.type.value} state, its result is not available yet.")

    # -- presentation ------------------------------------------------------------------------
    def __repr__(self) -> str:
        if self.message:
            return f"{self.name}(message={self.message!r})"
        return f"{self.name}()"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, State):
            return NotImplemented
        return (self.type, self.name, self.message, self.ts) == (
            other.type,
            other.name,
            other.message,
            other.ts,
        )

    __hash__ = None  # type: ignore[assignment]  # states are compared by value, not hashed

    def copy(self, **changes: Any) -> State:
        fields = {k: getattr(self, k) for k in self.__slots__}
        fields.update(changes)
        return State(**fields)


def run_error_for_state(state: State) -> BaseException:
    """The exception `state.result()` raises when the state carries none of its own."""
    message = state.message or f"Run ended in state {state.name}."
    if state.type is StateType.CRASHED:
        return CrashedRun(message)
    if state.type is StateType.CANCELLED:
        return CancelledRun(message)
    if state.name == "TimedOut":
        return MainspringTimeoutError(message)
    return FailedRun(message)


def _constructor(name: str, type_: StateType) -> Callable[..., State]:
    def make(message: str | None = None, data: Any = None, **_ignored: Any) -> State:
        return State(type_, name, message, data)

    make.__name__ = make.__qualname__ = name
    make.__doc__ = f"A new {name} state (type {type_.value})."
    return make


Scheduled = _constructor("Scheduled", StateType.SCHEDULED)
Late = _constructor("Late", StateType.SCHEDULED)
AwaitingRetry = _constructor("AwaitingRetry", StateType.SCHEDULED)
Pending = _constructor("Pending", StateType.PENDING)
Running = _constructor("Running", StateType.RUNNING)
Retrying = _constructor("Retrying", StateType.RUNNING)
Paused = _constructor("Paused", StateType.PAUSED)
Completed = _constructor("Completed", StateType.COMPLETED)
Cached = _constructor("Cached", StateType.COMPLETED)
Failed = _constructor("Failed", StateType.FAILED)
TimedOut = _constructor("TimedOut", StateType.FAILED)
Crashed = _constructor("Crashed", StateType.CRASHED)
Cancelling = _constructor("Cancelling", StateType.CANCELLING)
Cancelled = _constructor("Cancelled", StateType.CANCELLED)
