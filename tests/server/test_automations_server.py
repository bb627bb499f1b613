"""Automations end to end: a real `mainspring server start` (SQLite and PostgreSQL), a real
failing flow recording into it, the `mainspring automation` CLI through it, and a real HTTP
receiver on loopback, behind a saved `Webhook` notification block, that is down at first.
The server is killed (SIGKILL) after it recorded the firing and before any delivery got
through: started again, it delivers exactly once."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from tests.server.conftest import Server, cli, server_env, start_server, stop_server
from tests.server.receiver import Receiver

pytestmark = pytest.mark.slow

FLOW = textwrap.dedent(
    """
    import sys

    from mainspring import flow
    from mainspring.blocks.notifications import Webhook

    @flow(name="nightly-etl")
    def nightly_etl() -> None:
        raise RuntimeError("warehouse unreachable\\nTraceback (most recent call last): ...")

    if __name__ == "__main__":
        Webhook(url=sys.argv[1]).save("on-call", overwrite=True)
        try:
            nightly_etl()
        except RuntimeError:
            pass
    """
)

SPEC = """
name: page-on-failure
description: Tell the on-call when the nightly ETL fails
trigger:
  type: flow-run-state
  states: [Failed, Crashed]
  flows: [nightly-etl]
actions:
  - type: call-webhook
    url: {url}
    body: >-
      {{{{ flow_run.flow }}}} run {{{{ flow_run.name }}}} {{{{ flow_run.state }}}}:
      {{{{ flow_run.error }}}} {{{{ flow_run.url }}}}
"""
NOTIFY = """
name: page-on-failure
trigger: {{type: flow-run-state, states: [Failed], flows: [nightly-etl]}}
actions:
  - type: send-notification
    block: webhook/on-call
    subject: "{{{{ flow_run.flow }}}} {{{{ flow_run.state }}}}"
    body: "{{{{ flow_run.name }}}}: {{{{ flow_run.error }}}} {{{{ flow_run.url }}}}"
