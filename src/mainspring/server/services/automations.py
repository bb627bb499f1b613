"""The automations service: new events are matched against automations, and their actions run.

Each tick, in the server's process:
1. match: read the events after the service's position (flow-run state rows and stored
   events, by integer key), test each enabled automation's trigger, and record what matched
   (a firing with its actions, or a check to answer later) in one transaction with the new
   position (`EventStore.record_matches`);
2. check: answer the checks that fell due ("is the run still Failed 60 s on?": a run retried
   meanwhile is not, so no one is paged; "has it Completed within 10 minutes of being
   scheduled?"), firing those that hold;
3. deliver: attempt each due action once, after claiming it, and record the outcome; a
   receiver that is down gets the action again after `retry_seconds`, doubled each time.

Exactly once: a firing is unique per (automation, trigger key), so the same match seen twice
is one firing; it is recorded before its actions are attempted, so a restart between the two
loses nothing. A state row whose integer key was taken before a row already read (on
PostgreSQL, transactions commit out of key order) is caught by reading again from the
persisted position, which trails the newest key read by `SETTLE` seconds.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

from mainspring.exceptions import ObjectNotFound
from mainspring.model.automations import Automation
from mainspring.model.events import Event
from mainspring.model.firings import Check, NewCheck, NewFiring
from mainspring.model.states import StateType
from mainspring.server.services.automation_actions import ActionFailed, run_action
from mainspring.server.services.automation_context import firing_context, flow_run_context
from mainspring.server.services.loop import ServiceLoop
from mainspring.settings import Settings
from mainspring.store.base import Store
from mainspring.store.events import EventStore

logger = logging.getLogger("mainspring.server.automations")

#: Seconds the persisted position trails the newest event read (see the module docstring).
SETTLE = 10.0
#: Events read per source and request.
PAGE = 1000
#: Seconds an attempt holds its action: a server that dies mid-attempt has it tried again then.
LEASE = 60.0
MAX_RETRY_DELAY = 600.0
DEFAULT_UI_URL = "http://127.0.0.1:4200"


class AutomationService(ServiceLoop):
    """Matches events and runs actions every `interval` seconds in a daemon thread."""

    thread_name = "mainspring-automations"
    failure_message = "The automations service could not tick"
    logger = logger

    def __init__(
        self,
        store: Store,
        interval: float = 1.0,
        *,
        retry_seconds: float = 2.0,
        max_attempts: int = 12,
        ui_url: str = DEFAULT_UI_URL,
    ) -> None:
        if not isinstance(store, EventStore):
            raise TypeError(f"{store!r} keeps no events")
        if interval <= 0 or retry_seconds <= 0 or max_attempts < 1:
            raise ValueError("interval and retry_seconds must be positive, max_attempts >= 1")
        super().__init__(interval)
        self.store = store
        self.events: EventStore = store
        self.retry_seconds = retry_seconds
        self.max_attempts = max_attempts
        self.ui_url = ui_url
        self._persisted: tuple[int, int] | None = None  # the position in the store
        self._high: tuple[int, int] = (0, 0)  # the newest keys read
        self._seen: set[str] = set()  # events handled since the persisted position
        self._observed: deque[tuple[float, tuple[int, int]]] = deque()
        self._rescanned = 0.0
        self._windows: dict[str, list[list[Any]]] = {}

    @classmethod
    def from_settings(cls, store: Store, settings: Settings) -> AutomationService:
        return cls(
            store,
            settings.server_automations_interval,
            retry_seconds=settings.automation_retry_seconds,
            max_attempts=settings.automation_max_attempts,
            ui_url=settings.server_ui_url or DEFAULT_UI_URL,
        )

    # -- one tick ----------------------------------------------------------------------------
    def tick(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        self.match(now)
        self.check(now)
        self.deliver(now)

    def match(self, now: float) -> int:
        """Read new events and record what they match; return how many firings were new."""
        if self._persisted is None:
            self._persisted = self._high = self.events.read_event_cursor()
            self._windows = self.events.read_windows()
            self._rescanned = now
        after = self._high
        if now - self._rescanned >= SETTLE:  # read the settle window again: late commits
            after, self._rescanned = self._persisted, now
        automations = [a for a in self.events.read_automations() if a.enabled]
        made = 0
        while True:
            events = self.events.read_new_events(after, PAGE)
            fresh = [e for e in events if e.id not in self._seen]
            firings, checks, changed = self._match(automations, fresh)
            for e in events:
                after = _advance(after, e)
                self._high = _advance(self._high, e)
            self._seen.update(e.id for e in fresh)
            self._observed.append((now, self._high))
            cursor = self._settled(now)
            windows = {k: self._windows[k] for k in changed}
            if firings or checks or windows or cursor != self._persisted:
                made += len(self.events.record_matches(firings, checks, cursor, windows))
                self._forget(cursor)
            if len(events) < PAGE:
                return made

    def _settled(self, now: float) -> tuple[int, int]:
        """The newest position read at least SETTLE seconds ago: what may be persisted (a
        row with a smaller key that commits later than that is not expected)."""
        assert self._persisted is not None
        settled = self._persisted
        while self._observed and now - self._observed[0][0] >= SETTLE:
            settled = self._observed.popleft()[1]
        return (max(settled[0], self._persisted[0]), max(settled[1], self._persisted[1]))

    def _forget(self, cursor: tuple[int, int]) -> None:
        if cursor == self._persisted:
            return
        self._persisted = cursor
        self._seen = {
            i for i in self._seen if int(i[1:]) > (cursor[0] if i[0] == "s" else cursor[1])
        }

    def _match(
        self, automations: list[Automation], events: list[Event]
    ) -> tuple[list[NewFiring], list[NewCheck], set[str]]:
        firings: list[NewFiring] = []
        checks: list[NewCheck] = []
        changed: set[str] = set()
        for event in events:
            for automation in automations:
                trigger = automation.trigger
                if event.occurred < (automation.enabled_since or 0.0):
                    continue
                if event.resource_id.endswith(f"automation.{automation.id}"):
                    continue  # its own firings never count towards it
                if not trigger.matches(event):
                    continue
                context = firing_context(automation, event, self.ui_url)
                actions = [a.to_dict() for a in automation.actions]
                run_id = event.resource.get("id", "")
                if trigger.type == "flow-run-state" and trigger.for_seconds is None:
                    firings.append(
                        NewFiring(automation.id, event.id, event.occurred, context, actions)
                    )
                elif trigger.type == "flow-run-state":
                    assert trigger.for_seconds is not None
                    checks.append(
                        NewCheck(
                            automation.id,
                            event.id,
                            run_id,
                            "stays",
                            event.occurred + trigger.for_seconds,
                            event.state_name,
                            event.occurred,
                            context,
                        )
                    )
                elif trigger.type == "flow-run-not-completed":
                    assert trigger.within_seconds is not None
                    start = event.resource.get("scheduled") or event.occurred
                    checks.append(
                        NewCheck(
                            automation.id,
                            f"run:{run_id}",
                            run_id,
                            "not-completed",
                            float(start) + trigger.within_seconds,
                            None,
                            None,
                            context,
                        )
                    )
                elif self._count(automation, event):
                    changed.add(automation.id)
                    context["count"] = trigger.threshold
                    firings.append(
                        NewFiring(automation.id, event.id, event.occurred, context, actions)
                    )
                else:
                    changed.add(automation.id)
        return firings, checks, changed

    def _count(self, automation: Automation, event: Event) -> bool:
        """Add `event` to the automation's window; True when it makes `threshold` within
        `within_seconds` (the window then starts afresh)."""
        within = automation.trigger.within_seconds or 0.0
        window = [
            w
            for w in self._windows.get(automation.id, [])
            if w[0] != event.id and float(w[1]) > event.occurred - within
        ]
        window.append([event.id, event.occurred])
        fired = len(window) >= automation.trigger.threshold
        self._windows[automation.id] = [] if fired else window
        return fired

    def check(self, now: float) -> int:
        """Answer the checks due at `now`; return how many fired."""
        fired = 0
        for check in self.events.due_checks(now):
            firing = self._answer(check)
            self.events.resolve_check(check.id, firing)
            fired += firing is not None
        return fired

    def _answer(self, check: Check) -> NewFiring | None:
        try:
            run = self.store.read_flow_run(check.flow_run_id)
        except ObjectNotFound:
            return None
        state = run.state
        if check.kind == "stays":
            assert check.state_ts is not None
            if state.name != check.state_name or abs(state.ts - check.state_ts) > 1e-6:
                return None  # it moved on (retried, say): nothing to report
        elif state.type is StateType.COMPLETED and (run.end_time or state.ts) <= check.due:
            return None
        context = dict(check.context)
        labels = {
            **context.get("event", {}).get("resource", {}),
            "state": state.name,
            "state_type": state.type.value,
            "message": state.message,
        }
        context["flow_run"] = flow_run_context(labels, self.ui_url)
        try:
            automation = self.events.find_automation(check.automation_id)
        except ObjectNotFound:  # deleted since the check was made
            return None
        actions = [a.to_dict() for a in automation.actions]
        return NewFiring(check.automation_id, check.key, check.due, context, actions)

    def deliver(self, now: float) -> int:
        """Attempt each due action once; return how many were done."""
        now = max(now, time.time())  # actions recorded during this tick are due
        done = 0
        for action in self.events.due_actions(now):
            if not self.events.claim_action(
                action.firing_id, action.index, action.attempts, now + LEASE
            ):
                continue  # another server took it, or it is done
            attempt = action.attempts + 1
            try:
                run_action(self.store, action)
            except ActionFailed as exc:
                retry_at = None
                if exc.retry and attempt < self.max_attempts:
                    delay = min(self.retry_seconds * 2 ** (attempt - 1), MAX_RETRY_DELAY)
                    retry_at = time.time() + delay
                logger.warning(
                    "Automation %s, action %d (%s), attempt %d: %s%s",
                    action.automation_id,
                    action.index,
                    action.action["type"],
                    attempt,
                    exc,
                    "; trying again later" if retry_at else "; giving up",
                )
                self.events.finish_action(
                    action.firing_id, action.index, error=str(exc), retry_at=retry_at
                )
            except Exception as exc:  # a defect: report it and give up on this action
                logger.exception(
                    "Automation %s, action %d failed", action.automation_id, action.index
                )
                self.events.finish_action(
                    action.firing_id,
                    action.index,
                    error=f"{type(exc).__name__}: {exc}",
                    retry_at=None,
                )
            else:
                self.events.finish_action(action.firing_id, action.index, error=None, retry_at=None)
                done += 1
        return done

    # -- the loop ----------------------------------------------------------------------------
    def run_once(self) -> None:
        self.tick()


def _advance(position: tuple[int, int], event: Event) -> tuple[int, int]:
    key = int(event.id[1:])
    if event.id[0] == "s":
        return (max(position[0], key), position[1])
    return (position[0], max(position[1], key))
