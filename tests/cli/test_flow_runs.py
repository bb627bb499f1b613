"""`mainspring flow-run ls` and `mainspring flow-run inspect`."""

from __future__ import annotations

import pytest

from .history import (
    RUN_FAILED,
    RUN_OK,
    RUN_SUBFLOW,
    RUN_TIMED_OUT,
    TASK_EXTRACT,
    TASK_LOAD,
    invoke,
)

ALL_RUNS = [RUN_TIMED_OUT, RUN_FAILED, RUN_SUBFLOW, RUN_OK]  # most recent start first


def listed(output: str) -> list[str]:
    """The run ids a `flow-run ls` output shows, in order."""
    ids = [RUN_OK, RUN_FAILED, RUN_TIMED_OUT, RUN_SUBFLOW]
    return [word for line in output.splitlines() for word in line.split() if word in ids]


def test_ls_shows_every_run_most_recent_first(history):
    result = invoke("flow-run", "ls")

    assert result.exit_code == 0, result.output
    assert listed(result.stdout) == ALL_RUNS
    row = next(line for line in result.stdout.splitlines() if RUN_OK in line)
    assert row.split()[:4] == [RUN_OK, "brave-fox", "etl", "Completed"]
    assert "1m 15s" in row
    timed_out = next(line for line in result.stdout.splitlines() if RUN_TIMED_OUT in line)
    assert "TimedOut" in timed_out
    assert "Showing" not in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--flow", "report"], [RUN_SUBFLOW]),
        (["--state", "failed"], [RUN_TIMED_OUT, RUN_FAILED]),
        (["--state", "TimedOut"], [RUN_TIMED_OUT]),
        (["-s", "COMPLETED", "-s", "timedout"], [RUN_TIMED_OUT, RUN_SUBFLOW, RUN_OK]),
        (["--tag", "nightly"], [RUN_FAILED, RUN_OK]),
        (["--tag", "nightly", "--tag", "adhoc"], [RUN_FAILED]),
        (["--flow", "etl", "--state", "completed"], [RUN_OK]),
    ],
)
def test_ls_filters(history, args, expected):
    result = invoke("flow-run", "ls", *args)

    assert result.exit_code == 0, result.output
    assert listed(result.stdout) == expected


def test_ls_with_no_match_says_so(history):
    result = invoke("flow-run", "ls", "--flow", "nope")

    assert result.exit_code == 0
    assert "No flow runs match." in result.stdout


def test_ls_limit_shows_the_most_recent_and_the_total(history):
    result = invoke("flow-run", "ls", "--limit", "2")

    assert result.exit_code == 0, result.output
    assert listed(result.stdout) == ALL_RUNS[:2]
    assert "Showing 2 of 4 flow runs" in result.stdout


@pytest.mark.parametrize("limit", ["0", "-3", "many"])
def test_ls_rejects_a_bad_limit_as_usage_error(history, limit):
    result = invoke("flow-run", "ls", "--limit", limit)

    assert result.exit_code == 2
    assert "--limit" in result.stderr


def test_ls_rejects_an_unknown_state_listing_the_valid_ones(history):
    result = invoke("flow-run", "ls", "--state", "Exploded")

    assert result.exit_code == 2
    assert "Unknown state 'Exploded'" in result.stderr
    for word in ("COMPLETED", "TimedOut", "Cancelled"):
        assert word in result.stderr
    assert "Traceback" not in result.output


def test_ls_in_a_narrow_terminal_keeps_whole_ids(history):
    result = invoke("flow-run", "ls", env={"COLUMNS": "80"})

    assert result.exit_code == 0, result.output
    assert listed(result.stdout) == ALL_RUNS
    assert "etl / brave-fox" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


