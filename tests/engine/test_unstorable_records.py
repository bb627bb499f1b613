"""One unstorable record no longer stalls recording (issue 10, defect 1).

Before: a log line holding a lone surrogate (or, on PostgreSQL, a NUL) made the recorder retry
its batch for ever, so every later flow call waited 60 s, the exit 60 s more, and nothing more
was recorded. Now text is made storable, a record the store still refuses is set aside in the
dead-letter file and the rest stored, and only transient failures are retried.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mainspring import flow, get_run_logger
from mainspring.exceptions import StoreError
from mainspring.model import FlowRun, State, StateType, TaskRun, new_id
from mainspring.settings import reset_settings
from mainspring.store import get_store, reset_store
from mainspring.store.base import Batch
from mainspring.store.dead_letter import dead_letter_file
from mainspring.store.recorder import Recorder, reset_recorder
from mainspring.store.sql import SqlStore

from .support import flow_runs_of, log_messages, subprocess_env

R = "\ufffd"
#: Generous: the defect made each call wait 60 s; this machine is shared and slow.
PROMPT = 10.0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The process's store: SQLite in a file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'db' / 'mainspring.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
    monkeypatch.setenv("MAINSPRING_DATABASE_URL", url)
    reset_settings()
    reset_recorder()
    reset_store()
    return url


def test_log_lines_with_a_surrogate_or_nul_are_stored_and_calls_return_promptly(
    database_url: str,
) -> None:
    @flow(name="lister")
    def lister(i: int) -> int:
        logger = get_run_logger()
        logger.info("found %s", os.fsdecode(b"x\xff"))  # a file name that is not UTF-8
        logger.info("nul \x00 here")
        return i

    lister(0)  # the store is opened (and migrated) here: not part of what is timed
    started = time.monotonic()
    assert [lister(i) for i in (1, 2, 3)] == [1, 2, 3]
    assert time.monotonic() - started < PROMPT * 3

    store = get_store()
    runs = flow_runs_of(store, "lister")
    assert [r.state.type for r in runs] == [StateType.COMPLETED] * 4
    for run in runs:
        assert {f"found x{R}", f"nul {R} here"} <= set(log_messages(store, run.id))


def _records(flow_run_id: str, bad: TaskRun) -> Iterator[TaskRun]:
    yield TaskRun(new_id(), "good-0", "good", "good-0", State(StateType.COMPLETED), flow_run_id)
    yield bad


def test_a_record_the_store_refuses_is_set_aside_and_the_rest_stored(
    database_url: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A task run the database refuses (NOT NULL task_key) costs itself alone: the run, its
    logs and the other task run are stored, the refused one goes to the dead-letter file with
    one line on stderr, and the write is not retried (one write per batch)."""
    writes: list[Batch] = []

    class CountingStore(SqlStore):
        def write(self, batch: Batch) -> bool:
            writes.append(batch)
            return super().write(batch)

    home = tmp_path / "home"
    recorder = Recorder(lambda: CountingStore(database_url), 0.01, dead_letter_home=home)
    run = FlowRun(new_id(), "r", "refusals", State(StateType.RUNNING))
    bad = TaskRun(new_id(), "bad-0", "bad", "bad-0", State(StateType.COMPLETED), run.id)
    bad.task_key = None  # type: ignore[assignment]  # NOT NULL in the schema
    recorder.flow_run(run)
    for i in range(50):
        recorder.log(run.id, None, 20, "l", f"line {i}", time.time())
    for task_run in _records(run.id, bad):
        recorder.task_run(task_run)
    started = time.monotonic()
    assert recorder.flush(timeout=60)
    assert time.monotonic() - started < PROMPT
    recorder.log(run.id, None, 20, "l", "after", time.time())  # recording goes on
    assert recorder.flush(timeout=60)
    recorder.close()

    assert recorder.dropped == 1 and recorder.lost == 0 and recorder.last_error is None
    # each batch written once (a retry writes the very same batch again), all records in them
    assert len({id(batch) for batch in writes}) == len(writes)
    assert sum(batch.size() for batch in writes) == 57
    store = SqlStore(database_url)
    try:
        assert store.read_flow_run(run.id).name == "r"
        assert [t.name for t in store.read_task_runs(run.id)] == ["good-0"]
        assert len(store.read_logs(run.id)) == 51
    finally:
        store.close()

    lines = dead_letter_file(home).read_text().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["kind"] == "task_run" and entry["record"]["id"] == bad.id
    assert entry["record"]["task_key"] is None and "task_key" in entry["reason"]
    assert entry["record"]["state"]["type"] == "COMPLETED"
    err = capfd.readouterr().err
    notes = [line for line in err.splitlines() if line.startswith("mainspring:")]
    assert len(notes) == 1 and "1 record of run history not stored" in notes[0]
    assert str(dead_letter_file(home)) in notes[0] and "retrying" not in err


