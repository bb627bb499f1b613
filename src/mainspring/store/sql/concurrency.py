"""SqlConcurrency: the ConcurrencyStore protocol in SQL, mixed into SqlStore.

Why an acquisition is exact with several acquirers (threads, processes, hosts): it is one
write transaction that first locks the rows of the limits it names, in name order (on SQLite
BEGIN IMMEDIATE already admits one writer at a time; on PostgreSQL `SELECT ... FOR UPDATE`
makes acquirers of one limit take turns for the millisecond an acquisition lasts, and the
order rules out deadlocks between acquisitions of several limits). Only then does it count
the unexpired leases and the undecayed rate-limit slots, and insert its lease: no one else
can count between its count and its insert.

A waiting acquisition (`wait` > 0) retries with a growing, jittered pause (`FIRST_PAUSE` up
to `MAX_PAUSE`), shortened to a rate limit's `retry_after`, and wakes at once when a slot is
released in this process: waiting does not hammer the database.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from mainspring.exceptions import ConcurrencyLimitNotFound, ObjectNotFound
from mainspring.model.concurrency import (
    Acquisition,
    ConcurrencyLimit,
    check_decay,
    check_lease_seconds,
    check_limit,
    check_occupy,
    decayed,
)
from mainspring.model.runs import new_id
from mainspring.model.text import storable_text
from mainspring.store.concurrency import ConcurrencyStore
from mainspring.store.sql.schema import concurrency_lease, concurrency_limit

if TYPE_CHECKING:
    from mainspring.store.sql.dialect import SqlBackend

#: Pauses of a waiting acquisition (seconds): the first, and the most it grows to.
FIRST_PAUSE = 0.02
MAX_PAUSE = 1.0
#: Holders listed per limit when it is read.
MAX_HOLDERS = 100
_EPSILON = 1e-9


def _now(now: float | None) -> float:
    return time.time() if now is None else float(now)


def check_wait(wait: object) -> float:
    if isinstance(wait, bool) or not isinstance(wait, int | float) or not wait >= 0:
        raise ValueError(f"wait must be a non-negative number of seconds, got {wait!r}")
    return float(wait)


def check_names(names: object) -> list[str]:
    """The limit names of one acquisition, without repeats; at least one."""
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise TypeError(f"names must be a list of limit names, got {names!r}")
    if not names:
        raise ValueError("name at least one concurrency limit")
    for name in names:
        if not isinstance(name, str) or not name:
            raise ValueError(f"a concurrency limit name must be non-empty text, got {name!r}")
    return list(dict.fromkeys(names))


class _Releases:
    """Wakes this process's waiting acquisitions when a slot is freed here."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.generation = 0

    def notify(self) -> None:
        with self._condition:
            self.generation += 1
            self._condition.notify_all()

    def wait(self, generation: int, timeout: float) -> None:
        with self._condition:
            if self.generation == generation:
                self._condition.wait(timeout)


RELEASES = _Releases()


