"""A deployment's `retries=` with a real worker and a real `kill -9` of the flow's process: the
run ends Crashed, the worker's scheduler puts the same run back to Scheduled, a worker runs it
again and durable resume keeps the task that had finished. SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import textwrap
from pathlib import Path

import pytest

from mainspring import run_deployment
from mainspring.model.deployments import Deployment, WorkPool
from mainspring.settings import reset_settings
from mainspring.store import get_store, reset_store

from .workers import start_worker, stop, wait_until

FLOW = """
import os, time
from pathlib import Path
from mainspring import flow, task

@task(persist_result=True)
def first(folder: str) -> int:
    with open(Path(folder, "first.log"), "a") as log:
        log.write("ran\\n")
    return 41

@flow
def fragile(folder: str) -> int:
    value = first(folder)
    if not Path(folder, "killed").exists():  # the first attempt waits to be killed
        Path(folder, "pid").write_text(str(os.getpid()))
        time.sleep(300)
    return value + 1
"""

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "postgres":
        monkeypatch.setenv("MAINSPRING_DATABASE_URL", request.getfixturevalue("postgres_database"))
        reset_settings()
        reset_store()
    return request.param


def test_a_killed_run_is_resumed_under_its_id(database: str, tmp_path: Path) -> None:
    script = tmp_path / "fragile.py"
    script.write_text(textwrap.dedent(FLOW))
    folder = tmp_path / "work"
    folder.mkdir()
    store = get_store()
    store.create_work_pool(WorkPool("local"))  # type: ignore[attr-defined]
    store.upsert_deployment(  # type: ignore[attr-defined]
        Deployment(
            flow_name="fragile",
            name="once-more",
            entrypoint=f"{script}:fragile",
            parameters={"folder": str(folder)},
            work_pool_name="local",
            retries=1,
        )
    )
    worker = start_worker("--pool", "local")
    try:
        run = run_deployment("fragile/once-more", timeout=0)
        pid = int(wait_until(lambda: (folder / "pid").exists() and (folder / "pid").read_text()))
        wait_until(  # the task's result is persisted and its Completed state stored
            lambda: [t for t in store.read_task_runs(run.id) if t.state.is_completed()],
            what="the task run's Completed state",
        )
        (folder / "killed").touch()
        os.kill(pid, signal.SIGKILL)
        final = wait_until(
            lambda: (
                (r := store.read_flow_run(run.id)).state.is_final()
                and r.state.name != "Crashed"
                and r
            ),
            timeout=90,
            what="the rescheduled run's end",
        )
    except AssertionError:
        out = stop(worker)
        states = [(s.name, s.message) for s in store.read_states(run.id)]
        raise AssertionError(f"{states}\n{out}") from None
    finally:
        if worker.returncode is None:
            out = stop(worker)
    assert final.state.is_completed(), (final.state, out)
    names = [s.name for s in store.read_states(run.id)]
    assert "Crashed" in names and names.index("Crashed") < names.index("Completed")
    crashed = next(s for s in store.read_states(run.id) if s.name == "Crashed")
    assert "SIGKILL" in (crashed.message or "")
    assert (folder / "first.log").read_text() == "ran\n"  # not run again: resumed
    assert final.run_count >= 2
