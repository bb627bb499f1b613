"""Schedules, pure: the rules for when a deployment runs, their JSON form, and the catch-up
policy that decides what a scheduler creates. No store, no clock: `now` is always given."""

from mainspring.model.schedules.base import SPEC_VERSION, Schedule
from mainspring.model.schedules.catch_up import CatchUp, Plan, PlannedRun, plan_runs
from mainspring.model.schedules.cron import Cron
from mainspring.model.schedules.interval import Interval
from mainspring.model.schedules.rrule import RRule
from mainspring.model.schedules.spec import schedule_from_dict

__all__ = [
    "SPEC_VERSION",
    "CatchUp",
    "Cron",
    "Interval",
    "Plan",
    "PlannedRun",
    "RRule",
    "Schedule",
    "plan_runs",
    "schedule_from_dict",
]
