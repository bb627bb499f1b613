"""`Interval`: runs every `interval` of elapsed time, on a grid through `anchor_date`.

Elapsed time, whatever the zone: every 24 hours is 24 hours apart even across a daylight
saving change, so in New York a 24-hour interval anchored at 09:00 runs at 10:00 EDT (still
14:00 UTC) after the clocks spring forward. Prefect instead keeps the wall-clock hour for
intervals of 24 hours and more in a DST zone and elapsed time for shorter ones: one rule that
changes meaning at a threshold, so 23:59:59 and 24:00:00 behave differently. Here an interval
is always a duration, and a run at the same wall-clock time every day is what `Cron` (or
`RRule`) says. The zone only places a naive `anchor_date` and shows the times.

The default anchor is 2020-01-01 00:00 in the schedule's zone, not "now" as in Prefect, so
the grid is the same every time a deployment is registered (restarting `serve()` does not
shift it) and every 5 minutes means :00, :05, :10 of the zone's clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from mainspring.exceptions import InvalidSchedule
from mainspring.model.schedules.base import Schedule, positive_seconds
from mainspring.model.schedules.zones import to_epoch, zone

DEFAULT_ANCHOR = datetime(2020, 1, 1)


@dataclass(frozen=True)
class Interval(Schedule):
    """Runs every `interval` (seconds, or a timedelta) of elapsed time, at the instants
    `anchor_date` + k * `interval` (k any whole number). A naive `anchor_date` is read in
    `timezone` (UTC when None)."""

    kind: ClassVar[str] = "interval"

    interval: float | timedelta
    anchor_date: datetime | None = None
    timezone: str | None = None
    active: bool = True
    parameters: dict[str, Any] | None = None
    slug: str | None = None

    __hash__ = Schedule.hash_by_value

    def __post_init__(self) -> None:
        seconds = self.interval
        if isinstance(seconds, timedelta):
            seconds = seconds.total_seconds()
        interval = timedelta(seconds=positive_seconds(seconds, "interval"))
        if not interval:
            raise InvalidSchedule(f"interval {self.interval!r} is shorter than a microsecond")
        object.__setattr__(self, "interval", interval)
        if self.timezone is None and isinstance(self.anchor_date, datetime):
            key = getattr(self.anchor_date.tzinfo, "key", None)  # a ZoneInfo anchor names it
            object.__setattr__(self, "timezone", key)
        self._check_common()
        object.__setattr__(self, "anchor_date", _anchor(self.anchor_date, self.timezone))

    @property
    def seconds(self) -> float:
        """The interval in seconds."""
        assert isinstance(self.interval, timedelta)
        return self.interval.total_seconds()

    def iter_times(self, after: float | datetime) -> Iterator[float]:
        start = to_epoch(after, "after")
        assert isinstance(self.anchor_date, datetime)
        anchor, step = self.anchor_date.timestamp(), self.seconds
        # Each time is computed from the anchor, never by adding up steps, so the k-th time is
        # the same float however it is reached (it is a key of the run it makes).
        k = math.floor((start - anchor) / step)
        while anchor + k * step > start:
            k -= 1
        while anchor + k * step <= start:
            k += 1
        while True:
            yield anchor + k * step
            k += 1

    def rule_fields(self) -> dict[str, Any]:
        assert isinstance(self.anchor_date, datetime)
        return {"interval": self.seconds, "anchor_date": self.anchor_date.isoformat()}

    def describe_rule(self) -> str:
        return f"every {_duration(self.seconds)}"


def _anchor(value: Any, timezone: str | None) -> datetime:
    """The anchor as an aware datetime in the schedule's zone."""
    where = zone(timezone)
    if value is None:
        return DEFAULT_ANCHOR.replace(tzinfo=where)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidSchedule(
                f"Interval anchor_date {value!r} is not an ISO 8601 date and time"
            ) from None
    if not isinstance(value, datetime):
        raise InvalidSchedule(f"Interval anchor_date must be a datetime, got {value!r}")
    anchor: datetime = value
    if anchor.tzinfo is None or anchor.utcoffset() is None:
        anchor = anchor.replace(tzinfo=where)
    return anchor.astimezone(where)


_UNITS = (("week", 604_800), ("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1))


def _duration(seconds: float) -> str:
    """5 minutes, 90 minutes, hour, 1.5 seconds: the largest unit that divides it evenly."""
    for name, size in _UNITS:
        count = seconds / size
        if count >= 1 and count == int(count):
            n = int(count)
            return name if n == 1 else f"{n} {name}s"
    return f"{seconds:g} seconds"
