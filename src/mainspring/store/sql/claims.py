"""Claiming due deployment runs for a worker, and giving back claims never started.

Why it is safe with several claimers (threads, processes, hosts):
- The whole claim is one write transaction. On SQLite that is BEGIN IMMEDIATE: one writer at a
  time, so the counting and the claim see no one else's changes. On PostgreSQL the pool's row is
  locked first (SELECT ... FOR UPDATE): claimers of one pool take turns for the few ms a claim
  lasts, which is what makes the concurrency limits exact (two claimers counting at once would
  each see a free slot). The runs themselves are selected FOR UPDATE SKIP LOCKED, so a claim
  never waits on a run another writer holds (a pause deleting it, a cancel).
- The claim itself is a compare-and-set: `UPDATE ... WHERE state is Scheduled AND unclaimed`,
  so even a run seen by two claimers goes to one of them.
- Limits count the runs of their scope that a worker claimed and that have not finished
  (claimed_by set, state not terminal): a Crashed or Cancelled run holds no slot, so one stuck
  run cannot block a deployment for ever once it is ended.

Scheduled -> Pending and Pending -> Scheduled (a released claim) are transitions that
`model.orchestration.decide` accepts (non-terminal to non-terminal); the WHERE clauses keep
every other state out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from mainspring.exceptions import ObjectNotFound
from mainspring.model import TERMINAL_TYPES, StateType
from mainspring.model.deployments import CollisionStrategy, DeploymentRun
from mainspring.store.sql.deployment_rows import deployment_run_from_row, state_row
from mainspring.store.sql.schema import (
    deployment,
    flow_run,
    state_history,
    work_pool,
    work_queue,
)
from mainspring.store.sql.schema import worker as worker_table

#: State names of runs waiting for a worker (AwaitingRetry, also a kind of Scheduled, belongs to
#: a live process that retries the run itself).
WAITING_NAMES = ("Scheduled", "Late")
#: Candidates read per query; a page whose runs are all blocked by limits leads to another.
PAGE = 200
_UNLIMITED = 2**31 - 1
_FINISHED = [t.value for t in TERMINAL_TYPES]
_SCHEDULED = StateType.SCHEDULED.value


def _active(*where: sa.ColumnElement[bool]) -> sa.Select[Any]:
    """How many runs matching `where` hold a slot: claimed and not finished."""
    c = flow_run.c
    return sa.select(sa.func.count()).where(
        c.claimed_by.is_not(None), c.state_type.not_in(_FINISHED), *where
    )


@dataclass
class _Slots:
    """Free slots per scope, counted once in the claim's transaction and spent as it claims."""

    conn: sa.Connection
    pool_free: int
    queue_free: dict[str | None, int] = field(default_factory=dict)
    queue_limits: dict[str, int | None] = field(default_factory=dict)
    deployments: dict[str, tuple[int, CollisionStrategy]] = field(default_factory=dict)

    def queue(self, name: str | None, pool_name: str) -> int:
        if name not in self.queue_free:
            limit = self.queue_limits.get(name) if name is not None else None
            if limit is None:
                self.queue_free[name] = _UNLIMITED
            else:
                c = flow_run.c
                used = self.conn.execute(
                    _active(c.work_pool_name == pool_name, c.work_queue_name == name)
                ).scalar_one()
                self.queue_free[name] = limit - int(used)
        return self.queue_free[name]

    def deployment(self, deployment_id: str) -> tuple[int, CollisionStrategy]:
        if deployment_id not in self.deployments:
            d = deployment.c
            row = self.conn.execute(
                sa.select(d.concurrency_limit, d.collision_strategy).where(d.id == deployment_id)
            ).first()
            free, strategy = _UNLIMITED, CollisionStrategy.ENQUEUE
            if row is not None and row.concurrency_limit is not None:
                used = self.conn.execute(
                    _active(flow_run.c.deployment_id == deployment_id)
                ).scalar_one()
                free = row.concurrency_limit - int(used)
                strategy = CollisionStrategy(row.collision_strategy)
            self.deployments[deployment_id] = (free, strategy)
        return self.deployments[deployment_id]


