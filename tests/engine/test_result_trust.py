"""The storages named by the flows and tasks a process defines are ones it loads results from;
another process, which does not define them, refuses them unless its settings list them."""

from __future__ import annotations

import subprocess
import sys

from mainspring import flow, task
from mainspring.settings import get_settings

from .support import only_flow_run, subprocess_env, task_runs_by_name

READ_BACK = (
    "import sys\n"
    "from mainspring.store import get_store\n"
    "try:\n"
    "    print(get_store().read_task_run(sys.argv[1]).state.result())\n"
    "except Exception as exc:\n"
    "    print(type(exc).__name__)\n"
)


def test_a_storage_named_by_a_task_here_is_trusted_here_only(store, tmp_path):
    custom = tmp_path / "custom-results"

    @task(persist_result=True, result_storage=str(custom))
    def value() -> dict:
        return {"v": 1}

    @flow(name="custom-storage")
    def custom_storage() -> dict:
        return value()

    assert custom_storage() == {"v": 1}
    run = only_flow_run(store, "custom-storage")
    task_run = task_runs_by_name(store, run.id)["value-0"]
    assert store.read_task_run(task_run.id).state.result() == {"v": 1}

    def read_elsewhere(**env: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", READ_BACK, task_run.id],
            env={**subprocess_env(get_settings().home), **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert read_elsewhere() == "UntrustedResultLocation"
    assert read_elsewhere(MAINSPRING_RESULT_TRUSTED_LOCATIONS=str(custom)) == "{'v': 1}"
