"""The automations and events pages (httpx against the app) over a real store (SQLite and
PostgreSQL): automations made from specs as `mainspring automation create` makes them, fired
by a real failing flow through the real automations service (a webhook delivered on loopback,
a notification whose block is missing), pause/resume/delete as CSRF forms refused to
read-only keys; events filtered and paged with the store's cursor; hostile text stays text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.server.receiver import Receiver

from mainspring import flow
from mainspring.model.automations import automation_from_spec
from mainspring.model.events import Event
from mainspring.server.auth import create_api_key
from mainspring.server.services.automations import AutomationService
from mainspring.store.sql import SqlStore

from ..conftest import cli, server_env
from .conftest import ui_client
from .history import HOSTILE
from .test_pages import text_of


@flow(name="nightly-etl")
def nightly_etl() -> None:
    raise RuntimeError(f"disk full {HOSTILE}")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def page_spec(receiver: Receiver) -> dict:
    return {
        "name": f"page-on-failure {HOSTILE}",
        "description": f"Wakes someone {HOSTILE}",
        "trigger": {
            "type": "flow-run-state",
            "states": ["Failed", "Crashed"],
            "flows": ["nightly-etl"],
        },
        "actions": [
            {"type": "call-webhook", "url": receiver.url},
            {"type": "send-notification", "block": "slack-webhook/nobody"},
        ],
    }


@pytest.fixture
def fired(flow_store: SqlStore, receiver: Receiver) -> tuple[SqlStore, str, str]:
    """An automation fired once by a real failing run: (store, automation id, run id)."""
    automation = flow_store.create_automation(automation_from_spec(page_spec(receiver)))
    service = AutomationService(flow_store)
    service.tick()
    assert nightly_etl(return_state=True).is_failed()
    for _ in range(3):
        service.tick()
    receiver.wait_for(1)
    (run,) = flow_store.read_flow_runs(limit=1)
    return flow_store, automation.id, run.id


def csrf_of(client) -> str:
    client.get("/automations")
    token = client.cookies.get("ms_csrf")
    assert token
    return token


def test_an_automation_shows_its_trigger_actions_and_firings(fired) -> None:
    store, _automation_id, run_id = fired
    with ui_client(store) as client:
        page = client.get("/automations")
    assert page.status_code == 200
    html, text = page.text, text_of(page.text)
    assert "<script>alert" not in html  # the hostile name and description are text
    assert f"page-on-failure {HOSTILE}" in text and f"Wakes someone {HOSTILE}" in text
    assert "flow run Failed/Crashed (flows nightly-etl)" in text
    assert "1. POST to http://127.0.0.1:" in text
    assert "2. send a notification through the block slack-webhook/nobody" in text
    assert "enabled" in text
    (run,) = store.read_flow_runs(limit=1)
    assert f'<a href="/runs/flow-run/{run_id}">{run.name}</a>' in html
    # the outcome of each action: the webhook done, the missing block failed, saying why
    assert re.search(r"call-webhook: done", text)
    assert re.search(r"send-notification: failed .*slack-webhook/nobody", text)
    assert 'aria-current="page">Automations</a>' in html


def test_pause_resume_and_delete(fired) -> None:
    store, automation_id, _ = fired
    with ui_client(store) as client:
        token = csrf_of(client)
        paused = client.post(f"/automations/{automation_id}/pause", data={"csrf_token": token})
        assert paused.status_code == 200  # followed the redirect to the list
        assert "paused" in text_of(paused.text)
        assert not store.find_automation(automation_id).enabled
        assert f'action="/automations/{automation_id}/resume"' in paused.text
        client.post(f"/automations/{automation_id}/resume", data={"csrf_token": token})
        assert store.find_automation(automation_id).enabled
        gone = client.post(f"/automations/{automation_id}/delete", data={"csrf_token": token})
        assert "deleted" in text_of(gone.text)
        assert store.read_automations() == []
        assert "No automations yet" in text_of(gone.text)
        assert "mainspring automation create -f" in text_of(gone.text)
        missing = client.post(f"/automations/{automation_id}/pause", data={"csrf_token": token})
        assert missing.status_code == 404


def test_actions_need_the_csrf_token_and_a_key_that_may_write(fired) -> None:
    store, automation_id, _ = fired
    with ui_client(store) as client:
        for action in ("pause", "resume", "delete"):
            refused = client.post(f"/automations/{automation_id}/{action}")
            assert refused.status_code == 403 and "CSRF" in refused.text, action
    _, key = create_api_key(store, "viewer", read_only=True)
    with ui_client(store) as client:
        client.cookies.set("ms_api_key", key)
        page = client.get("/automations")
        assert page.status_code == 200
        assert "<button" not in page.text.split("<main", 1)[1]
        assert "read-only" in text_of(page.text)
        token = client.cookies.get("ms_csrf")
        for action in ("pause", "resume", "delete"):
            refused = client.post(
                f"/automations/{automation_id}/{action}", data={"csrf_token": token}
            )
            assert refused.status_code == 403 and "read-only" in refused.text, action
    assert store.find_automation(automation_id).enabled


def test_an_automation_made_by_the_cli_is_listed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: late-runs\ntrigger:\n  type: flow-run-not-completed\n  within_seconds: 600\n"
        "  tags: [nightly]\nactions:\n  - type: cancel-flow-run\n",
        encoding="utf-8",
    )
    made = cli(server_env(home), "automation", "create", "-f", str(spec))
    assert made.returncode == 0, made.stderr
    store = SqlStore(f"sqlite:///{home / 'mainspring.db'}")
    try:
        with ui_client(store) as client:
            text = text_of(client.get("/automations").text)
        assert "late-runs" in text
        assert "flow run not Completed 600 s after scheduled (tags nightly)" in text
        assert "1. cancel the flow run" in text
        assert "It has not fired yet" in text
    finally:
        store.close()


def test_the_events_page_shows_runs_and_automations_events(fired) -> None:
    store, _automation_id, run_id = fired
    with ui_client(store) as client:
        page = client.get("/events")
        assert page.status_code == 200
        html, text = page.text, text_of(page.text)
        assert "<script>alert" not in html
        for kind in (
            "mainspring.flow-run.Failed",
            "mainspring.automation.triggered",
            "mainspring.automation.action.executed",
            "mainspring.automation.action.failed",
        ):
            assert kind in text, kind
        assert f'href="/runs/flow-run/{run_id}"' in html
        assert '<td class="event-resource"><a href="/automations">an automation</a>' in html
        failed = client.get("/events?type=mainspring.flow-run.Failed")
        kinds = set(re.findall(r'<td class="event-type"><a [^>]*>([^<]+)</a>', failed.text))
        assert kinds == {"mainspring.flow-run.Failed"}
        mine = client.get(f"/events?resource=mainspring.flow-run.{run_id}")
        kinds = re.findall(r'<td class="event-type"><a [^>]*>([^<]+)</a>', mine.text)
        assert kinds[0] == "mainspring.flow-run.Failed" and "mainspring.flow-run.Running" in kinds
        assert not any(k.startswith("mainspring.automation") for k in kinds)
        nothing = client.get("/events?type=acme.")
        assert "No events match" in text_of(nothing.text)


def test_events_come_in_pages_that_neither_skip_nor_repeat(flow_store: SqlStore) -> None:
    for n in range(60):
        flow_store.emit_event(Event("acme.export.done", f"acme.export.{n}", 1_700_000_000.0 + n))
    flow_store.emit_event(
        Event("acme.export.failed", f"acme.{HOSTILE}", 1_700_000_100.0, {}, {"message": HOSTILE})
    )
    resources = r'<span class="sub"><a [^>]*>([^<]+)</a>'
    with ui_client(flow_store) as client:
        first = client.get("/events?type=acme.")
        assert "<script>alert" not in first.text
        assert HOSTILE in text_of(first.text)
        seen = re.findall(resources, first.text)
        older = re.search(r'href="(/events\?[^"]*cursor=[^"]+)" rel="next"', first.text)
        assert len(seen) == 50 and older
        # more events arrive meanwhile: the next page still continues where the first ended
        flow_store.emit_event(Event("acme.export.done", "acme.export.new", 1_700_000_200.0))
        second = client.get(older.group(1).replace("&amp;", "&"))
        rest = re.findall(resources, second.text)
        assert 'rel="next"' not in second.text and "Latest" in second.text
    names = [text_of(s) for s in seen + rest]
    assert len(names) == 61 == len(set(names))
    assert "acme.export.new" not in names


def test_bad_filters_are_400_pages_not_500s(flow_store: SqlStore) -> None:
    with ui_client(flow_store) as client:
        bad = ("cursor=<script>", "cursor=1.2.3", f"type={HOSTILE}", "resource=" + "x" * 300)
        for query in bad:
            answer = client.get(f"/events?{query}")
            assert answer.status_code == 400, query
            assert "<script>" not in answer.text


def test_empty_states_say_what_to_do(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with ui_client(store) as client:
            automations = text_of(client.get("/automations").text)
            events = text_of(client.get("/events").text)
        assert "No automations yet" in automations
        assert "mainspring automation create -f" in automations
        assert "No events yet" in events and "run a flow" in events
    finally:
        store.close()
