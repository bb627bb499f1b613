"""Taking and holding concurrency slots: the wait for a slot, and the lease keeper.

Used by `mainspring.concurrency` (code taking slots) and by task runs with a limited tag
(engine/tag_limits.py). A slot is a lease in the store (model/concurrency.py): this process
renews the leases it holds from one daemon thread, every third of their length, so a process
that dies stops renewing and its slots come free when its leases run out, while a live one
keeps its slots however long it holds them.

Waiting is done by the store (`acquire_concurrency_slots(wait=...)`: backing off in SQL, a
long poll through a server), in chunks of `WAIT_CHUNK` seconds, so a timeout or a cancel is
noticed between chunks.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mainspring.exceptions import ConcurrencySlotTimeout, StoreError
from mainspring.model.concurrency import Acquisition, check_lease_seconds
from mainspring.store.concurrency import ConcurrencyStore

logger = logging.getLogger("mainspring.concurrency")

#: Longest single wait handed to the store: a timeout or cancel is seen within it.
WAIT_CHUNK = 2.0
_warned: set[str] = set()


@dataclass(eq=False)
class Lease:
    """Slots this process holds until `release_slots`; `lost` once a renewal found the lease
    expired (the process was stalled, or the store unreachable, for longer than the lease)."""

    store: ConcurrencyStore
    id: str
    names: tuple[str, ...]
    seconds: float
    lost: bool = field(default=False)
    #: when the keeper renews it next (time.monotonic), a third of its length after the last
    renew_at: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.renew_at = time.monotonic() + self.seconds / 3


def concurrency_store() -> ConcurrencyStore:
    """The process's store (SqlStore or ApiStore: both keep concurrency limits)."""
    from mainspring.store import get_store

    store = get_store()
    if not isinstance(store, ConcurrencyStore):
        raise TypeError(f"{store!r} keeps no concurrency limits")
    return store


def default_holder() -> str:
    """Who holds a slot, as `inspect` shows it: the task or flow run, else the process."""
    from mainspring.engine.context import flow_run_context, task_run_context

    task_ctx = task_run_context.get()
    if task_ctx is not None:
        return f"task run {task_ctx.task_run.id}"
    flow_ctx = flow_run_context.get()
    if flow_ctx is not None:
        return f"flow run {flow_ctx.flow_run.id}"
    return f"pid {os.getpid()} on {socket.gethostname()}"


def acquire_slots(
    names: Sequence[str],
    occupy: int = 1,
    *,
    timeout_seconds: float | None = None,
    strict: bool = False,
    decay: bool = False,
    lease_seconds: float | None = None,
    holder: str | None = None,
    store: ConcurrencyStore | None = None,
    cancelled: Callable[[], bool] | None = None,
    on_wait: Callable[[Acquisition], None] | None = None,
) -> Lease | None:
    """Wait until `occupy` slots of every limit in `names` are taken, and return the lease
    (renewed by the keeper until `release_slots`); None when nothing is held (no active
    limit, rate-limit slots, or `cancelled()` became true while waiting).

    `ConcurrencySlotTimeout` after `timeout_seconds` (None: wait as long as it takes);
    `on_wait` is called once, with the first refusal, when the slots are not free at once.
    """
    if timeout_seconds is not None and (
        isinstance(timeout_seconds, bool)
        or not isinstance(timeout_seconds, int | float)
        or not timeout_seconds >= 0
    ):
        raise ValueError(f"timeout_seconds must be None or >= 0, got {timeout_seconds!r}")
    if store is None:
        store = concurrency_store()
    if lease_seconds is None:
        from mainspring.settings import get_settings

        lease_seconds = get_settings().concurrency_lease_seconds
    seconds = check_lease_seconds(lease_seconds)
    holder = default_holder() if holder is None else holder
    deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
    wait = 0.0  # the first attempt answers at once: `on_wait` can say why it waits
    while True:
        got = store.acquire_concurrency_slots(
            names, occupy, holder, lease_seconds=seconds, strict=strict, decay=decay, wait=wait
        )
        _warn_missing(got.missing)
        if got.acquired:
            if got.lease_id is None:
                return None
            lease = Lease(store, got.lease_id, tuple(names), seconds)
            KEEPER.hold(lease)
            return lease
        if wait == 0.0 and on_wait is not None:
            on_wait(got)
        if cancelled is not None and cancelled():
            return None
        wait = WAIT_CHUNK
        if deadline is not None:
            wait = min(wait, deadline - time.monotonic())
            if wait <= 0:
                raise ConcurrencySlotTimeout(
                    f"No slot of concurrency limit {', '.join(map(repr, got.full))} came "
                    f"free within {timeout_seconds:g} s"
                )


