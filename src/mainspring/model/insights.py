"""Aggregates of the run history, for overviews (the web UI's dashboard and lists)."""

from __future__ import annotations

from dataclasses import dataclass

from mainspring.model.states import StateType


@dataclass(frozen=True, slots=True)
class StateBucket:
    """How many runs of one state type fell in one time bucket (0 = the window's first)."""

    bucket: int
    state_type: StateType
    count: int


@dataclass(frozen=True, slots=True)
class FlowStats:
    """One flow's runs in a window: how many, how they ended, when the last one started."""

    flow_name: str
    runs: int
    completed: int
    failed: int  # Failed or Crashed
    last_run: float | None  # the latest start (or creation, for runs not started)

    @property
    def finished(self) -> int:
        return self.completed + self.failed

    @property
    def success_rate(self) -> float | None:
        """Completed among the runs that completed or failed; None when none did."""
        return self.completed / self.finished if self.finished else None


@dataclass(frozen=True, slots=True)
class RunPoint:
    """A flow run reduced to what a duration-over-time chart needs."""

    id: str
    name: str
    state_type: StateType
    state_name: str
    start_time: float
    duration: float
