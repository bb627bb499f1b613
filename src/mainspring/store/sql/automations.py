"""SqlAutomations: automations in SQL, mixed into SqlStore (the EventStore protocol's
automation half; their firings and checks are in outbox.py). Reading an automation checks its
stored spec again with the model's parser, so what is read is what could be created.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from mainspring.exceptions import ObjectNotFound
from mainspring.model.automations import (
    Automation,
    action_from_dict,
    trigger_from_dict,
)
from mainspring.model.events import PREFIX
from mainspring.model.firings import ActionRun, ActionStatus, Firing
from mainspring.store.sql.events import record_event
from mainspring.store.sql.schema import (
    automation,
    automation_action,
    automation_check,
    automation_firing,
)

if TYPE_CHECKING:
    from mainspring.store.sql.dialect import SqlBackend

AUTOMATION = f"{PREFIX}automation"
PENDING = ActionStatus.PENDING.value


def _automation(row: sa.Row[Any]) -> Automation:
    return Automation(
        name=row.name,
        trigger=trigger_from_dict(row.trigger_spec),
        actions=[action_from_dict(a) for a in row.action_specs],
        description=row.description,
        enabled=bool(row.enabled),
        id=row.id,
        created=float(row.created),
        updated=float(row.updated),
        enabled_since=float(row.enabled_since),
    )


def action_run(row: sa.Row[Any], context: dict[str, Any], automation_id: str) -> ActionRun:
    return ActionRun(
        firing_id=int(row.firing_id),
        index=int(row.idx),
        action=dict(row.action),
        status=ActionStatus(row.status),
        attempts=int(row.attempts),
        next_attempt=row.next_attempt,
        last_error=row.last_error,
        finished=row.finished,
        context=context,
        automation_id=automation_id,
    )


class SqlAutomations:
    """The automation half of SqlStore's EventStore (module docstring)."""

    if TYPE_CHECKING:
        _backend: SqlBackend

        def _reading(self) -> AbstractContextManager[sa.Connection]: ...
        def _writing(self, what: str = "write") -> AbstractContextManager[sa.Connection]: ...

    # -- automations -------------------------------------------------------------------------
    def create_automation(self, automation_: Automation) -> Automation:
        now = time.time()
        values = {
            "id": automation_.id,
            "name": automation_.name,
            "description": automation_.description,
            "enabled": automation_.enabled,
            "enabled_since": now,
            "trigger_spec": automation_.trigger.to_dict(),
            "action_specs": [a.to_dict() for a in automation_.actions],
            "created": now,
            "updated": now,
        }
        with self._writing("store the automation") as conn:
            insert = (
                self._backend.insert(automation)
                .values(values)
                .on_conflict_do_nothing()
                .returning(automation.c.id)
            )
            if conn.execute(insert).first() is None:
                raise ValueError(f"An automation named {automation_.name!r} exists already")
            record_event(
                conn,
                f"{AUTOMATION}.created",
                f"{AUTOMATION}.{automation_.id}",
                {"id": automation_.id, "name": automation_.name},
                occurred=now,
            )
        return self.find_automation(automation_.id)

    def read_automations(self) -> list[Automation]:
        with self._reading() as conn:
            rows = conn.execute(sa.select(automation).order_by(automation.c.name)).all()
        return [_automation(r) for r in rows]

    def find_automation(self, id_or_name: str) -> Automation:
        a = automation.c
        with self._reading() as conn:
            row = conn.execute(sa.select(automation).where(a.id == id_or_name)).first()
            if row is None:
                row = conn.execute(sa.select(automation).where(a.name == id_or_name)).first()
        if row is None:
            raise ObjectNotFound(f"No automation with id or name {id_or_name!r}")
        return _automation(row)

    def set_automation_enabled(self, automation_id: str, enabled: bool) -> Automation:
        if not isinstance(enabled, bool):
            raise TypeError(f"enabled must be True or False, got {enabled!r}")
        a = automation.c
        now = time.time()
        with self._writing("pause or resume the automation") as conn:
            row = conn.execute(sa.select(a.enabled, a.name).where(a.id == automation_id)).first()
            if row is None:
                raise ObjectNotFound(f"No automation with id {automation_id!r}")
            if bool(row.enabled) != enabled:
                values: dict[str, Any] = {"enabled": enabled, "updated": now}
                if enabled:  # what happened while it was paused does not fire it
                    values["enabled_since"] = now
                conn.execute(sa.update(automation).where(a.id == automation_id).values(values))
                record_event(
                    conn,
                    f"{AUTOMATION}.{'resumed' if enabled else 'paused'}",
                    f"{AUTOMATION}.{automation_id}",
                    {"id": automation_id, "name": row.name},
                    occurred=now,
                )
        return self.find_automation(automation_id)

    def delete_automation(self, automation_id: str) -> None:
        with self._writing("delete the automation") as conn:
            row = conn.execute(
                sa.select(automation.c.name).where(automation.c.id == automation_id)
            ).first()
            if row is None:
                raise ObjectNotFound(f"No automation with id {automation_id!r}")
            conn.execute(sa.delete(automation).where(automation.c.id == automation_id))
            conn.execute(
                sa.delete(automation_check).where(automation_check.c.automation_id == automation_id)
            )
            firings = sa.select(automation_firing.c.id).where(
                automation_firing.c.automation_id == automation_id
            )
            conn.execute(
                sa.update(automation_action)
                .where(
                    automation_action.c.firing_id.in_(firings),
                    automation_action.c.status == PENDING,
                )
                .values(status=ActionStatus.FAILED.value, last_error="The automation was deleted")
            )
            record_event(
                conn,
                f"{AUTOMATION}.deleted",
                f"{AUTOMATION}.{automation_id}",
                {"id": automation_id, "name": row.name},
            )

    def read_firings(self, automation_id: str, limit: int = 20) -> list[Firing]:
        f, x = automation_firing.c, automation_action.c
        with self._reading() as conn:
            rows = conn.execute(
                sa.select(automation_firing)
                .where(f.automation_id == automation_id)
                .order_by(f.id.desc())
                .limit(limit)
            ).all()
            firings = {
                r.id: Firing(
                    int(r.id),
                    r.automation_id,
                    r.trigger_key,
                    float(r.occurred),
                    float(r.fired),
                    dict(r.context),
                )
                for r in rows
            }
            if firings:
                actions = conn.execute(
                    sa.select(automation_action)
                    .where(x.firing_id.in_(list(firings)))
                    .order_by(x.firing_id, x.idx)
                ).all()
                for row in actions:
                    firing = firings[row.firing_id]
                    firing.actions.append(action_run(row, firing.context, automation_id))
        return list(firings.values())
