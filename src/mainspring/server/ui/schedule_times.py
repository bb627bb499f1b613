"""A deployment's schedules in words and its next run times, each in its schedule's zone
(as `mainspring deployment schedule ls` shows them), from the model's schedules alone."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from mainspring.model.deployments import Deployment
from mainspring.model.schedules import Schedule, schedule_from_dict


@dataclass(frozen=True, slots=True)
class NextRun:
    instant: float  # epoch seconds
    local: str  # in the schedule's zone: "2026-12-07 03:00:00 CET"
    zone: str
    schedule: str  # the schedule's description


@lru_cache(maxsize=4096)
def _schedule(form: str) -> Schedule:
    # Reading a cron schedule costs about a millisecond (croniter checks the expression); a
    # list of many deployments, most sharing a few schedules, reads each form once.
    return schedule_from_dict(json.loads(form))


def schedules_of(deployment: Deployment) -> list[Schedule]:
    return [_schedule(json.dumps(form, sort_keys=True)) for form in deployment.schedules]


def schedule_words(deployment: Deployment) -> list[str]:
    """Each schedule's description ("At 03:00 every day (Europe/Oslo)"), inactive ones marked."""
    return [s.description for s in schedules_of(deployment)]


def next_runs(deployment: Deployment, now: float, count: int) -> list[NextRun]:
    """The next `count` run times of the active schedules, soonest first. A paused
    deployment's times are listed too: they are when it would run once resumed."""
    upcoming = [
        (t, schedule)
        for schedule in schedules_of(deployment)
        if schedule.active
        for t in schedule.next_times(now, count=count)
    ]
    upcoming.sort(key=lambda pair: pair[0])
    return [
        NextRun(
            t,
            schedule.localize(t).strftime("%Y-%m-%d %H:%M:%S %Z"),
            str(schedule.timezone),
            schedule.description,
        )
        for t, schedule in upcoming[:count]
    ]