def release_slots(lease: Lease | None) -> None:
    """Give the slots back (never raises: a lease that cannot be released expires)."""
    if lease is None:
        return
    KEEPER.drop(lease)
    try:
        lease.store.release_concurrency_lease(lease.id)
    except StoreError as exc:
        logger.warning(
            "Could not release the concurrency slot of %s (it frees itself within %g s): %s",
            ", ".join(map(repr, lease.names)),
            lease.seconds,
            exc,
        )


def _warn_missing(missing: tuple[str, ...]) -> None:
    for name in missing:
        if name not in _warned:
            _warned.add(name)
            logger.warning(
                "There is no concurrency limit named %r, so it limits nothing; create it with "
                "`mainspring global-concurrency-limit create %s --limit N` (strict=True makes "
                "this an error)",
                name,
                name,
            )


class LeaseKeeper:
    """Renews the leases this process holds, from one daemon thread (per process: a forked
    child holds none of its parent's leases)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._leases: dict[str, Lease] = {}
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._failing = False

    def hold(self, lease: Lease) -> None:
        with self._lock:
            if self._pid != os.getpid():  # a fork: the parent's leases and thread are not ours
                self._leases, self._thread, self._pid = {}, None, os.getpid()
            sooner = all(lease.renew_at < x.renew_at for x in self._leases.values())
            self._leases[lease.id] = lease
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="mainspring-concurrency-leases", daemon=True
                )
                self._thread.start()
        if sooner:  # the keeper sleeps until a later renewal: let it plan again
            self._wake.set()

    def drop(self, lease: Lease) -> None:
        with self._lock:
            self._leases.pop(lease.id, None)

    def _run(self) -> None:
        while True:
            with self._lock:
                leases = list(self._leases.values())
            now = time.monotonic()
            next_at = min((x.renew_at for x in leases), default=now + 60.0)
            if next_at > now:
                self._wake.wait(next_at - now)  # woken early by a sooner lease: plan again
                self._wake.clear()
                continue
            # renew what is due, and what would fall due within a sixth of its length, at once
            due = [x for x in leases if x.renew_at <= now + x.seconds / 6]
            for lease in due:
                lease.renew_at = now + lease.seconds / 3
            self._renew(due)

    def _renew(self, leases: list[Lease]) -> None:
        groups: dict[tuple[int, float], list[Lease]] = {}
        for lease in leases:
            groups.setdefault((id(lease.store), lease.seconds), []).append(lease)
        for group in groups.values():
            store, seconds = group[0].store, group[0].seconds
            try:
                held = set(store.renew_concurrency_leases([x.id for x in group], seconds))
            except Exception as exc:  # the store is down: try again next round
                if not self._failing:
                    logger.warning("Could not renew concurrency slots (retrying): %s", exc)
                self._failing = True
                continue
            self._failing = False
            for lease in group:
                if lease.id not in held and not lease.lost:
                    with self._lock:
                        still_held = lease.id in self._leases
                    if still_held:  # not released meanwhile: it expired (or was reset)
                        lease.lost = True
                        self.drop(lease)
                        logger.warning(
                            "The concurrency slot of %s was lost before it was released: its "
                            "lease expired (no renewal for %g s) or the limit was reset",
                            ", ".join(map(repr, lease.names)),
                            lease.seconds,
                        )


KEEPER = LeaseKeeper()
