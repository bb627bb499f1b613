"""Orchestration rules: may a run move from its current state to a proposed one?

Pure functions, no I/O: the server reads the current state, asks `decide`, and applies an
accepted transition with a compare-and-set on the state it read (see `transitions.py`), so the
decision and the write cannot be separated by another client's write.

The rules protect what clients must be able to rely on once several processes (a flow's own
process, a crash detector, a user cancelling from the CLI) write to the same run:
- A terminal state (Completed, Failed, Cancelled, Crashed) is final. The only way out is an
  explicit retry: `force=True` with a proposed Scheduled or Pending state, i.e. "run it again".
- Crashed never overwrites a terminal state, force or not: a crash detector acting on a late
  heartbeat must not turn a finished run Crashed (a known flaw of heartbeat-based detection).
- A run being cancelled (Cancelling) may only finish; it is not sent back to work.
Everything else between non-terminal states is accepted: the engine owns that part of the life
cycle (Pending -> Running -> Retrying -> ...), and re-asserting the current state is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mainspring.model import TERMINAL_TYPES, StateType

#: States an explicit retry may send a finished run back to.
RETRY_TYPES = frozenset({StateType.SCHEDULED, StateType.PENDING})


class Status(StrEnum):
    ACCEPT = "ACCEPT"
    REJECT = "REJECT"


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


def cancel_proposal(current: StateType, heartbeat: float | None) -> StateType:
    """What cancelling a run proposes: Cancelled at once for a run no process has taken up
    (Scheduled or Pending, without a heartbeat), else Cancelling, which the process running it
    turns into Cancelled once its next heartbeat tells it (the run stops there). A run waiting
    for a retry (AwaitingRetry, a kind of Scheduled) in a live process has heartbeats."""
    if current in (StateType.SCHEDULED, StateType.PENDING) and heartbeat is None:
        return StateType.CANCELLED
    return StateType.CANCELLING
