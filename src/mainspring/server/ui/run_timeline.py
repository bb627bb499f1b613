"""The Gantt of a flow run, laid out on the server: one row per task (a mapped task's many
runs are one group), one per subflow run.

Why groups: a flow run with 10,000 task runs drawn as 10,000 bars is what crashes browsers
(Prefect's #9774). A row here is a task's span (first start to last end) split into segments
by state, with its count; a group opens (`<details>`) to show its first `MEMBERS_SHOWN` runs
and links to the full, paged list. The page carries a few hundred elements whatever the size
of the run, positions are percentages of the run's span, and no script is needed to read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mainspring.model import FlowRun, StateType, TaskRun
from mainspring.model.task_groups import TaskGroup
from mainspring.server.ui.badges import CHART_ORDER
from mainspring.server.ui.formatting import human_duration
from mainspring.server.ui.templating import environment

#: Runs of one group drawn when it is opened; the rest are on the group's paged list.
MEMBERS_SHOWN = 50
#: Groups whose runs are drawn when opened (the others link to their list only).
GROUPS_OPENED = 20
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
    run_id: str | None = None  # a subflow row's run
    final_end: float | None = None  # of its finished runs (`end` is now while some go on)
    unfinished: int = 0  # runs started and not ended
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


def _end_of(run: TaskRun | FlowRun, now: float) -> float | None:
    if run.start_time is None:
        return None
    if run.end_time is not None:
        return run.end_time
    return now if not run.state.is_final() else run.state.ts


def _group_end(group: TaskGroup, now: float) -> float | None:
    if group.first_start is None:
        return None
    return now if group.unfinished else (group.last_end or group.first_start)


def _bar(start: float | None, end: float | None, t0: float, span: float) -> Bar | None:
    if start is None or end is None:
        return None
    left = max(0.0, min(100.0, (start - t0) / span * 100))
    width = max(MIN_WIDTH, min(100.0 - left, (end - start) / span * 100))
    return Bar(round(left, 3), round(width, 3))


def _segments(counts: dict[StateType, int]) -> list[Segment]:
    total = sum(counts.values()) or 1
    return [
        Segment(t, counts[t], round(counts[t] / total * 100, 3))
        for t in CHART_ORDER
        if counts.get(t)
    ]


def build_timeline(
    run: FlowRun,
    groups: list[TaskGroup],
    members: dict[str, list[TaskRun]],
    subflows: list[FlowRun],
    now: float,
) -> Timeline:
    """The Gantt rows of `run`: a row per task group (`members`: the runs drawn when it is
    opened, or the only run of a group of one), a row per subflow run."""
    starts = [g.first_start for g in groups if g.first_start is not None]
    starts += [r.start_time for r in subflows if r.start_time is not None]
    ends = [e for e in (_group_end(g, now) for g in groups) if e is not None]
    ends += [e for e in (_end_of(r, now) for r in subflows) if e is not None]
    t0 = run.start_time if run.start_time is not None else min(starts, default=None)
    t1 = max([*ends, *([run.end_time] if run.end_time is not None else [])], default=None)
    count = sum(g.count for g in groups)
    if t0 is None or t1 is None:
        return Timeline(None, None, [], 0, count)
    span = max(t1 - t0, 1e-3)
    rows: list[Row] = []
    for group in groups:
        end = _group_end(group, now)
        row = Row(
            group.task_name,
            "task",
            group.count,
            _bar(group.first_start, end, t0, span),
            _segments(group.by_state),
            group.first_start,
            end,
            final_end=group.last_end,
            unfinished=group.unfinished,
        )
        shown = members.get(group.task_name, [])
        if group.count == 1 and shown:
            only = shown[0]
            row.link = f"/runs/task-run/{only.id}"
            row.state, row.state_name = only.state.type, only.state.name
        elif group.count > 1:
            row.members = [(m, _bar(m.start_time, _end_of(m, now), t0, span)) for m in shown]
        rows.append(row)
    for child in subflows:
        end = _end_of(child, now)
        rows.append(
            Row(
                child.name,
                "subflow",
                1,
                _bar(child.start_time, end, t0, span),
                _segments({child.state.type: 1}),
                child.start_time,
                end,
                link=f"/runs/flow-run/{child.id}",
                run_id=child.id,
                final_end=child.end_time,
                unfinished=int(child.start_time is not None and child.end_time is None),
                state=child.state.type,
                state_name=child.state.name,
            )
        )
    rows.sort(key=lambda r: (r.start is None, r.start or 0.0))
    left_out = max(0, len(rows) - MAX_ROWS)
    return Timeline(t0, t1, rows[:MAX_ROWS], left_out, count)


def tick_label(seconds: float, span: float) -> str:
    """An axis tick: `+1.5 s`; finer than whole milliseconds when the whole run took less
    than 20 ms, so its five ticks do not read `+0 ms, +0 ms, +0 ms, +1 ms, +1 ms`."""
    if span < 0.02:
        return f"+{seconds * 1000:.2f}".rstrip("0").rstrip(".") + " ms"
    return f"+{human_duration(seconds)}"


environment.globals["tick_label"] = tick_label