class SqlConcurrency(ConcurrencyStore):
    """The ConcurrencyStore part of SqlStore (module docstring); needs its transactions."""

    if TYPE_CHECKING:
        _backend: SqlBackend

        def _transaction(self, what: str) -> AbstractContextManager[sa.Connection]: ...

        def _read(self) -> AbstractContextManager[sa.Connection]: ...

    # -- limits ------------------------------------------------------------------------------
    def create_concurrency_limit(
        self, limit: ConcurrencyLimit, now: float | None = None
    ) -> ConcurrencyLimit:
        at = _now(now)
        insert = (
            self._backend.insert(concurrency_limit)
            .values(
                name=limit.name,
                limit=limit.limit,
                active=limit.active,
                slot_decay_per_second=limit.slot_decay_per_second,
                decaying_slots=0.0,
                decayed_at=None,
                created=at,
                updated=at,
            )
            .on_conflict_do_nothing()
            .returning(concurrency_limit.c.name)
        )
        with self._transaction("create a concurrency limit") as conn:
            if conn.execute(insert).first() is None:
                raise ValueError(f"A concurrency limit named {limit.name!r} exists already")
        return self.read_concurrency_limit(limit.name, now=at)

    def read_concurrency_limit(self, name: str, now: float | None = None) -> ConcurrencyLimit:
        with self._read() as conn:
            found = _limits(conn, concurrency_limit.c.name == name, _now(now))
        if not found:
            raise ObjectNotFound(f"No concurrency limit named {name!r}")
        return found[0]

    def read_concurrency_limits(
        self, prefix: str | None = None, now: float | None = None
    ) -> list[ConcurrencyLimit]:
        where = None
        if prefix:
            where = concurrency_limit.c.name.startswith(prefix, autoescape=True)
        with self._read() as conn:
            return _limits(conn, where, _now(now))

    def update_concurrency_limit(
        self,
        name: str,
        *,
        limit: int | None = None,
        active: bool | None = None,
        slot_decay_per_second: float | None = None,
        now: float | None = None,
    ) -> ConcurrencyLimit:
        at = _now(now)
        values: dict[str, Any] = {"updated": at}
        if limit is not None:
            values["limit"] = check_limit(limit)
        if active is not None:
            if not isinstance(active, bool):
                raise TypeError(f"active must be True or False, got {active!r}")
            values["active"] = active
        if slot_decay_per_second is not None:
            values["slot_decay_per_second"] = check_decay(slot_decay_per_second)
        c = concurrency_limit.c
        with self._transaction("update a concurrency limit") as conn:
            row = conn.execute(
                sa.select(concurrency_limit).where(c.name == name).with_for_update()
            ).first()
            if row is None:
                raise ObjectNotFound(f"No concurrency limit named {name!r}")
            # what has decayed so far decayed at the old rate
            values["decaying_slots"] = decayed(
                row.decaying_slots, row.slot_decay_per_second, row.decayed_at, at
            )
            values["decayed_at"] = at
            conn.execute(sa.update(concurrency_limit).where(c.name == name).values(**values))
        RELEASES.notify()  # a raised or deactivated limit may let waiters in
        return self.read_concurrency_limit(name, now=at)

    def delete_concurrency_limit(self, name: str) -> None:
        with self._transaction("delete a concurrency limit") as conn:
            conn.execute(sa.delete(concurrency_lease).where(concurrency_lease.c.limit_name == name))
            deleted = conn.execute(
                sa.delete(concurrency_limit).where(concurrency_limit.c.name == name)
            )
            if deleted.rowcount == 0:
                raise ObjectNotFound(f"No concurrency limit named {name!r}")
        RELEASES.notify()

    def reset_concurrency_limit(self, name: str, now: float | None = None) -> ConcurrencyLimit:
        at = _now(now)
        c = concurrency_limit.c
        with self._transaction("reset a concurrency limit") as conn:
            reset = conn.execute(
                sa.update(concurrency_limit)
                .where(c.name == name)
                .values(decaying_slots=0.0, decayed_at=at, updated=at)
            )
            if reset.rowcount == 0:
                raise ObjectNotFound(f"No concurrency limit named {name!r}")
            conn.execute(sa.delete(concurrency_lease).where(concurrency_lease.c.limit_name == name))
        RELEASES.notify()
        return self.read_concurrency_limit(name, now=at)

    # -- slots -------------------------------------------------------------------------------
    def acquire_concurrency_slots(
        self,
        names: Sequence[str],
        occupy: int,
        holder: str,
        *,
        lease_seconds: float,
        strict: bool = False,
        decay: bool = False,
        wait: float = 0.0,
        now: float | None = None,
    ) -> Acquisition:
        unique = check_names(names)
        occupy = check_occupy(occupy)
        lease_seconds = check_lease_seconds(lease_seconds)
        left = check_wait(wait)
        holder = storable_text(str(holder))[:255]
        deadline = time.monotonic() + left
        pause = FIRST_PAUSE
        while True:
            generation = RELEASES.generation  # before trying: a release meanwhile wakes us
            with self._transaction("acquire concurrency slots") as conn:
                got = _acquire(
                    conn, unique, occupy, holder, lease_seconds, strict, decay, _now(now)
                )
            remaining = deadline - time.monotonic()
            if got.acquired or remaining <= 0:
                return got
            sleep = min(pause * (0.5 + random.random()), remaining)
            if got.retry_after is not None:
                sleep = min(sleep, got.retry_after + 0.001)
            RELEASES.wait(generation, sleep)
            pause = min(pause * 2, MAX_PAUSE)

    def renew_concurrency_leases(
        self, lease_ids: Sequence[str], lease_seconds: float, now: float | None = None
    ) -> list[str]:
        ids = list(dict.fromkeys(lease_ids))
        lease_seconds = check_lease_seconds(lease_seconds)
        if not ids:
            return []
        at = _now(now)
        c = concurrency_lease.c
        update = (
            sa.update(concurrency_lease)
            .where(c.id.in_(ids), c.expires > at)
            .values(expires=at + lease_seconds)
            .returning(c.id)
        )
        with self._transaction("renew concurrency leases") as conn:
            held = {lease_id for (lease_id,) in conn.execute(update)}
        return [i for i in ids if i in held]

    def release_concurrency_lease(self, lease_id: str) -> None:
        with self._transaction("release a concurrency lease") as conn:
            conn.execute(sa.delete(concurrency_lease).where(concurrency_lease.c.id == lease_id))
        RELEASES.notify()


