"""User text the CLI prints or is given that could break it (issue 10): rich markup and emoji
codes in stored names are printed as written, and a non-UTF-8 byte in an argument (a lone
surrogate in argv) gets a correct result or a one-line error, never a traceback."""

from __future__ import annotations

import os
import time

import pytest

from mainspring.model import FlowRecord, FlowRun, LogRecord, State, StateType, TaskRun
from mainspring.store import Batch, Store

from .history import invoke

MARKUP_RUN = "55555555-5555-4555-8555-555555555555"
BYTES_RUN = "66666666-6666-4666-8666-666666666666"
#: A name as Python sees a non-UTF-8 file name: "x\udcff" (stored as "x\ufffd").
NOT_UTF8 = os.fsdecode(b"x\xff")


@pytest.fixture
def hostile_history(store: Store) -> None:
    now = time.time()
    batch = Batch()
    for run_id, text in ((MARKUP_RUN, "[/]"), (BYTES_RUN, NOT_UTF8)):
        batch.flows[text] = FlowRecord(text, description=":x: [bold]d[/bold]", created=now)
        batch.flow_runs[run_id] = FlowRun(
            run_id,
            f"{text} [link=file:///etc/passwd]run[/link]",
            text,
            State(StateType.FAILED, message="[red]boom[/] :x:", ts=now),
            parameters={"[/]": "[/]"},
            tags=[text],
            created=now,
            start_time=now,
            end_time=now,
        )
        task = TaskRun(f"{run_id[:-1]}0", "[/]", "[/]", "t-0", State(StateType.COMPLETED))
        task.flow_run_id = run_id
        batch.task_runs[task.id] = task
        batch.logs.append(LogRecord(run_id, None, 20, "l", "[/] :x:", now))
    store.write(batch)


def test_markup_in_stored_text_is_printed_as_written(hostile_history):
    """On the old code a flow named `[/]` made `flow-run ls` fail with rich's MarkupError."""
    listed = invoke("flow-run", "ls")
    assert listed.exit_code == 0, repr(listed.exception)
    assert "[/]" in listed.stdout and "[link=file:///etc/passwd]run[/link]" in listed.stdout

    shown = invoke("flow-run", "inspect", MARKUP_RUN)
    assert shown.exit_code == 0, repr(shown.exception)
    assert "[red]boom[/] :x:" in shown.stdout  # no style applied, no emoji substituted

    logs = invoke("flow-run", "logs", MARKUP_RUN)
    assert logs.exit_code == 0 and "[/] :x:" in logs.stdout

    flows = invoke("flow", "ls")
    assert flows.exit_code == 0, repr(flows.exception)
    assert ":x: [bold]d[/bold]" in flows.stdout


@pytest.mark.parametrize("option", ["--flow", "--tag"])
def test_a_filter_with_a_non_utf8_byte_finds_the_run_stored_with_its_replacement(
    hostile_history, option
):
    """The name as given matches the name as stored (U+FFFD for the byte). On the old code the
    database driver raised UnicodeEncodeError."""
    listed = invoke("flow-run", "ls", option, NOT_UTF8)
    assert listed.exit_code == 0, repr(listed.exception)
    assert BYTES_RUN in listed.stdout and MARKUP_RUN not in listed.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("inspect", NOT_UTF8),
        ("logs", NOT_UTF8),
        ("logs", BYTES_RUN, "--task-run", NOT_UTF8),
        ("retry", NOT_UTF8),
        ("cancel", NOT_UTF8),
    ],
)
def test_an_id_with_a_non_utf8_byte_is_a_one_line_error(hostile_history, args):
    """On the old code each of these ended in an uncaught UnicodeEncodeError."""
    result = invoke("flow-run", *args)
    assert result.exit_code == 1, repr(result.exception)
    assert result.stderr.count("\n") == 1 and "with id 'x\\udcff'" in result.stderr
