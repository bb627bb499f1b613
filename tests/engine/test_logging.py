"""Run logs: Prefect-style console lines, and every line stored with its flow run and task run."""

from __future__ import annotations

import logging
import re

import pytest

from mainspring import MainspringError, flow, get_run_logger, task

from .support import log_messages, only_flow_run

LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} \| (?P<level>[A-Z]+) *\| (?P<label>.+?) - (?P<msg>.*)$")


def console_lines(err: str) -> list[tuple[str, str, str]]:
    """(level, label, message) of each run log line on stderr; other lines are left out."""
    found = []
    for line in err.splitlines():
        match = LINE.match(line)
        if match:
            found.append((match["level"], match["label"], match["msg"]))
    return found


def test_console_lines_follow_prefects_format(store, capfd):
    @task
    def extract():
        return 1

    @flow
    def etl():
        return extract()

    etl()
    err = capfd.readouterr().err
    run = only_flow_run(store, "etl")
    assert re.fullmatch(r"[a-z]+-[a-z]+", run.name)
    flow_label, task_label = f"Flow run '{run.name}'", "Task run 'extract-0'"
    assert console_lines(err) == [
        ("INFO", flow_label, f"Beginning flow run '{run.name}' for flow 'etl'"),
        ("INFO", flow_label, "Created task run 'extract-0' for task 'extract'"),
        ("INFO", task_label, "Finished in state Completed()"),
        ("INFO", flow_label, "Finished in state Completed()"),
    ]
    # exact column layout: level padded to 7, pipes surrounded by single spaces
    first = err.splitlines()[0]
    assert re.match(r"^\d\d:\d\d:\d\d\.\d{3} \| INFO    \| Flow run '", first), first


def test_failure_lines_are_errors_with_a_traceback(store, capfd):
    @task
    def bad():
        raise ValueError("broken input")

    @flow
    def etl():
        bad()

    with pytest.raises(ValueError):
        etl()
    err = capfd.readouterr().err
    lines = console_lines(err)
    assert (
        "ERROR",
        "Task run 'bad-0'",
        "Task run failed with exception: ValueError('broken input')",
    ) in lines
    assert any(
        level == "ERROR"
        and msg.startswith("Finished in state Failed(message='Flow run encountered")
        for level, _, msg in lines
    )
    assert "Traceback (most recent call last):" in err
    run = only_flow_run(store, "etl")
    stored = [log for log in store.read_logs(run.id) if log.level == logging.ERROR]
    assert any("Traceback" in log.message for log in stored)


def test_get_run_logger_lines_are_stored_with_their_run(store, capfd):
    @task
    def work():
        get_run_logger().warning("from the task %s", 1)
        return 1

    @flow
    def etl():
        get_run_logger().info("from the flow")
        return work()

    etl()
    run = only_flow_run(store, "etl")
    (task_run,) = store.read_task_runs(run.id)
    logs = store.read_logs(run.id)
    flow_line = next(log for log in logs if log.message == "from the flow")
    assert flow_line.task_run_id is None and flow_line.level == logging.INFO
    assert flow_line.logger == "mainspring.flow_runs"
    task_line = next(log for log in logs if log.message == "from the task 1")
    assert task_line.task_run_id == task_run.id and task_line.level == logging.WARNING
    assert task_line.logger == "mainspring.task_runs"
    assert "from the task 1" in log_messages(store, run.id, task_run.id)
    lines = console_lines(capfd.readouterr().err)
    assert ("WARNING", "Task run 'work-0'", "from the task 1") in lines
    assert ("INFO", f"Flow run '{run.name}'", "from the flow") in lines


def test_get_run_logger_outside_a_run_is_a_clear_error():
    with pytest.raises(MainspringError, match=r"get_run_logger\(\) needs a run context"):
        get_run_logger()


def test_log_prints_captures_print_as_run_logs(store, capfd):
    @task
    def shout():
        print("printed in the task")

    @flow(log_prints=True)
    def noisy():
        print("printed in the flow")
        shout()

    noisy()
    out, err = capfd.readouterr()
    assert "printed in the flow" not in out and "printed in the task" not in out
    run = only_flow_run(store, "noisy")
    (task_run,) = store.read_task_runs(run.id)
    assert "printed in the flow" in log_messages(store, run.id)
    assert "printed in the task" in log_messages(store, run.id, task_run.id)
    assert ("INFO", "Task run 'shout-0'", "printed in the task") in console_lines(err)


def test_prints_are_plain_prints_without_log_prints(store, capfd):
    @flow
    def quiet():
        print("just a print")

    @flow(log_prints=True)
    def other():  # enables capture in this process: quiet must still print normally
        print("captured")

    other()
    quiet()
    out, _ = capfd.readouterr()
    assert "just a print" in out
    assert "just a print" not in log_messages(store, only_flow_run(store, "quiet").id)


def test_task_log_prints_false_overrides_the_flow(store, capfd):
    @task(log_prints=False)
    def plain():
        print("stays a print")

    @flow(log_prints=True)
    def noisy():
        plain()

    noisy()
    assert "stays a print" in capfd.readouterr().out


def test_print_to_another_file_is_not_captured(store, capfd):
    import sys

    @flow(log_prints=True)
    def noisy():
        print("to stderr", file=sys.stderr)

    noisy()
    assert "to stderr" not in log_messages(store, only_flow_run(store, "noisy").id)


def test_logging_level_setting_is_respected(store, capfd, set_logging_level):
    set_logging_level("WARNING")

    @flow
    def etl():
        get_run_logger().info("info line")
        get_run_logger().warning("warning line")

    etl()
    messages = log_messages(store, only_flow_run(store, "etl").id)
    assert messages == ["warning line"]
    err = capfd.readouterr().err
    assert "warning line" in err and "info line" not in err and "Beginning flow run" not in err


def test_debug_level_shows_debug_lines(store, capfd, set_logging_level):
    set_logging_level("debug")

    @flow
    def etl():
        get_run_logger().debug("debug line")

    etl()
    assert "debug line" in log_messages(store, only_flow_run(store, "etl").id)
    assert (
        "DEBUG",
        f"Flow run '{only_flow_run(store, 'etl').name}'",
        "debug line",
    ) in console_lines(capfd.readouterr().err)


def test_a_runs_console_lines_are_out_before_the_flow_returns(store, capfd):
    import sys

    @task
    def step():
        return 1

    @flow
    def etl():
        return step()

    @task
    def lone():
        return 2

    etl()
    sys.stderr.write("AFTER FLOW\n")
    lone()
    sys.stderr.write("AFTER TASK\n")
    err = capfd.readouterr().err
    # the flow's closing line is already written when the caller's next line is
    flow_end = err.rindex(" - Finished in state Completed()", 0, err.index("AFTER FLOW"))
    assert "Flow run '" in err[err.rindex("\n", 0, flow_end) : flow_end]
    assert err.index("Task run 'lone-") < err.index("AFTER TASK")
