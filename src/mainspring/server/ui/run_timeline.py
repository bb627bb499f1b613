"""The Gantt of a flow run, laid out on the server: one row per task (a mapped task's many
runs are one group), one per subflow run.

Why groups: a flow run with 10,000 task runs drawn as 10,000 bars is what crashes browsers
(Prefect's #9774). A row here is a task's span (first start to last end) split into segments
by state, with its count; a group opens (`<details>`) to show its first `MEMBERS_SHOWN` runs
and links to the full, paged list. The page carries a few hundred elements whatever the size
of the run, positions are percentages of the run's span, and no script is needed to read it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from mainspring.model import FlowRun, StateType, TaskRun
from mainspring.server.ui.badges import CHART_ORDER

#: Runs of one group drawn when it is opened; the rest are on the group's paged list.
MEMBERS_SHOWN = 50
#: Rows drawn at most (a flow of thousands of different tasks lists the rest as a count).
MAX_ROWS = 300
#: The narrowest bar, in percent of the span, so an instant task stays visible.
MIN_WIDTH = 0.4


@dataclass(slots=True)
class Bar:
    """Where a bar goes, in percent of the timeline's width."""

    left: float
    width: float


@dataclass(slots=True)
class Segment:
    state_type: StateType
    count: int
    percent: float  # of the group's bar


@dataclass(slots=True)
class Row:
    label: str
    kind: str  # "task" or "subflow"
    count: int
    bar: Bar | None  # None: not started
    segments: list[Segment]
    start: float | None
    end: float | None
    link: str | None = None  # a single run's page
    state: StateType | None = None
    state_name: str | None = None
    members: list[tuple[TaskRun, Bar | None]] = field(default_factory=list)


@dataclass(slots=True)
class Timeline:
    start: float | None
    end: float | None
    rows: list[Row]
    rows_left_out: int
    task_run_count: int

    @property
    def span(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return self.end - self.start


def _ends(runs: list[TaskRun] | list[FlowRun], now: float) -> tuple[float | None, float | None]:
    """The first start and the last end (now, for a run still going) of `runs`."""
    started = [r for r in runs if r.start_time is not None]
    if not started:
        return None, None
    return min(r.start_time for r in started), max(_end_of(r, now) for r in started)  # type: ignore[type-var]


def _bar(start: float | None, end: float | None, t0: float, span: float) -> Bar | None:
    if start is None or end is None:
        return None
    left = max(0.0, min(100.0, (start - t0) / span * 100))
    width = max(MIN_WIDTH, min(100.0 - left, (end - start) / span * 100))
    return Bar(round(left, 3), round(width, 3))


def _segments(counts: Counter[StateType]) -> list[Segment]:
    total = sum(counts.values()) or 1
    return [
        Segment(t, counts[t], round(counts[t] / total * 100, 3)) for t in CHART_ORDER if counts[t]
    ]


def build_timeline(
    run: FlowRun, task_runs: list[TaskRun], subflows: list[FlowRun], now: float
) -> Timeline:
    """The Gantt rows of `run` (task runs grouped by task, subflow runs one each)."""
    groups: dict[str, list[TaskRun]] = {}
    for t in task_runs:
        groups.setdefault(t.task_name, []).append(t)
    first, last = _ends([*task_runs, *subflows], now)
    t0 = run.start_time if run.start_time is not None else first
    t1 = run.end_time if run.end_time is not None else last
    if t0 is not None and last is not None:
        t1 = max(t1 or last, last)
    if t0 is None or t1 is None:
        return Timeline(None, None, [], 0, len(task_runs))
    span = max(t1 - t0, 1e-3)
    rows: list[Row] = []
    for name, members in groups.items():
        start, end = _ends(members, now)
        counts = Counter(m.state.type for m in members)
        row = Row(
            name, "task", len(members), _bar(start, end, t0, span), _segments(counts), start, end
        )
        if len(members) == 1:
            only = members[0]
            row.link = f"/runs/task-run/{only.id}"
            row.state, row.state_name = only.state.type, only.state.name
        else:
            row.members = [
                (m, _bar(m.start_time, _end_of(m, now), t0, span)) for m in members[:MEMBERS_SHOWN]
            ]
        rows.append(row)
    for child in subflows:
        end = _end_of(child, now)
        rows.append(
            Row(
                child.name,
                "subflow",
                1,
                _bar(child.start_time, end, t0, span),
                _segments(Counter([child.state.type])),
                child.start_time,
                end,
                link=f"/runs/flow-run/{child.id}",
                state=child.state.type,
                state_name=child.state.name,
            )
        )
    rows.sort(key=lambda r: (r.start is None, r.start or 0.0))
    left_out = max(0, len(rows) - MAX_ROWS)
    return Timeline(t0, t1, rows[:MAX_ROWS], left_out, len(task_runs))


def _end_of(run: TaskRun | FlowRun, now: float) -> float | None:
    if run.start_time is None:
        return None
    if run.end_time is not None:
        return run.end_time
    return now if not run.state.is_final() else run.state.ts
