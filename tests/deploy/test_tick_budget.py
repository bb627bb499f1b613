"""A tick's time budget: pieces sized by the measured pace, none once the budget is spent
but a phase's first, and no limit without a budget. No timing: the budgets here are spent
at once or never."""

from __future__ import annotations

from pathlib import Path

import pytest

from mainspring.deploy.scheduler import Scheduler
from mainspring.deploy.tick_budget import MIN_PIECE, PIECE_SHARE, Pace, TickBudget
from mainspring.store.sql import SqlStore


def test_a_spent_budget_gives_no_piece_but_a_phases_first() -> None:
    spent = TickBudget(1e-9)
    assert spent.left() < 0
    assert spent.piece(Pace()) == 0
    assert spent.piece(Pace(), first=True) == MIN_PIECE


def test_pieces_follow_the_measured_pace() -> None:
    budget = TickBudget(1000.0)  # never spent here: a piece is PIECE_SHARE of it
    pace = Pace(per_run=1.0)
    assert budget.piece(pace) == int(1000 * PIECE_SHARE)
    pace.measured(250, 1000.0)  # slower: 4 s a run, mean with 1 s
    assert pace.per_run == 2.5
    assert budget.piece(pace) == 100
    slow = Pace(per_run=1000.0)  # slower than a piece holds: MIN_PIECE all the same
    assert budget.piece(slow) == MIN_PIECE
    assert budget.piece(pace, share=0.0) == 0  # that share is spent


def test_no_budget_no_limit() -> None:
    unlimited = TickBudget(None)
    assert unlimited.left() == float("inf")
    assert unlimited.piece(Pace(per_run=1e9)) >= 2**31 - 1


@pytest.mark.parametrize("budget", [0, -1.0])
def test_a_budget_must_be_positive(tmp_path: Path, budget: float) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        with pytest.raises(ValueError, match="budget"):
            Scheduler(store, budget=budget)
    finally:
        store.close()
