"""`mainspring flow-run logs`."""

from __future__ import annotations

import pytest

from .history import RUN_FAILED, RUN_OK, RUN_SUBFLOW, TASK_LOAD, TASK_OTHER, invoke

ALL_MESSAGES = [
    "Starting flow [bold]etl[/bold]",
    "read 3 rows",
    "disk full, will retry",
    "loaded 3 rows",
    "Finished in state Completed()",
]


def messages(output: str) -> list[str]:
    return [line.split(" | ", 1)[1] for line in output.splitlines() if " | " in line]


def test_logs_prints_every_line_oldest_first_with_level_and_source(history):
    result = invoke("flow-run", "logs", RUN_OK)

    assert result.exit_code == 0, result.output
    assert messages(result.stdout) == ALL_MESSAGES  # markup in messages is printed as is
    lines = result.stdout.splitlines()
    assert lines[0].split()[2:4] == ["INFO", "brave-fox"]
    assert lines[1].split()[2:4] == ["DEBUG", "extract-0"]
    assert lines[2].split()[2:4] == ["WARNING", "load-0"]
    assert lines[0][:4].isdigit() and lines[0][4] == "-"  # starts with the date


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("warning", ["disk full, will retry"]),
        ("INFO", [m for m in ALL_MESSAGES if m != "read 3 rows"]),
        ("30", ["disk full, will retry"]),
    ],
)
def test_logs_level_filters(history, level, expected):
    result = invoke("flow-run", "logs", RUN_OK, "--level", level)

    assert result.exit_code == 0, result.output
    assert messages(result.stdout) == expected


def test_logs_of_one_task_run(history):
    result = invoke("flow-run", "logs", RUN_OK, "--task-run", TASK_LOAD)

    assert result.exit_code == 0, result.output
    assert messages(result.stdout) == ["disk full, will retry", "loaded 3 rows"]


def test_logs_with_a_bad_level_is_a_usage_error(history):
    result = invoke("flow-run", "logs", RUN_OK, "--level", "loud")

    assert result.exit_code == 2
    assert "not a log level" in result.stderr


def test_logs_of_an_unknown_task_run(history):
    result = invoke("flow-run", "logs", RUN_OK, "--task-run", "nope")

    assert result.exit_code == 1
    assert result.stderr == "No task run with id 'nope'.\n"
    assert "Traceback" not in result.output


def test_logs_of_a_task_run_of_another_flow_run(history):
    result = invoke("flow-run", "logs", RUN_OK, "--task-run", TASK_OTHER)

    assert result.exit_code == 1
    assert "does not belong to flow run" in result.stderr


def test_logs_of_a_run_without_logs(history):
    result = invoke("flow-run", "logs", RUN_SUBFLOW)

    assert result.exit_code == 0
    assert result.stdout == ""
    assert "no logs" in result.stderr


def test_logs_of_a_failed_run(history):
    result = invoke("flow-run", "logs", RUN_FAILED, "--level", "error")

    assert result.exit_code == 0
    assert messages(result.stdout) == ["boom"]
