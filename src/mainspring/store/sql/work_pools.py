"""SqlWorkPools: work pools, their queues and workers, the part of SqlDeployments (mixed into
it, store/sql/deployments.py) that has no runs: each method one transaction of its own."""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from mainspring.exceptions import ObjectNotFound
from mainspring.model.deployments import DEFAULT_QUEUE, Worker, WorkPool, WorkQueue
from mainspring.model.events import PREFIX
from mainspring.model.text import check_name
from mainspring.store.sql.deployment_rows import pool_from_row, queue_from_row, worker_from_row
from mainspring.store.sql.events import record_event
from mainspring.store.sql.schema import work_pool, work_queue, worker

if TYPE_CHECKING:
    from mainspring.store.sql.dialect import SqlBackend


def _now(now: float | None) -> float:
    return time.time() if now is None else float(now)


class SqlWorkPools:
    if TYPE_CHECKING:
        _backend: SqlBackend

        def _transaction(self, what: str) -> AbstractContextManager[sa.Connection]: ...

        def _read(self) -> AbstractContextManager[sa.Connection]: ...

    # -- work pools, queues, workers ---------------------------------------------------------
    def create_work_pool(self, pool: WorkPool, now: float | None = None) -> WorkPool:
        at = _now(now)
        values: dict[str, Any] = {
            "name": pool.name,
            "type": pool.type,
            "description": pool.description,
            "concurrency_limit": pool.concurrency_limit,
            "paused": pool.paused,
            "base_job_template": pool.base_job_template,
            "created": at,
        }
        with self._transaction("create a work pool") as conn:
            insert = (
                self._backend.insert(work_pool)
                .values(**values)
                .on_conflict_do_nothing()
                .returning(work_pool.c.name)
            )
            if conn.execute(insert).first() is None:
                raise ValueError(f"A work pool named {pool.name!r} exists already")
            conn.execute(
                sa.insert(work_queue).values(
                    pool_name=pool.name, name=DEFAULT_QUEUE, priority=1, created=at
                )
            )
            labels = {"name": pool.name, "type": pool.type}
            record_event(
                conn, f"{PREFIX}work-pool.created", f"{PREFIX}work-pool.{pool.name}", labels
            )
        return self.read_work_pool(pool.name)

    def read_work_pool(self, name: str) -> WorkPool:
        with self._read() as conn:
            row = conn.execute(sa.select(work_pool).where(work_pool.c.name == name)).first()
        if row is None:
            raise ObjectNotFound(f"No work pool named {name!r}")
        return pool_from_row(row)

    def read_work_pools(self) -> list[WorkPool]:
        with self._read() as conn:
            rows = conn.execute(sa.select(work_pool).order_by(work_pool.c.name))
            return [pool_from_row(r) for r in rows]

    def create_work_queue(self, queue: WorkQueue, now: float | None = None) -> WorkQueue:
        q = work_queue.c
        with self._transaction("create a work queue") as conn:
            self._require_pool(conn, queue.pool_name)
            insert = (
                self._backend.insert(work_queue)
                .values(
                    pool_name=queue.pool_name,
                    name=queue.name,
                    priority=queue.priority,
                    concurrency_limit=queue.concurrency_limit,
                    created=_now(now),
                )
                .on_conflict_do_nothing()
                .returning(q.name)
            )
            if conn.execute(insert).first() is None:
                raise ValueError(
                    f"Work pool {queue.pool_name!r} has a queue named {queue.name!r} already"
                )
            row = conn.execute(
                sa.select(work_queue).where(q.pool_name == queue.pool_name, q.name == queue.name)
            ).one()
        return queue_from_row(row)

    def read_work_queues(self, pool_name: str) -> list[WorkQueue]:
        q = work_queue.c
        query = sa.select(work_queue).where(q.pool_name == pool_name).order_by(q.priority, q.name)
        with self._read() as conn:
            return [queue_from_row(r) for r in conn.execute(query)]

    def worker_heartbeat(self, pool_name: str, name: str, now: float | None = None) -> Worker:
        check_name("The worker name", name)
        at = _now(now)
        with self._transaction("record a worker's heartbeat") as conn:
            self._require_pool(conn, pool_name)
            insert = self._backend.insert(worker).values(
                pool_name=pool_name, name=name, last_heartbeat=at
            )
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["pool_name", "name"],
                    set_={"last_heartbeat": insert.excluded.last_heartbeat},
                )
            )
        return Worker(pool_name=pool_name, name=name, last_heartbeat=at)

    def read_workers(self, pool_name: str) -> list[Worker]:
        w = worker.c
        query = sa.select(worker).where(w.pool_name == pool_name).order_by(w.name)
        with self._read() as conn:
            return [worker_from_row(r) for r in conn.execute(query)]

    @staticmethod
    def _require_pool(conn: sa.Connection, pool_name: str) -> None:
        found = conn.execute(sa.select(work_pool.c.name).where(work_pool.c.name == pool_name))
        if found.first() is None:
            raise ObjectNotFound(f"No work pool named {pool_name!r}")
