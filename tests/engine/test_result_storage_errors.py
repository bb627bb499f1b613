"""A result storage that cannot be used (a path that is a file, an unknown protocol, a setting
naming one) ends the run Failed with a message naming the storage, without retrying: not
Crashed with the filesystem's traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from mainspring import flow, task
from mainspring.exceptions import FailedRun
from mainspring.model import StateType
from mainspring.settings import reset_settings

from .support import log_messages, only_flow_run, task_runs_by_name


def a_file(tmp_path: Path) -> str:
    path = tmp_path / "not-a-folder"
    path.write_text("")
    return str(path)


@pytest.mark.parametrize("storage", [a_file, lambda _: "nosuchprotocol://bucket/results"])
def test_a_task_whose_storage_is_unusable_ends_failed_naming_it(store, tmp_path, storage):
    url = storage(tmp_path)
    calls = []

    @task(persist_result=True, result_storage=url, retries=2)
    def keep(x: int) -> int:
        calls.append(x)
        return x

    @flow(name="unusable-storage")
    def unusable() -> str:
        return keep(1, return_state=True).type.value

    assert unusable() == "FAILED"
    run = only_flow_run(store, "unusable-storage")
    assert run.state.type is StateType.COMPLETED
    task_run = task_runs_by_name(store, run.id)["keep-0"]
    assert task_run.state.type is StateType.FAILED
    assert task_run.state.message.startswith(f"Result storage {url!r} cannot be used")
    assert task_run.run_count <= 1  # no retry: another attempt would meet the same storage
    assert calls in ([], [1])  # before the call (a cache lookup) or after it (persisting)
    logs = log_messages(store, run.id, task_run.id)
    assert any(m.startswith(f"Result storage {url!r}") for m in logs), logs
    assert not any("Crash detected" in m or "Traceback" in m for m in logs), logs
    with pytest.raises(FailedRun, match="cannot be used"):
        task_run.state.result()


def test_an_unusable_storage_setting_fails_the_flow_that_persists(store, tmp_path, monkeypatch):
    url = a_file(tmp_path)
    monkeypatch.setenv("MAINSPRING_RESULT_STORAGE", url)
    reset_settings()

    @flow(name="unusable-setting", persist_result=True)
    def unusable_setting() -> int:
        return 1

    state = unusable_setting(return_state=True)
    assert state.type is StateType.FAILED
    assert f"Result storage {url!r} cannot be used" in state.message
    assert only_flow_run(store, "unusable-setting").state.type is StateType.FAILED
