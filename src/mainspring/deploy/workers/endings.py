"""What the runners' shared loop (deploy/workers/base.py) does to a run from outside it, in
the store: ask it to cancel, see whether a cancel was asked, end it when its job could not,
end it at once when its job could not start.

Each takes the runner's `logger` so the lines name the runner they came from; each is
best-effort (the store may be away: the runner tries again at its next check)."""

from __future__ import annotations

import logging

from mainspring.model.orchestration import cancel_proposal
from mainspring.model.runs import FlowRun
from mainspring.model.states import Crashed, State
from mainspring.store.base import Store

__all__ = ["ask_cancel", "cancel_asked", "crash_now", "free_slots", "record_end", "unfinished"]


def free_slots(limit: int | None, running: int) -> int:
    """How many more runs may start now (a large number when unlimited)."""
    if limit is None:
        return 1_000
    return max(0, limit - running)


def ask_cancel(store: Store, run_id: str, label: str, logger: logging.Logger) -> None:
    """Cancelling (or Cancelled for a run not started): the run ends itself Cancelled at its
    next heartbeat; the runner stops its process only after a grace."""
    try:
        run = store.read_flow_run(run_id)
        proposal = cancel_proposal(run.state.type, run.heartbeat)
        store.set_state(run_id, State(proposal, message="Cancelled by its runner"))
    except Exception:
        logger.exception("Flow run %s: could not mark it Cancelling", label)


def cancel_asked(store: Store, run_id: str) -> bool:
    """Whether someone asked the run to cancel (False when the store is away: next check)."""
    try:
        state = store.read_flow_run(run_id).state
    except Exception:
        return False
    return state.is_cancelling() or state.is_cancelled()


def unfinished(
    store: Store, run_id: str, label: str, where: str, logger: logging.Logger
) -> FlowRun | None:
    """The run if it still needs ending after its `where` ("process", "container", "pod")
    is gone; None when it ended itself or cannot be read."""
    try:
        run = store.read_flow_run(run_id)
    except Exception:
        logger.exception("Flow run %s: could not read it after its %s", label, where)
        return None
    return None if run.state.is_final() else run


def record_end(store: Store, run_id: str, label: str, state: State, logger: logging.Logger) -> None:
    """End the run in `state` (compare-and-set under the state rules) and say what happened."""
    outcome = store.set_state(run_id, state)
    logger.log(
        logging.WARNING if outcome.accepted else logging.INFO,
        "Flow run %s: %s",
        label,
        state.message if outcome.accepted else f"left {outcome.state.name}",
    )


def crash_now(store: Store, run_id: str, label: str, message: str, logger: logging.Logger) -> None:
    """A run that could not start at all: Crashed with the reason."""
    logger.error("Flow run %s: %s", label, message)
    try:
        store.set_state(run_id, Crashed(message=message))
    except Exception:
        logger.exception("Flow run %s: could not record that it crashed", label)
