"""`Cron`: runs at the wall-clock times a five-field cron expression names, in a time zone.

croniter finds the matching wall times (it is given naive wall times, so it does calendar
arithmetic only); `zones.instant_of_wall` turns each into an instant, deciding daylight saving
time the same way for every schedule kind (see zones.py): a repeated wall time runs once, at
its first occurrence; a skipped one runs when the clocks jump.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, ClassVar

from mainspring.exceptions import InvalidSchedule
from mainspring.model.schedules.base import Schedule
from mainspring.model.schedules.cron_words import describe_cron
from mainspring.model.schedules.zones import floor_to, instant_of_wall, to_epoch, wall_of_instant

_ALIASES = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
#: croniter's hashed ("H", "H(0-29)/5") and random ("R") items: a run time that changes with
#: a hash or at random cannot be a stable (deployment, time) key.
_HASHED_OR_RANDOM = re.compile(r"^[HR](\(\d+-\d+\))?(/\d+)?$", re.IGNORECASE)
_MINUTE = timedelta(minutes=1)
_CHECK_FROM = datetime(2020, 1, 1)


@dataclass(frozen=True)
class Cron(Schedule):
    """Runs at the times `cron` names ("0 3 * * *": 03:00 every day) in `timezone` (an IANA
    name; UTC when None). `day_or=False` makes a day-of-month and a day-of-week both required
    (fcron's AND) instead of either (cron's OR). `parameters` are given to the runs it makes;
    an inactive schedule (`active=False`) makes none."""

    kind: ClassVar[str] = "cron"

    cron: str
    timezone: str | None = None
    day_or: bool = True
    active: bool = True
    parameters: dict[str, Any] | None = None
    slug: str | None = None

    __hash__ = Schedule.hash_by_value

    def __post_init__(self) -> None:
        if not isinstance(self.day_or, bool):
            raise InvalidSchedule(f"Cron day_or must be True or False, got {self.day_or!r}")
        object.__setattr__(self, "cron", check_cron(self.cron, self.day_or))
        self._check_common()

    def iter_times(self, after: float | datetime) -> Iterator[float]:
        start = to_epoch(after, "after")
        where = self.zone
        # Every match is on a whole minute: start just before the minute `start` is in, so a
        # match in that minute is not lost to croniter's rounding; earlier ones are dropped.
        wall = floor_to(wall_of_instant(start, where), _MINUTE) - timedelta(seconds=1)
        from croniter import croniter  # (see check_cron)

        matches = croniter(self.cron, wall, day_or=self.day_or)
        last = start
        while True:
            instant = instant_of_wall(matches.get_next(datetime), where)
            if instant > last:  # drops matches before `start` and a gap's repeats
                last = instant
                yield instant

    def rule_fields(self) -> dict[str, Any]:
        return {"cron": self.cron, "day_or": self.day_or}

    def describe_rule(self) -> str:
        return f"{describe_cron(self.cron, self.day_or)} ({self.timezone})"


def check_cron(expression: Any, day_or: bool = True) -> str:
    """`expression` as a five-field cron or an @alias, stripped; InvalidSchedule otherwise."""
    if not isinstance(expression, str):
        raise InvalidSchedule(f"cron must be a str such as '0 3 * * *', got {expression!r}")
    text = " ".join(expression.split())
    if text.startswith("@"):
        if text.lower() not in _ALIASES:
            known = ", ".join(sorted(_ALIASES))
            raise InvalidSchedule(f"unknown cron alias {text!r}; known: {known}")
        return text.lower()
    fields = text.split(" ") if text else []
    if len(fields) != 5:
        raise InvalidSchedule(
            f"cron {expression!r} has {len(fields)} fields; expected 5 "
            "(minute hour day-of-month month day-of-week), e.g. '0 3 * * *'"
        )
    for field in fields:
        if any(_HASHED_OR_RANDOM.match(item) for item in field.split(",")):
            raise InvalidSchedule(
                f"cron {expression!r}: hashed (H) and random (R) fields are not supported"
            )
    # croniter (and the dateutil it loads) imported here, as a cron schedule is first read:
    # every process opening a store imports this module, most never read a cron schedule
    from croniter import CroniterBadCronError, CroniterBadDateError

    try:
        _first_match(text, day_or)
    except CroniterBadDateError:
        raise InvalidSchedule(f"cron {expression!r} matches no date (it would never run)") from None
    except (CroniterBadCronError, ValueError, TypeError, KeyError, IndexError) as exc:
        detail = str(exc).replace("\n", " ") or type(exc).__name__
        raise InvalidSchedule(f"malformed cron {expression!r}: {detail}") from None
    return text


@lru_cache(maxsize=4096)
def _first_match(text: str, day_or: bool) -> datetime:
    """The expression's first match after a fixed instant: proof that it ever matches. Cached
    (a valid expression's answer never changes; errors are not cached): croniter spends about
    a millisecond reading an expression, and every deployment read from a store checks its
    schedules again, so a list of 1,000 deployments cost ~200 ms."""
    from croniter import croniter

    match: datetime = croniter(text, _CHECK_FROM, day_or=day_or).get_next(datetime)
    return match
