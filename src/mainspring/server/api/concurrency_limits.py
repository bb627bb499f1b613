"""`/api/concurrency_limits` (create, list, read, update, reset, delete limits) and
`/api/concurrency_leases` (take slots, renew and release leases).

Taking slots with `wait` is a long poll: the store is asked without waiting, and between
attempts the request sleeps at the server (backing off from `FIRST_PAUSE` to `MAX_PAUSE`, or
until a rate limit's slots have decayed) and wakes at once when a slot is released through
this server. A waiting request whose client has gone away stops without taking anything.
Limit names may hold '/', hence the `:path` parameters; the route with a suffix comes first.
"""

from __future__ import annotations

import random
import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from mainspring.server.api.deployments import EXISTS
from mainspring.server.api.deps import NOT_FOUND, ErrorOut, StoreDep, invalid
from mainspring.server.run_signal import RunSignal
from mainspring.server.schemas import ID_PATTERN
from mainspring.server.schemas.common import NO_NUL
from mainspring.server.schemas.concurrency import (
    AcquireIn,
    AcquisitionOut,
    ConcurrencyLimitIn,
    ConcurrencyLimitOut,
    ConcurrencyLimitUpdateIn,
    RenewIn,
    RenewOut,
)
from mainspring.server.schemas.deployments import EmptyIn
from mainspring.store.concurrency import ConcurrencyStore
from mainspring.store.http.wire import MAX_NAME

limits = APIRouter(prefix="/concurrency_limits", tags=["concurrency limits"])
leases = APIRouter(prefix="/concurrency_leases", tags=["concurrency limits"])

FIRST_PAUSE = 0.02
MAX_PAUSE = 1.0

LimitName = Annotated[
    str,
    Path(min_length=1, max_length=MAX_NAME, pattern=NO_NUL, description="A limit's name."),
]
CANNOT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut, "description": "The stored limits could never grant this."}
}
LeaseId = Annotated[str, Path(pattern=ID_PATTERN, description="A lease's id.")]


def concurrency_store(store: object) -> ConcurrencyStore:
    """The server's store as a ConcurrencyStore (SqlStore is one); 501 for one that is not."""
    if not isinstance(store, ConcurrencyStore):
        raise HTTPException(501, "This server's store keeps no concurrency limits")
    return store


def _signal(request: Request) -> RunSignal:
    """Wakes waiting acquisitions when a slot is freed through this server."""
    state = request.app.state
    if getattr(state, "slot_signal", None) is None:
        state.slot_signal = RunSignal()
    signal: RunSignal = state.slot_signal
    return signal


@limits.post("", response_model=ConcurrencyLimitOut, status_code=201, responses=EXISTS)
def create_limit(store: StoreDep, body: ConcurrencyLimitIn) -> ConcurrencyLimitOut:
    try:
        record = body.to_record()
    except (TypeError, ValueError) as exc:
        raise invalid(("body",), str(exc)) from None
    try:
        return ConcurrencyLimitOut.of(concurrency_store(store).create_concurrency_limit(record))
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from None


@limits.get("", response_model=list[ConcurrencyLimitOut])
def list_limits(
    store: StoreDep,
    prefix: Annotated[
        str | None, Query(max_length=MAX_NAME, pattern=NO_NUL, description="e.g. 'tag:'")
    ] = None,
) -> list[ConcurrencyLimitOut]:
    found = concurrency_store(store).read_concurrency_limits(prefix=prefix)
    return [ConcurrencyLimitOut.of(x) for x in found]


@limits.post("/{name:path}/reset", response_model=ConcurrencyLimitOut, responses=NOT_FOUND)
async def reset_limit(
    request: Request, store: StoreDep, name: LimitName, body: EmptyIn
) -> ConcurrencyLimitOut:
    """Free every slot of the limit (a holder still running keeps running, unlimited).
    The body is `{}`, as for every write (server/guard.py)."""
    reset = await run_in_threadpool(concurrency_store(store).reset_concurrency_limit, name)
    _signal(request).notify()
    return ConcurrencyLimitOut.of(reset)


@limits.get("/{name:path}", response_model=ConcurrencyLimitOut, responses=NOT_FOUND)
def read_limit(store: StoreDep, name: LimitName) -> ConcurrencyLimitOut:
    return ConcurrencyLimitOut.of(concurrency_store(store).read_concurrency_limit(name))


@limits.patch("/{name:path}", response_model=ConcurrencyLimitOut, responses=NOT_FOUND)
async def update_limit(
    request: Request, store: StoreDep, name: LimitName, body: ConcurrencyLimitUpdateIn
) -> ConcurrencyLimitOut:
    changes: dict[str, Any] = body.model_dump(exclude_none=True)
    updated = await run_in_threadpool(
        lambda: concurrency_store(store).update_concurrency_limit(name, **changes)
    )
    _signal(request).notify()
    return ConcurrencyLimitOut.of(updated)


@limits.delete("/{name:path}", status_code=204, responses=NOT_FOUND)
async def delete_limit(request: Request, store: StoreDep, name: LimitName) -> Response:
    await run_in_threadpool(concurrency_store(store).delete_concurrency_limit, name)
    _signal(request).notify()
    return Response(status_code=204)


@leases.post("", response_model=AcquisitionOut, responses={**NOT_FOUND, **CANNOT})
async def acquire_slots(request: Request, store: StoreDep, body: AcquireIn) -> AcquisitionOut:
    """Take `occupy` slots of every limit named, all or none; with `wait`, wait that long for
    room. 404 for an unknown limit when `strict`; 409 when `occupy` exceeds a limit or a
    rate limit (`decay`) names a limit whose slots do not decay (never grantable)."""
    slots = concurrency_store(store)
    signal = _signal(request)
    deadline = time.monotonic() + body.wait
    pause = FIRST_PAUSE
    while True:
        event = signal.generation()  # before trying: a release meanwhile still wakes us
        try:
            got = await run_in_threadpool(
                lambda: slots.acquire_concurrency_slots(
                    body.names,
                    body.occupy,
                    body.holder,
                    lease_seconds=body.lease_seconds,
                    strict=body.strict,
                    decay=body.decay,
                )
            )
        except ValueError as exc:  # judged against the stored limits, not the body alone
            raise HTTPException(409, str(exc)) from None
        remaining = deadline - time.monotonic()
        if got.acquired or remaining <= 0:
            return AcquisitionOut.of(got)
        sleep = min(pause * (0.5 + random.random()), remaining)
        if got.retry_after is not None:
            sleep = min(sleep, got.retry_after + 0.001)
        await signal.wait(event, sleep)
        pause = min(pause * 2, MAX_PAUSE)
        if await request.is_disconnected():
            return AcquisitionOut.of(got)


@leases.post("/renew", response_model=RenewOut)
def renew_leases(store: StoreDep, body: RenewIn) -> RenewOut:
    """Extend the leases still held; the answer lists them (the others expired)."""
    held = concurrency_store(store).renew_concurrency_leases(body.ids, body.lease_seconds)
    return RenewOut(held=held)


@leases.delete("/{lease_id}", status_code=204)
async def release_lease(request: Request, store: StoreDep, lease_id: LeaseId) -> Response:
    """Free the lease's slots (204 also for a lease that expired or never was)."""
    await run_in_threadpool(concurrency_store(store).release_concurrency_lease, lease_id)
    _signal(request).notify()
    return Response(status_code=204)


__all__ = ["leases", "limits"]
