"""Notification blocks deliver to real receivers on loopback: an HTTP server standing in for
Slack, Discord, Teams and a plain webhook (the exact payload received is checked) and a real
SMTP server (aiosmtpd) for email, each fed by a real failing flow's on_failure hook, with
blocks saved and loaded by name and no server. Failures say why without a secret."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mainspring import flow
from mainspring.blocks.notifications import (
    AppriseNotification,
    DiscordWebhook,
    Email,
    EmailServerCredentials,
    MicrosoftTeamsWebhook,
    NotificationError,
    SlackWebhook,
    Webhook,
)
from mainspring.testing import free_port


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    status: int = 200


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP server on loopback that records each request."""
    port = free_port()
    state = Receiver(f"http://127.0.0.1:{port}")

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            state.requests.append(Received(self.command, self.path, dict(self.headers), body))
            self.send_response(state.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        do_POST = do_PUT = do_GET = _record

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def failing_flow(hook):
    @flow(name="nightly-etl", on_failure=[hook])
    def nightly_etl() -> None:
        raise ValueError("source table is empty")

    return nightly_etl


def run_failing(hook) -> None:
    with pytest.raises(ValueError, match="source table is empty"):
        failing_flow(hook)()


def alert(block_cls, name: str):
    """A state hook as users write it: load the block by name, notify."""

    def hook(flow, flow_run, state) -> None:
        block_cls.load(name).notify(
            f"Flow run {flow_run.name} of {flow.name}: {state.message}",
            subject=f"{flow.name} {state.name}",
        )

    return hook


def test_slack_webhook_from_an_on_failure_hook(receiver: Receiver) -> None:
    SlackWebhook(url=f"{receiver.url}/services/T000/B000/secret-token-1").save("ops")
    run_failing(alert(SlackWebhook, "ops"))
    (request,) = receiver.requests
    assert (request.method, request.path) == ("POST", "/services/T000/B000/secret-token-1")
    assert request.headers["Content-Type"] == "application/json"
    payload = request.json()
    assert list(payload) == ["text"]
    subject, text = payload["text"].split("\n", 1)
    assert subject == "nightly-etl Failed"
    assert text.startswith("Flow run ") and "source table is empty" in text


def test_discord_and_teams_payloads(receiver: Receiver) -> None:
    DiscordWebhook(url=f"{receiver.url}/api/webhooks/1/tok").notify("body text", "Subject")
    MicrosoftTeamsWebhook(url=f"{receiver.url}/teams/hook").notify("body text", "Subject")
    discord, teams = receiver.requests
    assert discord.path == "/api/webhooks/1/tok"
    assert discord.json() == {"content": "Subject\nbody text"}
    assert teams.path == "/teams/hook" and teams.json() == {"title": "Subject", "text": "body text"}


def test_plain_webhook_with_secret_headers_and_a_body_template(receiver: Receiver) -> None:
    Webhook(
        url=f"{receiver.url}/hooks/pager",
        method="PUT",
        headers={"Authorization": "Bearer hdr-S3CRET"},
        json_data={"summary": "{{subject}}", "details": {"text": "{{body}}"}, "severity": 2},
    ).save("pager")
    run_failing(alert(Webhook, "pager"))
    (request,) = receiver.requests
    assert (request.method, request.path) == ("PUT", "/hooks/pager")
    assert request.headers["Authorization"] == "Bearer hdr-S3CRET"
    payload = request.json()
    assert payload["summary"] == "nightly-etl Failed" and payload["severity"] == 2
    assert "source table is empty" in payload["details"]["text"]
    assert "hdr-S3CRET" not in repr(Webhook.load("pager"))


def test_generic_apprise_url(receiver: Receiver) -> None:
    port = receiver.url.rsplit(":", 1)[1]
    AppriseNotification(url=f"json://127.0.0.1:{port}/generic").notify("hello", "Title")
    (request,) = receiver.requests
    payload = request.json()
    assert request.path == "/generic"
    assert (payload["title"], payload["message"]) == ("Title", "hello")


def test_failed_deliveries_say_why_without_the_secret(receiver: Receiver) -> None:
    receiver.status = 500
    with pytest.raises(NotificationError, match="answered 500") as plain:
        Webhook(url=f"{receiver.url}/x", headers={"X-Token": "hdr-S3CRET"}).notify("b")
    with pytest.raises(NotificationError, match="SlackWebhook could not deliver") as chat:
        SlackWebhook(url=f"{receiver.url}/services/T/B/tok-S3CRET").notify("b")
    for error in (plain, chat):
        assert "S3CRET" not in str(error.value)
    with pytest.raises(ValueError, match="http"):
        SlackWebhook(url="ftp://example.com/x")


def test_a_broken_notification_does_not_change_the_flows_outcome(
    receiver: Receiver, capfd: pytest.CaptureFixture[str]
) -> None:
    receiver.status = 500
    Webhook(url=f"{receiver.url}/down", headers={"X-Token": "hdr-S3CRET"}).save("down")
    run_failing(alert(Webhook, "down"))  # still the flow's own error, not the hook's
    assert len(receiver.requests) == 1
    logged = capfd.readouterr().err
    assert "answered 500" in logged  # the hook's error is logged, with its traceback
    assert "hdr-S3CRET" not in logged


# -- email, through a real SMTP server (aiosmtpd) on loopback --------------------------------
@dataclass
class Mailbox:
    port: int
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    box = Mailbox(free_port())

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            box.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
            return "250 Message accepted for delivery"

    def authenticator(server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            box.logins.append((auth_data.login, auth_data.password))
            return AuthResult(success=auth_data.password == b"smtp-pa55")
        return AuthResult(success=False)

    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=box.port,
        authenticator=authenticator,
        auth_require_tls=False,  # loopback: no certificate to present
    )
    controller.start()
    yield box
    controller.stop()


def test_email_from_an_on_failure_hook(smtp_server: Mailbox) -> None:
    credentials = EmailServerCredentials(
        smtp_server="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_type="INSECURE",
        username="alerts@example.com",
        password="smtp-pa55",
    )
    Email(credentials=credentials, email_to=["oncall@example.com", "lead@example.com"]).save(
        "oncall"
    )
    run_failing(alert(Email, "oncall"))
    assert set(smtp_server.logins) == {(b"alerts@example.com", b"smtp-pa55")}
    # one message per recipient (apprise's way: no recipient sees the others' addresses)
    assert sorted(to for _, (to,), _ in smtp_server.messages) == [
        "lead@example.com",
        "oncall@example.com",
    ]
    for sender, _, content in smtp_server.messages:
        assert sender == "alerts@example.com"
        message = message_from_bytes(content)
        assert message["Subject"] == "nightly-etl Failed"
        part = message.get_payload()[0] if message.is_multipart() else message
        assert b"source table is empty" in part.get_payload(decode=True)


def test_email_with_a_wrong_password_fails_without_showing_it(smtp_server: Mailbox) -> None:
    credentials = EmailServerCredentials(
        smtp_server="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_type="INSECURE",
        username="alerts@example.com",
        password="wrong-pa55-XYZ",
    )
    email = Email(credentials=credentials, email_to=["oncall@example.com"])
    with pytest.raises(NotificationError, match="Email could not deliver") as failed:
        email.notify("body", "subject")
    assert "wrong-pa55-XYZ" not in str(failed.value)
    assert smtp_server.messages == []
