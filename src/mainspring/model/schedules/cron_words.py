"""Cron expressions in words, for the UI and `deployment schedule ls`.

Only the shapes people write most are put into words ("At 03:00 every day", "every 5
minutes", "At 09:00 on Monday to Friday"); anything else is shown as the expression itself,
which is exact, rather than as a paraphrase that could mislead.
"""

from __future__ import annotations

import re

_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
_DAY_NAMES = {name[:3].lower(): i for i, name in enumerate(_DAYS)}
_NUMBER = re.compile(r"^\d+$")
_EVERY_N = re.compile(r"^\*/(\d+)$")


def describe_cron(expression: str, day_or: bool = True) -> str:
    """`expression` (already checked) in words, or "cron '<expression>'" for other shapes."""
    minute, hour, dom, month, dow = _ALIASES.get(expression, expression).split(" ")
    fallback = f"cron '{expression}'"
    if dom != "*" and dow != "*" and not day_or:
        return fallback
    when = _time_of_day(minute, hour)
    if when is None:
        return fallback
    days = _days(dom, month, dow)
    if days is None:
        return fallback
    if not when.startswith("At ") or when.startswith("At minute"):  # repeats within a day
        return when if days == "every day" else f"{when}, {days}"
    return f"{when} {days}"


def _time_of_day(minute: str, hour: str) -> str | None:
    if minute == "*" and hour == "*":
        return "every minute"
    every = _EVERY_N.match(minute)
    if every and hour == "*":
        n = int(every.group(1))  # */7 restarts each hour (:56, :00): not "every 7 minutes"
        if 60 % n:
            return None
        return "every minute" if n == 1 else f"every {n} minutes"
    if _NUMBER.match(minute) and hour == "*":
        return f"At minute {int(minute)} of every hour"
    every_hour = _EVERY_N.match(hour)
    if _NUMBER.match(minute) and every_hour:
        n = int(every_hour.group(1))
        return f"At minute {int(minute)} of every {_ordinal(n)} hour" if n > 1 else None
    if _NUMBER.match(minute) and all(_NUMBER.match(h) for h in hour.split(",")):
        times = ", ".join(f"{int(h):02d}:{int(minute):02d}" for h in hour.split(","))
        return f"At {times}"
    return None


def _days(dom: str, month: str, dow: str) -> str | None:
    """The day part ("every day", "on Monday to Friday"); None for shapes not put into words."""
    if month != "*":
        return None
    if dom == "*" and dow == "*":
        return "every day"
    if dom == "*":
        named = _day_list(dow)
        return f"on {named}" if named else None
    if dow == "*" and all(_NUMBER.match(d) for d in dom.split(",")):
        days = ", ".join(str(int(d)) for d in dom.split(","))
        plural = "s" if "," in dom else ""
        return f"on day{plural} {days} of every month"
    return None


def _day_list(dow: str) -> str | None:
    parts = []
    for item in dow.split(","):
        ends = item.split("-")
        if len(ends) > 2:
            return None
        names = [_day_name(end) for end in ends]
        if any(name is None for name in names):
            return None
        parts.append(" to ".join(name for name in names if name))
    return ", ".join(parts)


def _day_name(text: str) -> str | None:
    if _NUMBER.match(text) and int(text) <= 7:
        return _DAYS[int(text) % 7]
    index = _DAY_NAMES.get(text.lower())
    return None if index is None else _DAYS[index]


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
