"""A schedule from its JSON form (what `Schedule.to_dict` writes), for the store and the API.

The form is versioned: `version` 1 is the only one so far; a later Mainspring that changes it
reads the old one here, and this one refuses a newer one by name rather than misreading it.
"""

from __future__ import annotations

from typing import Any

from mainspring.exceptions import InvalidSchedule
from mainspring.model.schedules.base import SPEC_VERSION, Schedule
from mainspring.model.schedules.cron import Cron
from mainspring.model.schedules.interval import Interval
from mainspring.model.schedules.rrule import RRule

_KINDS: dict[str, type[Cron] | type[Interval] | type[RRule]] = {
    "cron": Cron,
    "interval": Interval,
    "rrule": RRule,
}
_COMMON = {"version", "kind", "timezone", "active", "parameters", "slug"}
_FIELDS = {
    "cron": {"cron", "day_or"},
    "interval": {"interval", "anchor_date"},
    "rrule": {"rrule"},
}


def schedule_from_dict(data: Any) -> Schedule:
    """The schedule `data` describes; InvalidSchedule (one line) for anything else."""
    if not isinstance(data, dict):
        raise InvalidSchedule(f"a schedule is a JSON object, got {type(data).__name__}")
    version = data.get("version", SPEC_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidSchedule(f"schedule version must be a positive int, got {version!r}")
    if version > SPEC_VERSION:
        raise InvalidSchedule(
            f"schedule version {version} was written by a newer Mainspring "
            f"(this one reads up to {SPEC_VERSION})"
        )
    kind = data.get("kind")
    if kind not in _KINDS:
        raise InvalidSchedule(
            f"unknown schedule kind {kind!r}; expected one of cron, interval, rrule"
        )
    unknown = sorted(set(data) - _COMMON - _FIELDS[kind])
    if unknown:
        raise InvalidSchedule(f"unknown field(s) in a {kind} schedule: {', '.join(unknown)}")
    arguments = {k: v for k, v in data.items() if k not in ("version", "kind")}
    required = next(iter(sorted(_FIELDS[kind] - {"day_or", "anchor_date"})))
    if required not in arguments:
        raise InvalidSchedule(f"a {kind} schedule needs the field {required!r}")
    return _KINDS[kind](**arguments)
