"""Time zones and instants: the one place a wall-clock time becomes a point in time.

Schedules speak in two currencies. Cron and rrule rules are about the *wall clock* of a time
zone ("03:00 in New York"); the store, the scheduler and the runs speak in *instants*, epoch
seconds (floats, as the store keeps every time). `instant_of_wall` is the only bridge, and it
is where daylight saving time is decided, once for every kind of schedule:

- a wall time that happens twice (clocks fall back) is the *first* of the two: a daily
  `30 1 * * *` in America/New_York runs once on that day, at 01:30 EDT; the repeated hour is
  not run again (what cron does, and what Prefect documents for its cron schedules);
- a wall time that never happens (clocks spring forward over it) is the instant the clocks
  jump, the first moment after the gap: a daily `30 2 * * *` in New York runs at 03:00 EDT on
  that day rather than not at all (what Vixie cron and croniter do). Every skipped wall time
  of that gap maps to that one instant, so a `*/15` schedule runs once there, not four times.

This mapping never decreases as the wall time increases (it is strictly increasing outside
gaps), so a rule's wall times in order give instants in order, and dropping an instant equal
to the previous one removes the only duplicates there can be.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mainspring.exceptions import InvalidSchedule

#: Zone names that resolve to this machine's own setting rather than a place: a server and a
#: worker on two machines would read them differently.
_MACHINE_LOCAL = frozenset({"localtime", "posixrules", "Factory"})

#: Instants handled: from 1970 to the year 9000 (far enough; datetime stops at 9999).
_MAX_EPOCH = 221_845_392_000.0


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone called `name` ("UTC" when None); InvalidSchedule for any other name."""
    if name is None:
        return ZoneInfo("UTC")
    if not isinstance(name, str):
        raise InvalidSchedule(
            f"timezone must be an IANA name such as 'Europe/London', got {name!r}"
        )
    if name in _MACHINE_LOCAL:
        raise InvalidSchedule(
            f"timezone {name!r} names this machine's setting, not a place; "
            "give an IANA name such as 'Europe/London'"
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidSchedule(
            f"unknown time zone {name!r}; give an IANA name such as 'America/New_York' or 'UTC'"
        ) from None


def to_epoch(when: float | datetime, what: str = "time") -> float:
    """Epoch seconds of `when`: epoch seconds themselves, or an aware datetime. A naive
    datetime is refused: which zone it meant is exactly what a scheduler must not guess."""
    if isinstance(when, datetime):
        if when.tzinfo is None or when.utcoffset() is None:
            raise TypeError(
                f"{what} {when.isoformat()} is a naive datetime; give an aware one "
                "(datetime(..., tzinfo=ZoneInfo('UTC'))) or epoch seconds"
            )
        return when.timestamp()
    if isinstance(when, bool) or not isinstance(when, int | float):
        raise TypeError(f"{what} must be epoch seconds or an aware datetime, got {when!r}")
    value = float(when)
    if not math.isfinite(value) or not 0.0 <= value <= _MAX_EPOCH:
        raise ValueError(f"{what} {when!r} is not an instant between 1970 and 9000")
    return value


def wall_of_instant(instant: float, where: tzinfo) -> datetime:
    """The naive wall-clock time that `where`'s clocks show at `instant`."""
    return datetime.fromtimestamp(instant, UTC).astimezone(where).replace(tzinfo=None)


def instant_of_wall(wall: datetime, where: tzinfo) -> float:
    """The instant at which `where`'s clocks show the naive time `wall` (rules above)."""
    first = wall.replace(tzinfo=where, fold=0)
    if wall_of_instant(first.timestamp(), where) == wall:
        # Exists. When it is also shown after the clocks fall back, fold=0 is the earlier one;
        # zones whose "DST" offset is the smaller one (Europe/Dublin) fold the other way.
        second = wall.replace(tzinfo=where, fold=1)
        return min(first.timestamp(), second.timestamp())
    return _end_of_gap(wall, where)


def _end_of_gap(wall: datetime, where: tzinfo) -> float:
    """The first instant after the gap `wall` falls in: when the clocks jumped over it."""
    # Read with the offset before the jump the wall time lies after the jump; read with the
    # offset after it, before. The jump lies between: search it to the second (every tz
    # database transition falls on a whole second).
    a = wall.replace(tzinfo=where, fold=0).timestamp()
    b = wall.replace(tzinfo=where, fold=1).timestamp()
    low, high = math.floor(min(a, b)), math.ceil(max(a, b))
    while high - low > 1:
        middle = (low + high) // 2
        if wall_of_instant(middle, where) < wall:
            low = middle
        else:
            high = middle
    return float(high)


def floor_to(wall: datetime, step: timedelta) -> datetime:
    """`wall` rounded down to a whole multiple of `step` (a minute, a second) of its day."""
    since_midnight = wall - wall.replace(hour=0, minute=0, second=0, microsecond=0)
    return wall - since_midnight % step
