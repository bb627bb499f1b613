"""The loop the server's background services share (server/services/loop.py): a failing round
is logged and retried, once per streak or every time, and `stop` ends the thread."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from mainspring.server.services.crash_detector import CrashDetector
from mainspring.server.services.loop import ServiceLoop
from mainspring.store.sql.store import SqlStore

LOGGER = logging.getLogger("tests.service_loop")


class Flaky(ServiceLoop):
    """Fails its first `failures` rounds, then succeeds; sets `recovered` on the first success."""

    thread_name = "test-flaky"
    failure_message = "The flaky service could not work"
    logger = LOGGER

    def __init__(self, failures: int, each: bool) -> None:
        super().__init__(interval=0.01)
        self.log_each_failure = each
        self.failures = failures
        self.rounds = 0
        self.recovered = threading.Event()

    def run_once(self) -> None:
        self.rounds += 1
        if self.rounds <= self.failures:
            raise RuntimeError(f"round {self.rounds} failed")
        self.recovered.set()


@pytest.mark.parametrize(("each", "logged"), [(False, 1), (True, 3)])
def test_failed_rounds_are_logged_and_retried_until_one_succeeds(
    caplog: pytest.LogCaptureFixture, each: bool, logged: int
) -> None:
    service = Flaky(failures=3, each=each)
    with caplog.at_level(logging.ERROR, logger=LOGGER.name):
        service.start()
        try:
            assert service.recovered.wait(30), "the loop did not go on after failures"
        finally:
            service.stop()
    assert service._thread is not None and not service._thread.is_alive()
    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER.name]
    assert messages == ["The flaky service could not work; retrying"] * logged
    assert all(r.exc_info is not None for r in caplog.records if r.name == LOGGER.name)


def test_stop_before_the_interval_ends_the_thread_at_once() -> None:
    service = Flaky(failures=0, each=False)
    service.interval = 3600.0
    service.start()
    assert service.recovered.wait(30)
    service.stop(timeout=30)
    assert service._thread is not None and not service._thread.is_alive()


def test_a_crash_detector_whose_store_fails_logs_once_and_goes_on(
    tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    store.close()  # every scan now raises StoreError
    detector = CrashDetector(store, timeout=0.001, interval=0.01)
    with caplog.at_level(logging.ERROR, logger="mainspring.server.crash_detector"):
        detector.start()
        assert detector.listening_since is not None  # set before its first scan
        try:
            time.sleep(0.5)  # many rounds, or few on a loaded machine: one line either way
            assert detector._thread is not None and detector._thread.is_alive()
        finally:
            detector.stop()
    assert not detector._thread.is_alive()
    lines = [r.getMessage() for r in caplog.records if r.name == "mainspring.server.crash_detector"]
    assert lines == ["The crash detector could not scan; retrying"]


class Backlog(ServiceLoop):
    """Says it left work for its first `pieces` rounds (a backlog worked through in pieces)."""

    thread_name = "test-backlog"
    failure_message = "The backlog service could not work"
    logger = LOGGER

    def __init__(self, pieces: int) -> None:
        super().__init__(interval=60.0)  # the next round after a done one: a minute away
        self.pieces = pieces
        self.rounds = 0
        self.done = threading.Event()

    def run_once(self) -> bool:
        self.rounds += 1
        if self.rounds > self.pieces:
            self.done.set()
        return self.rounds <= self.pieces


def test_a_round_that_left_work_is_followed_by_the_next_at_once() -> None:
    service = Backlog(pieces=3)
    service.start()
    try:
        assert service.done.wait(10), service.rounds  # not after three one-minute waits
        time.sleep(0.2)
        assert service.rounds == 4  # and, the backlog done, it waits its interval again
    finally:
        service.stop()
