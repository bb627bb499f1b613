"""SqlEvents: events in SQL, mixed into SqlStore (the EventStore protocol's event half).

A run-state event is a state_history row read with its run's labels: the hot path writes
nothing more than it did. Paging goes down each source's integer key (the primary key's
index), so a page costs the same however long the history is, and reading new events for
the automations service is a range scan of that key. Stored events (`event` table) come from
`record_event`, called in the transaction of whatever they report (a deployment paused, an
automation fired), so an event is stored if and only if what it reports is.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from mainspring.model.events import (
    FLOW_RUN,
    PREFIX,
    TASK_RUN,
    Event,
    EventCursor,
    EventFilter,
    EventPage,
    resource_id,
    run_event_type,
)
from mainspring.model.states import STATE_NAMES
from mainspring.model.text import storable_json, storable_text
from mainspring.store.base import check_page
from mainspring.store.sql.dialect import like_escaped
from mainspring.store.sql.scheduling import chunks
from mainspring.store.sql.schema import (
    automation_action,
    automation_firing,
    deployment,
    event,
    event_cursor,
    flow_run,
    state_history,
    task_run,
)

#: The automations service's row in event_cursor.
CURSOR = "automations"
_KINDS = ((False, FLOW_RUN), (True, TASK_RUN))


def record_event(
    conn: sa.Connection,
    event_type: str,
    resource: str,
    labels: dict[str, Any] | None = None,
    payload: dict[str, Any] | None = None,
    occurred: float | None = None,
) -> int:
    """Store an event in the caller's transaction; return its id."""
    values = {
        "event": storable_text(event_type),
        "resource_id": storable_text(resource),
        "occurred": time.time() if occurred is None else occurred,
        "resource": storable_json(labels or {}),
        "payload": storable_json(payload or {}),
    }
    return int(conn.execute(sa.insert(event).values(values).returning(event.c.id)).scalar_one())


def _state_names(kind: str, types: Sequence[str]) -> list[str] | None:
    """The state names of `kind` whose event type starts with one of `types`; None: all."""
    if not types:
        return None
    base = f"{PREFIX}{kind}."
    names: set[str] = set()
    for prefix in types:
        if base.startswith(prefix):
            return None
        if prefix.startswith(base):
            rest = prefix[len(base) :]
            names.update(n for n in STATE_NAMES if n.startswith(rest))
    return sorted(names)


def _state_query(
    filter: EventFilter, is_task: bool, kind: str, below: int | None, limit: int
) -> sa.Select[Any] | None:
    names = _state_names(kind, filter.types)
    if names == []:
        return None
    c = state_history.c
    query = sa.select(state_history).where(c.is_task == is_task)
    if names is not None:
        query = query.where(c.name.in_(names))
    if filter.resource_id is not None:
        base = f"{PREFIX}{kind}."
        if not filter.resource_id.startswith(base):
            return None
        query = query.where(c.run_id == filter.resource_id[len(base) :])
    if filter.since is not None:
        query = query.where(c.timestamp >= filter.since)
    if filter.until is not None:
        query = query.where(c.timestamp < filter.until)
    if below is not None:
        query = query.where(c.id < below)
    return query.order_by(c.id.desc()).limit(limit)


def _event_query(filter: EventFilter, below: int | None, limit: int) -> sa.Select[Any]:
    c = event.c
    query = sa.select(event)
    if filter.types:
        query = query.where(
            sa.or_(*(c.event.like(like_escaped(p) + "%", escape="\\") for p in filter.types))
        )
    if filter.resource_id is not None:
        query = query.where(c.resource_id == filter.resource_id)
    if filter.since is not None:
        query = query.where(c.occurred >= filter.since)
    if filter.until is not None:
        query = query.where(c.occurred < filter.until)
    if below is not None:
        query = query.where(c.id < below)
    return query.order_by(c.id.desc()).limit(limit)


def stored_event(row: sa.Row[Any]) -> Event:
    return Event(
        event=row.event,
        resource_id=row.resource_id,
        occurred=float(row.occurred),
        resource=dict(row.resource or {}),
        payload=dict(row.payload or {}),
        id=f"e{row.id}",
    )


