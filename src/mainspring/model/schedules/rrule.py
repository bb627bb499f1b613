"""`RRule`: runs at the times an iCalendar recurrence rule (RFC 5545, via dateutil) names.

The rule is evaluated on the wall clock of the schedule's zone, like a cron: a DTSTART or
UNTIL given in UTC ("...Z") or with a TZID is first converted to that zone's wall time. Wall
times become instants by the same daylight saving rule as every schedule (zones.py). Without
a DTSTART the rule starts at 2020-01-01 00:00 in the zone (as in Prefect), so COUNT, which
counts from DTSTART, is only accepted with one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, ClassVar

from dateutil.rrule import DAILY, HOURLY, MINUTELY, SECONDLY, WEEKLY, rrule, rruleset, rrulestr

from mainspring.exceptions import InvalidSchedule
from mainspring.model.schedules.base import Schedule
from mainspring.model.schedules.zones import instant_of_wall, to_epoch, wall_of_instant

DEFAULT_START = datetime(2020, 1, 1)
#: Longest rule accepted (Prefect's limit: about a year of RDATEs).
MAX_LENGTH = 6500
_UNTIL_ZONE = "UNTIL values must be specified in UTC"
#: Seconds in one period of the frequencies a rule can be fast-forwarded by (see `_rules_from`).
_PERIOD = {WEEKLY: 604_800, DAILY: 86_400, HOURLY: 3_600, MINUTELY: 60, SECONDLY: 1}


@dataclass(frozen=True)
class RRule(Schedule):
    """Runs at the times `rrule` names ("FREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=9;BYMINUTE=0"),
    on the wall clock of `timezone` (UTC when None)."""

    kind: ClassVar[str] = "rrule"

    rrule: str
    timezone: str | None = None
    active: bool = True
    parameters: dict[str, Any] | None = None
    slug: str | None = None

    __hash__ = Schedule.hash_by_value

    def __post_init__(self) -> None:
        self._check_common()
        object.__setattr__(self, "rrule", check_rrule(self.rrule, self.zone))

    def iter_times(self, after: float | datetime) -> Iterator[float]:
        start = to_epoch(after, "after")
        where = self.zone
        wall = wall_of_instant(start, where).replace(microsecond=0)
        rules = _wall_rules(self.rrule, where, fast_forward_to=wall)
        last = start
        for match in rules.xafter(wall, inc=True):
            instant = instant_of_wall(match, where)
            if instant > last:  # drops matches before `start` and a gap's repeats
                last = instant
                yield instant

    def rule_fields(self) -> dict[str, Any]:
        return {"rrule": self.rrule}

    def describe_rule(self) -> str:
        rule = self.rrule if len(self.rrule) <= 80 else self.rrule[:77] + "..."
        return f"rrule '{rule}' ({self.timezone})"


def check_rrule(given: Any, where: tzinfo) -> str:
    """`given` stripped, if it is a recurrence rule dateutil reads; InvalidSchedule otherwise."""
    if not isinstance(given, str):
        raise InvalidSchedule(f"rrule must be a str such as 'FREQ=DAILY;BYHOUR=9', got {given!r}")
    text: str = given.strip()
    shown = text if len(text) <= 60 else text[:57] + "..."
    if not text:
        raise InvalidSchedule("rrule is empty; give a rule such as 'FREQ=DAILY;BYHOUR=9'")
    if len(text) > MAX_LENGTH:
        raise InvalidSchedule(
            f"rrule {shown!r} is {len(text)} characters; the most is {MAX_LENGTH}"
        )
    upper = text.upper()
    if "COUNT=" in upper and "DTSTART" not in upper:
        raise InvalidSchedule(
            f"rrule {shown!r} has COUNT but no DTSTART to count from; give a DTSTART or use UNTIL"
        )
    try:
        rules = _wall_rules(text, where)
        next(iter(rules), None)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError) as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise InvalidSchedule(f"malformed rrule {shown!r}: {detail}") from None
    return text


def _wall_rules(text: str, where: tzinfo, fast_forward_to: datetime | None = None) -> rruleset:
    """The rule as a set of naive (wall-clock) rules in `where`."""
    parsed = _parse(text, where)
    wall_set = rruleset()
    for rule in _private(parsed, "_rrule"):
        wall_set.rrule(_wall_rule(rule, where, fast_forward_to))
    for rule in _private(parsed, "_exrule"):
        wall_set.exrule(_wall_rule(rule, where, None))
    for when in _private(parsed, "_rdate"):
        wall_set.rdate(_wall(when, where))
    for when in _private(parsed, "_exdate"):
        wall_set.exdate(_wall(when, where))
    return wall_set


def _parse(text: str, where: tzinfo) -> rruleset:
    # An UNTIL in UTC needs an aware DTSTART, a floating UNTIL a naive one: try both.
    try:
        parsed = rrulestr(text, dtstart=DEFAULT_START.replace(tzinfo=where), forceset=True)
    except ValueError as exc:
        if _UNTIL_ZONE not in str(exc):
            raise
        parsed = rrulestr(text, dtstart=DEFAULT_START, forceset=True)
    assert isinstance(parsed, rruleset)
    return parsed


def _wall_rule(rule: rrule, where: tzinfo, fast_forward_to: datetime | None) -> rrule:
    start = _wall(_private(rule, "_dtstart"), where)
    until = _private(rule, "_until")
    period = _PERIOD.get(_private(rule, "_freq"))
    if fast_forward_to is not None and period and _private(rule, "_count") is None:
        # dateutil walks every period from DTSTART; for these frequencies a rule without COUNT
        # is the same from any DTSTART a whole number of its periods later (the periods keep
        # their phase), so start one period before the one `fast_forward_to` is in.
        step = timedelta(seconds=period * _private(rule, "_interval"))
        skip = (fast_forward_to - start) // step - 1
        if skip > 0:
            start += skip * step
    return rule.replace(dtstart=start, until=None if until is None else _wall(until, where))


def _wall(value: datetime, where: tzinfo) -> datetime:
    return value.astimezone(where).replace(tzinfo=None) if value.tzinfo else value


def _private(obj: object, name: str) -> Any:
    """A dateutil attribute with no public accessor (dateutil is pinned below 3; tested)."""
    return vars(obj)[name]
