"""The orchestration rules as a table: every (current, proposed) pair, written out by hand.

Each row is a current (stored) state type, each column a proposed (snapshot) one, in the order
of COLUMNS; `A`/`+` accepts, `.` rejects. A change to the rules shows up here as a changed
letter, which is the point: the table is the specification the code must keep.
"""

from __future__ import annotations

import pytest

from mainspring.model.orchestration import (
    ENDED_FROM_OUTSIDE,
    RETRY_TYPES,
    SET_FROM_OUTSIDE,
    TERMINAL_TYPES,
    Status,
    cancel_proposal,
    decide,
    snapshot_may_replace,
)
from mainspring.model.states import StateType as T

COLUMNS = [T.SCHEDULED, T.PENDING, T.RUNNING, T.PAUSED, T.CANCELLING]
COLUMNS += [T.COMPLETED, T.FAILED, T.CANCELLED, T.CRASHED]

#                     Sch Pen Run Pau Cng   Com Fai Can Cra
DECIDE = {
    T.SCHEDULED:  "    A   A   A   A   A     A   A   A   A",
    T.PENDING:    "    A   A   A   A   A     A   A   A   A",
    T.RUNNING:    "    A   A   A   A   A     A   A   A   A",
    T.PAUSED:     "    A   A   A   A   A     A   A   A   A",
    T.CANCELLING: "    .   .   .   .   .     A   A   A   A",
    T.COMPLETED:  "    .   .   .   .   .     .   .   .   .",
    T.FAILED:     "    .   .   .   .   .     .   .   .   .",
    T.CANCELLED:  "    .   .   .   .   .     .   .   .   .",
    T.CRASHED:    "    .   .   .   .   .     .   .   .   .",
}  # fmt: skip

#: With force: only a retry (Scheduled or Pending) leaves a terminal state; nothing else changes.
DECIDE_FORCED = {
    **DECIDE,
    T.COMPLETED:  "    A   A   .   .   .     .   .   .   .",
    T.FAILED:     "    A   A   .   .   .     .   .   .   .",
    T.CANCELLED:  "    A   A   .   .   .     .   .   .   .",
    T.CRASHED:    "    A   A   .   .   .     .   .   .   .",
}  # fmt: skip

#: A snapshot from the run's own process over what is stored (`+`: it replaces the row). A
#: Completed run is not sent back to Pending by a resumed attempt's record of the same key.
SNAPSHOT = {
    T.SCHEDULED:  "    +   +   +   +   +     +   +   +   +",
    T.PENDING:    "    +   +   +   +   +     +   +   +   +",
    T.RUNNING:    "    +   +   +   +   +     +   +   +   +",
    T.PAUSED:     "    +   +   +   +   +     +   +   +   +",
    T.CANCELLING: "    .   .   .   .   .     +   +   +   +",
    T.COMPLETED:  "    .   .   +   +   +     +   +   +   +",
    T.FAILED:     "    +   +   +   +   +     +   +   +   +",
    T.CANCELLED:  "    +   +   .   .   .     +   +   +   +",
    T.CRASHED:    "    +   +   .   .   .     +   +   +   +",
}  # fmt: skip


def cells(row: str) -> list[bool]:
    marks = row.split()
    assert len(marks) == len(COLUMNS)
    return [mark in "A+" for mark in marks]


def test_the_tables_cover_every_state_type() -> None:
    assert sorted(COLUMNS) == sorted(T)
    for table in (DECIDE, DECIDE_FORCED, SNAPSHOT):
        assert sorted(table) == sorted(T)


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("current", list(T))
def test_decide_follows_the_table(current: T, force: bool) -> None:
    table = DECIDE_FORCED if force else DECIDE
    got = [
        decide(current, current.title(), proposed, proposed.title(), force).status is Status.ACCEPT
        for proposed in COLUMNS
    ]
    assert got == cells(table[current])


@pytest.mark.parametrize("stored", list(T))
def test_snapshot_may_replace_follows_the_table(stored: T) -> None:
    got = [snapshot_may_replace(stored, snapshot) for snapshot in COLUMNS]
    assert got == cells(SNAPSHOT[stored])


def test_the_named_sets() -> None:
    assert {T.COMPLETED, T.FAILED, T.CANCELLED, T.CRASHED} == TERMINAL_TYPES
    assert {T.SCHEDULED, T.PENDING} == RETRY_TYPES
    assert {T.CANCELLING, T.CANCELLED, T.CRASHED} == SET_FROM_OUTSIDE
    assert ENDED_FROM_OUTSIDE == SET_FROM_OUTSIDE & TERMINAL_TYPES


@pytest.mark.parametrize(
    ("current", "heartbeat", "proposed"),
    [
        (T.SCHEDULED, None, T.CANCELLED),  # no process has it: cancelled at once
        (T.PENDING, None, T.CANCELLED),
        (T.SCHEDULED, 1.0, T.CANCELLING),  # AwaitingRetry in a live process
        (T.PENDING, 1.0, T.CANCELLING),
        (T.RUNNING, None, T.CANCELLING),  # the process stops it at its next heartbeat
        (T.RUNNING, 1.0, T.CANCELLING),
        (T.PAUSED, None, T.CANCELLING),
    ],
)
def test_cancel_proposal(current: T, heartbeat: float | None, proposed: T) -> None:
    assert cancel_proposal(current, heartbeat) is proposed