def _limits(
    conn: sa.Connection, where: sa.ColumnElement[bool] | None, at: float
) -> list[ConcurrencyLimit]:
    """The limits matching `where`, by name, with their use at `at`."""
    c, lease = concurrency_limit.c, concurrency_lease.c
    query = sa.select(concurrency_limit).order_by(c.name)
    held = sa.select(lease.limit_name, lease.slots, lease.holder).where(lease.expires > at)
    if where is not None:
        query = query.where(where)
        held = held.where(lease.limit_name.in_(sa.select(c.name).where(where)))
    rows = conn.execute(query).all()
    if not rows:
        return []
    slots: dict[str, int] = {}
    holders: dict[str, dict[str, None]] = {}
    for name, count, holder in conn.execute(held.order_by(lease.acquired, lease.id)):
        slots[name] = slots.get(name, 0) + count
        holders.setdefault(name, {})[holder] = None
    return [
        ConcurrencyLimit(
            name=r.name,
            limit=r.limit,
            active=r.active,
            slot_decay_per_second=r.slot_decay_per_second,
            created=r.created,
            updated=r.updated,
            active_slots=slots.get(r.name, 0),
            decaying_slots=decayed(r.decaying_slots, r.slot_decay_per_second, r.decayed_at, at),
            holders=list(holders.get(r.name, {}))[:MAX_HOLDERS],
        )
        for r in rows
    ]


def _acquire(
    conn: sa.Connection,
    names: list[str],
    occupy: int,
    holder: str,
    lease_seconds: float,
    strict: bool,
    decay: bool,
    at: float,
) -> Acquisition:
    """One attempt, inside the caller's write transaction (module docstring)."""
    c, lease = concurrency_limit.c, concurrency_lease.c
    rows = conn.execute(
        sa.select(concurrency_limit).where(c.name.in_(names)).order_by(c.name).with_for_update()
    ).all()
    found = {r.name for r in rows}
    missing = tuple(n for n in names if n not in found)
    if missing and strict:
        raise ConcurrencyLimitNotFound(
            f"No concurrency limit named {', '.join(map(repr, missing))}; create it with "
            "`mainspring global-concurrency-limit create NAME --limit N`"
        )
    active = [r for r in rows if r.active]
    for r in active:
        if occupy > r.limit:
            raise ValueError(
                f"occupy={occupy} is more than concurrency limit {r.name!r} allows at once "
                f"({r.limit}): it could never be granted"
            )
        if decay and r.slot_decay_per_second <= 0:
            raise ValueError(
                f"rate_limit needs a limit whose slots decay; concurrency limit {r.name!r} has "
                "slot_decay_per_second 0 (set one: `mainspring global-concurrency-limit "
                f"update {r.name} --slot-decay-per-second 1`)"
            )
    if not active:
        return Acquisition(True, None, missing)
    active_names = [r.name for r in active]
    conn.execute(
        sa.delete(concurrency_lease).where(lease.limit_name.in_(active_names), lease.expires <= at)
    )
    used: dict[str, int] = {
        name: int(total)
        for name, total in conn.execute(
            sa.select(lease.limit_name, sa.func.sum(lease.slots))
            .where(lease.limit_name.in_(active_names))
            .group_by(lease.limit_name)
        )
    }
    full: list[str] = []
    retry_after: float | None = None
    left: dict[str, float] = {}
    for r in active:
        left[r.name] = decayed(r.decaying_slots, r.slot_decay_per_second, r.decayed_at, at)
        free = r.limit - used.get(r.name, 0) - left[r.name]
        if free < occupy - _EPSILON:
            full.append(r.name)
            if r.slot_decay_per_second > 0 and left[r.name] > 0:
                needed = min(occupy - free, left[r.name]) / r.slot_decay_per_second
                retry_after = max(retry_after or 0.0, needed)
    if full:
        return Acquisition(False, None, missing, tuple(full), retry_after)
    if decay:
        for r in active:
            conn.execute(
                sa.update(concurrency_limit)
                .where(c.name == r.name)
                .values(decaying_slots=left[r.name] + occupy, decayed_at=at)
            )
        return Acquisition(True, None, missing)
    lease_id = new_id()
    conn.execute(
        sa.insert(concurrency_lease),
        [
            {
                "id": lease_id,
                "limit_name": name,
                "slots": occupy,
                "holder": holder,
                "acquired": at,
                "expires": at + lease_seconds,
            }
            for name in active_names
        ],
    )
    return Acquisition(True, lease_id, missing)