def test_inspect_shows_fields_parameters_timeline_task_runs_and_subflows(history):
    result = invoke("flow-run", "inspect", RUN_OK)

    assert result.exit_code == 0, result.output
    out = result.stdout
    for expected in ("brave-fox", "etl", "Completed", "nightly", "1m 15s"):
        assert expected in out
    # parameters, as JSON
    assert '"s3://bucket/in.csv"' in out
    assert any(line.split()[:2] == ["rows", "3"] for line in out.splitlines())
    # the state timeline, oldest first
    timeline = out[out.index("State timeline") : out.index("Task runs")]
    names = [line.split()[-1] for line in timeline.splitlines()[3:] if line.strip()]
    assert names == ["Pending", "Running", "Completed"]
    assert "+1m 15s" in timeline
    # task runs with state, duration and tries
    tasks = out[out.index("Task runs (2)") : out.index("Subflow runs")]
    extract = next(line for line in tasks.splitlines() if TASK_EXTRACT in line)
    load = next(line for line in tasks.splitlines() if TASK_LOAD in line)
    assert extract.split()[1:3] == ["extract-0", "Completed"]
    assert "500ms" in extract
    assert load.split()[1:3] == ["load-0", "Completed"]
    assert "48.0s" in load
    assert load.split()[-1] == "2"
    # the subflow run
    subflows = out[out.index("Subflow runs (1)") :]
    assert RUN_SUBFLOW in subflows
    assert "tiny-ant" in subflows


def test_inspect_shows_the_failure_message_and_parent(history):
    failed = invoke("flow-run", "inspect", RUN_FAILED)
    subflow = invoke("flow-run", "inspect", RUN_SUBFLOW)

    assert failed.exit_code == 0, failed.output
    assert "Failed  boom" in failed.stdout
    assert "Parent flow run" in subflow.stdout
    assert RUN_OK in subflow.stdout
    assert "No task runs." in subflow.stdout


@pytest.mark.parametrize("command", ["inspect", "logs"])
def test_an_unknown_id_is_one_line_on_stderr_and_exit_1(history, command):
    result = invoke("flow-run", command, "does-not-exist")

    assert result.exit_code == 1
    assert result.stderr == "No flow run with id 'does-not-exist'.\n"
    assert result.stdout == ""
    assert "Traceback" not in result.output


def test_ls_json_lists_runs_most_recent_first_with_filters_applied(history, home):
    from datetime import datetime

    from .deploy_cli import cli_json

    runs = cli_json("flow-run", "ls", home=home)
    assert [r["id"] for r in runs] == ALL_RUNS
    ok = next(r for r in runs if r["id"] == RUN_OK)
    assert ok["name"] == "brave-fox"
    assert ok["flow_name"] == "etl"
    assert ok["state"]["type"] == "COMPLETED"
    assert ok["state"]["name"] == "Completed"
    assert ok["parameters"] == {"rows": 3, "source": "s3://bucket/in.csv"}
    assert ok["tags"] == ["nightly"]
    start, end = (datetime.fromisoformat(ok[k]) for k in ("start_time", "end_time"))
    assert (end - start).total_seconds() == pytest.approx(75)
    assert ok["start_time"].endswith("+00:00")

    failed = cli_json("flow-run", "ls", "--state", "failed", home=home)
    assert [r["id"] for r in failed] == [RUN_TIMED_OUT, RUN_FAILED]
    assert cli_json("flow-run", "ls", "--flow", "nope", home=home) == []


def test_inspect_json_has_the_run_its_timeline_task_runs_and_subflows(history, home):
    from .deploy_cli import cli_json

    shown = cli_json("flow-run", "inspect", RUN_OK, home=home)

    assert shown["id"] == RUN_OK
    assert [s["name"] for s in shown["states"]][-1] == "Completed"
    assert {t["id"] for t in shown["task_runs"]} == {TASK_EXTRACT, TASK_LOAD}
    assert shown["subflow_run_ids"] == [RUN_SUBFLOW]


def test_inspect_json_of_an_unknown_run_is_one_line_and_exit_1(history, home):
    from .deploy_cli import cli

    done = cli("flow-run", "inspect", "nope", "--json", home=home)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.strip() == "No flow run with id 'nope'."
