"""Futures: handles to task runs submitted to a task runner.

`task.submit()` returns a `MainspringFuture`; `task.map()` a `FutureList`. Passing a future (or
a final State) as an argument to another task makes the engine wait for it, pass its result,
and record the edge of the run graph.
"""

from __future__ import annotations

import concurrent.futures as cf
import queue
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from mainspring.exceptions import MainspringTimeoutError, UnfinishedRun
from mainspring.model import State, TaskRun


class MainspringFuture:
    """The eventual final state of one task run."""

    __slots__ = ("_future", "task_run")

    def __init__(self, task_run: TaskRun, future: Any) -> None:
        self.task_run = task_run
        self._future = future

    @property
    def task_run_id(self) -> str:
        return self.task_run.id

    @property
    def state(self) -> State:
        """The final state once done, else the run's current state."""
        if self._future.done() and not self._future.cancelled():
            error = self._future.exception()
            if error is None:
                return self._future.result()
        return self.task_run.state

    def done(self) -> bool:
        return self._future.done()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the task run is final (or `timeout` seconds pass)."""
        try:
            self._future.exception(timeout=timeout)
        except cf.TimeoutError as exc:
            _reraise_run_timeout(exc)

    def final_state(self, timeout: float | None = None) -> State:
        if self._future.cancelled():  # never started: its run was ended Cancelled instead
            return self.task_run.state
        return self._future.result(timeout=timeout)

    def result(self, timeout: float | None = None, raise_on_failure: bool = True) -> Any:
        """The task's return value; re-raise its exception if it failed."""
        try:
            state = self.final_state(timeout=timeout)
        except cf.TimeoutError as exc:
            _reraise_run_timeout(exc)

            raise UnfinishedRun(
                f"Task run {self.task_run.name!r} did not finish within {timeout} seconds"
            ) from None
        return state.result(raise_on_failure=raise_on_failure)

    def add_done_callback(self, fn: Callable[[MainspringFuture], Any]) -> None:
        self._future.add_done_callback(lambda _: fn(self))

    def __repr__(self) -> str:
        return f"MainspringFuture(task_run={self.task_run.name!r}, state={self.state!r})"


def _reraise_run_timeout(exc: cf.TimeoutError) -> None:
    """cf.TimeoutError is the builtin TimeoutError, so the deadline of the run that is waiting
    (a flow's timeout_seconds) lands in the same except clause as the wait's own timeout."""
    if isinstance(exc, MainspringTimeoutError):
        raise exc


class FutureList(list):
    """What `task.map()` returns: a list of futures that can be waited on or resolved together."""

    def wait(self, timeout: float | None = None) -> None:
        wait(self, timeout=timeout)

    def result(self, timeout: float | None = None, raise_on_failure: bool = True) -> list[Any]:
        return [f.result(timeout=timeout, raise_on_failure=raise_on_failure) for f in self]


def wait(futures: Iterable[MainspringFuture], timeout: float | None = None) -> tuple[set, set]:
    """Wait for all futures (at most `timeout` seconds); return (done, not_done) sets."""
    futures = list(futures)
    deadline = None if timeout is None else time.monotonic() + timeout
    for future in futures:
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not future._future.wait(remaining):
            break
    done = {f for f in futures if f.done()}
    return done, set(futures) - done


def as_completed(
    futures: Iterable[MainspringFuture], timeout: float | None = None
) -> Iterator[MainspringFuture]:
    """Yield futures as their task runs finish; TimeoutError if `timeout` passes first."""
    futures = list(futures)
    finished: queue.SimpleQueue[MainspringFuture] = queue.SimpleQueue()
    for future in futures:
        future._future.add_done_callback(lambda _, f=future: finished.put(f))
    deadline = None if timeout is None else time.monotonic() + timeout
    for _ in futures:
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            yield finished.get(timeout=remaining)
        except queue.Empty:
            raise TimeoutError(f"{len(futures)} futures did not all finish in time") from None


# -- resolving arguments -----------------------------------------------------------------------
#: the containers whose items a call's arguments are searched in (also produced_values.py)
CONTAINERS = (list, tuple, set, frozenset, dict)


class UpstreamFailure(Exception):
    """An input's task run did not complete, so the task that needs its result cannot run."""

    def __init__(self, upstream: TaskRun | None, state: State) -> None:
        self.upstream, self.state = upstream, state
        what = f"Upstream task run {upstream.name!r}" if upstream is not None else "A state input"
        super().__init__(f"{what} did not reach a COMPLETED state ({state!r})")


def _needs_resolving(value: Any) -> bool:
    if isinstance(value, MainspringFuture | State):
        return True
    if isinstance(value, CONTAINERS):  # subclasses too: FutureList is a list
        items = value.values() if isinstance(value, dict) else value
        return any(_needs_resolving(v) for v in items)
    return False


def resolve_value(value: Any, upstream: list[TaskRun]) -> Any:
    """Replace futures and states inside `value` by their results, collecting their runs.

    Raises UpstreamFailure when one of them did not complete.
    """
    if isinstance(value, MainspringFuture):
        state = value.final_state()
        if not state.is_completed():
            raise UpstreamFailure(value.task_run, state)
        upstream.append(value.task_run)
        return state.result()
    if isinstance(value, State):
        if not value.is_completed():
            raise UpstreamFailure(None, value)
        return value.result()
    if isinstance(value, CONTAINERS) and _needs_resolving(value):
        if isinstance(value, dict):
            return {k: resolve_value(v, upstream) for k, v in value.items()}
        kind = type(value) if type(value) in CONTAINERS else _base_container(value)
        return kind(resolve_value(v, upstream) for v in value)
    return value


def _base_container(value: Any) -> type:
    """The builtin a container subclass derives from: a resolved FutureList is a plain list."""
    return next(kind for kind in CONTAINERS if isinstance(value, kind))


def has_futures(args: tuple, kwargs: dict) -> bool:
    """Whether call arguments hold futures or states, whose results must be waited for."""
    return any(_needs_resolving(v) for v in args) or any(
        _needs_resolving(v) for v in kwargs.values()
    )


def resolve_arguments(
    args: tuple[Any, ...], kwargs: dict[str, Any], upstream: list[TaskRun]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Resolve futures among a call's arguments (a no-op costing a few checks when none)."""
    if any(_needs_resolving(a) for a in args):
        args = tuple(resolve_value(a, upstream) for a in args)
    if kwargs and any(_needs_resolving(v) for v in kwargs.values()):
        kwargs = {k: resolve_value(v, upstream) for k, v in kwargs.items()}
    return args, kwargs


def wait_for_upstream(wait_for: Iterable[Any] | None, upstream: list[TaskRun]) -> None:
    """Wait for `wait_for=` futures; an upstream that did not complete raises UpstreamFailure."""
    if not wait_for:
        return
    for item in wait_for:
        resolve_value(item, upstream)
