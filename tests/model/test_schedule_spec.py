"""The JSON form of a schedule: what the store and the API keep, versioned, read back exactly."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mainspring.exceptions import InvalidSchedule
from mainspring.schedules import Cron, Interval, RRule, Schedule, schedule_from_dict

ZONES = st.sampled_from(["UTC", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"])
PARAMETERS = st.dictionaries(
    st.text(max_size=5),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=3), inner, max_size=3),
        max_leaves=5,
    ),
    max_size=3,
)  # fmt: skip
COMMON = {"active": st.booleans(), "parameters": PARAMETERS, "slug": st.none() | st.just("nightly")}
SCHEDULES = st.one_of(
    st.builds(Cron, st.sampled_from(["0 3 * * *", "*/5 * * * 1-5", "@hourly", "0 0 1,15 * *"]),
              timezone=ZONES, day_or=st.booleans(), **COMMON),
    st.builds(Interval, st.floats(0.001, 1e7) | st.integers(1, 10**7),
              anchor_date=st.none() | st.datetimes(datetime(2000, 1, 1), datetime(2040, 1, 1)),
              timezone=ZONES, **COMMON),
    st.builds(RRule, st.sampled_from(["FREQ=DAILY;BYHOUR=9", "FREQ=WEEKLY;BYDAY=MO,FR",
                                      "DTSTART:20260101T000000\nRRULE:FREQ=HOURLY;COUNT=5"]),
              timezone=ZONES, **COMMON),
)  # fmt: skip


@settings(max_examples=80, deadline=None)
@given(SCHEDULES)
def test_round_trip_through_json_text(schedule: Schedule) -> None:
    data = json.loads(json.dumps(schedule.to_dict(), allow_nan=False))
    again = schedule_from_dict(data)
    assert again == schedule
    assert again.to_dict() == data
    assert data["version"] == 1 and data["kind"] == schedule.kind
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert again.next_times(start, count=5) == schedule.next_times(start, count=5)


def test_the_form_of_each_kind() -> None:
    assert Cron("0 3 * * *", timezone="America/New_York").to_dict() == {
        "version": 1,
        "kind": "cron",
        "cron": "0 3 * * *",
        "day_or": True,
        "timezone": "America/New_York",
        "active": True,
        "parameters": {},
        "slug": None,
    }
    interval = Interval(timedelta(minutes=5), timezone="Asia/Kolkata", parameters={"n": 1})
    assert interval.to_dict() == {
        "version": 1,
        "kind": "interval",
        "interval": 300.0,
        "anchor_date": "2020-01-01T00:00:00+05:30",
        "timezone": "Asia/Kolkata",
        "active": True,
        "parameters": {"n": 1},
        "slug": None,
    }
    assert RRule("FREQ=DAILY").to_dict()["rrule"] == "FREQ=DAILY"


def test_version_and_minimal_forms() -> None:
    assert schedule_from_dict({"kind": "cron", "cron": "0 3 * * *"}) == Cron("0 3 * * *")
    assert schedule_from_dict({"kind": "interval", "interval": 60}) == Interval(60)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "a schedule is a JSON object, got list"),
        ({"kind": "cron", "cron": "0 3 * * *", "version": 2}, "version 2 was written by a newer"),
        ({"kind": "cron", "cron": "0 3 * * *", "version": "1"}, "version must be a positive int"),
        ({"kind": "weekly"}, "unknown schedule kind 'weekly'"),
        ({"cron": "0 3 * * *"}, "unknown schedule kind None"),
        ({"kind": "cron"}, "needs the field 'cron'"),
        ({"kind": "interval"}, "needs the field 'interval'"),
        ({"kind": "cron", "cron": "0 3 * * *", "interval": 5}, "unknown field\\(s\\) in a cron"),
        ({"kind": "cron", "cron": "0 3 * *"}, "has 4 fields"),
        ({"kind": "interval", "interval": -1}, "positive number of seconds"),
        ({"kind": "rrule", "rrule": "FREQ=NEVER"}, "malformed rrule"),
        ({"kind": "cron", "cron": "0 3 * * *", "timezone": "Nowhere"}, "unknown time zone"),
    ],
)
def test_bad_forms_are_refused_by_name(data: object, message: str) -> None:
    with pytest.raises(InvalidSchedule, match=message):
        schedule_from_dict(data)
