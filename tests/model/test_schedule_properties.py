"""Property tests: schedules agree with croniter and dateutil where no clock moves, and keep
their promises across the daylight saving transitions of several zones."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from croniter import croniter
from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mainspring.exceptions import InvalidSchedule
from mainspring.schedules import Cron, Interval, RRule, Schedule

DST_ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata"]
#: Days around which the zones above change their clocks (2025-2027), and ordinary days.
TRANSITION_DAYS = [
    date(2025, 3, 9), date(2025, 11, 2), date(2026, 3, 8), date(2026, 11, 1),  # New York
    date(2025, 3, 30), date(2025, 10, 26), date(2026, 3, 29), date(2026, 10, 25),  # London
    date(2025, 4, 6), date(2025, 10, 5), date(2026, 4, 5), date(2026, 10, 4),  # Lord Howe
    date(2027, 1, 15), date(2026, 7, 1),
]  # fmt: skip
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def cron_field(low: int, high: int) -> st.SearchStrategy[str]:
    number = st.integers(low, high)
    return st.one_of(
        st.just("*"),
        number.map(str),
        st.tuples(number, number).map(lambda ab: f"{min(ab)}-{max(ab)}"),
        st.integers(1, high - low).map(lambda n: f"*/{n}"),
        st.lists(number, min_size=1, max_size=3, unique=True).map(
            lambda xs: ",".join(map(str, sorted(xs)))
        ),
    )


crons = st.tuples(
    cron_field(0, 59), cron_field(0, 23), cron_field(1, 31), cron_field(1, 12), cron_field(0, 6)
).map(" ".join)
instants = st.integers(
    int(datetime(2020, 1, 1, tzinfo=UTC).timestamp()),
    int(datetime(2035, 1, 1, tzinfo=UTC).timestamp()),
).map(float)


@st.composite
def near_transitions(draw: st.DrawFn) -> float:
    day = draw(st.sampled_from(TRANSITION_DAYS))
    start = datetime.combine(day, datetime.min.time(), UTC) - timedelta(hours=36)
    return start.timestamp() + draw(st.integers(0, 48 * 3600))


def build_cron(expression: str, timezone: str | None = None, day_or: bool = True) -> Cron:
    try:
        return Cron(expression, timezone=timezone, day_or=day_or)
    except InvalidSchedule:
        assume(False)  # a valid expression that never matches (the 31st of February)
        raise


def build_rrule(text: str, timezone: str | None = None) -> RRule:
    try:
        return RRule(text, timezone=timezone)
    except InvalidSchedule:
        assume(False)  # a rule whose BY parts leave no time (MINUTELY;INTERVAL=2;BYMINUTE=1)
        raise


@SETTINGS
@given(crons, instants, st.booleans(), st.sampled_from(["UTC", "Asia/Kolkata"]))
def test_cron_matches_croniter_where_clocks_do_not_move(
    expression: str, start: float, day_or: bool, timezone: str
) -> None:
    cron = build_cron(expression, timezone, day_or)
    theirs = croniter(expression, datetime.fromtimestamp(start, ZoneInfo(timezone)), day_or=day_or)
    assert cron.next_times(start, count=12) == [theirs.get_next(float) for _ in range(12)]


@SETTINGS
@given(crons, near_transitions(), st.sampled_from(DST_ZONES))
def test_cron_across_transitions(expression: str, start: float, timezone: str) -> None:
    """Strictly increasing; no wall time twice; each run at a matching wall time or at the
    instant the clocks jumped; every matching wall time that exists is run."""
    cron = build_cron(expression, timezone)
    where = ZoneInfo(timezone)
    times = cron.next_times(start, count=80)
    assert all(a < b for a, b in pairwise(times))
    walls = [datetime.fromtimestamp(t, where).replace(tzinfo=None) for t in times]
    assert len(set(walls)) == len(walls)
    for t, wall in zip(times, walls, strict=True):
        jumped = datetime.fromtimestamp(t - 1, where).utcoffset() < cron.localize(t).utcoffset()
        assert croniter.match(expression, wall) or (jumped and wall.second == 0)
    if len(times) < 2:
        return
    matches = croniter(expression, walls[0])
    wall = matches.get_next(datetime)
    while wall < walls[-1]:
        exists = datetime.fromtimestamp(wall.replace(tzinfo=where).timestamp(), where)
        if exists.replace(tzinfo=None) == wall:
            assert wall in walls
        wall = matches.get_next(datetime)


@SETTINGS
@given(st.integers(0, 59), st.integers(0, 23), st.sampled_from(DST_ZONES), st.integers(2025, 2027))
def test_daily_cron_runs_once_every_local_day(
    minute: int, hour: int, timezone: str, year: int
) -> None:
    cron = Cron(f"{minute} {hour} * * *", timezone=timezone)
    start = datetime(year, 1, 1, tzinfo=ZoneInfo(timezone))
    times = cron.next_times(start, until=start.replace(year=year + 1))
    days = Counter(cron.localize(t).date() for t in times)
    assert set(days.values()) == {1}
    assert len(days) == (date(year + 1, 1, 1) - date(year, 1, 1)).days


rrule_texts = st.builds(
    lambda freq, interval, hours, minutes: ";".join(
        [f"FREQ={freq}", f"INTERVAL={interval}"]
        + ([f"BYHOUR={','.join(map(str, hours))}"] if hours else [])
        + ([f"BYMINUTE={','.join(map(str, minutes))}"] if minutes else [])
    ),
    st.sampled_from(["WEEKLY", "DAILY", "HOURLY", "MINUTELY"]),
    st.integers(1, 5),
    st.lists(st.integers(0, 23), max_size=2, unique=True),
    st.lists(st.integers(0, 59), max_size=2, unique=True),
)


#: Early instants: dateutil, the reference here, walks every period from 2020 (a MINUTELY rule
#: over years takes seconds); RRule skips ahead, which this checks from a week in.
early_instants = st.integers(
    int(datetime(2020, 1, 1, tzinfo=UTC).timestamp()),
    int(datetime(2020, 3, 1, tzinfo=UTC).timestamp()),
).map(float)


@SETTINGS
@given(rrule_texts, early_instants)
def test_rrule_matches_dateutil_in_utc(text: str, start: float) -> None:
    ours = build_rrule(text).next_times(start, count=10)
    rule = rrulestr(text, dtstart=datetime(2020, 1, 1, tzinfo=UTC))
    after = datetime.fromtimestamp(start, UTC)
    assert ours == [d.timestamp() for d in rule.xafter(after, count=10, inc=False)]


@SETTINGS
@given(
    st.floats(0.5, 10 * 86_400, allow_nan=False),
    st.integers(-(10**6), 10**6),
    instants,
    st.sampled_from(DST_ZONES),
)
def test_interval_is_a_fixed_grid(step: float, offset: int, start: float, timezone: str) -> None:
    interval = Interval(
        step, anchor_date=datetime.fromtimestamp(1.6e9 + offset, UTC), timezone=timezone
    )
    seconds = interval.seconds
    times = interval.next_times(start, count=20)
    assert times[0] > start and times[0] - seconds <= start
    anchor = interval.anchor_date.timestamp()
    for t in times:
        k = round((t - anchor) / seconds)
        assert t == anchor + k * seconds  # the same float however it is reached
    assert all(abs((b - a) - seconds) < 1e-6 for a, b in pairwise(times))
    assert interval.next_times(times[3], count=5) == times[4:9]


schedules = st.one_of(
    st.builds(lambda e, z: build_cron(e, z), crons, st.sampled_from(DST_ZONES)),
    st.builds(
        lambda s, z: Interval(s, timezone=z), st.integers(1, 90_000), st.sampled_from(DST_ZONES)
    ),
    st.builds(lambda r, z: build_rrule(r, z), rrule_texts, st.sampled_from(DST_ZONES)),
)


@SETTINGS
@given(schedules, near_transitions(), st.integers(1, 29))
def test_resuming_from_a_run_time_continues_the_same_sequence(
    schedule: Schedule, start: float, split: int
) -> None:
    """What the scheduler's watermark relies on: the times after the k-th are the rest."""
    times = schedule.next_times(start, count=30)
    assert all(a < b for a, b in pairwise(times))
    if len(times) > split:
        assert schedule.next_times(times[split - 1], count=30 - split) == times[split:]
