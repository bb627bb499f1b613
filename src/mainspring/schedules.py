"""Schedules under the import path Prefect 3 users write:
`from mainspring.schedules import Cron, Interval, RRule`."""

from mainspring.model.schedules import (
    CatchUp,
    Cron,
    Interval,
    RRule,
    Schedule,
    schedule_from_dict,
)

__all__ = ["CatchUp", "Cron", "Interval", "RRule", "Schedule", "schedule_from_dict"]
