"""SqlAutomationOutbox: the automations service's outbox in SQL, mixed into SqlStore.

What keeps an action to once per match: a firing is inserted ON CONFLICT DO NOTHING on its
unique (automation, trigger key), with its actions and its event, in the transaction that
moves the service's cursor past the match; an attempt is claimed by a compare-and-set on the
action's attempt count, with a lease after which an attempt that never reported (the server
died mid-send) is made again.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from mainspring.model.firings import ActionRun, ActionStatus, Check, NewCheck, NewFiring
from mainspring.model.text import storable_json
from mainspring.store.sql.automations import AUTOMATION, PENDING, action_run
from mainspring.store.sql.events import record_event
from mainspring.store.sql.schema import (
    automation,
    automation_action,
    automation_check,
    automation_firing,
)

if TYPE_CHECKING:
    from mainspring.store.sql.dialect import SqlBackend


class SqlAutomationOutbox:
    """The firings, actions and checks of SqlStore's EventStore (module docstring)."""

    if TYPE_CHECKING:
        _backend: SqlBackend

        def _reading(self) -> AbstractContextManager[sa.Connection]: ...
        def _writing(self, what: str = "write") -> AbstractContextManager[sa.Connection]: ...
        def _move_cursor(self, conn: sa.Connection, cursor: tuple[int, int]) -> None: ...

    # -- the service's -----------------------------------------------------------------------
    def record_matches(
        self,
        firings: list[NewFiring],
        checks: list[NewCheck],
        cursor: tuple[int, int] | None = None,
        windows: dict[str, list[list[object]]] | None = None,
    ) -> list[int]:
        with self._writing("record the automations' matches") as conn:
            live = self._enabled(
                conn, {f.automation_id for f in firings} | {c.automation_id for c in checks}
            )
            made = [i for f in firings if f.automation_id in live for i in self._fire(conn, f)]
            for check in checks:
                if check.automation_id in live:
                    self._add_check(conn, check)
            for automation_id, window in (windows or {}).items():
                conn.execute(
                    sa.update(automation)
                    .where(automation.c.id == automation_id)
                    .values(window=storable_json(window))
                )
            if cursor is not None:
                self._move_cursor(conn, cursor)
        return made

    def read_windows(self) -> dict[str, list[list[object]]]:
        a = automation.c
        with self._reading() as conn:
            rows = conn.execute(sa.select(a.id, a.window).where(a.window.is_not(None))).all()
        return {r.id: list(r.window) for r in rows}

    def due_checks(self, now: float, limit: int = 100) -> list[Check]:
        c = automation_check.c
        with self._reading() as conn:
            rows = conn.execute(
                sa.select(automation_check).where(c.due <= now).order_by(c.due, c.id).limit(limit)
            ).all()
        return [
            Check(
                r.automation_id,
                r.trigger_key,
                r.flow_run_id,
                r.kind,
                float(r.due),
                r.state_name,
                r.state_ts,
                dict(r.context),
                id=int(r.id),
            )
            for r in rows
        ]

    def resolve_check(self, check_id: int, firing: NewFiring | None) -> None:
        with self._writing("resolve an automation's check") as conn:
            gone = conn.execute(
                sa.delete(automation_check).where(automation_check.c.id == check_id)
            ).rowcount
            if gone and firing is not None and self._enabled(conn, {firing.automation_id}):
                self._fire(conn, firing)

    def due_actions(self, now: float, limit: int = 100) -> list[ActionRun]:
        x, f = automation_action.c, automation_firing.c
        with self._reading() as conn:
            rows = conn.execute(
                sa.select(automation_action, f.context, f.automation_id)
                .join(automation_firing, f.id == x.firing_id)
                .where(x.status == PENDING, x.next_attempt <= now)
                .order_by(x.next_attempt, x.firing_id, x.idx)
                .limit(limit)
            ).all()
        return [action_run(r, dict(r.context), r.automation_id) for r in rows]

    def claim_action(self, firing_id: int, index: int, attempts: int, lease_until: float) -> bool:
        x = automation_action.c
        with self._writing("claim an automation's action") as conn:
            claimed = conn.execute(
                sa.update(automation_action)
                .where(
                    x.firing_id == firing_id,
                    x.idx == index,
                    x.status == PENDING,
                    x.attempts == attempts,
                )
                .values(attempts=attempts + 1, next_attempt=lease_until)
            ).rowcount
        return claimed == 1

    def finish_action(
        self, firing_id: int, index: int, *, error: str | None, retry_at: float | None
    ) -> None:
        x, f = automation_action.c, automation_firing.c
        now = time.time()
        if error is None:
            values: dict[str, Any] = {
                "status": ActionStatus.DONE.value,
                "finished": now,
                "last_error": None,
            }
        elif retry_at is not None:
            values = {"next_attempt": retry_at, "last_error": error}
        else:
            values = {"status": ActionStatus.FAILED.value, "finished": now, "last_error": error}
        with self._writing("report an automation's action") as conn:
            row = conn.execute(
                sa.select(automation_action, f.automation_id, f.trigger_key)
                .join(automation_firing, f.id == x.firing_id)
                .where(x.firing_id == firing_id, x.idx == index)
            ).first()
            if row is None or row.status != PENDING:
                return
            conn.execute(
                sa.update(automation_action)
                .where(x.firing_id == firing_id, x.idx == index)
                .values(values)
            )
            if retry_at is None:
                outcome = "executed" if error is None else "failed"
                record_event(
                    conn,
                    f"{AUTOMATION}.action.{outcome}",
                    f"{AUTOMATION}.{row.automation_id}",
                    {"id": row.automation_id},
                    {
                        "firing_id": firing_id,
                        "action_index": index,
                        "action": row.action.get("type"),
                        "trigger_key": row.trigger_key,
                        "attempts": row.attempts,
                        **({"error": error} if error else {}),
                    },
                    occurred=now,
                )

    # -- helpers -----------------------------------------------------------------------------
    def _enabled(self, conn: sa.Connection, ids: set[str]) -> set[str]:
        if not ids:
            return set()
        a = automation.c
        rows = conn.execute(sa.select(a.id).where(a.id.in_(sorted(ids)), a.enabled == sa.true()))
        return {r.id for r in rows}

    def _fire(self, conn: sa.Connection, firing: NewFiring) -> list[int]:
        """Record `firing` unless its (automation, key) was recorded before: its row, its
        actions (due now) and its event. Returns [its id], or [] when it was recorded."""
        now = time.time()
        context = storable_json(firing.context)
        insert = (
            self._backend.insert(automation_firing)
            .values(
                automation_id=firing.automation_id,
                trigger_key=firing.key[:255],
                occurred=firing.occurred,
                fired=now,
                context=context,
            )
            .on_conflict_do_nothing()
            .returning(automation_firing.c.id)
        )
        firing_id = conn.execute(insert).scalar()
        if firing_id is None:
            return []
        conn.execute(
            sa.insert(automation_action),
            [
                {
                    "firing_id": firing_id,
                    "idx": i,
                    "action": storable_json(action),
                    "status": PENDING,
                    "attempts": 0,
                    "next_attempt": now,
                }
                for i, action in enumerate(firing.actions)
            ],
        )
        name = (context.get("automation") or {}).get("name")
        record_event(
            conn,
            f"{AUTOMATION}.triggered",
            f"{AUTOMATION}.{firing.automation_id}",
            {"id": firing.automation_id, "name": name},
            {
                "firing_id": int(firing_id),
                "trigger_key": firing.key,
                "triggering_event": (context.get("event") or {}).get("id"),
            },
            occurred=now,
        )
        return [int(firing_id)]

    def _add_check(self, conn: sa.Connection, check: NewCheck) -> None:
        conn.execute(
            self._backend.insert(automation_check)
            .values(
                automation_id=check.automation_id,
                trigger_key=check.key[:255],
                flow_run_id=check.flow_run_id,
                kind=check.kind,
                due=check.due,
                state_name=check.state_name,
                state_ts=check.state_ts,
                context=storable_json(check.context),
            )
            .on_conflict_do_nothing()
        )
