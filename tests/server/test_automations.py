"""The automations service over a real store (SQLite and PostgreSQL), with real flows recorded
into it and a real HTTP receiver on loopback: each match fires once, a run that moves on
before `for_seconds` pages no one, a receiver that is down gets the action later."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.server.conftest import flow_run
from tests.server.receiver import Receiver

from mainspring import flow
from mainspring.model import State, StateRecord, StateType
from mainspring.model.automations import automation_from_spec
from mainspring.model.deployments import Deployment
from mainspring.model.events import Event, EventFilter
from mainspring.model.firings import ActionStatus
from mainspring.server.services.automations import SETTLE, AutomationService
from mainspring.settings import reset_settings
from mainspring.store import get_store, reset_store
from mainspring.store.base import Batch
from mainspring.store.sql import SqlStore


@pytest.fixture
def flow_store(store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlStore]:
    """The store real flows of this process record into (and the service reads)."""
    monkeypatch.setenv("MAINSPRING_DATABASE_URL", store_url)
    monkeypatch.setenv("MAINSPRING_LOGGING_CONSOLE", "false")
    reset_settings()
    reset_store()
    store = get_store()
    assert isinstance(store, SqlStore)
    yield store
    reset_store()
    reset_settings()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@flow
def fails(message: str = "disk full\nTraceback: ...") -> None:
    raise RuntimeError(message)


@flow
def fails_first_time(marker: str) -> str:
    path = Path(marker)
    if not path.exists():
        path.write_text("failed once")
        raise RuntimeError("first attempt fails")
    return "ok"


def _webhook(name: str, receiver: Receiver, trigger: dict, body: str | None = None) -> dict:
    action = {"type": "call-webhook", "url": receiver.url}
    if body is not None:
        action["body"] = body
    return {"name": name, "trigger": trigger, "actions": [action]}


def _ticks(service: AutomationService, count: int = 3, now: float | None = None) -> None:
    for _ in range(count):
        service.tick(now)


def test_an_automation_on_failed_fires_once_for_a_failing_flow(
    flow_store: SqlStore, receiver: Receiver
) -> None:
    spec = _webhook(
        "page",
        receiver,
        {"type": "flow-run-state", "states": ["Failed"], "flows": ["fails"]},
        "{{ flow_run.name }} is {{ flow_run.state }}: {{ flow_run.error }} <{{ flow_run.url }}>",
    )
    automation = flow_store.create_automation(automation_from_spec(spec))
    service = AutomationService(flow_store, ui_url="http://ui.example")
    service.tick()
    state = fails(return_state=True)
    assert state.is_failed()
    run = flow_store.read_flow_runs(limit=1)[0]
    _ticks(service)
    _ticks(service, now=time.time() + SETTLE + 1)  # the settle window is read again
    deliveries = receiver.wait_for(1)
    time.sleep(0.2)
    assert len(deliveries) == 1
    body = deliveries[0].body
    assert body.startswith(f"{run.name} is Failed: ")
    assert "RuntimeError: disk full" in body and "Traceback" not in body  # the error line
    assert body.endswith(f"<http://ui.example/runs/flow-run/{run.id}>")
    assert deliveries[0].headers["Mainspring-Action-Key"].startswith(automation.id)
    (firing,) = flow_store.read_firings(automation.id)
    assert [a.status for a in firing.actions] == [ActionStatus.DONE]
    kinds = [
        e.event
        for e in flow_store.read_events(EventFilter(types=("mainspring.automation.",))).events
    ]
    assert kinds[:2] == ["mainspring.automation.action.executed", "mainspring.automation.triggered"]
    # A restarted service (a new process: nothing in memory) does not fire it again.
    _ticks(AutomationService(flow_store), now=time.time() + 2 * SETTLE)
    time.sleep(0.2)
    assert len(receiver.deliveries) == 1


def test_filters_keep_other_flows_and_states_out(flow_store: SqlStore, receiver: Receiver) -> None:
    trigger = {"type": "flow-run-state", "states": ["Crashed"], "flows": ["fails"]}
    flow_store.create_automation(automation_from_spec(_webhook("crashed", receiver, trigger)))
    tagged = {"type": "flow-run-state", "states": ["Failed"], "tags": ["prod"]}
    flow_store.create_automation(automation_from_spec(_webhook("prod", receiver, tagged)))
    service = AutomationService(flow_store)
    service.tick()
    fails(return_state=True)  # Failed, not Crashed; no tag prod
    _ticks(service)
    time.sleep(0.3)
    assert receiver.deliveries == []


def test_stays_in_state_does_not_fire_for_a_run_retried_to_completed(
    flow_store: SqlStore, receiver: Receiver, tmp_path: Path
) -> None:
    from mainspring.engine.results.retry import resume_flow_run

    trigger = {"type": "flow-run-state", "states": ["Failed"], "for_seconds": 60}
    automation = flow_store.create_automation(
        automation_from_spec(_webhook("held", receiver, trigger))
    )
    service = AutomationService(flow_store)
    service.tick()
    retried = fails_first_time(str(tmp_path / "marker"), return_state=True)
    assert retried.is_failed()
    retried_id = flow_store.read_flow_runs(limit=1)[0].id
    stays = fails(return_state=True)  # a run that stays Failed
    assert stays.is_failed()
    stays_id = flow_store.read_flow_runs(limit=1)[0].id
    _ticks(service)  # the clocks start; nothing is due yet
    assert flow_store.read_firings(automation.id) == []
    resume_flow_run(retried_id)  # `mainspring flow-run retry`: Failed -> ... -> Completed
    assert flow_store.read_flow_run(retried_id).state.is_completed()
    _ticks(service, now=time.time() + 61)
    receiver.wait_for(1)
    time.sleep(0.3)
    assert len(receiver.deliveries) == 1
    (firing,) = flow_store.read_firings(automation.id)
    assert firing.context["flow_run"]["id"] == stays_id


def test_a_receiver_down_gets_the_action_later_with_backoff(flow_store: SqlStore) -> None:
    down = Receiver()  # not started yet: connections are refused
    trigger = {"type": "flow-run-state", "states": ["Failed"]}
    automation = flow_store.create_automation(
        automation_from_spec(_webhook("later", down, trigger))
    )
    service = AutomationService(flow_store, retry_seconds=0.5)
    service.tick()
    fails(return_state=True)
    service.tick()
    (firing,) = flow_store.read_firings(automation.id)
    (action,) = firing.actions
    assert action.status is ActionStatus.PENDING and action.attempts == 1
    assert "could not be reached" in (action.last_error or "")
    assert "/hook" not in (action.last_error or "")  # the host only: a URL may hold a token
    first_retry = action.next_attempt
    assert first_retry is not None
    time.sleep(max(0.0, first_retry - time.time()) + 0.05)
    service.tick()  # the second attempt fails too, and waits twice as long
    (action,) = flow_store.read_firings(automation.id)[0].actions
    assert action.attempts == 2
    assert action.next_attempt is not None and action.next_attempt - time.time() > 0.5
    down.start()
    try:
        deadline = time.monotonic() + 30
        while not down.deliveries and time.monotonic() < deadline:
            service.tick()
            time.sleep(0.1)
        time.sleep(0.2)
        service.tick()
        assert len(down.deliveries) == 1
    finally:
        down.stop()
    (action,) = flow_store.read_firings(automation.id)[0].actions
    assert action.status is ActionStatus.DONE and action.attempts == 3


def test_a_refusing_receiver_is_not_retried(flow_store: SqlStore, receiver: Receiver) -> None:
    receiver.status = 404
    trigger = {"type": "flow-run-state", "states": ["Failed"]}
    automation = flow_store.create_automation(
        automation_from_spec(_webhook("gone", receiver, trigger))
    )
    service = AutomationService(flow_store)
    service.tick()
    fails(return_state=True)
    _ticks(service)
    (action,) = flow_store.read_firings(automation.id)[0].actions
    assert action.status is ActionStatus.FAILED and "404" in (action.last_error or "")
    failed = flow_store.read_events(EventFilter(types=("mainspring.automation.action.failed",)))
    assert len(failed.events) == 1


def test_not_completed_within_fires_for_the_late_run_only(
    flow_store: SqlStore, receiver: Receiver
) -> None:
    trigger = {"type": "flow-run-not-completed", "within_seconds": 30, "flows": ["nightly"]}
    automation = flow_store.create_automation(
        automation_from_spec(_webhook("slow", receiver, trigger))
    )
    service = AutomationService(flow_store)
    service.tick()
    nightly = flow_store.upsert_deployment(Deployment(flow_name="nightly", name="daily"))
    now = time.time()
    stuck = flow_store.create_deployment_run(nightly.id, when=now - 5).run
    quick = flow_store.create_deployment_run(nightly.id, when=now - 5).run
    _ticks(service)
    assert flow_store.set_state(quick.id, State(StateType.PENDING)).accepted
    assert flow_store.set_state(quick.id, State(StateType.RUNNING)).accepted
    assert flow_store.set_state(quick.id, State(StateType.COMPLETED)).accepted
    _ticks(service, now=now + 26)
    receiver.wait_for(1)
    time.sleep(0.3)
    assert len(receiver.deliveries) == 1
    (firing,) = flow_store.read_firings(automation.id)
    assert firing.context["flow_run"]["id"] == stuck.id


def test_n_events_within_a_window(flow_store: SqlStore, receiver: Receiver) -> None:
    trigger = {"type": "event-count", "event": "acme.export.", "threshold": 3, "within_seconds": 60}
    automation = flow_store.create_automation(
        automation_from_spec(_webhook("burst", receiver, trigger))
    )
    service = AutomationService(flow_store)
    service.tick()
    now = time.time()
    flow_store.emit_event(Event("acme.export.failed", "acme.export.1", now - 120))  # too old
    flow_store.emit_event(Event("acme.export.failed", "acme.export.2", now))
    flow_store.emit_event(Event("acme.other", "acme.other.1", now))
    _ticks(service)
    flow_store.emit_event(Event("acme.export.failed", "acme.export.3", now + 1))
    _ticks(service)
    assert flow_store.read_firings(automation.id) == []
    flow_store.emit_event(Event("acme.export.failed", "acme.export.4", now + 2))
    _ticks(service, now=time.time() + SETTLE + 1)  # read again: still one firing
    receiver.wait_for(1)
    time.sleep(0.3)
    assert len(receiver.deliveries) == 1
    assert len(flow_store.read_firings(automation.id)) == 1


def test_the_crash_detectors_crashed_runs_trigger_automations(
    flow_store: SqlStore, receiver: Receiver
) -> None:
    from mainspring.server.services.crash_detector import CrashDetector

    trigger = {"type": "flow-run-state", "states": ["Crashed"]}
    flow_store.create_automation(automation_from_spec(_webhook("crash", receiver, trigger)))
    service = AutomationService(flow_store)
    service.tick()
    silent = flow_run("etl", StateType.RUNNING, ts=time.time() - 600)
    flow_store.write(Batch(flow_runs={silent.id: silent}))
    assert CrashDetector(flow_store, timeout=30, interval=1).scan() == [silent.id]
    _ticks(service)
    receiver.wait_for(1)
    assert len(receiver.deliveries) == 1
    assert silent.id in receiver.deliveries[0].body


def test_actions_on_runs_and_deployments_are_done_once(flow_store: SqlStore) -> None:
    nightly = flow_store.upsert_deployment(Deployment(flow_name="report", name="nightly"))
    spec = {
        "name": "react",
        "trigger": {"type": "flow-run-state", "states": ["Running"], "flows": ["etl"]},
        "actions": [
            {"type": "pause-deployment", "deployment": "report/nightly"},
            {"type": "run-deployment", "deployment": "report/nightly", "parameters": {}},
            {"type": "cancel-flow-run"},
        ],
    }
    automation = flow_store.create_automation(automation_from_spec(spec))
    service = AutomationService(flow_store)
    service.tick()
    running = flow_run("etl", StateType.RUNNING, ts=time.time())
    state = StateRecord(running.id, False, StateType.RUNNING, "Running", None, running.state.ts)
    flow_store.write(Batch(flow_runs={running.id: running}, states=[state]))
    _ticks(service)
    (firing,) = flow_store.read_firings(automation.id)
    assert [a.status for a in firing.actions] == [ActionStatus.DONE] * 3, firing.actions
    assert len(flow_store.read_deployment_runs(nightly.id)) == 1
    assert flow_store.read_deployment(nightly.id).paused
    assert flow_store.read_flow_run(running.id).state.type in (
        StateType.CANCELLING,
        StateType.CANCELLED,
    )
    # Attempts made again after a lost answer (a restart mid-action) change nothing more.
    from mainspring.server.services.automation_actions import run_action

    for action in firing.actions[1:]:  # (pausing again would delete the run it made)
        run_action(flow_store, action)
    assert len(flow_store.read_deployment_runs(nightly.id)) == 1


def test_change_state_goes_through_the_rules(flow_store: SqlStore) -> None:
    nightly = flow_store.upsert_deployment(Deployment(flow_name="nightly", name="daily"))
    spec = {
        "name": "skip-late",
        "trigger": {"type": "flow-run-state", "states": ["Scheduled"], "flows": ["nightly"]},
        "actions": [
            {
                "type": "change-flow-run-state",
                "state": "Cancelled",
                "message": "{{ automation.name }}: not wanted",
            }
        ],
    }
    automation = flow_store.create_automation(automation_from_spec(spec))
    service = AutomationService(flow_store)
    service.tick()
    run = flow_store.create_deployment_run(nightly.id).run
    _ticks(service)
    (firing,) = flow_store.read_firings(automation.id)
    assert firing.actions[0].status is ActionStatus.DONE
    state = flow_store.read_flow_run(run.id).state
    assert (state.name, state.message) == ("Cancelled", "skip-late: not wanted")


def test_send_notification_through_a_saved_webhook_block(
    flow_store: SqlStore, receiver: Receiver
) -> None:
    import json

    from mainspring.blocks.notifications import Webhook

    Webhook(url=receiver.url).save("on-call")
    spec = {
        "name": "notify",
        "trigger": {"type": "flow-run-state", "states": ["Failed"]},
        "actions": [
            {
                "type": "send-notification",
                "block": "webhook/on-call",
                "subject": "{{ flow_run.flow }} {{ flow_run.state }}",
                "body": "{{ flow_run.name }}: {{ flow_run.error }} {{ flow_run.url }}",
            }
        ],
    }
    automation = flow_store.create_automation(automation_from_spec(spec))
    service = AutomationService(flow_store)
    service.tick()
    fails(return_state=True)
    run = flow_store.read_flow_runs(limit=1)[0]
    _ticks(service)
    (delivery,) = receiver.wait_for(1)
    sent = json.loads(delivery.body)
    assert sent["subject"] == "fails Failed"
    assert sent["body"] == (
        f"{run.name}: Flow run encountered an exception RuntimeError: disk full "
        f"http://127.0.0.1:4200/runs/flow-run/{run.id}"
    )
    (action,) = flow_store.read_firings(automation.id)[0].actions
    assert action.status is ActionStatus.DONE


def test_a_missing_block_fails_the_action_once_saying_so(flow_store: SqlStore) -> None:
    spec = {
        "name": "notify",
        "trigger": {"type": "flow-run-state", "states": ["Failed"]},
        "actions": [{"type": "send-notification", "block": "webhook/nobody"}],
    }
    automation = flow_store.create_automation(automation_from_spec(spec))
    service = AutomationService(flow_store)
    service.tick()
    fails(return_state=True)
    _ticks(service)
    (action,) = flow_store.read_firings(automation.id)[0].actions
    assert action.status is ActionStatus.FAILED and action.attempts == 1
    assert "webhook/nobody" in (action.last_error or "")


def test_the_retention_service_prunes_old_events(flow_store: SqlStore) -> None:
    from mainspring.server.services.retention import RetentionService

    now = time.time()
    flow_store.emit_event(Event("acme.old", "acme.x", now - 8 * 86400))
    flow_store.emit_event(Event("acme.recent", "acme.x", now - 3600))
    assert RetentionService(flow_store, retention=7 * 86400, interval=3600).prune(now) == 1
    kinds = [e.event for e in flow_store.read_events(EventFilter(types=("acme.",))).events]
    assert kinds == ["acme.recent"]


def test_templates_run_sandboxed() -> None:
    from mainspring.server.services.automation_context import TemplateFailed, render

    context = {"flow_run": {"name": "bold-otter"}}
    assert render("{{ flow_run.name | upper }}", context) == "BOLD-OTTER"
    assert render("{{ flow_run.missing }}", context) == ""
    with pytest.raises(TemplateFailed):
        render("{{ flow_run.__class__.__mro__[1].__subclasses__() }}", context)
    with pytest.raises(TemplateFailed):
        render("{{ 1 / 0 }}", context)


def test_events_while_paused_never_fire_it(flow_store: SqlStore, receiver: Receiver) -> None:
    trigger = {"type": "flow-run-state", "states": ["Failed"]}
    automation = flow_store.create_automation(
        automation_from_spec(_webhook("p", receiver, trigger))
    )
    service = AutomationService(flow_store)
    service.tick()
    flow_store.set_automation_enabled(automation.id, False)
    fails(return_state=True)
    _ticks(service)
    flow_store.set_automation_enabled(automation.id, True)
    _ticks(service, now=time.time() + SETTLE + 1)
    time.sleep(0.3)
    assert receiver.deliveries == []
    fails(return_state=True)
    _ticks(service)
    assert len(receiver.wait_for(1)) == 1
