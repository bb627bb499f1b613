"""RunFuture: the light future behind task runs behaves like concurrent.futures.Future."""

from __future__ import annotations

import threading
from concurrent.futures import CancelledError

import pytest

from mainspring.engine.runners.run_future import RunFuture


def test_result_is_available_to_every_waiter() -> None:
    future = RunFuture()
    results: list[int] = []
    waiters = [threading.Thread(target=lambda: results.append(future.result())) for _ in range(5)]
    for waiter in waiters:
        waiter.start()
    future.set_running_or_notify_cancel()
    future.set_result(42)
    for waiter in waiters:
        waiter.join(10)
    assert results == [42] * 5
    assert future.done() and not future.cancelled()


def test_exception_is_raised_by_result_and_returned_by_exception() -> None:
    future = RunFuture()
    error = ValueError("boom")
    future.set_exception(error)
    with pytest.raises(ValueError, match="boom"):
        future.result()
    assert future.exception() is error


def test_timeout_raises_timeout_error_without_finishing() -> None:
    future = RunFuture()
    with pytest.raises(TimeoutError):
        future.result(timeout=0.01)
    assert not future.wait(0)
    assert not future.done()


def test_a_queued_future_can_be_cancelled_and_then_never_runs() -> None:
    future = RunFuture()
    assert future.cancel()
    assert future.cancelled() and future.done()
    assert future.set_running_or_notify_cancel() is False
    with pytest.raises(CancelledError):
        future.result()


def test_a_running_future_cannot_be_cancelled() -> None:
    future = RunFuture()
    assert future.set_running_or_notify_cancel()
    assert not future.cancel()
    future.set_result(1)
    assert future.result() == 1


def test_callbacks_run_once_whether_added_before_or_after_finishing() -> None:
    future = RunFuture()
    calls: list[str] = []
    future.add_done_callback(lambda f: calls.append("before"))
    future.set_result(None)
    future.add_done_callback(lambda f: calls.append("after"))
    assert calls == ["before", "after"]


def test_callbacks_added_while_finishing_from_other_threads_run_exactly_once() -> None:
    def race() -> list[int]:
        future = RunFuture()
        calls: list[int] = []
        adder = threading.Thread(target=lambda: future.add_done_callback(lambda f: calls.append(1)))
        adder.start()
        future.set_result(None)
        adder.join(10)
        return calls

    for _ in range(200):
        assert race() == [1]
