"""The orchestration rules as pure functions: every (current, proposed, force) combination."""

from __future__ import annotations

import pytest

from mainspring.model import TERMINAL_TYPES, StateType
from mainspring.model.orchestration import RETRY_TYPES, Status, decide

T = StateType
ACTIVE = [t for t in StateType if t not in TERMINAL_TYPES]


def check(current: StateType, proposed: StateType, force: bool = False) -> Status:
    return decide(current, current.value.title(), proposed, proposed.value.title(), force).status


@pytest.mark.parametrize("current", sorted(TERMINAL_TYPES))
@pytest.mark.parametrize("proposed", list(StateType))
def test_nothing_leaves_a_terminal_state_without_force(current, proposed):
    assert check(current, proposed) is Status.REJECT


@pytest.mark.parametrize("current", sorted(TERMINAL_TYPES))
@pytest.mark.parametrize("proposed", sorted(RETRY_TYPES))
def test_an_explicit_retry_leaves_a_terminal_state(current, proposed):
    assert check(current, proposed, force=True) is Status.ACCEPT


@pytest.mark.parametrize("current", sorted(TERMINAL_TYPES))
@pytest.mark.parametrize("proposed", [t for t in StateType if t not in RETRY_TYPES])
def test_force_only_allows_a_retry(current, proposed):
    assert check(current, proposed, force=True) is Status.REJECT


@pytest.mark.parametrize("force", [False, True])
def test_crashed_never_overwrites_completed(force):
    decision = decide(T.COMPLETED, "Completed", T.CRASHED, "Crashed", force)
    assert decision.status is Status.REJECT
    assert "cannot crash" in decision.reason


@pytest.mark.parametrize("current", ACTIVE)
@pytest.mark.parametrize("proposed", list(StateType))
def test_active_runs_move_freely_except_out_of_cancelling(current, proposed):
    expected = Status.ACCEPT
    if current is T.CANCELLING and proposed not in TERMINAL_TYPES:
        expected = Status.REJECT
    assert check(current, proposed) is expected


def test_reasons_name_the_states():
    decision = decide(T.FAILED, "TimedOut", T.RUNNING, "Running")
    assert "TimedOut" in decision.reason and "retry" in decision.reason
    assert decide(T.PENDING, "Pending", T.RUNNING, "Running").reason == "Pending -> Running."
