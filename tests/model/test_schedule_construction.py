"""Schedules are checked where they are written: each bad input is one specific line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mainspring.exceptions import InvalidSchedule
from mainspring.schedules import Cron, Interval, RRule, Schedule, schedule_from_dict


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Cron("0 0 30 2 *"), "matches no date"),
        (lambda: Cron("61 * * * *"), "malformed cron '61 \\* \\* \\* \\*'"),
        (lambda: Cron("0 3 * *"), "has 4 fields; expected 5"),
        (lambda: Cron("0 0 3 * * *"), "has 6 fields; expected 5"),
        (lambda: Cron(""), "has 0 fields"),
        (lambda: Cron("@reboot"), "unknown cron alias '@reboot'"),
        (lambda: Cron("H * * * *"), "hashed \\(H\\) and random \\(R\\)"),
        (lambda: Cron("R 3 * * *"), "hashed \\(H\\) and random \\(R\\)"),
        (lambda: Cron(5), "cron must be a str"),
        (lambda: Cron("0 3 * * *", day_or="yes"), "day_or must be True or False"),
        (lambda: Cron("0 3 * * *", timezone="Mars/Olympus"), "unknown time zone 'Mars/Olympus'"),
        (lambda: Cron("0 3 * * *", timezone="utc"), "unknown time zone 'utc'"),
        (lambda: Cron("0 3 * * *", timezone="../etc/passwd"), "unknown time zone"),
        (lambda: Cron("0 3 * * *", timezone="localtime"), "names this machine's setting"),
        (lambda: Interval(0), "positive number of seconds, got 0"),
        (lambda: Interval(-5), "positive number of seconds, got -5"),
        (lambda: Interval(timedelta(0)), "positive number of seconds"),
        (lambda: Interval(float("nan")), "positive number of seconds, got nan"),
        (lambda: Interval(float("inf")), "positive number of seconds, got inf"),
        (lambda: Interval(True), "must be seconds"),
        (lambda: Interval("60"), "must be seconds"),
        (lambda: Interval(1e-9), "shorter than a microsecond"),
        (lambda: Interval(60, anchor_date="tomorrow"), "not an ISO 8601"),
        (lambda: RRule("FREQ=FOO"), "malformed rrule 'FREQ=FOO': invalid 'FREQ': FOO"),
        (lambda: RRule("FREQ=DAILY;BYHOUR=25"), "malformed rrule .*hour must be in 0..23"),
        (lambda: RRule("FREQ=DAILY;COUNT=3"), "COUNT but no DTSTART"),
        (lambda: RRule(""), "rrule is empty"),
        (lambda: RRule("FREQ=DAILY;" + "BYHOUR=1;" * 800), "characters; the most is 6500"),
        (lambda: Cron("0 3 * * *", parameters=[1]), "parameters must be a dict"),
        (lambda: Cron("0 3 * * *", parameters={1: 2}), "parameter names must be str"),
        (lambda: Cron("0 3 * * *", parameters={"x": object()}), "parameters must be JSON"),
        (lambda: Cron("0 3 * * *", parameters={"x": float("nan")}), "parameters must be JSON"),
        (lambda: Cron("0 3 * * *", active=1), "active must be True or False"),
        (lambda: Cron("0 3 * * *", slug=" "), "slug must be a non-empty str"),
    ],
)
def test_bad_input_is_one_specific_line(build, message: str) -> None:
    with pytest.raises(InvalidSchedule, match=message) as caught:
        build()
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, ValueError)  # what Prefect users catch


def test_prefect_constructor_names_and_positions() -> None:
    cron = Cron("0 3 * * *", "America/New_York", False, False, {"x": 1}, "nightly")
    assert (cron.cron, cron.timezone, cron.day_or, cron.active) == (
        "0 3 * * *",
        "America/New_York",
        False,
        False,
    )
    assert (cron.parameters, cron.slug) == ({"x": 1}, "nightly")
    interval = Interval(timedelta(minutes=5), datetime(2024, 1, 1, 9), "Europe/London")
    assert interval.interval == timedelta(minutes=5)
    assert interval.anchor_date == datetime(2024, 1, 1, 9, tzinfo=ZoneInfo("Europe/London"))
    rrule = RRule("FREQ=DAILY;BYHOUR=9", timezone="Asia/Kolkata", parameters={"n": 2})
    assert (rrule.rrule, rrule.timezone, rrule.parameters) == (
        "FREQ=DAILY;BYHOUR=9",
        "Asia/Kolkata",
        {"n": 2},
    )
    for schedule in (cron, interval, rrule):
        assert isinstance(schedule, Schedule)


def test_defaults_utc_active_no_parameters() -> None:
    cron = Cron(" 0   3 * * * ")
    assert (cron.cron, cron.timezone, cron.active, cron.parameters, cron.slug) == (
        "0 3 * * *",
        "UTC",
        True,
        {},
        None,
    )
    assert Interval(60).anchor_date == datetime(2020, 1, 1, tzinfo=ZoneInfo("UTC"))
    assert Interval(60.5).interval == timedelta(seconds=60.5)


def test_interval_anchor_zone() -> None:
    """A naive anchor is read in the schedule's zone; an aware one keeps its instant; a
    ZoneInfo anchor names the zone when none is given."""
    naive = Interval(3600, anchor_date=datetime(2024, 6, 1, 9), timezone="America/New_York")
    assert naive.anchor_date.timestamp() == datetime(2024, 6, 1, 13, tzinfo=UTC).timestamp()
    aware = Interval(3600, anchor_date=datetime(2024, 6, 1, 9, tzinfo=UTC), timezone="Asia/Kolkata")
    assert aware.anchor_date.timestamp() == datetime(2024, 6, 1, 9, tzinfo=UTC).timestamp()
    assert aware.anchor_date.utcoffset() == timedelta(hours=5, minutes=30)
    zoned = Interval(60, anchor_date=datetime(2024, 1, 1, tzinfo=ZoneInfo("Europe/Paris")))
    assert zoned.timezone == "Europe/Paris"


def test_schedules_are_immutable_and_compare_by_value() -> None:
    cron = Cron("0 3 * * *", parameters={"a": [1, 2]})
    with pytest.raises(AttributeError):
        cron.cron = "0 4 * * *"  # type: ignore[misc]
    assert cron == Cron("0 3 * * *", parameters={"a": [1, 2]})
    assert cron != Cron("0 3 * * *", parameters={"a": [1]})
    given = {"a": [1]}
    copied = Cron("0 3 * * *", parameters=given)
    given["a"].append(2)
    assert copied.parameters == {"a": [1]}  # a copy: later changes to the dict do not leak in


def test_next_times_arguments() -> None:
    cron = Cron("0 * * * *")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    hour = 3600.0
    assert cron.next_times(start, count=2) == [
        start.timestamp() + hour,
        start.timestamp() + 2 * hour,
    ]
    assert cron.next_times(start.timestamp(), until=start.timestamp() + 3 * hour) == [
        start.timestamp() + k * hour for k in (1, 2, 3)
    ]  # until is inclusive
    assert len(cron.next_times(start, count=2, until=start + timedelta(hours=5))) == 2
    assert cron.next_times(start, count=0) == []
    with pytest.raises(ValueError, match="count= or until="):
        cron.next_times(start)
    with pytest.raises(TypeError, match="naive datetime"):
        cron.next_times(datetime(2024, 1, 1), count=1)
    with pytest.raises(ValueError, match="non-negative int"):
        cron.next_times(start, count=-1)
    local = cron.localize(cron.next_times(start, count=1)[0])
    assert local == datetime(2024, 1, 1, 1, tzinfo=UTC) and local.tzinfo == ZoneInfo("UTC")


@pytest.mark.parametrize(
    ("schedule", "text"),
    [
        (Cron("0 3 * * *", timezone="America/New_York"), "At 03:00 every day (America/New_York)"),
        (Cron("@daily"), "At 00:00 every day (UTC)"),
        (Cron("*/5 * * * *"), "every 5 minutes (UTC)"),
        (Cron("* * * * *"), "every minute (UTC)"),
        (Cron("15 * * * *"), "At minute 15 of every hour (UTC)"),
        (Cron("0 9 * * 1-5"), "At 09:00 on Monday to Friday (UTC)"),
        (Cron("30 8,17 * * SAT,sun"), "At 08:30, 17:30 on Saturday, Sunday (UTC)"),
        (Cron("0 6 1,15 * *"), "At 06:00 on days 1, 15 of every month (UTC)"),
        (Cron("*/10 * * * 1-5"), "every 10 minutes, on Monday to Friday (UTC)"),
        (Cron("*/7 * * * *"), "cron '*/7 * * * *' (UTC)"),  # restarts each hour: not words
        (Cron("0 0 1 1 *"), "cron '0 0 1 1 *' (UTC)"),
        (Cron("0 3 * * *", active=False), "At 03:00 every day (UTC) (inactive)"),
        (Interval(300), "every 5 minutes"),
        (Interval(5400), "every 90 minutes"),
        (Interval(3600), "every hour"),
        (Interval(timedelta(days=1)), "every day"),
        (Interval(1.5), "every 1.5 seconds"),
        (RRule("FREQ=WEEKLY;BYDAY=MO", timezone="Europe/London"),
         "rrule 'FREQ=WEEKLY;BYDAY=MO' (Europe/London)"),
    ],
)  # fmt: skip
def test_descriptions(schedule: Schedule, text: str) -> None:
    assert schedule.description == text


def test_prefect_import_path_and_round_trip_through_json() -> None:
    import mainspring.schedules

    assert set(mainspring.schedules.__all__) >= {"Cron", "Interval", "RRule"}
    for schedule in (Cron("0 3 * * *"), Interval(60), RRule("FREQ=HOURLY")):
        assert schedule_from_dict(json.loads(json.dumps(schedule.to_dict()))) == schedule


def test_schedules_hash_by_value() -> None:
    same = {Cron("0 3 * * *", parameters={"a": 1}), Cron("0 3 * * *", parameters={"a": 1})}
    assert len(same) == 1
    assert len({Interval(60), Interval(timedelta(seconds=60)), RRule("FREQ=DAILY")}) == 2
