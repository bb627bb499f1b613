"""Tag concurrency limits for task runs: a run whose tag has a limit waits for a slot first.

The hot path stays free of the store: a task run without tags never comes here (task_drivers.py
checks `record.tags` first), and the tags that have a limit are read once per flow run (on its
first tagged task run) and again at most every `REFRESH` seconds, in one query. Only a run
carrying one of those tags touches the store, to take and later release its slot.

A run waiting for a slot stays Pending, with a message and a log line naming the full limits.
The slot is held from before the first attempt until the run ends (across its retries) and
released when it finishes, fails or crashes; a process killed meanwhile frees it when its
lease expires. A tag whose limit is 0 ends the run Failed at once, as Prefect aborts it.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from typing import TYPE_CHECKING

from mainspring.engine.concurrency_slots import acquire_slots, concurrency_store
from mainspring.exceptions import StoreError
from mainspring.model.concurrency import TAG_PREFIX, Acquisition, tag_limit_name
from mainspring.model.states import Failed, Pending

if TYPE_CHECKING:
    from mainspring.engine.context import FlowRunContext
    from mainspring.engine.run_task import TaskRunEngine

#: Seconds a flow run trusts the tag limits it read (a limit created meanwhile applies after).
REFRESH = 10.0

_lock = threading.Lock()
_reading = threading.Lock()  # one read of the limits at a time
_by_flow_run: weakref.WeakKeyDictionary[FlowRunContext, tuple[float, dict[str, int]]] = (
    weakref.WeakKeyDictionary()
)
_outside_flows: list[tuple[float, dict[str, int]]] = []


def _cached(flow_ctx: FlowRunContext | None, now: float) -> dict[str, int] | None:
    with _lock:
        cached = _by_flow_run.get(flow_ctx) if flow_ctx is not None else None
        if flow_ctx is None and _outside_flows:
            cached = _outside_flows[0]
    if cached is not None and now - cached[0] < REFRESH:
        return cached[1]
    return None


def limited_tags(flow_ctx: FlowRunContext | None, engine: TaskRunEngine) -> dict[str, int]:
    """Tag -> limit of the active tag limits, as read at most `REFRESH` seconds ago (by one
    of the flow run's task runs: the others starting meanwhile wait for that read)."""
    tags = _cached(flow_ctx, time.monotonic())
    if tags is not None:
        return tags
    with _reading:
        now = time.monotonic()
        tags = _cached(flow_ctx, now)
        if tags is not None:
            return tags
        try:
            limits = concurrency_store().read_concurrency_limits(prefix=TAG_PREFIX)
            tags = {x.name[len(TAG_PREFIX) :]: x.limit for x in limits if x.active}
        except (StoreError, TypeError) as exc:
            engine.log(
                logging.WARNING,
                f"Could not read the tag concurrency limits, so tasks run without them: {exc}",
            )
            tags = {}
        with _lock:
            if flow_ctx is not None:
                _by_flow_run[flow_ctx] = (now, tags)
            else:
                _outside_flows[:] = [(now, tags)]
        return tags


def take_tag_slots(engine: TaskRunEngine) -> bool:
    """Take a slot of each limited tag of the run, waiting as long as it takes; False when
    the run ended instead (Failed: a limit of 0, or the store refusing)."""
    limits = limited_tags(engine.flow_ctx, engine)
    tags = [t for t in dict.fromkeys(engine.record.tags) if t in limits]
    if not tags:
        return True
    zero = [t for t in tags if limits[t] == 0]
    if zero:
        message = f"Tag {zero[0]!r} has a concurrency limit of 0: its task runs do not run"
        return _fail(engine, message)

    def say_why(got: Acquisition) -> None:
        full = ", ".join(repr(n[len(TAG_PREFIX) :]) for n in got.full) or "?"
        message = f"Waiting for a concurrency slot: tag {full} is at its limit"
        engine.log(logging.INFO, message)
        engine.set_state(Pending(message=message))

    try:
        engine.slots = acquire_slots(
            [tag_limit_name(t) for t in tags],
            holder=f"task run {engine.record.id}",
            cancelled=engine.cancelled,
            on_wait=say_why,
        )
    except ValueError as exc:  # the limit was lowered to 0 meanwhile
        return _fail(engine, str(exc))
    except StoreError as exc:
        return _fail(engine, f"Could not take a concurrency slot: {exc}")
    return True


def _fail(engine: TaskRunEngine, message: str) -> bool:
    engine.log(logging.ERROR, message)
    engine.set_state(Failed(message=message))
    return False
