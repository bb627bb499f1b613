"""The catch-up planner: what a scheduler tick creates for a deployment, and the promise that
ticks, however spaced or overlapping, plan each (deployment, time) pair exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mainspring.model.schedules import CatchUp, Plan, plan_runs
from mainspring.schedules import Cron, Interval, RRule, Schedule

HOUR = 3600.0
MIDNIGHT = datetime(2026, 6, 1, tzinfo=UTC).timestamp()


def at(hours: float) -> float:
    return MIDNIGHT + hours * HOUR


def summary(plan: Plan) -> list[tuple[float, str]]:
    return [((run.scheduled_time - MIDNIGHT) / HOUR, run.state_name) for run in plan.runs]


def test_a_new_deployment_is_planned_ahead_from_now_without_catching_up() -> None:
    plan = plan_runs([Interval(600)], now=at(5.25), horizon=1800)
    assert [run.scheduled_time for run in plan.runs] == [at(5) + k * 600 for k in (2, 3, 4)]
    assert all(run.state_name == "Scheduled" for run in plan.runs)
    assert plan.scheduled_until == at(5.25) + 1800


def test_latest_runs_the_newest_missed_time_and_skips_the_rest_with_a_reason() -> None:
    plan = plan_runs([Cron("0 * * * *")], scheduled_until=at(0), now=at(5.5))
    assert summary(plan) == [
        (1, "Skipped"),
        (2, "Skipped"),
        (3, "Skipped"),
        (4, "Skipped"),
        (5, "Scheduled"),  # missed by 30 min, the newest: run it
        (6, "Scheduled"),  # not yet due: created ahead of time
    ]
    assert plan.skipped[0].skipped_reason == (
        "missed by 4 h 30 min; a later time of the same schedule was missed too and the "
        "catch-up policy 'latest' runs only the newest"
    )
    assert plan.scheduled_until == at(6.5)


def test_all_and_max_lateness() -> None:
    everything = plan_runs([Cron("0 * * * *")], scheduled_until=at(0), now=at(5.5), policy="all")
    assert [state for _, state in summary(everything)] == ["Scheduled"] * 6
    recent = plan_runs(
        [Cron("0 * * * *")],
        scheduled_until=at(0),
        now=at(5.5),
        policy=CatchUp.ALL,
        max_lateness=timedelta(hours=2),
    )
    assert summary(recent) == [
        (1, "Skipped"),
        (2, "Skipped"),
        (3, "Skipped"),
        (4, "Scheduled"),
        (5, "Scheduled"),
        (6, "Scheduled"),
    ]
    assert recent.runs[0].skipped_reason == "missed by 4 h 30 min, more than max_lateness (2 h)"
    too_late = plan_runs([Cron("0 * * * *")], scheduled_until=at(0), now=at(5.5), max_lateness=600)
    assert [state for _, state in summary(too_late)][:5] == ["Skipped"] * 5  # newest too
    assert too_late.runs[4].skipped_reason == "missed by 30 min, more than max_lateness (10 min)"


def test_none_runs_no_missed_time() -> None:
    plan = plan_runs([Cron("0 * * * *")], scheduled_until=at(0), now=at(5.5), policy="none")
    assert summary(plan)[-2:] == [(5, "Skipped"), (6, "Scheduled")]
    assert (
        plan.runs[0].skipped_reason
        == "missed by 4 h 30 min; the catch-up policy 'none' runs no missed run"
    )


def test_latest_is_per_schedule_and_one_instant_is_one_run() -> None:
    daily = Cron("0 3 * * *", parameters={"report": "daily"})
    hourly = Cron("0 * * * *", parameters={"report": "hourly"})
    plan = plan_runs([hourly, daily], scheduled_until=at(0), now=at(5.5))
    runs = {(run.scheduled_time - MIDNIGHT) / HOUR: run for run in plan.runs}
    assert sorted(runs) == [1, 2, 3, 4, 5, 6]  # 03:00 is named twice, planned once
    assert runs[3].state_name == "Scheduled"  # the daily schedule's newest missed time...
    assert runs[3].parameters == {"report": "daily"} and runs[3].schedule_index == 1
    assert runs[5].state_name == "Scheduled" and runs[5].parameters == {"report": "hourly"}
    assert [runs[h].state_name for h in (1, 2, 4)] == ["Skipped"] * 3
    same = plan_runs([Cron("0 * * * *", parameters={"a": 1}), Interval(HOUR)], now=at(0.5))
    assert [(run.schedule_index, run.parameters) for run in same.runs] == [(0, {"a": 1})]


def test_inactive_schedules_make_nothing_and_the_watermark_still_moves() -> None:
    plan = plan_runs([Cron("* * * * *", active=False)], scheduled_until=at(0), now=at(1))
    assert plan.runs == () and plan.scheduled_until == at(2)
    assert plan_runs([], now=at(1)).scheduled_until == at(2)


def test_a_long_outage_is_worked_through_max_runs_at_a_time() -> None:
    schedule = [Interval(60)]
    first = plan_runs(schedule, scheduled_until=at(0), now=at(24), policy="all", max_runs=100)
    assert len(first.runs) == 100 and first.scheduled_until == at(0) + 100 * 60
    second = plan_runs(schedule, scheduled_until=first.scheduled_until, now=at(24), max_runs=100)
    assert second.runs[0].scheduled_time == at(0) + 101 * 60


def test_a_long_outage_under_latest_jumps_to_the_newest_missed_time_in_one_tick() -> None:
    """A day of missed minutes: 100 Skipped runs are recorded, the rest are reported as one
    span, and the newest missed minute and the hour ahead are planned in the same tick."""
    plan = plan_runs([Interval(60)], scheduled_until=at(0), now=at(24) + 30, max_runs=100)
    recorded, newest, ahead = plan.runs[:100], plan.runs[100], plan.runs[101:]
    assert all(run.state_name == "Skipped" for run in recorded)
    assert recorded[-1].scheduled_time == at(0) + 100 * 60
    assert (newest.scheduled_time, newest.state_name) == (at(24), "Scheduled")
    assert [run.scheduled_time for run in ahead] == [at(24) + k * 60 for k in range(1, 61)]
    assert plan.unrecorded == (at(0) + 100 * 60, at(24))
    assert plan.scheduled_until == at(25) + 30
    none = plan_runs([Interval(60)], scheduled_until=at(0), now=at(24) + 30, policy="none")
    assert none.runs[100].skipped_reason is not None and none.unrecorded is not None


def test_a_watermark_beyond_the_horizon_plans_nothing() -> None:
    plan = plan_runs([Interval(60)], scheduled_until=at(10), now=at(1))
    assert plan == Plan((), at(10))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"policy": "newest"}, ValueError, "unknown catch-up policy 'newest'"),
        ({"horizon": -1}, ValueError, "horizon must be a non-negative"),
        ({"max_lateness": "1h"}, TypeError, "max_lateness must be seconds"),
        ({"max_runs": 0}, ValueError, "max_runs must be a positive int"),
        ({"now": datetime(2026, 1, 1)}, TypeError, "naive datetime"),
    ],
)
def test_bad_arguments(kwargs: dict, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        plan_runs([Interval(60)], **{"now": at(0), **kwargs})


SCHEDULES = st.one_of(
    st.builds(Interval, st.integers(30, 7200), timezone=st.sampled_from(["UTC", "Asia/Kolkata"])),
    st.builds(Cron, st.sampled_from(["*/5 * * * *", "0 * * * *", "30 1 * * *", "*/20 1-3 * * *"]),
              timezone=st.sampled_from(["America/New_York", "Australia/Lord_Howe"])),
    st.builds(RRule, st.sampled_from(["FREQ=HOURLY;BYMINUTE=0,40", "FREQ=MINUTELY;INTERVAL=45"]),
              timezone=st.just("Europe/London")),
    st.builds(lambda: Interval(60, active=False)),
)  # fmt: skip
#: Around New York's fall back (1 November 2026, 06:00 UTC).
START = datetime(2026, 11, 1, 3, tzinfo=UTC).timestamp()


def expected_times(schedules: list[Schedule], after: float, until: float) -> set[float]:
    return {
        t for s in schedules if s.active for t in s.next_times(after, until=until, count=100_000)
    }


def unrecorded_times(schedules: list[Schedule], plan: Plan) -> set[float]:
    """The missed times a plan reports as skipped without a run each."""
    if plan.unrecorded is None:
        return set()
    low, high = plan.unrecorded
    between = expected_times(schedules, low, high) - {high}
    return between - {run.scheduled_time for run in plan.runs}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(SCHEDULES, min_size=1, max_size=3),
    st.lists(st.integers(-1800, 4 * 3600) | st.integers(0, 3 * 86_400), min_size=1, max_size=12),
    st.sampled_from(list(CatchUp)),
    st.none() | st.integers(0, 7200),
    st.integers(0, 7200),
    st.integers(1, 30),
)
def test_sequential_ticks_plan_every_time_exactly_once(
    schedules: list[Schedule],
    steps: list[int],
    policy: CatchUp,
    max_lateness: int | None,
    horizon: int,
    max_runs: int,
) -> None:
    """Ticks at irregular moments (the clock may even step back) with the watermark passed on:
    no time twice, none left out, and the policy kept within each tick."""
    watermark, now = START, START
    planned: list[float] = []
    unrecorded: set[float] = set()
    for step in steps:
        now += step
        plan = plan_runs(
            schedules,
            scheduled_until=watermark,
            now=now,
            policy=policy,
            max_lateness=max_lateness,
            horizon=horizon,
            max_runs=max_runs,
        )
        times = [run.scheduled_time for run in plan.runs]
        assert times == sorted(set(times)) and all(t > watermark for t in times)
        assert plan.scheduled_until >= watermark
        if plan.unrecorded is None:
            assert len(times) <= max_runs
        else:  # a long outage: the first max_runs, the newest missed, then what is ahead
            assert policy is not CatchUp.ALL
            assert len(times) <= 2 * max_runs + len(schedules)
            unrecorded |= unrecorded_times(schedules, plan)
            assert all(now > t for t in unrecorded_times(schedules, plan))
        assert all(t <= plan.scheduled_until for t in times)
        missed_scheduled = [r for r in plan.scheduled if r.scheduled_time < now]
        if policy is CatchUp.NONE:
            assert missed_scheduled == []
        if policy is CatchUp.LATEST:
            assert len({r.schedule_index for r in missed_scheduled}) == len(missed_scheduled)
            # ... and it is the newest missed time of its schedule
            for run in missed_scheduled:
                following = schedules[run.schedule_index].next_times(run.scheduled_time, count=1)
                assert not following or following[0] >= now
        if max_lateness is not None:
            assert all(now - r.scheduled_time <= max_lateness for r in missed_scheduled)
        planned += times
        watermark = plan.scheduled_until
    assert len(planned) == len(set(planned))
    assert not unrecorded & set(planned)
    assert set(planned) | unrecorded == expected_times(schedules, START, watermark)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(SCHEDULES, min_size=1, max_size=3),
    st.lists(st.tuples(st.integers(0, 3600), st.booleans()), min_size=1, max_size=12),
    st.integers(1, 20),
)
def test_overlapping_ticks_with_a_stale_watermark_leave_no_gap(
    schedules: list[Schedule], steps: list[tuple[int, bool]], max_runs: int
) -> None:
    """Two schedulers on one database: one may plan from a watermark the other has already
    moved. The store keeps one run per (deployment, time) (its unique key, modelled by a dict)
    and the greater watermark; every time ends up planned once and the same way by both."""
    store: dict[float, str] = {}
    unrecorded: set[float] = set()
    watermark, now, seen = START, START, [START]
    for step, stale in steps:
        now += step
        start = seen[-2] if stale and len(seen) > 1 else watermark
        plan = plan_runs(schedules, scheduled_until=start, now=now, max_runs=max_runs)
        for run in plan.runs:
            store.setdefault(run.scheduled_time, run.state_name)
        unrecorded |= unrecorded_times(schedules, plan)
        watermark = max(watermark, plan.scheduled_until)
        seen.append(watermark)
    assert set(store) | unrecorded == expected_times(schedules, START, watermark)