def test_an_overlong_name_is_set_aside_alike_on_every_store(
    database_url: str, tmp_path: Path
) -> None:
    """A run name longer than 255 (rendered at run time, or from an older client) is refused
    by SQLite as by PostgreSQL and set aside; before, SQLite kept it and PostgreSQL stalled."""
    home = tmp_path / "home"
    recorder = Recorder(lambda: SqlStore(database_url), 0.01, dead_letter_home=home)
    good = FlowRun(new_id(), "fine", "names", State(StateType.COMPLETED))
    long = FlowRun(new_id(), "n" * 300, "names", State(StateType.COMPLETED))
    recorder.flow_run(good)
    recorder.flow_run(long)
    assert recorder.flush(timeout=60)
    recorder.close()
    assert recorder.dropped == 1
    store = SqlStore(database_url)
    try:
        assert [r.id for r in store.read_flow_runs()] == [good.id]
    finally:
        store.close()
    (line,) = dead_letter_file(home).read_text().splitlines()
    assert json.loads(line)["record"]["name"] == "n" * 300
    assert "flow_run.name is 300 characters long" in json.loads(line)["reason"]


def test_a_locked_database_is_still_retried_until_it_is_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transient failure (SQLite's "database is locked") keeps the batch and retries it."""
    monkeypatch.setenv("MAINSPRING_SQLITE_BUSY_TIMEOUT", "0.1")
    reset_settings()
    path = tmp_path / "locked.db"
    store = SqlStore(f"sqlite:///{path}")
    store.engine()  # the schema exists before the lock is taken
    recorder = Recorder(lambda: store, 0.01, dead_letter_home=tmp_path / "home")
    run = FlowRun(new_id(), "r", "locked", State(StateType.RUNNING))
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        recorder.flow_run(run)
        assert not recorder.flush(timeout=1.5)  # still waiting for the lock
        assert isinstance(recorder.last_error, StoreError)
        assert "locked" in str(recorder.last_error)
    finally:
        holder.execute("COMMIT")
        holder.close()
    assert recorder.flush(timeout=30)
    recorder.close()
    assert recorder.dropped == 0 and store.read_flow_run(run.id).name == "r"
    assert not (tmp_path / "home").exists()  # nothing set aside
    store.close()


SCRIPT = textwrap.dedent(
    """
    import os
    from mainspring import flow, get_run_logger

    @flow(name="exiting")
    def exiting(i):
        get_run_logger().info("found %s", os.fsdecode(b"x\\xff"))
        return i

    for i in range(3):
        exiting(i)
    """
)


def test_a_process_that_logged_a_surrogate_exits_promptly_with_its_runs_recorded(
    tmp_path: Path,
) -> None:
    """The whole report: three runs that took 240 s and were not recorded."""
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    home = tmp_path / "home"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(script)],
        env={**subprocess_env(home), "MAINSPRING_LOGGING_CONSOLE": "false"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < PROMPT * 2
    assert "mainspring:" not in done.stderr
    store = SqlStore(f"sqlite:///{home / 'mainspring.db'}")
    try:
        runs = flow_runs_of(store, "exiting")
        assert [r.state.type for r in runs] == [StateType.COMPLETED] * 3
        assert all(f"found x{R}" in log_messages(store, r.id) for r in runs)
    finally:
        store.close()