def flow_run_labels(conn: sa.Connection, ids: set[str]) -> dict[str, dict[str, Any]]:
    """The labels of these flow runs (runs not found are left out): one query each for the
    runs and their deployments."""
    c = flow_run.c
    rows: list[Any] = []
    for chunk in chunks(sorted(ids)):
        rows += conn.execute(
            sa.select(
                c.id,
                c.name,
                c.flow_name,
                c.deployment_id,
                c.tags,
                c.work_pool_name,
                c.parent_flow_run_id,
                c.expected_start_time,
                c.created,
            ).where(c.id.in_(chunk))
        ).all()
    names = _deployment_names(conn, {r.deployment_id for r in rows if r.deployment_id})
    return {
        r.id: {
            "id": r.id,
            "name": r.name,
            "flow": r.flow_name,
            "deployment_id": r.deployment_id,
            "deployment": names.get(r.deployment_id) if r.deployment_id else None,
            "tags": list(r.tags or []),
            "work_pool": r.work_pool_name,
            "parent_flow_run_id": r.parent_flow_run_id,
            # when it was due: a not-completed trigger's clock starts here
            "scheduled": r.expected_start_time if r.expected_start_time is not None else r.created,
        }
        for r in rows
    }


def _task_run_labels(conn: sa.Connection, ids: set[str]) -> dict[str, dict[str, Any]]:
    c = task_run.c
    labels: dict[str, dict[str, Any]] = {}
    for chunk in chunks(sorted(ids)):
        query = sa.select(c.id, c.name, c.task_name, c.flow_run_id, c.tags).where(c.id.in_(chunk))
        for r in conn.execute(query):
            labels[r.id] = {
                "id": r.id,
                "name": r.name,
                "task": r.task_name,
                "flow_run_id": r.flow_run_id,
                "tags": list(r.tags or []),
            }
    return labels


