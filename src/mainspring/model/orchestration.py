"""Orchestration rules: which state may follow which. The one copy; pure, no I/O.

Several writers touch the same run: its own process (the engine, through snapshots the store
upserts), the server's API and the CLI (cancel, retry), the crash detector. The rules protect
what each of them must be able to rely on:
- A terminal state (Completed, Failed, Cancelled, Crashed) is final. The only way out is an
  explicit retry: `force=True` with a proposed Scheduled or Pending state, i.e. "run it again".
- Crashed never overwrites a terminal state, force or not: a crash detector acting on a late
  heartbeat must not turn a finished run Crashed (a known flaw of heartbeat-based detection).
- A run being cancelled (Cancelling) may only finish; it is not sent back to work.
Everything else between non-terminal states is accepted: the engine owns that part of the life
cycle (Pending -> Running -> Retrying -> ...), and re-asserting the current state is harmless.

`decide` judges a proposal made from outside the run (`Store.set_state` applies it with a
compare-and-set and answers an `Outcome`); `snapshot_may_replace` judges a snapshot from the
run's own process (the store's upsert applies it in SQL built from the same sets); the engine
keeps a run it sees ended from outside (`ENDED_FROM_OUTSIDE`) from being brought back to life
by its own thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mainspring.model.states import TERMINAL_TYPES, State, StateType

__all__ = [
    "ENDED_FROM_OUTSIDE",
    "RETRY_TYPES",
    "SET_FROM_OUTSIDE",
    "TERMINAL_TYPES",
    "Decision",
    "Outcome",
    "Status",
    "abort",
    "accept",
    "cancel_proposal",
    "decide",
    "reject",
    "snapshot_may_replace",
]

#: States an explicit retry may send a finished run back to.
RETRY_TYPES = frozenset({StateType.SCHEDULED, StateType.PENDING})

#: States the server, the CLI or the crash detector set on a run behind its process's back.
SET_FROM_OUTSIDE = frozenset({StateType.CANCELLING, StateType.CANCELLED, StateType.CRASHED})

#: The terminal ones among them: the run was ended by someone else (its flow run crashed or
#: was cancelled, a user cancelled it, the crash detector gave up on it).
ENDED_FROM_OUTSIDE = frozenset({StateType.CANCELLED, StateType.CRASHED})


class Status(StrEnum):
    ACCEPT = "ACCEPT"  #: the run entered the proposed state
    REJECT = "REJECT"  #: the rules refuse it for the run's current state
    ABORT = "ABORT"  #: not decided: the run kept changing under the proposal; try again


@dataclass(frozen=True, slots=True)
class Decision:
    status: Status
    reason: str

    @property
    def accepted(self) -> bool:
        return self.status is Status.ACCEPT


def accept(reason: str) -> Decision:
    return Decision(Status.ACCEPT, reason)


def reject(reason: str) -> Decision:
    return Decision(Status.REJECT, reason)


def abort(reason: str) -> Decision:
    return Decision(Status.ABORT, reason)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a state proposed from outside a run (`Store.set_state`): the decision,
    and the run's state after it (the new state when accepted, else the one it kept)."""

    decision: Decision
    state: State

    @property
    def accepted(self) -> bool:
        return self.decision.accepted


def decide(
    current: StateType,
    current_name: str,
    proposed: StateType,
    proposed_name: str,
    force: bool = False,
) -> Decision:
    """Whether a run in `current` may enter `proposed`, and why (the reason is shown to users)."""
    if current in TERMINAL_TYPES:
        if proposed is StateType.CRASHED:
            return reject(f"The run is already {current_name}; a finished run cannot crash.")
        if force and proposed in RETRY_TYPES:
            return accept(f"Explicit retry: {current_name} -> {proposed_name}.")
        if force:
            return reject(
                f"The run is {current_name}; a forced transition out of a terminal state must "
                "be a retry to Scheduled or Pending."
            )
        return reject(
            f"The run is already {current_name}, a terminal state; only an explicit retry "
            "(force=true with Scheduled or Pending) can move it."
        )
    if current is StateType.CANCELLING and proposed not in TERMINAL_TYPES:
        return reject(f"The run is being cancelled; it can finish but not become {proposed_name}.")
    return accept(f"{current_name} -> {proposed_name}.")


def snapshot_may_replace(stored: StateType, snapshot: StateType, newer: bool = True) -> bool:
    """Whether a run snapshot from the run's own process may overwrite the stored state.

    Snapshots are the process's view, queued and written a little later; meanwhile the CLI or
    the server may have moved the run to Cancelling or Cancelled, or the crash detector to
    Crashed. A stale snapshot must not undo that, so over those states only these replace:
    - a terminal state (Completed, Failed, Cancelled, Crashed): the process finished the run
      itself, which is the truth. A presumed Crashed is replaced too: a process that reports
      an outcome was alive (its heartbeats were late, say, behind a long call holding the GIL),
      and its outcome is worth more than the guess;
    - Scheduled or Pending over Cancelled or Crashed: an explicit retry of a finished run
      (`mainspring flow-run retry` writes AwaitingRetry first), as `decide` allows with force,
      if its state is `newer` than the stored one (by timestamp). A retry's state is made after
      the ending it lifts; the state a run's process read before a pause or a cancel ended the
      run (its Pending, written back with the process's pid) is older, and must not revive it.
    Everything else (Running, Retrying, AwaitingRetry over Cancelling) is a stale snapshot and
    leaves the row alone; the process learns of the change from its next heartbeat.
    And a Completed run is never sent back to Scheduled or Pending by a snapshot: a resumed
    flow run records each call Pending under the id of the earlier attempt's run of its key
    before it finds that run's persisted result (and ends it Completed again); a kill in
    between must not leave a finished task Pending. A run that really runs again (its result
    was not kept) replaces it from Running on.
    The store applies this rule in SQL (`store/sql/upserts.py`), built from the same sets.
    """
    if stored is StateType.COMPLETED and snapshot in RETRY_TYPES:
        return False
    return (
        stored not in SET_FROM_OUTSIDE
        or snapshot in TERMINAL_TYPES
        or (stored in ENDED_FROM_OUTSIDE and snapshot in RETRY_TYPES and newer)
    )


def cancel_proposal(current: StateType, heartbeat: float | None) -> StateType:
    """What cancelling a run proposes: Cancelled at once for a run no process has taken up
    (Scheduled or Pending, without a heartbeat), else Cancelling, which the process running it
    turns into Cancelled once its next heartbeat tells it (the run stops there). A run waiting
    for a retry (AwaitingRetry, a kind of Scheduled) in a live process has heartbeats."""
    if current in (StateType.SCHEDULED, StateType.PENDING) and heartbeat is None:
        return StateType.CANCELLED
    return StateType.CANCELLING
