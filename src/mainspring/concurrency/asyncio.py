"""`concurrency()` and `rate_limit()` for async code: the same slots as `sync`'s, waited for
in a thread so the event loop runs on. A wait that is cancelled (its asyncio task cancelled,
a timeout around it) takes no slot: one that arrives anyway is given back at once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from concurrent.futures import Future
from contextlib import asynccontextmanager
from typing import Any

from mainspring.concurrency.sync import limit_names
from mainspring.engine.concurrency_slots import (
    Lease,
    acquire_slots,
    default_holder,
    release_slots,
)

__all__ = ["concurrency", "rate_limit"]


async def _acquire(names: list[str], occupy: int, **options: Any) -> Lease | None:
    """Wait in a thread of its own (a pool would queue waits behind each other)."""
    if options.get("holder") is None:
        options["holder"] = default_holder()  # here: the thread does not see our context
    stop = threading.Event()
    waiting: Future[Lease | None] = Future()
    # running, so cancelling the await cannot cancel it: a lease it gets is then given back
    waiting.set_running_or_notify_cancel()

    def wait() -> None:
        try:
            waiting.set_result(acquire_slots(names, occupy, cancelled=stop.is_set, **options))
        except BaseException as exc:
            waiting.set_exception(exc)

    threading.Thread(target=wait, name="mainspring-concurrency-wait", daemon=True).start()
    try:
        return await asyncio.wrap_future(waiting)
    except asyncio.CancelledError:
        stop.set()
        waiting.add_done_callback(_release_unwanted)
        raise


def _release_unwanted(done: Future[Lease | None]) -> None:
    if not done.cancelled() and done.exception() is None:
        release_slots(done.result())


@asynccontextmanager
async def concurrency(
    names: str | list[str],
    occupy: int = 1,
    timeout_seconds: float | None = None,
    *,
    strict: bool = False,
    lease_duration: float | None = None,
    holder: str | None = None,
) -> AsyncIterator[None]:
    """`async with concurrency("db"):` (see `mainspring.concurrency.sync.concurrency`)."""
    lease = await _acquire(
        limit_names(names),
        occupy,
        timeout_seconds=timeout_seconds,
        strict=strict,
        lease_seconds=lease_duration,
        holder=holder,
    )
    try:
        yield
    finally:
        await asyncio.to_thread(release_slots, lease)


async def rate_limit(
    names: str | list[str],
    occupy: int = 1,
    timeout_seconds: float | None = None,
    *,
    strict: bool = False,
) -> None:
    """`await rate_limit("api")` (see `mainspring.concurrency.sync.rate_limit`)."""
    await _acquire(
        limit_names(names), occupy, timeout_seconds=timeout_seconds, strict=strict, decay=True
    )
