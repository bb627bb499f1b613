"""What every schedule is: a rule for run times, plus what the runs it makes carry.

Each kind (cron, interval, rrule) is a frozen dataclass with Prefect's constructor arguments;
this base gives them the shared behaviour. Times come out as epoch seconds (floats), the
currency of the store and the scheduler; `after` and `until` may be epoch seconds or aware
datetimes. `localize` turns an instant back into a datetime in the schedule's zone, for people.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import datetime
from itertools import islice
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from mainspring.exceptions import InvalidSchedule
from mainspring.model.schedules.zones import to_epoch, zone

#: The version of the JSON form `to_dict` writes; `schedule_from_dict` reads it and older ones.
SPEC_VERSION = 1


class Schedule:
    """Behaviour shared by `Cron`, `Interval` and `RRule` (subclasses are frozen dataclasses
    with the fields `timezone`, `active`, `parameters` and `slug`)."""

    #: The `kind` of the JSON form ("cron", "interval", "rrule").
    kind: ClassVar[str]

    timezone: str | None
    active: bool
    parameters: dict[str, Any] | None
    slug: str | None

    def _check_common(self) -> None:
        """Validate and normalise the shared fields (called from `__post_init__`)."""
        what = type(self).__name__
        zone_info = zone(self.timezone)
        if not isinstance(self.active, bool):
            raise InvalidSchedule(f"{what} active must be True or False, got {self.active!r}")
        if self.slug is not None and (not isinstance(self.slug, str) or not self.slug.strip()):
            raise InvalidSchedule(f"{what} slug must be a non-empty str or None, got {self.slug!r}")
        object.__setattr__(self, "timezone", zone_info.key)
        object.__setattr__(self, "parameters", json_parameters(what, self.parameters))

    @property
    def zone(self) -> ZoneInfo:
        """The schedule's time zone."""
        return zone(self.timezone)

    def iter_times(self, after: float | datetime) -> Iterator[float]:
        """Every run time strictly after `after`, in order, as epoch seconds; endless unless
        the rule itself ends (an rrule with UNTIL or COUNT)."""
        raise NotImplementedError

    def next_times(
        self,
        after: float | datetime,
        count: int | None = None,
        until: float | datetime | None = None,
    ) -> list[float]:
        """The run times strictly after `after`: the first `count` of them, those up to and
        including `until`, or (both given) whichever list is shorter. Epoch seconds."""
        if count is None and until is None:
            raise ValueError("next_times needs count= or until= (a schedule need not end)")
        if count is not None and (
            isinstance(count, bool) or not isinstance(count, int) or count < 0
        ):
            raise ValueError(f"count must be a non-negative int, got {count!r}")
        times = self.iter_times(after)
        if until is not None:
            times = _up_to(times, to_epoch(until, "until"))
        return list(islice(times, count))

    def last_time_before(self, before: float, after: float) -> float | None:
        """The newest run time strictly between `after` and `before`, or None. Searched in
        windows that double back from `before`, so a frequent schedule costs a few steps
        rather than its whole history (what catching up after a long outage needs)."""
        span = 60.0
        while True:
            start = max(after, before - span)
            found = None
            for t in self.iter_times(start):
                if t >= before:
                    break
                found = t
            if found is not None or start <= after:
                return found
            span *= 2

    def localize(self, instant: float) -> datetime:
        """`instant` as an aware datetime in the schedule's zone."""
        return datetime.fromtimestamp(instant, self.zone)

    def rule_fields(self) -> dict[str, Any]:
        """The fields of the JSON form particular to this kind."""
        raise NotImplementedError

    def describe_rule(self) -> str:
        """The rule in words, without the inactive marker."""
        raise NotImplementedError

    @property
    def description(self) -> str:
        """What people read: "At 03:00 every day (America/New_York)", "every 5 minutes"."""
        text = self.describe_rule()
        return text if self.active else f"{text} (inactive)"

    def hash_by_value(self) -> int:
        """A hash that agrees with `==` (the generated one fails on the `parameters` dict);
        each kind sets `__hash__ = Schedule.hash_by_value`, which dataclass then keeps."""
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form the store and the API keep; `schedule_from_dict` reads it back."""
        return {
            "version": SPEC_VERSION,
            "kind": self.kind,
            **self.rule_fields(),
            "timezone": self.timezone,
            "active": self.active,
            "parameters": json.loads(json.dumps(self.parameters)),
            "slug": self.slug,
        }


def _up_to(times: Iterator[float], limit: float) -> Iterator[float]:
    for t in times:
        if t > limit:
            return
        yield t


def json_parameters(what: str, parameters: Any) -> dict[str, Any]:
    """A copy of `parameters`, checked to be JSON: a schedule's parameters are stored with it."""
    if parameters is None:
        return {}
    if not isinstance(parameters, dict):
        raise InvalidSchedule(f"{what} parameters must be a dict, got {type(parameters).__name__}")
    for key in parameters:
        if not isinstance(key, str):
            raise InvalidSchedule(f"{what} parameter names must be str, got {key!r}")
    try:
        copied: dict[str, Any] = json.loads(json.dumps(parameters, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidSchedule(f"{what} parameters must be JSON values: {exc}") from None
    return copied


def positive_seconds(value: Any, what: str) -> float:
    """A finite, positive number of seconds; InvalidSchedule otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidSchedule(f"{what} must be seconds (a number) or a timedelta, got {value!r}")
    seconds = float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise InvalidSchedule(f"{what} must be a positive number of seconds, got {value!r}")
    return seconds