def claim(
    conn: sa.Connection,
    pool_name: str,
    queues: Sequence[str] | None,
    worker: str,
    limit: int,
    now: float,
    ahead: float = 0.0,
) -> list[DeploymentRun]:
    """`DeploymentStore.claim_runs` inside the caller's write transaction (module docstring):
    runs due by `now + ahead`, claimed at `now`."""
    pool = conn.execute(
        sa.select(work_pool).where(work_pool.c.name == pool_name).with_for_update()
    ).first()
    if pool is None:
        raise ObjectNotFound(f"No work pool named {pool_name!r}")
    if pool.paused or limit <= 0:
        return []
    pool_free = _UNLIMITED
    if pool.concurrency_limit is not None:
        used = conn.execute(_active(flow_run.c.work_pool_name == pool_name)).scalar_one()
        pool_free = pool.concurrency_limit - int(used)
    q = work_queue.c
    limits = {
        name: queue_limit
        for name, queue_limit in conn.execute(
            sa.select(q.name, q.concurrency_limit).where(q.pool_name == pool_name)
        )
    }
    slots = _Slots(conn, pool_free, queue_limits=limits)
    claimed: list[str] = []
    blocked_queues: set[str] = set()
    blocked_deployments: set[str] = set()
    while len(claimed) < limit and slots.pool_free > 0:
        page = conn.execute(
            _candidates(pool_name, queues, now + ahead, blocked_queues, blocked_deployments)
        ).all()
        if not page:
            break
        chosen: list[str] = []
        refused: list[str] = []
        blocked = len(blocked_queues) + len(blocked_deployments)
        for run_id, deployment_id, queue_name in page:
            if len(claimed) + len(chosen) == limit or slots.pool_free <= 0:
                break
            if queue_name in blocked_queues or deployment_id in blocked_deployments:
                continue
            if slots.queue(queue_name, pool_name) <= 0:
                blocked_queues.add(queue_name)  # never None: the default queue has no limit
                continue
            if deployment_id is not None:
                free, strategy = slots.deployment(deployment_id)
                if free <= 0:
                    if strategy is CollisionStrategy.CANCEL_NEW:
                        refused.append(run_id)
                    else:
                        blocked_deployments.add(deployment_id)
                    continue
                slots.deployments[deployment_id] = (free - 1, strategy)
            chosen.append(run_id)
            slots.pool_free -= 1
            slots.queue_free[queue_name] -= 1
        claimed += _set_pending(conn, chosen, worker, now)
        _cancel_new(conn, refused, now)
        if not chosen and not refused and blocked == len(blocked_queues) + len(blocked_deployments):
            break  # nothing changed: the next page would be this one again
    if not claimed:
        return []
    rows = conn.execute(sa.select(flow_run).where(flow_run.c.id.in_(claimed))).all()
    order = {run_id: i for i, run_id in enumerate(claimed)}
    return sorted((deployment_run_from_row(r) for r in rows), key=lambda r: order[r.run.id])


def _candidates(
    pool_name: str,
    queues: Sequence[str] | None,
    now: float,
    blocked_queues: set[str],
    blocked_deployments: set[str],
) -> sa.Select[Any]:
    c, q = flow_run.c, work_queue.c
    joined = flow_run.outerjoin(
        work_queue, sa.and_(q.pool_name == c.work_pool_name, q.name == c.work_queue_name)
    )
    query = (
        sa.select(c.id, c.deployment_id, c.work_queue_name)
        .select_from(joined)
        .where(
            c.work_pool_name == pool_name,
            c.state_type == _SCHEDULED,
            c.state_name.in_(WAITING_NAMES),
            c.claimed_by.is_(None),
            c.expected_start_time <= now,
        )
        .order_by(sa.func.coalesce(q.priority, _UNLIMITED), c.expected_start_time, c.id)
        .limit(PAGE)
        .with_for_update(of=flow_run, skip_locked=True)
    )
    if queues is not None:
        query = query.where(c.work_queue_name.in_(list(queues)))
    if blocked_queues:
        query = query.where(c.work_queue_name.not_in(sorted(blocked_queues)))
    if blocked_deployments:
        query = query.where(
            sa.or_(c.deployment_id.is_(None), c.deployment_id.not_in(sorted(blocked_deployments)))
        )
    return query


