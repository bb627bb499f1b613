"""ApiEvents: the EventStore protocol over the server's /api/events and /api/automations,
mixed into ApiStore (server/api/events.py and automations.py are the other end).

Errors as in store/http/deployments.py (it supplies `_call`). The automations service's own
methods (its cursor, matches, checks and outbox) are the server's and raise `NeedsDatabase`;
so does `prune_events`, the retention service's.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from mainspring.exceptions import ObjectNotFound
from mainspring.model.automations import Automation, automation_from_spec
from mainspring.model.events import Event, EventCursor, EventFilter, EventPage
from mainspring.model.firings import ActionRun, ActionStatus, Check, Firing, NewCheck, NewFiring
from mainspring.store.events import EventStore
from mainspring.store.http.queries import is_run_id as _ID
from mainspring.store.http.server_calls import ServerCalls

PAGE = 1000


def _automation(data: dict[str, Any]) -> Automation:
    spec = {k: data[k] for k in ("name", "description", "enabled", "trigger", "actions")}
    if spec["description"] is None:
        del spec["description"]
    made = automation_from_spec(spec)
    made.id, made.created, made.updated = data["id"], data["created"], data["updated"]
    return made


def _event(data: dict[str, Any]) -> Event:
    return Event(
        data["event"], data["resource_id"], data["occurred"], data["resource"], data["payload"],
        id=data["id"],
    )  # fmt: skip


def _firing(automation_id: str, data: dict[str, Any]) -> Firing:
    context = {"flow_run": {"id": data["flow_run_id"]}} if data.get("flow_run_id") else {}
    firing = Firing(
        data["id"], automation_id, data["trigger_key"], data["occurred"], data["fired"], context
    )
    firing.actions = [
        ActionRun(
            data["id"],
            a["index"],
            {"type": a["type"]},
            ActionStatus(a["status"]),
            a["attempts"],
            a["next_attempt"],
            a["last_error"],
            a["finished"],
            automation_id=automation_id,
        )
        for a in data["actions"]
    ]
    return firing


class ApiEvents(EventStore, ServerCalls):
    """The EventStore half of ApiStore (module docstring)."""

    # -- events ------------------------------------------------------------------------------
    def emit_event(self, event: Event) -> Event:
        body = {
            "event": event.event,
            "resource_id": event.resource_id,
            "resource": event.resource,
            "payload": event.payload,
            "occurred": event.occurred,
        }
        return _event(self._call("POST", "/events", body, retry=False))

    def read_events(
        self, filter: EventFilter | None = None, limit: int = 100, cursor: EventCursor | None = None
    ) -> EventPage:
        filter = filter or EventFilter()
        params: list[tuple[str, Any]] = [("type", t) for t in filter.types]
        if filter.resource_id is not None:
            params.append(("resource", filter.resource_id))
        from datetime import UTC, datetime

        for name, value in (("since", filter.since), ("until", filter.until)):
            if value is not None:
                params.append((name, datetime.fromtimestamp(value, UTC).isoformat()))
        params.append(("limit", min(limit, PAGE)))
        if cursor is not None:
            params.append(("cursor", cursor.encode()))
        page = self._call("GET", "/events", params=params)
        following = page["next_cursor"]
        return EventPage(
            [_event(e) for e in page["events"]],
            EventCursor.decode(following) if following else None,
        )

    def prune_events(self, older_than: float) -> int:
        self._needs_database("Pruning events (the server's retention service does it)")

    # -- automations -------------------------------------------------------------------------
    def create_automation(self, automation: Automation) -> Automation:
        return _automation(self._call("POST", "/automations", automation.to_spec(), retry=False))

    def read_automations(self) -> list[Automation]:
        return [_automation(a) for a in self._call("GET", "/automations")]

    def find_automation(self, id_or_name: str) -> Automation:
        if isinstance(id_or_name, str) and _ID(id_or_name):
            found = self._call("GET", f"/automations/{id_or_name}", missing=None)
            if found is not None:
                return _automation(found)
        return _automation(self._call("GET", "/automations/by_name", params={"name": id_or_name}))

    def set_automation_enabled(self, automation_id: str, enabled: bool) -> Automation:
        if not isinstance(enabled, bool):
            raise TypeError(f"enabled must be True or False, got {enabled!r}")
        path = f"/automations/{quote(self._id(automation_id))}/{'resume' if enabled else 'pause'}"
        return _automation(self._call("POST", path, {}))

    def delete_automation(self, automation_id: str) -> None:
        self._call("DELETE", f"/automations/{quote(self._id(automation_id))}")

    def read_firings(self, automation_id: str, limit: int = 20) -> list[Firing]:
        path = f"/automations/{quote(self._id(automation_id))}/firings"
        return [_firing(automation_id, f) for f in self._call("GET", path, params={"limit": limit})]

    @staticmethod
    def _id(automation_id: str) -> str:
        if not isinstance(automation_id, str) or not _ID(automation_id):
            raise ObjectNotFound(f"No automation with id {automation_id!r}")
        return automation_id

    # -- the automations service's -----------------------------------------------------------
    def read_event_cursor(self) -> tuple[int, int]:
        self._needs_database("The automations service's cursor")

    def read_new_events(self, after: tuple[int, int], limit: int = 1000) -> list[Event]:
        self._needs_database("Reading events for the automations service")

    def record_matches(
        self,
        firings: list[NewFiring],
        checks: list[NewCheck],
        cursor: tuple[int, int] | None = None,
        windows: dict[str, list[list[object]]] | None = None,
    ) -> list[int]:
        self._needs_database("Recording automations' matches")

    def read_windows(self) -> dict[str, list[list[object]]]:
        self._needs_database("Reading automations' windows")

    def due_checks(self, now: float, limit: int = 100) -> list[Check]:
        self._needs_database("Reading automations' checks")

    def resolve_check(self, check_id: int, firing: NewFiring | None) -> None:
        self._needs_database("Resolving an automation's check")

    def due_actions(self, now: float, limit: int = 100) -> list[ActionRun]:
        self._needs_database("Reading automations' actions")

    def claim_action(self, firing_id: int, index: int, attempts: int, lease_until: float) -> bool:
        self._needs_database("Claiming an automation's action")

    def finish_action(
        self, firing_id: int, index: int, *, error: str | None, retry_at: float | None
    ) -> None:
        self._needs_database("Reporting an automation's action")
