"""A small known run history, written through the real store, and a way to run the CLI."""

from __future__ import annotations

import time
from dataclasses import dataclass

from typer.testing import CliRunner, Result

from mainspring.cli.main import app
from mainspring.model import (
    FlowRecord,
    FlowRun,
    LogRecord,
    State,
    StateRecord,
    StateType,
    TaskRun,
)
from mainspring.store import Batch, Store

RUN_OK = "11111111-1111-4111-8111-111111111111"
RUN_FAILED = "22222222-2222-4222-8222-222222222222"
RUN_TIMED_OUT = "33333333-3333-4333-8333-333333333333"
RUN_SUBFLOW = "44444444-4444-4444-8444-444444444444"
TASK_EXTRACT = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
TASK_LOAD = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
TASK_OTHER = "cccccccc-cccc-4ccc-8ccc-cccccccccccc"


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run the CLI in-process, stdout and stderr kept apart."""
    return CliRunner().invoke(app, list(args), env=env)


@dataclass
class History:
    base: float  # epoch seconds of the first event


def _states(run_id: str, is_task: bool, start: float, *steps: tuple[str, float, str | None]):
    from mainspring.model.states import STATE_NAMES

    return [
        StateRecord(run_id, is_task, STATE_NAMES[name], name, message, start + offset)
        for name, offset, message in steps
    ]


def write_history(store: Store) -> History:
    """Two flows; an `etl` run with two task runs, logs and a subflow; two failed runs."""
    t0 = time.time() - 3600
    batch = Batch()
    batch.flows["etl"] = FlowRecord("etl", description="Extract, transform, load", created=t0)
    batch.flows["report"] = FlowRecord("report", created=t0)

    def run(run_id, name, flow, state, start, end, **extra) -> FlowRun:
        return FlowRun(
            run_id, name, flow, state, created=start, start_time=start, end_time=end, **extra
        )

    ok = run(
        RUN_OK,
        "brave-fox",
        "etl",
        State(StateType.COMPLETED, ts=t0 + 75),
        t0,
        t0 + 75,
        parameters={"rows": 3, "source": "s3://bucket/in.csv"},
        tags=["nightly"],
        run_count=1,
    )
    failed = run(
        RUN_FAILED,
        "grumpy-owl",
        "etl",
        State(StateType.FAILED, message="boom", ts=t0 + 110),
        t0 + 100,
        t0 + 110,
        tags=["nightly", "adhoc"],
        run_count=1,
    )
    timed_out = run(
        RUN_TIMED_OUT,
        "sleepy-cat",
        "etl",
        State(StateType.FAILED, "TimedOut", "took too long", ts=t0 + 260),
        t0 + 200,
        t0 + 260,
        run_count=1,
    )
    subflow = run(
        RUN_SUBFLOW,
        "tiny-ant",
        "report",
        State(StateType.COMPLETED, ts=t0 + 70),
        t0 + 60,
        t0 + 70,
        parent_flow_run_id=RUN_OK,
        run_count=1,
    )
    for flow_run in (ok, failed, timed_out, subflow):
        batch.flow_runs[flow_run.id] = flow_run

    def task(task_id, name, flow_run_id, state, start, end, run_count) -> TaskRun:
        return TaskRun(
            task_id,
            name,
            name.rsplit("-", 1)[0],
            name,
            state,
            flow_run_id=flow_run_id,
            created=start,
            start_time=start,
            end_time=end,
            run_count=run_count,
        )

    batch.task_runs[TASK_EXTRACT] = task(
        TASK_EXTRACT, "extract-0", RUN_OK, State(StateType.COMPLETED), t0 + 1, t0 + 1.5, 1
    )
    batch.task_runs[TASK_LOAD] = task(
        TASK_LOAD, "load-0", RUN_OK, State(StateType.COMPLETED), t0 + 2, t0 + 50, 2
    )
    batch.task_runs[TASK_OTHER] = task(
        TASK_OTHER, "extract-0", RUN_FAILED, State(StateType.FAILED), t0 + 101, t0 + 102, 1
    )

    batch.states += _states(
        RUN_OK, False, t0, ("Pending", 0, None), ("Running", 0.5, None), ("Completed", 75, None)
    )
    batch.states += _states(
        TASK_LOAD,
        True,
        t0,
        ("Running", 2, None),
        ("AwaitingRetry", 10, "disk full"),
        ("Retrying", 20, None),
        ("Completed", 50, None),
    )
    batch.states += _states(RUN_FAILED, False, t0, ("Running", 100, None), ("Failed", 110, "boom"))

    def log(flow_run_id, task_run_id, level, message, offset) -> LogRecord:
        return LogRecord(flow_run_id, task_run_id, level, "mainspring", message, t0 + offset)

    batch.logs += [
        log(RUN_OK, None, 20, "Starting flow [bold]etl[/bold]", 0.6),
        log(RUN_OK, TASK_EXTRACT, 10, "read 3 rows", 1.2),
        log(RUN_OK, TASK_LOAD, 30, "disk full, will retry", 10),
        log(RUN_OK, TASK_LOAD, 20, "loaded 3 rows", 49),
        log(RUN_OK, None, 20, "Finished in state Completed()", 75),
        log(RUN_FAILED, TASK_OTHER, 40, "boom", 102),
    ]
    store.write(batch)
    return History(base=t0)
