"""Readers shared by the engine tests: what the store recorded, in the shapes tests compare."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mainspring.model import FlowRun, FlowRunFilter, TaskRun
from mainspring.store import Store

SRC = Path(__file__).resolve().parents[2] / "src"


def flow_runs_of(store: Store, flow_name: str) -> list[FlowRun]:
    """The recorded runs of one flow, oldest first."""
    runs = store.read_flow_runs(FlowRunFilter(flow_names=[flow_name]), limit=1000)
    return sorted(runs, key=lambda r: r.created or 0)


def only_flow_run(store: Store, flow_name: str) -> FlowRun:
    runs = flow_runs_of(store, flow_name)
    assert len(runs) == 1, f"expected one run of {flow_name!r}, got {[r.name for r in runs]}"
    return runs[0]


def timeline(store: Store, run_id: str) -> list[str]:
    """State names a run went through, oldest first."""
    return [s.name for s in store.read_states(run_id)]


def task_runs_by_name(store: Store, flow_run_id: str) -> dict[str, TaskRun]:
    return {t.name: t for t in store.read_task_runs(flow_run_id)}


def log_messages(store: Store, flow_run_id: str, task_run_id: str | None = None) -> list[str]:
    return [log.message for log in store.read_logs(flow_run_id, task_run_id)]


def subprocess_env(home: Path) -> dict[str, str]:
    """The environment of a child Python running Mainspring against `home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
    env["MAINSPRING_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_python(script: Path, home: Path, *args: str) -> subprocess.Popen[str]:
    """Run `script` in a child Python whose Mainspring records into `home`."""
    return subprocess.Popen(
        [sys.executable, str(script), *args],
        env=subprocess_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
