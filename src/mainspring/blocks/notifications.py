"""Notification blocks: `notify(body, subject=None)` to Slack, Microsoft Teams, Discord, email,
any of apprise's ~100 services, or a plain webhook. Plain Python: call them from state hooks
(`@flow(on_failure=[alert])`), no server needed.

Delivery goes through apprise (`apprise.Apprise`), as in Prefect. The chat webhooks post their
service's JSON payload (Slack `{"text"}`, Discord `{"content"}`, Teams `{"title", "text"}`) to
exactly the webhook URL saved (through apprise's JSON notifier with its keys renamed), so a
self-hosted or proxied endpoint works as well as the service's own. `Webhook` is a plain
HTTP request (httpx) with a JSON body template, for endpoints that are not chat services.

A delivery that fails raises `NotificationError` saying which block and why; the message
never holds the webhook URL, a password or a header value (each is masked before it is
raised: a hook's error is logged with its traceback).
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Literal
from urllib.parse import quote, urlencode, urlsplit

from pydantic import Field, SecretStr, field_validator

from mainspring.blocks.core import Block, SecretDict
from mainspring.exceptions import MainspringError
from mainspring.model.blocks import SECRET_MASK

__all__ = [
    "AppriseNotification",
    "DiscordWebhook",
    "Email",
    "EmailServerCredentials",
    "MicrosoftTeamsWebhook",
    "NotificationBlock",
    "NotificationError",
    "SlackWebhook",
    "Webhook",
]


class NotificationError(MainspringError):
    """A notification could not be delivered; the message names the block, never a secret."""


class NotificationBlock(Block):
    """What every notification block offers: `notify(body, subject=None)`."""

    _block_type_abstract = True

    def notify(self, body: str, subject: str | None = None) -> None:
        raise NotImplementedError

    def _secrets(self) -> list[str]:
        """The secret values of this block, to mask out of error messages."""
        found: list[str] = []
        for path in type(self).secret_fields():
            node: Any = self
            for part in path.split("."):
                node = getattr(node, part, None)
            value = node.get_secret_value() if hasattr(node, "get_secret_value") else None
            if isinstance(value, dict):
                found.extend(str(v) for v in value.values())
            elif value:
                found.append(str(value))
        return found

    def _scrub(self, text: str) -> str:
        for secret in sorted(self._secrets(), key=len, reverse=True):
            if secret:
                text = text.replace(secret, SECRET_MASK)
        return text


class AppriseNotification(NotificationBlock):
    """Any service apprise knows, by its apprise URL (`mailto://...`, `tgram://...`,
    `json://host/path`, ...; see apprise's documentation). The URL is secret."""

    url: SecretStr = Field(description="An apprise URL.")

    def _apprise_url(self) -> str:
        return self.url.get_secret_value()

    def notify(self, body: str, subject: str | None = None) -> None:
        _send_with_apprise(self, self._apprise_url(), body, subject)


def _send_with_apprise(block: NotificationBlock, url: str, body: str, subject: str | None) -> None:
    import apprise

    what = f"{type(block).__name__}{_named(block)}"
    sender = apprise.Apprise()
    with apprise.LogCapture(level=logging.WARNING) as captured:
        if not sender.add(url):
            raise NotificationError(f"{what}: apprise does not understand its URL")
        delivered = sender.notify(body=body, title=subject or "")
    if not delivered:
        reason = " ".join(captured.getvalue().split())[-500:] or "no reason given"
        raise NotificationError(f"{what} could not deliver: {block._scrub(reason)}")


def _named(block: Block) -> str:
    name = block.block_document_name
    return f" {name!r}" if name else ""


def _json_url(webhook: str, renames: dict[str, str]) -> str:
    """apprise's JSON notifier posting to `webhook`, its payload keys renamed (to '' drops)."""
    parts = urlsplit(webhook)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("expected an http(s) webhook URL")
    scheme = "jsons" if parts.scheme == "https" else "json"
    query = urlencode({f":{key}": value for key, value in renames.items()})
    own = f"&{parts.query}" if parts.query else ""
    return f"{scheme}://{parts.netloc}{parts.path or '/'}?{query}{own}"


class _ChatWebhook(AppriseNotification):
    """A chat service's incoming webhook: its JSON payload posted to the URL saved."""

    _block_type_abstract = True
    #: apprise's JSON keys (message, title, type, version, attachments) -> the service's
    _renames: ClassVar[dict[str, str]] = {}
    url: SecretStr = Field(description="The incoming webhook URL the service gave you.")

    @field_validator("url")
    @classmethod
    def _http(cls, value: SecretStr) -> SecretStr:
        parts = urlsplit(value.get_secret_value())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("the webhook URL must be an http(s) URL")
        return value

    def _apprise_url(self) -> str:
        renames = {"title": "", "type": "", "version": "", "attachments": "", **self._renames}
        kept = {key: to for key, to in renames.items() if key != to}  # same name: keep as is
        return _json_url(self.url.get_secret_value(), kept)

    def notify(self, body: str, subject: str | None = None) -> None:
        if "title" not in self._renames and subject:
            body = f"{subject}\n{body}"  # the service has no title: it leads the text
        super().notify(body, subject)


class SlackWebhook(_ChatWebhook):
    """Posts to a Slack incoming webhook (`https://hooks.slack.com/services/...`)."""

    _block_type_slug = "slack-webhook"
    _renames = {"message": "text"}


class DiscordWebhook(_ChatWebhook):
    """Posts to a Discord webhook (`https://discord.com/api/webhooks/...`)."""

    _block_type_slug = "discord-webhook"
    _renames = {"message": "content"}


class MicrosoftTeamsWebhook(_ChatWebhook):
    """Posts to a Microsoft Teams incoming webhook (its title and text)."""

    _block_type_slug = "ms-teams-webhook"
    _renames = {"message": "text", "title": "title"}


class EmailServerCredentials(Block):
    """An SMTP server and the account that sends through it."""

    smtp_server: str = Field(description="The SMTP server's host name.")
    smtp_port: int | None = Field(None, description="Default: 465 for SSL, 587 for STARTTLS, 25.")
    smtp_type: Literal["SSL", "STARTTLS", "INSECURE"] = Field(
        "STARTTLS", description="How the connection is secured."
    )
    username: str | None = Field(None, description="The account; none: send without login.")
    password: SecretStr | None = Field(None, description="The account's password.")


class Email(NotificationBlock):
    """Sends an email through an SMTP server (apprise's email notifier)."""

    credentials: EmailServerCredentials
    email_to: list[str] = Field(min_length=1, description="The recipients (one email each).")
    email_from: str | None = Field(None, description="The sender; default: the username.")

    def _apprise_url(self) -> str:
        c = self.credentials
        scheme = "mailto" if c.smtp_type == "INSECURE" else "mailtos"
        login = ""
        if c.username:
            password = c.password.get_secret_value() if c.password else ""
            login = quote(c.username, safe="")
            login += f":{quote(password, safe='')}@" if password else "@"
        port = f":{c.smtp_port}" if c.smtp_port else ""
        sender = self.email_from or c.username or f"mainspring@{c.smtp_server}"
        query = {"smtp": c.smtp_server, "from": sender, "to": ",".join(self.email_to)}
        if c.smtp_type != "INSECURE":
            query["mode"] = c.smtp_type.lower()
        return f"{scheme}://{login}{c.smtp_server}{port}?{urlencode(query)}"

    def notify(self, body: str, subject: str | None = None) -> None:
        _send_with_apprise(self, self._apprise_url(), body, subject)


class Webhook(NotificationBlock):
    """A plain HTTP request to any endpoint: its method, URL, headers (secret values) and a
    JSON body template in which `{{body}}` and `{{subject}}` are replaced (in every string of
    it); without a template the body is `{"subject": ..., "body": ...}`."""

    _block_type_slug = "webhook"

    url: str = Field(description="The endpoint.")
    method: Literal["POST", "PUT", "PATCH", "GET", "DELETE"] = "POST"
    headers: SecretDict = Field(
        default_factory=lambda: SecretDict({}), description="Headers (their values are secret)."
    )
    json_data: Any = Field(None, description="The JSON body, with {{body}} and {{subject}}.")
    timeout: float = Field(10.0, gt=0, description="Seconds to wait for the endpoint.")

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("the webhook URL must be an http(s) URL")
        return value

    def _payload(self, body: str, subject: str | None) -> Any:
        if self.json_data is None:
            return {"subject": subject, "body": body}
        return _render(self.json_data, {"body": body, "subject": subject or ""})

    def notify(self, body: str, subject: str | None = None) -> None:
        import httpx

        what = f"Webhook{_named(self)}"
        where = urlsplit(self.url).netloc
        payload = self._payload(body, subject)
        try:
            response = httpx.request(
                self.method,
                self.url,
                headers=self.headers.get_secret_value(),
                json=payload if self.method != "GET" else None,
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            reason = self._scrub(f"{type(exc).__name__}: {exc}")
            raise NotificationError(f"{what} could not reach {where}: {reason}") from None
        if response.status_code >= 400:
            raise NotificationError(
                f"{what}: {where} answered {response.status_code} {response.reason_phrase}"
            )


def _render(template: Any, values: dict[str, str]) -> Any:
    if isinstance(template, str):
        for key, value in values.items():
            template = template.replace("{{" + key + "}}", value)
        return template
    if isinstance(template, dict):
        return {k: _render(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_render(v, values) for v in template]
    return template
