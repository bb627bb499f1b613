"""What an automation's actions do, each through the store or a receiver.

`run_action` does one attempt. It raises `ActionFailed` with `retry=True` when trying again
later may succeed (a receiver down or answering 5xx/429, a database hiccup) and `retry=False`
when it cannot (an unknown deployment, a template that fails). Actions that change state are
safe to attempt again after an attempt whose outcome was lost (the server died mid-way):
pausing a paused deployment changes nothing, a run already in the asked state is left so, and
a deployment run made by an attempt carries the action's tag, so a second attempt finds it
rather than making another. A webhook carries the action's key in a `Mainspring-Action-Key`
header, for a receiver that wants to recognize a repeat.
"""

from __future__ import annotations

import importlib
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from mainspring.exceptions import ObjectNotFound, StoreError
from mainspring.model.automations import DEFAULT_BODY, DEFAULT_SUBJECT
from mainspring.model.firings import ActionRun
from mainspring.model.orchestration import Status
from mainspring.model.states import STATE_NAMES, State, StateType
from mainspring.server.services.automation_context import TemplateFailed, render
from mainspring.store.base import Store
from mainspring.store.deployments import DeploymentStore

#: Seconds a receiver has to answer a webhook.
WEBHOOK_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class ActionFailed(Exception):
    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


def action_key(action: ActionRun) -> str:
    """Unique to the action of a firing: the same over its attempts."""
    return f"{action.automation_id}/{action.firing_id}/{action.index}"


def run_action(store: Store, action: ActionRun) -> None:
    """One attempt of `action` (module docstring for the errors)."""
    kind = action.action["type"]
    try:
        _ACTIONS[kind](store, action)
    except ActionFailed:
        raise
    except TemplateFailed as exc:
        raise ActionFailed(str(exc), retry=False) from None
    except ObjectNotFound as exc:
        raise ActionFailed(str(exc), retry=False) from None
    except StoreError as exc:
        raise ActionFailed(f"The store failed: {exc}", retry=True) from None


def _send_notification(_store: Store, action: ActionRun) -> None:
    options = action.action
    subject = render(options.get("subject") or DEFAULT_SUBJECT, action.context)
    body = render(options.get("body") or DEFAULT_BODY, action.context)
    try:
        block_class = importlib.import_module("mainspring.blocks").Block
    except (ImportError, AttributeError):
        raise ActionFailed(
            "Notification blocks are not available in this installation", retry=False
        ) from None
    try:
        block = block_class.load(options["block"])
    except Exception as exc:
        raise ActionFailed(
            f"Could not load the block {options['block']!r}: {exc}", retry=False
        ) from None
    notify = getattr(block, "notify", None)
    if notify is None:
        raise ActionFailed(f"The block {options['block']!r} cannot send notifications", retry=False)
    try:
        notify(body, subject)
    except Exception as exc:
        raise ActionFailed(f"The notification was not sent: {exc}", retry=True) from None


def _call_webhook(_store: Store, action: ActionRun) -> None:
    options = action.action
    where = urlsplit(options["url"]).netloc  # errors name the host, never a token in the URL
    headers = {"Mainspring-Action-Key": action_key(action), "User-Agent": "mainspring"}
    if options.get("body"):
        content = render(options["body"], action.context).encode()
        headers["Content-Type"] = "text/plain; charset=utf-8"
    else:
        content = orjson.dumps(action.context, default=str)
        headers["Content-Type"] = "application/json"
    try:
        answer = httpx.post(
            options["url"], content=content, headers=headers, timeout=WEBHOOK_TIMEOUT
        )
    except httpx.HTTPError as exc:
        reason = type(exc).__name__
        raise ActionFailed(f"{where} could not be reached ({reason})", retry=True) from None
    if answer.status_code >= 500 or answer.status_code in (408, 429):
        raise ActionFailed(f"{where} answered {answer.status_code}", retry=True)
    if answer.status_code >= 400:
        raise ActionFailed(f"{where} refused it: {answer.status_code}", retry=False)


def _deployments(store: Store) -> DeploymentStore:
    if not isinstance(store, DeploymentStore):
        raise ActionFailed("This server's store keeps no deployments", retry=False)
    return store


def _deployment_id(store: Store, action: ActionRun) -> str:
    name = action.action.get("deployment")
    if name is None:
        run = action.context.get("flow_run") or {}
        if not run.get("deployment_id"):
            raise ActionFailed(
                "The triggering run has no deployment, and none is named", retry=False
            )
        return str(run["deployment_id"])
    flow_name, deployment_name = name.split("/", 1)
    return _deployments(store).find_deployment(flow_name, deployment_name).id


def _run_deployment(store: Store, action: ActionRun) -> None:
    deployments = _deployments(store)
    deployment_id = _deployment_id(store, action)
    tag = f"automation:{action_key(action)}"
    for made in deployments.read_deployment_runs(deployment_id):
        if tag in made.run.tags:  # an earlier attempt made it; its answer was lost
            return
    parameters: dict[str, Any] = action.action.get("parameters") or {}
    try:
        deployments.create_deployment_run(deployment_id, parameters, tags=[tag])
    except (TypeError, ValueError) as exc:
        raise ActionFailed(f"The deployment refused the run: {exc}", retry=False) from None


def _pause(store: Store, action: ActionRun) -> None:
    _deployments(store).set_deployment_paused(_deployment_id(store, action), True)


def _resume(store: Store, action: ActionRun) -> None:
    _deployments(store).set_deployment_paused(_deployment_id(store, action), False)


def _run_id(action: ActionRun) -> str:
    run = action.context.get("flow_run") or {}
    if not run.get("id"):
        raise ActionFailed("No flow run triggered this automation", retry=False)
    return str(run["id"])


def _set_run_state(store: Store, action: ActionRun, state: State) -> None:
    outcome = store.set_state(_run_id(action), state)
    if outcome.accepted:
        return
    if outcome.state.name == state.name or (
        state.type is StateType.CANCELLING and outcome.state.type is StateType.CANCELLED
    ):
        return  # there already (an earlier attempt, or someone else)
    if outcome.decision.status is Status.ABORT:
        raise ActionFailed(outcome.decision.reason, retry=True)
    raise ActionFailed(
        f"The run stays {outcome.state.name}: {outcome.decision.reason}", retry=False
    )


def _cancel(store: Store, action: ActionRun) -> None:
    name = action.context.get("automation", {}).get("name")
    _set_run_state(
        store, action, State(StateType.CANCELLING, message=f"Cancelled by automation {name!r}")
    )


def _change_state(store: Store, action: ActionRun) -> None:
    name = action.action["state"]
    message = action.action.get("message")
    if message:
        message = render(message, action.context)
    _set_run_state(store, action, State(STATE_NAMES[name], name, message))


_ACTIONS = {
    "send-notification": _send_notification,
    "call-webhook": _call_webhook,
    "run-deployment": _run_deployment,
    "pause-deployment": _pause,
    "resume-deployment": _resume,
    "cancel-flow-run": _cancel,
    "change-flow-run-state": _change_state,
}
