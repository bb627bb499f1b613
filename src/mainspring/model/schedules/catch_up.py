"""What a scheduler tick creates for one deployment: a pure function of its schedules, how far
it was already scheduled, and now.

Every schedule time after `scheduled_until` (the deployment's watermark: every time up to it
was already turned into a run) and up to `now + horizon` is decided exactly once:

- a time not yet due (>= now) becomes a Scheduled run, created ahead of time so a worker
  can start it on the dot;
- a time already past (< now: the scheduler was down, or the deployment was) is *missed*, and
  the catch-up policy decides: `latest` (the default) runs only the newest missed time of
  each schedule and skips the others, `all` runs them all, `none` runs none. A missed time
  later than `max_lateness` is skipped whatever the policy. Skipped times become Skipped runs
  with the reason, so the history says what did not run and why.

The plan returns the new watermark; the next tick passes it back, so no (deployment, time)
pair is planned twice and none is left out, however ticks are spaced. Two schedules naming
the same instant make one run: the (deployment, time) pair is the run's key.

A tick plans at most `max_runs` times in order. When a long outage leaves more missed times
than that under `latest` or `none`, the tick does not crawl through them over many ticks
(leaving the deployment idle meanwhile): after the first `max_runs` Skipped runs it jumps to
the newest missed time of each schedule, and reports the times in between, skipped without a
run each, as `Plan.unrecorded`. Under `all` every missed time is a run, `max_runs` per tick.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import groupby
from typing import Any

from mainspring.model.schedules.base import Schedule
from mainspring.model.schedules.zones import to_epoch

DEFAULT_HORIZON = 3600.0
DEFAULT_MAX_RUNS = 100


class CatchUp(StrEnum):
    """Which missed runs a deployment runs after downtime."""

    LATEST = "latest"
    ALL = "all"
    NONE = "none"


@dataclass(frozen=True)
class PlannedRun:
    """One schedule time of a deployment, to be created as a run (Scheduled or Skipped)."""

    scheduled_time: float
    #: The index, in the deployment's list, of the schedule that made it.
    schedule_index: int
    parameters: dict[str, Any] = field(default_factory=dict)
    #: Why it will not run; None for a run to start at its time.
    skipped_reason: str | None = None

    @property
    def state_name(self) -> str:
        return "Scheduled" if self.skipped_reason is None else "Skipped"


@dataclass(frozen=True)
class Plan:
    """A tick's decisions for one deployment, in time order, and its new watermark."""

    runs: tuple[PlannedRun, ...]
    scheduled_until: float
    #: (a, b): the missed times strictly between a and b, other than those in `runs`, were
    #: skipped without a run each (a long outage: module docstring); None when there were none.
    unrecorded: tuple[float, float] | None = None

    @property
    def scheduled(self) -> list[PlannedRun]:
        return [run for run in self.runs if run.skipped_reason is None]

    @property
    def skipped(self) -> list[PlannedRun]:
        return [run for run in self.runs if run.skipped_reason is not None]