def _deployment_names(conn: sa.Connection, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    d = deployment.c
    query = sa.select(d.id, d.flow_name, d.name).where(d.id.in_(sorted(ids)))
    return {r.id: f"{r.flow_name}/{r.name}" for r in conn.execute(query)}


def state_events(conn: sa.Connection, rows: Sequence[sa.Row[Any]]) -> list[Event]:
    """Run-state events of these state_history rows, with their runs' labels."""
    flows = flow_run_labels(conn, {r.run_id for r in rows if not r.is_task})
    tasks = _task_run_labels(conn, {r.run_id for r in rows if r.is_task})
    events = []
    for r in rows:
        kind = TASK_RUN if r.is_task else FLOW_RUN
        labels = dict((tasks if r.is_task else flows).get(r.run_id) or {"id": r.run_id})
        labels["state"] = r.name
        labels["state_type"] = r.type
        events.append(
            Event(
                event=run_event_type(bool(r.is_task), r.name),
                resource_id=resource_id(kind, r.run_id),
                occurred=float(r.timestamp),
                resource=labels,
                payload={"message": r.message} if r.message else {},
                id=f"s{r.id}",
            )
        )
    return events


class SqlEvents:
    """The event half of SqlStore's EventStore (module docstring); uses its connections."""

    if TYPE_CHECKING:

        def _reading(self) -> AbstractContextManager[sa.Connection]: ...
        def _writing(self, what: str = "write") -> AbstractContextManager[sa.Connection]: ...

    def emit_event(self, event_: Event) -> Event:
        with self._writing("store the event") as conn:
            new = record_event(
                conn,
                event_.event,
                event_.resource_id,
                event_.resource,
                event_.payload,
                event_.occurred,
            )
        return Event(
            event_.event,
            event_.resource_id,
            event_.occurred,
            event_.resource,
            event_.payload,
            id=f"e{new}",
        )

    def read_events(
        self, filter: EventFilter | None = None, limit: int = 100, cursor: EventCursor | None = None
    ) -> EventPage:
        check_page(limit, 0)
        filter = filter or EventFilter()
        cursor = cursor or EventCursor()
        if limit == 0:
            return EventPage([], cursor)
        found: list[Event] = []
        fetched = 0
        with self._reading() as conn:
            state_rows: list[sa.Row[Any]] = []
            for is_task, kind in _KINDS:
                query = _state_query(filter, is_task, kind, cursor.state_below, limit)
                if query is not None:
                    state_rows += conn.execute(query).all()
            state_rows.sort(key=lambda r: r.id, reverse=True)
            state_rows = state_rows[:limit]
            found += state_events(conn, state_rows)
            stored = conn.execute(_event_query(filter, cursor.event_below, limit)).all()
            found += [stored_event(r) for r in stored]
            fetched = len(state_rows) + len(stored)
        found.sort(key=lambda e: (e.occurred, e.id[0], int(e.id[1:])), reverse=True)
        page = found[:limit]
        if fetched <= limit and len(state_rows) < limit and len(stored) < limit:
            return EventPage(page, None)
        state_ids = [int(e.id[1:]) for e in page if e.id[0] == "s"]
        event_ids = [int(e.id[1:]) for e in page if e.id[0] == "e"]
        return EventPage(
            page,
            EventCursor(
                min(state_ids) if state_ids else cursor.state_below,
                min(event_ids) if event_ids else cursor.event_below,
            ),
        )

    def prune_events(self, older_than: float) -> int:
        with self._writing("prune old events") as conn:
            pruned = conn.execute(sa.delete(event).where(event.c.occurred < older_than)).rowcount
            old = sa.select(automation_firing.c.id).where(automation_firing.c.fired < older_than)
            unfinished = sa.select(automation_action.c.firing_id).where(
                automation_action.c.status == "pending"
            )
            ids = [r.id for r in conn.execute(old.where(automation_firing.c.id.not_in(unfinished)))]
            for chunk in chunks(ids):
                conn.execute(
                    sa.delete(automation_action).where(automation_action.c.firing_id.in_(chunk))
                )
                conn.execute(sa.delete(automation_firing).where(automation_firing.c.id.in_(chunk)))
        return int(pruned)

    # -- the automations service's -----------------------------------------------------------
    def read_event_cursor(self) -> tuple[int, int]:
        c = event_cursor.c
        with self._writing("read the event cursor") as conn:
            row = conn.execute(sa.select(event_cursor).where(c.name == CURSOR)).first()
            if row is not None:
                return int(row.state_id), int(row.event_id)
            states = conn.execute(sa.select(sa.func.max(state_history.c.id))).scalar() or 0
            events = conn.execute(sa.select(sa.func.max(event.c.id))).scalar() or 0
            conn.execute(
                sa.insert(event_cursor).values(name=CURSOR, state_id=states, event_id=events)
            )
            return int(states), int(events)

    def read_new_events(self, after: tuple[int, int], limit: int = 1000) -> list[Event]:
        s, e = state_history.c, event.c
        with self._reading() as conn:
            rows = conn.execute(
                sa.select(state_history)
                .where(s.id > after[0], s.is_task == sa.false())
                .order_by(s.id)
                .limit(limit)
            ).all()
            found = state_events(conn, rows)
            stored = conn.execute(
                sa.select(event).where(e.id > after[1]).order_by(e.id).limit(limit)
            ).all()
            return found + [stored_event(r) for r in stored]

    def _move_cursor(self, conn: sa.Connection, cursor: tuple[int, int]) -> None:
        c = event_cursor.c
        conn.execute(
            sa.update(event_cursor)
            .where(c.name == CURSOR)
            .values(
                state_id=sa.case((c.state_id < cursor[0], cursor[0]), else_=c.state_id),
                event_id=sa.case((c.event_id < cursor[1], cursor[1]), else_=c.event_id),
            )
        )


def record_deployment_event(conn: sa.Connection, what: str, row: Any) -> None:
    """`mainspring.deployment.<what>` (created, updated, paused, resumed, deleted) for the
    deployment row `row`, in the caller's transaction."""
    labels = {
        "id": row.id,
        "name": f"{row.flow_name}/{row.name}",
        "flow": row.flow_name,
        "tags": list(row.tags or []),
        "work_pool": row.work_pool_name,
    }
    record_event(conn, f"{PREFIX}deployment.{what}", resource_id("deployment", row.id), labels)
