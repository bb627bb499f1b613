"""The live part of a running flow run's page beyond its logs: its task runs' timeline rows,
counts and table, and its subflow runs, kept current by small `tasks` events.

Why a tally here rather than the page asking again: re-reading a run of 10,000 task runs
every second per open page is what pegs a server. At the stream's start the page's task runs
are tallied once (a narrow read: id, task, state, span); after that each look at the store
reads only the state rows written since the cursor (`RunChangeFeed`), updates the tally, and
sends what changed: the groups touched (their count by state and span), the changed runs
(at most `RUNS_SENT`, for the rows the page shows one by one) and the run's counts. Looks
are at most every `EVERY` seconds, so a burst of changes is one event, not hundreds.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from mainspring.model import FlowRun, StateType, TaskRun
from mainspring.model.run_changes import TaskRunMark
from mainspring.server.ui.badges import CHART_ORDER, look, state_badge
from mainspring.server.ui.formatting import human_duration

#: Seconds between two `tasks` events at least (changes in between are coalesced).
EVERY = 1.0
#: Changed runs described one by one in an event at most (the groups' tallies are complete).
RUNS_SENT = 500
#: Reads of the change feed in one look at most (each looks at `store.SCAN` state rows).
READS = 4


@dataclass(slots=True)
class GroupTally:
    """One task's runs in the flow run, as the timeline row draws them."""

    count: int = 0
    by_state: dict[StateType, int] = field(default_factory=dict)
    first_start: float | None = None
    last_end: float | None = None
    unfinished: int = 0

    def add(self, mark: TaskRunMark, sign: int) -> None:
        self.count += sign
        self.by_state[mark.state_type] = self.by_state.get(mark.state_type, 0) + sign
        if not self.by_state[mark.state_type]:
            del self.by_state[mark.state_type]
        if mark.start_time is not None and mark.end_time is None:
            self.unfinished += sign
        if sign < 0:  # a run's start and end are only ever set: the span keeps them
            return
        if mark.start_time is not None:
            self.first_start = min(self.first_start or mark.start_time, mark.start_time)
        if mark.end_time is not None:
            self.last_end = max(self.last_end or mark.end_time, mark.end_time)

    def describe(self, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "count": self.count,
            "segments": [
                [t.value.lower(), self.by_state[t]] for t in CHART_ORDER if self.by_state.get(t)
            ],
            "start": self.first_start,
            "end": self.last_end,
            "unfinished": self.unfinished,
        }


def _mark(run: TaskRun) -> TaskRunMark:
    return TaskRunMark(run.id, run.task_name, run.state.type, run.start_time, run.end_time)


def _run(run: TaskRun) -> dict[str, Any]:
    duration = run.end_time - run.start_time if run.end_time and run.start_time else None
    return {
        "id": run.id,
        "task": run.task_name,
        "name": run.name,
        **_state_and_span(run),
        "duration": human_duration(duration) if duration is not None else "\u2014",
        "attempts": run.run_count,
        "error": run.state.message if run.state.type in _ERRORS else None,
    }


def _subflow(run: FlowRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "name": run.name,
        "flow": run.flow_name,
        **_state_and_span(run),
    }


def _state_and_span(run: TaskRun | FlowRun) -> dict[str, Any]:
    """A run's state (its look's css class and its badge) and its start and end."""
    return {
        "state": look(run.state.type, run.state.name).css,
        "badge": str(state_badge(run.state.type, run.state.name)),
        "start": run.start_time,
        "end": run.end_time,
    }


_ERRORS = (StateType.FAILED, StateType.CRASHED)


class TaskWatch:
    """Follows one flow run's task runs and subflow runs from `cursor` on (the page's)."""

    def __init__(self, store: Any, flow_run_id: str, cursor: int) -> None:
        self._store, self._run_id, self._cursor = store, flow_run_id, cursor
        self._marks: dict[str, TaskRunMark] = {}
        self._groups: dict[str, GroupTally] = {}
        for mark in store.read_task_run_marks(flow_run_id):
            self._marks[mark.id] = mark
            self._group(mark.task_name).add(mark, 1)
        self._due = 0.0

    def _group(self, name: str) -> GroupTally:
        group = self._groups.get(name)
        if group is None:
            group = self._groups[name] = GroupTally()
        return group

    def due(self) -> bool:
        return time.monotonic() >= self._due

    def look(self) -> str | None:
        """The `tasks` event's data (JSON) for what changed since the last look, or None."""
        self._due = time.monotonic() + EVERY
        runs: dict[str, TaskRun] = {}
        subflows: dict[str, FlowRun] = {}
        for _ in range(READS):
            changes = self._store.read_run_changes(self._run_id, self._cursor)
            self._cursor = changes.cursor
            runs.update((t.id, t) for t in changes.task_runs)
            subflows.update((r.id, r) for r in changes.subflows)
            if not changes.more:
                break
        if not runs and not subflows:
            return None
        touched: dict[str, None] = {}
        for run in runs.values():
            mark, old = _mark(run), self._marks.get(run.id)
            if old is not None:
                self._group(old.task_name).add(old, -1)
            self._group(mark.task_name).add(mark, 1)
            self._marks[run.id] = mark
            touched[mark.task_name] = None
        counts: dict[StateType, int] = {}
        for group in self._groups.values():
            for state, n in group.by_state.items():
                counts[state] = counts.get(state, 0) + n
        payload = {
            "cursor": self._cursor,
            "now": time.time(),
            "total": len(self._marks),
            "counts": f"{len(self._marks):,}"
            + "".join(
                f" · {state_badge(t)} {n:,}"
                for t, n in sorted(counts.items(), key=lambda kv: -kv[1])
            ),
            "groups": [self._groups[name].describe(name) for name in touched],
            "runs": [_run(r) for r in list(runs.values())[:RUNS_SENT]],
            "subflows": [_subflow(r) for r in subflows.values()],
        }
        return json.dumps(payload, separators=(",", ":"))