def plan_runs(
    schedules: Sequence[Schedule],
    *,
    now: float | datetime,
    scheduled_until: float | datetime | None = None,
    policy: CatchUp | str = CatchUp.LATEST,
    max_lateness: float | timedelta | None = None,
    horizon: float | timedelta = DEFAULT_HORIZON,
    max_runs: int = DEFAULT_MAX_RUNS,
) -> Plan:
    """The runs to create for a deployment with `schedules` at `now` (module docstring).
    `scheduled_until` None means a new deployment: nothing before `now` is caught up."""

    def plan(since: float) -> Plan:  # the same tick from a later watermark
        return plan_runs(
            schedules,
            now=now,
            scheduled_until=since,
            policy=policy,
            max_lateness=max_lateness,
            horizon=horizon,
            max_runs=max_runs,
        )

    current = to_epoch(now, "now")
    watermark = current if scheduled_until is None else to_epoch(scheduled_until, "scheduled_until")
    catch_up = _policy(policy)
    lateness_limit = None if max_lateness is None else _seconds(max_lateness, "max_lateness")
    end = current + _seconds(horizon, "horizon")
    if isinstance(max_runs, bool) or not isinstance(max_runs, int) or max_runs < 1:
        raise ValueError(f"max_runs must be a positive int, got {max_runs!r}")
    if watermark >= end:
        return Plan((), watermark)

    streams = [
        _times(index, schedule, watermark, end, current)
        for index, schedule in enumerate(schedules)
        if schedule.active
    ]
    runs: list[PlannedRun] = []
    for instant, same in groupby(heapq.merge(*streams), key=lambda entry: entry[0]):
        if len(runs) == max_runs:
            if instant < current and catch_up is not CatchUp.ALL:
                return _jump_to_newest(schedules, runs, current, catch_up, lateness_limit, plan)
            return Plan(tuple(runs), runs[-1].scheduled_time)
        entries = list(same)
        # One run per instant: the newest missed time of some schedule if there is one
        # (so `latest` runs it), else the first schedule's.
        _, index, newest = next((e for e in entries if e[2]), entries[0])
        reason = _skip_reason(instant, current, newest, catch_up, lateness_limit)
        parameters = schedules[index].parameters or {}
        runs.append(PlannedRun(instant, index, dict(parameters), reason))
    return Plan(tuple(runs), end)


def _jump_to_newest(
    schedules: Sequence[Schedule],
    recorded: list[PlannedRun],
    now: float,
    policy: CatchUp,
    limit: float | None,
    plan: Callable[[float], Plan],
) -> Plan:
    """The rest of a tick whose backlog outgrew `max_runs`: each schedule's newest missed time
    (run or skipped by the policy), then the runs ahead, planned from there."""
    since = recorded[-1].scheduled_time
    newest: dict[float, int] = {}
    for index, schedule in enumerate(schedules):
        if schedule.active:
            found = schedule.last_time_before(now, since)
            if found is not None:
                newest.setdefault(found, index)
    caught_up = [
        PlannedRun(
            instant,
            index,
            dict(schedules[index].parameters or {}),
            _skip_reason(instant, now, True, policy, limit),
        )
        for instant, index in sorted(newest.items())
    ]
    ahead = plan(max(newest))
    return Plan((*recorded, *caught_up, *ahead.runs), ahead.scheduled_until, (since, max(newest)))


def _times(
    index: int, schedule: Schedule, after: float, end: float, now: float
) -> Iterator[tuple[float, int, bool]]:
    """(time, schedule index, is the newest missed time of this schedule) up to `end`."""
    times = schedule.iter_times(after)
    current = next(times, None)
    while current is not None and current <= end:
        following = next(times, None)
        yield current, index, current < now and (following is None or following >= now)
        current = following


def _skip_reason(
    instant: float, now: float, newest: bool, policy: CatchUp, limit: float | None
) -> str | None:
    if instant >= now:
        return None
    late = _duration(now - instant)
    if policy is CatchUp.NONE:
        return f"missed by {late}; the catch-up policy 'none' runs no missed run"
    if limit is not None and now - instant > limit:
        return f"missed by {late}, more than max_lateness ({_duration(limit)})"
    if policy is CatchUp.LATEST and not newest:
        return (
            f"missed by {late}; a later time of the same schedule was missed too and the "
            "catch-up policy 'latest' runs only the newest"
        )
    return None


def _policy(policy: CatchUp | str) -> CatchUp:
    try:
        return CatchUp(policy)
    except ValueError:
        raise ValueError(
            f"unknown catch-up policy {policy!r}; expected latest, all or none"
        ) from None


def _seconds(value: float | timedelta, what: str) -> float:
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise TypeError(f"{what} must be seconds or a timedelta, got {value!r}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{what} must be a non-negative number of seconds, got {value!r}")
    return float(seconds)


def _duration(seconds: float) -> str:
    """A lateness people read: 45 s, 12 min, 3 h 5 min, 2 d 4 h."""
    whole = int(seconds)
    if whole < 60:
        return f"{seconds:.3g} s"
    minutes, hours, days = whole // 60 % 60, whole // 3600 % 24, whole // 86_400
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"