def _set_pending(conn: sa.Connection, ids: list[str], worker: str, now: float) -> list[str]:
    """Claim `ids` for `worker` (compare-and-set); the ids actually claimed, in `ids` order."""
    if not ids:
        return []
    c = flow_run.c
    update = (
        sa.update(flow_run)
        .where(c.id.in_(ids), c.state_type == _SCHEDULED, c.claimed_by.is_(None))
        .values(
            state_type=StateType.PENDING.value,
            state_name="Pending",
            state_message=f"Claimed by worker {worker!r}",
            state_timestamp=now,
            claimed_by=worker,
            claimed_at=now,
        )
        .returning(c.id)
    )
    done = {run_id for (run_id,) in conn.execute(update)}
    message = f"Claimed by worker {worker!r}"
    rows = [state_row(i, StateType.PENDING.value, "Pending", message, now) for i in done]
    if rows:
        conn.execute(sa.insert(state_history), rows)
    return [run_id for run_id in ids if run_id in done]


def _cancel_new(conn: sa.Connection, ids: list[str], now: float) -> None:
    """End runs refused by their deployment's limit under the `cancel_new` strategy."""
    if not ids:
        return
    c = flow_run.c
    message = "The deployment was at its concurrency limit (collision strategy cancel_new)."
    cancelled = StateType.CANCELLED.value
    update = (
        sa.update(flow_run)
        .where(c.id.in_(ids), c.state_type == _SCHEDULED, c.claimed_by.is_(None))
        .values(
            state_type=cancelled,
            state_name="Cancelled",
            state_message=message,
            state_timestamp=now,
            end_time=now,
        )
        .returning(c.id)
    )
    rows = [state_row(i, cancelled, "Cancelled", message, now) for (i,) in conn.execute(update)]
    if rows:
        conn.execute(sa.insert(state_history), rows)


def release_stale(conn: sa.Connection, older_than: float, now: float) -> int:
    """`DeploymentStore.release_stale_claims` inside the caller's write transaction."""
    c, w = flow_run.c, worker_table.c
    message = "The worker's claim expired before the run started; it waits for a worker again."
    worker_alive = (
        sa.select(w.name)
        .where(
            w.pool_name == c.work_pool_name,
            w.name == c.claimed_by,
            w.last_heartbeat >= older_than,
        )
        .exists()
    )
    update = (
        sa.update(flow_run)
        .where(
            c.state_type == StateType.PENDING.value,
            c.claimed_by.is_not(None),
            c.claimed_at < older_than,
            # no process took it up: none recorded itself (a crashed run rescheduled by its
            # deployment's retries keeps the start_time of its first attempt, so not that)
            c.pid.is_(None),
            sa.or_(
                c.heartbeat.is_(None),  # its worker never said it was starting it
                # its worker said so (`start_claim`) but died before the process was
                # started: silent since, as its worker (a live worker's slow start, an image
                # pulled for a pod, is left alone)
                sa.and_(c.heartbeat < older_than, sa.not_(worker_alive)),
            ),
        )
        .values(
            state_type=_SCHEDULED,
            state_name="Scheduled",
            state_message=message,
            state_timestamp=now,
            claimed_by=None,
            claimed_at=None,
        )
        .returning(c.id)
    )
    rows = [state_row(i, _SCHEDULED, "Scheduled", message, now) for (i,) in conn.execute(update)]
    if rows:
        conn.execute(sa.insert(state_history), rows)
    return len(rows)


def start_claim(conn: sa.Connection, run_id: str, worker: str, now: float) -> bool:
    """`DeploymentStore.start_claimed_run` inside the caller's write transaction: a heartbeat
    is the sign of life `release_stale` looks for, so the claim is no longer released while
    its worker is alive (the run's process records itself next).
    Asked twice (an answer lost on the way), it says yes twice."""
    c = flow_run.c
    update = (
        sa.update(flow_run)
        .where(
            c.id == run_id,
            c.state_type == StateType.PENDING.value,
            c.claimed_by == worker,
            c.pid.is_(None),  # no process took it up (a rescheduled crashed run has a start_time)
        )
        .values(heartbeat=sa.func.coalesce(c.heartbeat, now))
        .returning(c.id)
    )
    return conn.execute(update).first() is not None
