"""Hostile arguments to the CLI, and a hostile (but storable) history for it to show: every
command ends with a clear message and an exit code, never a traceback (issue 10).

Arguments are what Python's argv holds: a non-UTF-8 byte becomes a lone surrogate
(`os.fsdecode`), and no argument can hold NUL. Most run in-process (typer's runner); one runs
the real command with raw bytes in its argv.
"""

from __future__ import annotations

import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.history import invoke  # tests/cli: a sibling package
from mainspring.model import FlowRecord, FlowRun, LogRecord, State, StateType, TaskRun, new_id
from mainspring.model.text import MAX_DEFINED_NAME
from mainspring.settings import get_settings
from mainspring.store import Batch, get_store

from .hostile import SPECIALS, hostile_text, storable
from .support import mainspring_command, spawn, subprocess_env

pytestmark = pytest.mark.slow

#: The longest name `@flow` takes leaves room for the "-<index>" a run name adds to it.
NASTY = [s for s in SPECIALS if storable(s)] + ["🦄 ünïcødé", "x" * MAX_DEFINED_NAME, ""]


@pytest.fixture
def nasty_history() -> list[str]:
    """Runs whose names, tags, parameters, messages and logs hold storable but nasty text."""
    store, now, batch, ids = get_store(), time.time(), Batch(), []
    for i, text in enumerate(NASTY):
        flow_name = text or "empty"
        batch.flows[flow_name] = FlowRecord(flow_name, created=now)
        run = FlowRun(
            new_id(),
            f"{text}-{i}",
            flow_name,
            State(StateType.FAILED, message=text or None, ts=now),
            parameters={"text": text, text: [text]},
            tags=[text] if text else [],
            created=now,
            start_time=now,
            end_time=now,
        )
        task = TaskRun(new_id(), f"{text}-t", text or "t", f"{text}-0", State(StateType.COMPLETED))
        task.flow_run_id = run.id
        batch.flow_runs[run.id] = run
        batch.task_runs[task.id] = task
        batch.logs.append(LogRecord(run.id, task.id, 20, text or "l", f"log {text}", now))
        ids.append(run.id)
    store.write(batch)
    return ids


def test_the_cli_shows_a_nasty_history(nasty_history):
    listed = invoke("flow-run", "ls", "--limit", "100")
    assert listed.exit_code == 0, listed.stdout + listed.stderr
    for run_id in nasty_history:
        for command in ("inspect", "logs"):
            shown = invoke("flow-run", command, run_id)
            assert shown.exit_code == 0, (command, shown.exception, shown.stderr)
    flows = invoke("flow", "ls")
    assert flows.exit_code == 0, flows.stdout + flows.stderr


argv_text = st.one_of(
    st.binary(min_size=1, max_size=30).filter(lambda b: b"\0" not in b).map(os.fsdecode),
    hostile_text.filter(lambda t: "\x00" not in t),
)
commands = st.sampled_from(
    [
        ("flow-run", "ls", "--flow"),
        ("flow-run", "ls", "--tag"),
        ("flow-run", "ls", "--state"),
        ("flow-run", "ls", "--limit"),
        ("flow-run", "inspect"),
        ("flow-run", "logs"),
        ("flow-run", "retry"),
        ("flow-run", "cancel"),
    ]
)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(command=commands, argument=argv_text)
def test_hostile_arguments_get_a_clear_answer(nasty_history, command, argument):
    result = invoke(*command, argument)
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.stdout + result.stderr


def test_the_real_command_answers_raw_bytes_in_its_argv(nasty_history):
    env = subprocess_env(get_settings().home)
    for args in (
        [b"flow-run", b"inspect", b"\xff\xfe-not-an-id"],
        [b"flow-run", b"ls", b"-f", b"\xff"],
    ):
        command = [os.fsencode(part) for part in mainspring_command()] + args
        proc = spawn(command, env)  # type: ignore[arg-type]
        out, err = proc.communicate(timeout=60)
        assert proc.returncode in (0, 1, 2), err[-3000:]
        assert "Traceback" not in out + err, err[-3000:]
