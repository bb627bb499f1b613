"""What an automation's templates see, and how they are rendered (Jinja2, sandboxed).

The context is made when a trigger matches and stored with the firing, so an action retried
after a restart renders the same message. Templates run in Jinja2's `SandboxedEnvironment`:
an automation's author can read the context's values, not reach Python objects, files or the
network through them.
"""

from __future__ import annotations

from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from mainspring.model.automations import Automation
from mainspring.model.events import Event

_ENV = SandboxedEnvironment(autoescape=False, keep_trailing_newline=False)
#: Most characters a rendered message keeps (a runaway template cannot fill a receiver).
MAX_RENDERED = 100_000


class TemplateFailed(ValueError):
    """A template that cannot be rendered: retrying will not help."""


def run_page(ui_url: str, flow_run_id: str) -> str:
    return f"{ui_url.rstrip('/')}/runs/flow-run/{flow_run_id}"


def flow_run_context(labels: dict[str, Any], ui_url: str) -> dict[str, Any]:
    """A flow run as templates see it: `flow_run.name`, `.state`, `.message`, `.error` (the
    message's first line), `.url` (its page), `.flow`, `.deployment`, `.tags`, ..."""
    message = labels.get("message") or ""
    return {
        "id": labels.get("id"),
        "name": labels.get("name"),
        "flow": labels.get("flow"),
        "state": labels.get("state"),
        "state_type": labels.get("state_type"),
        "message": message,
        "error": message.strip().splitlines()[0] if message.strip() else "",
        "tags": labels.get("tags") or [],
        "deployment": labels.get("deployment"),
        "deployment_id": labels.get("deployment_id"),
        "work_pool": labels.get("work_pool"),
        "url": run_page(ui_url, labels["id"]) if labels.get("id") else None,
    }


def firing_context(automation: Automation, event: Event, ui_url: str) -> dict[str, Any]:
    context: dict[str, Any] = {
        "automation": {"id": automation.id, "name": automation.name},
        "event": {
            "id": event.id,
            "event": event.event,
            "occurred": event.occurred,
            "resource_id": event.resource_id,
            "resource": event.resource,
            "payload": event.payload,
        },
    }
    if event.resource_id.startswith("mainspring.flow-run."):
        labels = {**event.resource, "message": event.payload.get("message")}
        context["flow_run"] = flow_run_context(labels, ui_url)
    return context


def render(template: str, context: dict[str, Any]) -> str:
    try:
        text = _ENV.from_string(template).render(**context)
    except TemplateError as exc:
        raise TemplateFailed(f"The template cannot be rendered: {exc}") from None
    except Exception as exc:  # a sandbox refusal, a type error inside an expression
        raise TemplateFailed(f"The template failed: {type(exc).__name__}: {exc}") from None
    return text[:MAX_RENDERED]


def check_template(template: str) -> None:
    """ValueError for a template that does not parse (refused when the automation is made)."""
    try:
        _ENV.parse(template)
    except TemplateError as exc:
        raise ValueError(f"not a valid template: {exc}") from None
