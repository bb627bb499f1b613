"""`/api/events`: read events (every run's state changes, and what else happened) by type
prefix, resource and time, newest first, a page at a time with a stable cursor; report one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from mainspring.model.events import CURSOR_PATTERN, PREFIX, Event, EventCursor, EventFilter
from mainspring.server.api.deps import StoreDep, invalid
from mainspring.server.schemas.common import Name, Time
from mainspring.server.schemas.events import EVENT_TYPE, EventIn, EventOut, EventPageOut
from mainspring.store.events import EventStore

router = APIRouter(prefix="/events", tags=["events"])

MAX_LIMIT = 1000
MAX_TYPES = 20


def event_store(store: object) -> EventStore:
    """The server's store as an EventStore (SqlStore is one); 501 for a store that is not."""
    if not isinstance(store, EventStore):
        raise HTTPException(501, "This server's store keeps no events")
    return store


@router.get("", response_model=EventPageOut)
def list_events(
    store: StoreDep,
    type: Annotated[
        list[Annotated[str, Query(max_length=255, pattern=r"^[A-Za-z0-9_.-]+$")]],
        Query(
            max_length=MAX_TYPES,
            description="Any of these type prefixes: `mainspring.flow-run.` (every flow-run "
            "state), `mainspring.flow-run.Failed`, `mainspring.deployment.`.",
        ),
    ] = [],  # noqa: B006
    resource: Annotated[
        Name | None, Query(description="Only this resource: `mainspring.flow-run.<id>`.")
    ] = None,
    since: Annotated[Time | None, Query(description="ISO-8601, inclusive; naive = UTC.")] = None,
    until: Annotated[Time | None, Query(description="ISO-8601, exclusive; naive = UTC.")] = None,
    limit: Annotated[int, Query(ge=0, le=MAX_LIMIT)] = 100,
    cursor: Annotated[
        str | None,
        Query(
            pattern=f"^{CURSOR_PATTERN.pattern}$",
            description="A previous page's `next_cursor`.",
        ),
    ] = None,
) -> EventPageOut:
    """Events matching every given filter, newest first. Follow `next_cursor` for older
    ones: pages neither skip nor repeat events, however many arrive meanwhile."""
    try:
        position = EventCursor.decode(cursor) if cursor is not None else None
    except ValueError as exc:
        raise invalid(("query", "cursor"), str(exc)) from None
    filter = EventFilter(
        types=tuple(type),
        resource_id=resource,
        since=since.timestamp() if since else None,
        until=until.timestamp() if until else None,
    )
    page = event_store(store).read_events(filter, limit, position)
    return EventPageOut(
        events=[EventOut.of(e) for e in page.events],
        next_cursor=page.next_cursor.encode() if page.next_cursor else None,
    )


@router.post("", response_model=EventOut, status_code=201)
def emit_event(store: StoreDep, body: EventIn) -> EventOut:
    """Report an event of your own (its type must not start with `mainspring.`); event-count
    automations can trigger on it."""
    import re
    import time

    if body.event.startswith(PREFIX) or not re.fullmatch(EVENT_TYPE, body.event):
        raise invalid(("body", "event"), f"types starting {PREFIX!r} are Mainspring's own")
    event = Event(
        body.event,
        body.resource_id,
        body.occurred if body.occurred is not None else time.time(),
        body.resource,
        body.payload,
    )
    return EventOut.of(event_store(store).emit_event(event))
