"""EventStore on SQLite and PostgreSQL: run states read as events, stored events, filters, a
stable cursor, retention, automations, and the outbox's exactly-once guarantees."""

from __future__ import annotations

import pytest
from tests.store.conftest import T0, make_flow_run

from mainspring.exceptions import ObjectNotFound
from mainspring.model import State, StateRecord, StateType
from mainspring.model.automations import automation_from_spec
from mainspring.model.events import Event, EventCursor, EventFilter
from mainspring.model.firings import ActionStatus, NewCheck, NewFiring
from mainspring.store.base import Batch
from mainspring.store.sql import SqlStore

SPEC = {
    "name": "on-failure",
    "trigger": {"type": "flow-run-state", "states": ["Failed"], "flows": ["etl"]},
    "actions": [{"type": "call-webhook", "url": "http://127.0.0.1:9/hook"}],
}


def _run_with_states(store: SqlStore, *names: str, flow: str = "etl", tags=()) -> str:
    run = make_flow_run(flow, tags=list(tags))
    states = [
        StateRecord(run.id, False, _type(name), name, None, T0 + i) for i, name in enumerate(names)
    ]
    store.write(Batch(flow_runs={run.id: run}, states=states))
    return run.id


def _type(name: str) -> StateType:
    from mainspring.model import STATE_NAMES

    return STATE_NAMES[name]


def test_run_states_are_events_with_their_runs_labels(store: SqlStore) -> None:
    run_id = _run_with_states(store, "Pending", "Running", "Failed", tags=["prod"])
    page = store.read_events()
    assert [e.event for e in page.events] == [
        "mainspring.flow-run.Failed",
        "mainspring.flow-run.Running",
        "mainspring.flow-run.Pending",
    ]
    failed = page.events[0]
    assert failed.resource_id == f"mainspring.flow-run.{run_id}"
    assert failed.resource["flow"] == "etl"
    assert failed.resource["tags"] == ["prod"]
    assert failed.resource["state"] == "Failed"
    assert page.next_cursor is None


def test_filters_by_type_prefix_resource_and_time(store: SqlStore) -> None:
    first = _run_with_states(store, "Pending", "Running", "Failed")
    second = _run_with_states(store, "Pending", "Running", "Completed")
    store.emit_event(Event("acme.export.done", "acme.export.1", T0 + 1, {"id": "1"}))

    failed = store.read_events(EventFilter(types=("mainspring.flow-run.Failed",))).events
    assert [e.resource["id"] for e in failed] == [first]
    run_events = store.read_events(EventFilter(types=("mainspring.flow-run.",))).events
    assert len(run_events) == 6
    custom = store.read_events(EventFilter(types=("acme.",))).events
    assert [e.event for e in custom] == ["acme.export.done"]
    mine = store.read_events(EventFilter(resource_id=f"mainspring.flow-run.{second}")).events
    assert {e.event for e in mine} == {
        "mainspring.flow-run.Pending",
        "mainspring.flow-run.Running",
        "mainspring.flow-run.Completed",
    }
    window = store.read_events(EventFilter(since=T0 + 1, until=T0 + 2)).events
    assert sorted(e.event for e in window) == [
        "acme.export.done",
        "mainspring.flow-run.Running",
        "mainspring.flow-run.Running",
    ]
    assert store.read_events(EventFilter(types=("mainspring.work-pool.",))).events == []


def test_pages_neither_skip_nor_repeat_while_events_arrive(store: SqlStore) -> None:
    for i in range(7):
        _run_with_states(store, "Pending", "Running")
        store.emit_event(Event("acme.tick", f"acme.tick.{i}", T0 + 10 + i))
    seen: list[str] = []
    cursor = None
    while True:
        page = store.read_events(limit=4, cursor=cursor)
        seen += [e.id for e in page.events]
        _run_with_states(store, "Pending")  # newer events arrive between pages
        if page.next_cursor is None:
            break
        cursor = EventCursor.decode(page.next_cursor.encode())
    assert len(seen) == len(set(seen)) == 21


def test_retention_prunes_stored_events_only(store: SqlStore) -> None:
    _run_with_states(store, "Pending", "Failed")
    store.emit_event(Event("acme.old", "acme.x", T0 - 1000))
    store.emit_event(Event("acme.new", "acme.x", T0 + 1000))
    assert store.prune_events(T0) == 1
    types = [e.event for e in store.read_events().events]
    assert "acme.old" not in types
    assert "acme.new" in types
    assert "mainspring.flow-run.Failed" in types  # the run history stays


def test_automations_round_trip(store: SqlStore) -> None:
    made = store.create_automation(automation_from_spec(SPEC))
    assert store.find_automation("on-failure").id == made.id
    assert store.find_automation(made.id).trigger.flows == ("etl",)
    with pytest.raises(ValueError, match="exists already"):
        store.create_automation(automation_from_spec(SPEC))
    assert store.set_automation_enabled(made.id, False).enabled is False
    assert [a.name for a in store.read_automations()] == ["on-failure"]
    store.delete_automation(made.id)
    with pytest.raises(ObjectNotFound):
        store.find_automation(made.id)
    kinds = [
        e.event for e in store.read_events(EventFilter(types=("mainspring.automation.",))).events
    ]
    assert kinds == [
        "mainspring.automation.deleted",
        "mainspring.automation.paused",
        "mainspring.automation.created",
    ]


