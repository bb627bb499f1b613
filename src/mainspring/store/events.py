"""The EventStore protocol: events, automations and their firings.

Apart from `Store` (store/base.py) because the engine never uses it: the server's API and
services, and the CLI do. `SqlStore` implements it (store/sql/events.py, automations.py);
`ApiStore` carries the public half over /api/events and /api/automations and raises
`NeedsDatabase` for the automations service's own methods (the second half below).

Where events live: a run's state change is read from the state timeline (a row per state the
engine writes anyway, in batches); nothing more is written on the hot path. Everything else
(deployments paused and resumed, work pools made, automations firing, events clients emit)
is stored in the `event` table, pruned after a retention period.

Exactly once: a matched trigger is recorded as a firing, unique per (automation, key), with
its actions, in the transaction that advances the service's cursor; an action is claimed
(compare-and-set on its attempt count) before it is attempted, and marked done after.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from mainspring.model.automations import Automation
from mainspring.model.events import Event, EventCursor, EventFilter, EventPage
from mainspring.model.firings import ActionRun, Check, Firing, NewCheck, NewFiring

__all__ = ["EventStore"]


class EventStore(ABC):
    """Events, automations and the automations service's outbox (module docstring)."""

    # -- events ------------------------------------------------------------------------------
    @abstractmethod
    def emit_event(self, event: Event) -> Event:
        """Store `event` (its `occurred` as given) and return it with its id."""

    @abstractmethod
    def read_events(
        self, filter: EventFilter | None = None, limit: int = 100, cursor: EventCursor | None = None
    ) -> EventPage:
        """Events matching `filter`, newest first (by source id: a state row's, a stored
        event's), at most `limit`, below `cursor` (a previous page's `next_cursor`). Run-state
        events carry their run's labels: id, name, flow, deployment (its 'flow/name'),
        deployment_id, tags, work_pool (task runs: task, flow_run_id)."""

    @abstractmethod
    def prune_events(self, older_than: float) -> int:
        """Delete stored events (and finished firings) older than `older_than` (epoch
        seconds); return how many events. Run states stay: they are the run history."""

    # -- automations -------------------------------------------------------------------------
    @abstractmethod
    def create_automation(self, automation: Automation) -> Automation:
        """Store a new automation and return it as stored. It reacts to events from its
        creation on, never to older ones. `ValueError` if its name is taken."""

    @abstractmethod
    def read_automations(self) -> list[Automation]:
        """Every automation, by name."""

    @abstractmethod
    def find_automation(self, id_or_name: str) -> Automation:
        """The automation with this id or, failing that, this name; `ObjectNotFound`."""

    @abstractmethod
    def set_automation_enabled(self, automation_id: str, enabled: bool) -> Automation:
        """Pause (False) or resume (True): a paused automation matches nothing, and events
        that happen while it is paused never fire it. `ObjectNotFound` if unknown."""

    @abstractmethod
    def delete_automation(self, automation_id: str) -> None:
        """Delete it with its pending checks and actions not yet done; `ObjectNotFound`."""

    @abstractmethod
    def read_firings(self, automation_id: str, limit: int = 20) -> list[Firing]:
        """Its latest firings, newest first, with their actions' status."""

    # -- the automations service's (`NeedsDatabase` from a remote store) ----------------------
    @abstractmethod
    def read_event_cursor(self) -> tuple[int, int]:
        """The service's position: the last (state row, stored event) it has fully handled.
        The first call starts it at the newest of each (history never fires automations)."""

    @abstractmethod
    def read_new_events(self, after: tuple[int, int], limit: int = 1000) -> list[Event]:
        """Flow-run state events (not task runs') and stored events after `after`, oldest
        first within each source, at most `limit` of each."""

    @abstractmethod
    def record_matches(
        self,
        firings: list[NewFiring],
        checks: list[NewCheck],
        cursor: tuple[int, int] | None = None,
        windows: dict[str, list[list[object]]] | None = None,
    ) -> list[int]:
        """In one transaction: record each firing not recorded before (unique per automation
        and key) with its actions and a `mainspring.automation.triggered` event, each check
        not recorded before, the event-count windows of automations (`windows`: id -> its
        recent matches) and the cursor, when given (never moved back). Firings of an
        automation deleted or paused meanwhile are dropped. Returns the new firings' ids."""

    @abstractmethod
    def read_windows(self) -> dict[str, list[list[object]]]:
        """The event-count windows `record_matches` stored, by automation id."""

    @abstractmethod
    def due_checks(self, now: float, limit: int = 100) -> list[Check]:
        """Checks due at `now`, oldest first."""

    @abstractmethod
    def resolve_check(self, check_id: int, firing: NewFiring | None) -> None:
        """Delete the check and, in the same transaction, record `firing` (when it fired)."""

    @abstractmethod
    def due_actions(self, now: float, limit: int = 100) -> list[ActionRun]:
        """Pending actions whose next attempt is due, oldest first."""

    @abstractmethod
    def claim_action(self, firing_id: int, index: int, attempts: int, lease_until: float) -> bool:
        """Take the action for an attempt: if it is still pending with `attempts` attempts
        (a compare-and-set), count this one and hold it until `lease_until` (another attempt
        then, if this one never reports). False: someone else took it or it is done."""

    @abstractmethod
    def finish_action(
        self, firing_id: int, index: int, *, error: str | None, retry_at: float | None
    ) -> None:
        """Report an attempt: done (`error` None), to try again at `retry_at`, or failed for
        good (`error`, no `retry_at`); each with its event
        (`mainspring.automation.action.executed` / `.failed`)."""
