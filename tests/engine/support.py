"""Readers shared by the engine tests: what the store recorded, in the shapes tests compare."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mainspring.model import FlowRun, FlowRunFilter, TaskRun
from mainspring.store import Store

SRC = Path(__file__).resolve().parents[2] / "src"

#: The timeline of a task or subflow run that failed, and ran again when its flow resumed.
FAILED_THEN_RESUMED = ["Pending", "Running", "Failed", "Pending", "Retrying", "Completed"]


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


def edges_by_name(store: Store, flow_run_id: str) -> set[tuple[str, str, str]]:
    """{(downstream name, upstream name, kind)} of a flow run's graph."""
    names = {t.id: t.name for t in store.read_task_runs(flow_run_id)}
    return {
        (names[e.task_run_id], names[e.upstream_id], e.kind) for e in store.read_edges(flow_run_id)
    }


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


def kill_midway(
    folder: Path, source: str, lines: int, extra_env: dict[str, str] | None = None
) -> tuple[str, Path, dict[str, str]]:
    """Run the flow script `source` from `folder` in a child process that records into this
    test's home (or where `extra_env` says), and SIGKILL it once its tasks have written `lines`
    lines to SIDE_FILE.

    The script prints its flow run id first; each task sleeps, then appends its line. Returns
    the flow run id, the side-effect file and the child's environment (for the retry).
    """
    from mainspring.settings import get_settings

    script = folder / "killed_flow.py"
    script.write_text(source)
    side = folder / "side.txt"
    side.touch()
    env = {**subprocess_env(get_settings().home), "SIDE_FILE": str(side), **(extra_env or {})}
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        flow_run_id = proc.stdout.readline().strip()  # type: ignore[union-attr]
        deadline = time.monotonic() + 60
        while len(side.read_text().splitlines()) < lines:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.005)
        time.sleep(0.015)  # land in the next task's sleep, not between its line and its result
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(30)
        proc.stdout.close()  # type: ignore[union-attr]
    return flow_run_id, side, env


def cli_retry(flow_run_id: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """`mainspring flow-run retry ID`, the real command, in a child process."""
    cli = Path(sys.executable).parent / "mainspring"
    main = "from mainspring.cli.main import main; main()"
    command = [str(cli)] if cli.exists() else [sys.executable, "-c", main]
    return subprocess.run(
        [*command, "flow-run", "retry", flow_run_id],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