def test_a_firing_is_recorded_once_per_automation_and_key(store: SqlStore) -> None:
    made = store.create_automation(automation_from_spec(SPEC))
    context = {"automation": {"id": made.id, "name": made.name}, "event": {"id": "s1"}}
    firing = NewFiring(made.id, "s1", T0, context, [a.to_dict() for a in made.actions])
    assert len(store.record_matches([firing], [])) == 1
    assert store.record_matches([firing], []) == []  # seen again (a restart, a re-read)
    firings = store.read_firings(made.id)
    assert len(firings) == 1
    assert [a.status for a in firings[0].actions] == [ActionStatus.PENDING]
    triggered = store.read_events(EventFilter(types=("mainspring.automation.triggered",)))
    assert len(triggered.events) == 1


def test_an_action_is_claimed_by_one_attempt_at_a_time(store: SqlStore) -> None:
    made = store.create_automation(automation_from_spec(SPEC))
    firing = NewFiring(made.id, "s1", T0, {}, [a.to_dict() for a in made.actions])
    store.record_matches([firing], [])
    (action,) = store.due_actions(now=T0 + 10**9)
    assert store.claim_action(action.firing_id, action.index, 0, lease_until=T0 + 10**9 + 60)
    assert not store.claim_action(action.firing_id, action.index, 0, lease_until=T0)  # taken
    assert store.due_actions(now=T0 + 10**9) == []  # held by the lease
    store.finish_action(action.firing_id, action.index, error="down", retry_at=T0)
    (again,) = store.due_actions(now=T0 + 10**9)
    assert again.attempts == 1 and again.last_error == "down"
    assert store.claim_action(again.firing_id, again.index, 1, lease_until=T0)
    store.finish_action(again.firing_id, again.index, error=None, retry_at=None)
    assert store.due_actions(now=T0 + 10**10) == []
    (done,) = store.read_firings(made.id)[0].actions
    assert done.status is ActionStatus.DONE and done.attempts == 2


def test_a_paused_automation_records_nothing(store: SqlStore) -> None:
    made = store.create_automation(automation_from_spec(SPEC))
    store.set_automation_enabled(made.id, False)
    firing = NewFiring(made.id, "s1", T0, {}, [a.to_dict() for a in made.actions])
    check = NewCheck(made.id, "s2", "run", "stays", T0, "Failed", T0, {})
    assert store.record_matches([firing], [check]) == []
    assert store.due_checks(now=T0 + 10**10) == []


def test_the_cursor_starts_at_the_newest_events_and_never_moves_back(store: SqlStore) -> None:
    _run_with_states(store, "Pending", "Running")
    store.emit_event(Event("acme.x", "acme.x", T0))
    start = store.read_event_cursor()
    assert start == (2, 1)
    assert store.read_new_events(start) == []
    _run_with_states(store, "Pending")
    assert [e.event for e in store.read_new_events(start)] == ["mainspring.flow-run.Pending"]
    store.record_matches([], [], cursor=(3, 1))
    store.record_matches([], [], cursor=(2, 0))
    assert store.read_event_cursor() == (3, 1)


def test_task_run_states_are_events_but_not_read_for_automations(store: SqlStore) -> None:
    from mainspring.model import TaskRun, new_id

    run = make_flow_run("etl")
    task = TaskRun(
        new_id(), "load-0", "load", "load-0", State(StateType.COMPLETED), flow_run_id=run.id
    )
    store.write(
        Batch(
            flow_runs={run.id: run},
            task_runs={task.id: task},
            states=[StateRecord(task.id, True, StateType.COMPLETED, "Completed", None, T0)],
        )
    )
    (event,) = store.read_events(EventFilter(types=("mainspring.task-run.",))).events
    assert event.resource["task"] == "load" and event.resource["flow_run_id"] == run.id
    assert store.read_new_events((0, 0)) == []


def test_deployments_and_work_pools_report_what_happens_to_them(store: SqlStore) -> None:
    from mainspring.model.deployments import Deployment, WorkPool

    store.create_work_pool(WorkPool("local"))
    made = store.upsert_deployment(
        Deployment(flow_name="etl", name="nightly", tags=["prod"], work_pool_name="local")
    )
    store.upsert_deployment(Deployment(flow_name="etl", name="nightly", work_pool_name="local"))
    store.set_deployment_paused(made.id, True)
    store.set_deployment_paused(made.id, True)  # no change: no event
    store.set_deployment_paused(made.id, False)
    store.delete_deployment(made.id)
    events = store.read_events(
        EventFilter(types=("mainspring.deployment.", "mainspring.work-pool."))
    ).events
    assert [e.event for e in events] == [
        "mainspring.deployment.deleted",
        "mainspring.deployment.resumed",
        "mainspring.deployment.paused",
        "mainspring.deployment.updated",
        "mainspring.deployment.created",
        "mainspring.work-pool.created",
    ]
    assert events[-2].resource == {
        "id": made.id,
        "name": "etl/nightly",
        "flow": "etl",
        "tags": ["prod"],
        "work_pool": "local",
    }
    assert events[0].resource_id == f"mainspring.deployment.{made.id}"