"""


def _env(home: Path, database_url: str | None) -> dict[str, str]:
    env = server_env(home, database_url)
    env["MAINSPRING_SERVER_AUTOMATIONS_INTERVAL"] = "0.2"
    env["MAINSPRING_AUTOMATION_RETRY_SECONDS"] = "0.5"
    env["MAINSPRING_LOGGING_CONSOLE"] = "false"
    return env


def _client_env(server: Server) -> dict[str, str]:
    env = {k: v for k, v in server.env.items() if k != "MAINSPRING_DATABASE_URL"}
    env["MAINSPRING_API_URL"] = server.url
    return env


def _run_flow(tmp_path: Path, env: dict[str, str], receiver_url: str) -> None:
    """The failing flow, after saving the Webhook block 'on-call' for `receiver_url`."""
    script = tmp_path / "nightly.py"
    script.write_text(FLOW)
    done = subprocess.run(
        [sys.executable, str(script), receiver_url],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def _wait(condition, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "sqlite":
        return None  # the SQLite file of the server's home
    return request.getfixturevalue("postgres_database")


def test_a_firing_survives_a_server_killed_before_delivery(
    tmp_path: Path, server_home: Path, database_url: str | None
) -> None:
    receiver = Receiver()  # down: connections are refused until it starts
    env = _env(server_home, database_url)
    server = start_server(env)
    try:
        spec = tmp_path / "spec.yaml"
        spec.write_text(NOTIFY.format())
        made = cli(_client_env(server), "automation", "create", "-f", str(spec))
        assert made.returncode == 0, made.stderr
        _run_flow(tmp_path, _client_env(server), receiver.url)
        with server.client() as api:
            automation = api.get("/automations/by_name", params={"name": "page-on-failure"}).json()
            firings_path = f"/automations/{automation['id']}/firings"

            def attempted() -> list[dict]:
                # an attempt is counted when it is claimed (before delivery) and its error is
                # written when it ends: wait for the end of the first
                firings = api.get(firings_path).json()
                action = firings[0]["actions"][0] if firings else None
                ended = action is not None and action["attempts"] >= 1 and action["last_error"]
                return firings if ended else []

            (firing,) = _wait(attempted, what="the first attempt")
        assert firing["actions"][0]["status"] == "pending"
        assert "The notification was not sent" in firing["actions"][0]["last_error"]
    finally:
        server.process.kill()  # SIGKILL: no shutdown, nothing flushed
        server.process.wait()
        stop_server(server.process)
    assert receiver.deliveries == []
    receiver.start()
    try:
        server = start_server(env)
        try:
            _wait(lambda: receiver.deliveries, what="the delivery")
            time.sleep(3)  # time enough for a second delivery, were there one
            assert len(receiver.deliveries) == 1
            sent = json.loads(receiver.deliveries[0].body)
            assert sent["subject"] == "nightly-etl Failed"
            error = "Flow run encountered an exception RuntimeError: warehouse unreachable"
            assert f": {error} http://127.0.0.1:4200/runs/flow-run/" in sent["body"]
            assert "Traceback" not in sent["body"]
            with server.client() as api:
                (firing,) = api.get(firings_path).json()
                assert firing["actions"][0]["status"] == "done"
                executed = api.get(
                    "/events", params={"type": "mainspring.automation.action.executed"}
                ).json()["events"]
                assert len(executed) == 1
                triggered = api.get(
                    "/events", params={"type": "mainspring.automation.triggered"}
                ).json()["events"]
                assert len(triggered) == 1
        finally:
            stop_server(server.process)
    finally:
        receiver.stop()


def test_cli_round_trip_through_the_server(tmp_path: Path, server_home: Path) -> None:
    server = start_server(_env(server_home, None))
    try:
        env = _client_env(server)
        spec = tmp_path / "spec.yaml"
        spec.write_text(SPEC.format(url="http://127.0.0.1:9/hook"))
        assert cli(env, "automation", "create", "-f", str(spec)).returncode == 0
        again = cli(env, "automation", "create", "-f", str(spec))
        assert again.returncode == 1 and "exists already" in again.stderr
        listed = json.loads(cli(env, "automation", "ls", "--json").stdout)
        assert [(a["name"], a["enabled"]) for a in listed] == [("page-on-failure", True)]
        assert listed[0]["trigger"]["states"] == ["Failed", "Crashed"]
        assert cli(env, "automation", "pause", "page-on-failure").returncode == 0
        shown = json.loads(cli(env, "automation", "inspect", "page-on-failure", "--json").stdout)
        assert shown["enabled"] is False and shown["firings"] == []
        assert "call-webhook" in cli(env, "automation", "ls").stdout
        assert cli(env, "automation", "resume", shown["id"]).returncode == 0
        assert cli(env, "automation", "delete", "page-on-failure").returncode == 0
        gone = cli(env, "automation", "inspect", "page-on-failure")
        assert gone.returncode == 1 and "no automation" in gone.stderr
        bad = tmp_path / "bad.yaml"
        bad.write_text("name: x\ntrigger: {type: flow-run-state, states: [Faild]}\nactions: []\n")
        refused = cli(env, "automation", "create", "-f", str(bad))
        assert refused.returncode == 1
        assert "trigger.states: unknown state 'Faild'" in refused.stderr
        template = tmp_path / "template.yaml"
        template.write_text(SPEC.format(url="http://x/").replace("{{ flow_run.url }}", "{{ oops"))
        refused = cli(env, "automation", "create", "-f", str(template))
        assert refused.returncode == 1 and "actions[0].body" in refused.stderr
        assert json.loads(cli(env, "automation", "ls", "--json").stdout) == []
        with httpx.Client(base_url=server.url) as api:
            kinds = [
                e["event"]
                for e in api.get("/events", params={"type": "mainspring.automation."}).json()[
                    "events"
                ]
            ]
        assert kinds == [
            "mainspring.automation.deleted",
            "mainspring.automation.resumed",
            "mainspring.automation.paused",
            "mainspring.automation.created",
        ]
        _events_through_api_store(server)
    finally:
        stop_server(server.process)


def _events_through_api_store(server: Server) -> None:
    """ApiStore's events: reported, filtered and paged through the server."""
    from mainspring.exceptions import NeedsDatabase
    from mainspring.model.events import Event, EventFilter
    from mainspring.store.http import ApiStore

    store = ApiStore(server.url, api_key="")
    try:
        for i in range(5):
            made = store.emit_event(Event("acme.export.done", f"acme.export.{i}", 1e9 + i))
            assert made.id.startswith("e")
        seen, cursor = [], None
        while True:
            page = store.read_events(EventFilter(types=("acme.",)), limit=2, cursor=cursor)
            seen += [e.resource_id for e in page.events]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == [f"acme.export.{i}" for i in reversed(range(5))]
        window = store.read_events(EventFilter(since=1e9 + 1, until=1e9 + 3)).events
        assert [e.resource_id for e in window] == ["acme.export.2", "acme.export.1"]
        with pytest.raises(NeedsDatabase):
            store.prune_events(0)
    finally:
        store.close()
