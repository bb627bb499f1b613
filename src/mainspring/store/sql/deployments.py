"""SqlDeployments: the DeploymentStore protocol in SQL, mixed into SqlStore.

Each method is one transaction. Writes use the backend's write transaction (BEGIN IMMEDIATE on
SQLite: one writer at a time), and on PostgreSQL lock the deployment's row (SELECT ... FOR
UPDATE) where a decision depends on it: scheduling a paused deployment, or pausing one while
a scheduler inserts its runs, must not interleave. What keeps a (deployment, time) to one run
is the unique index, not those locks: the runs are inserted ON CONFLICT DO NOTHING.
Claiming is in store/sql/claims.py, the scheduler's reads and bulk writes in scheduling.py.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from mainspring.exceptions import ObjectNotFound
from mainspring.model import FlowRecord, StateType
from mainspring.model.deployments import Deployment, DeploymentRun
from mainspring.model.run_parameters import check_default_parameters
from mainspring.model.text import check_name
from mainspring.store.deployments import DeploymentStore
from mainspring.store.sql.claimed_stops import cancel_claimed_unstarted
from mainspring.store.sql.claims import WAITING_NAMES, claim, release_stale, start_claim
from mainspring.store.sql.crash_retries import requeue_crashed
from mainspring.store.sql.deployment_rows import (
    deployment_from_row,
    deployment_run_from_row,
    deployment_values,
    made_by_schedules,
)
from mainspring.store.sql.events import record_deployment_event
from mainspring.store.sql.requested_runs import (
    RunOrigin,
    insert_requested_run,
    run_instant,
    run_tags,
)
from mainspring.store.sql.rows import flow_row
from mainspring.store.sql.scheduling import SqlScheduling
from mainspring.store.sql.schema import (
    deployment,
    flow,
    flow_run,
    state_history,
)
from mainspring.store.sql.work_pools import SqlWorkPools

if TYPE_CHECKING:
    from mainspring.store.sql.dialect import ChangeWatch, SqlBackend
    from mainspring.store.sql.upserts import Upserts

#: What a scheduled run copies from its deployment: when one changes, the runs its schedules
#: planned from the old values are replaced (a new parameter must not wait for the horizon to
#: pass); runs asked for by hand keep what they were asked with.
RUN_FIELDS = (
    "schedules", "parameters", "tags", "entrypoint", "version", "work_pool_name",
    "work_queue_name",
)  # fmt: skip
#: Seconds between a waiting claim's attempts (`claim_runs(wait=...)`) when the database offers
#: no cheap way to hear of a commit (PostgreSQL), or a due run is held by a limit.
CLAIM_RECHECK = 0.1
#: Seconds between two looks at the database's change counter (SQLite's data_version) while a
#: claim waits: a new run is claimed within about this long, for a few microseconds a look.
CHANGE_CHECK = 0.01
#: Runs inserted per statement (SQLite allows 32,766 bound values; a run has ~20).
INSERT_ROWS = 500


def _now(now: float | None) -> float:
    return time.time() if now is None else float(now)


def _wait_seconds(wait: float) -> float:
    if isinstance(wait, bool) or not isinstance(wait, int | float) or not wait >= 0:
        raise ValueError(f"wait must be a non-negative number of seconds, got {wait!r}")
    return float(wait)


def _stop_claimed(conn: sa.Connection, deployment_id: str, why: str, now: float) -> None:
    """The deployment's claimed runs that have not started end Cancelled (claimed_stops.py):
    when paused, those of its schedules; when deleted, all of them."""
    cancel_claimed_unstarted(
        conn,
        deployment_id,
        f"Its deployment was {why} before the run started",
        now,
        scheduled_only=why == "paused",
    )


class SqlDeployments(SqlScheduling, SqlWorkPools, DeploymentStore):
    """The DeploymentStore half of SqlStore (module docstring); needs its `engine()`, and its
    `_transaction` and `_read` (declared by SqlScheduling and SqlWorkPools)."""

    if TYPE_CHECKING:
        url: str
        _backend: SqlBackend
        _sql: Upserts

        def engine(self) -> sa.Engine: ...

    # -- deployments -------------------------------------------------------------------------
    def upsert_deployment(self, deployment_: Deployment, now: float | None = None) -> Deployment:
        at = _now(now)
        check_default_parameters(
            f"Deployment {deployment_.full_name!r}",
            deployment_.flow_name,
            deployment_.parameters,
            deployment_.parameter_openapi_schema,
        )
        values = deployment_values(deployment_)
        d = deployment.c
        with self._transaction("register a deployment") as conn:
            taken = conn.execute(
                sa.select(d.flow_name, d.name).where(d.id == deployment_.id)
            ).first()
            if taken is not None and tuple(taken) != (deployment_.flow_name, deployment_.name):
                raise ValueError(
                    f"The deployment id {deployment_.id!r} is {taken.flow_name}/{taken.name}'s; "
                    f"{deployment_.full_name} cannot have it too"
                )
            self._flow_id(conn, deployment_.flow_name)
            insert = (
                self._backend.insert(deployment)
                .values(id=deployment_.id, created=at, updated=at, **values)
                .on_conflict_do_nothing(index_elements=["flow_name", "name"])
                .returning(d.id)
            )
            created = conn.execute(insert).first() is not None
            if not created:  # registered before: update it
                key = (d.flow_name == deployment_.flow_name, d.name == deployment_.name)
                old = conn.execute(sa.select(deployment).where(*key).with_for_update()).one()
                update = sa.update(deployment).where(d.id == old.id)
                conn.execute(update.values(updated=at, **values))
                # only the schedules' runs are replaced: a run asked for by hand stays asked
                # for (with the parameters it was asked with), as when pausing
                if values["paused"] and not old.paused:
                    self._forget_waiting_runs(conn, old.id, None, scheduled_only=True)
                    _stop_claimed(conn, old.id, "paused", at)
                elif any(old._mapping[k] != values[k] for k in RUN_FIELDS):
                    self._forget_waiting_runs(conn, old.id, at, scheduled_only=True)
            row = conn.execute(
                sa.select(deployment).where(
                    d.flow_name == deployment_.flow_name, d.name == deployment_.name
                )
            ).one()
            record_deployment_event(conn, "created" if created else "updated", row)
        return deployment_from_row(row)

    def _forget_waiting_runs(
        self,
        conn: sa.Connection,
        deployment_id: str,
        since: float | None,
        scheduled_only: bool = False,
    ) -> int:
        """Delete the deployment's runs waiting for a worker (Scheduled or Late, unclaimed;
        only those due from `since` on when given; with `scheduled_only`, only those its
        schedules made, not those asked for by hand) and reset its watermark, so the scheduler
        plans afresh. Claimed runs are left alone: a worker has them."""
        c = flow_run.c
        where = [
            c.deployment_id == deployment_id,
            c.state_type == StateType.SCHEDULED.value,
            c.state_name.in_(WAITING_NAMES),
            c.claimed_by.is_(None),
        ]
        if since is not None:
            where.append(c.expected_start_time >= since)
        if scheduled_only:
            where.append(made_by_schedules())
        ids = [i for (i,) in conn.execute(sa.delete(flow_run).where(*where).returning(c.id))]
        for start in range(0, len(ids), INSERT_ROWS):
            chunk = ids[start : start + INSERT_ROWS]
            conn.execute(sa.delete(state_history).where(state_history.c.run_id.in_(chunk)))
        conn.execute(
            sa.update(deployment)
            .where(deployment.c.id == deployment_id)
            .values(scheduled_until=None)
        )
        return len(ids)

    def _flow_id(self, conn: sa.Connection, flow_name: str) -> str:
        """The id of the flow named so, registering it first if needed."""
        conn.execute(
            self._backend.insert(flow)
            .values(**flow_row(FlowRecord(name=flow_name)))
            .on_conflict_do_nothing()
        )
        flow_id: str = conn.execute(
            sa.select(flow.c.id).where(flow.c.name == flow_name)
        ).scalar_one()
        return flow_id

    def read_deployment(self, deployment_id: str) -> Deployment:
        with self._read() as conn:
            row = conn.execute(
                sa.select(deployment).where(deployment.c.id == deployment_id)
            ).first()
        if row is None:
            raise ObjectNotFound(f"No deployment with id {deployment_id!r}")
        return deployment_from_row(row)

    def find_deployment(self, flow_name: str, name: str) -> Deployment:
        d = deployment.c
        with self._read() as conn:
            row = conn.execute(
                sa.select(deployment).where(d.flow_name == flow_name, d.name == name)
            ).first()
        if row is None:
            raise ObjectNotFound(f"No deployment named {flow_name}/{name}")
        return deployment_from_row(row)

    def read_deployments(self, flow_name: str | None = None) -> list[Deployment]:
        d = deployment.c
        query = sa.select(deployment).order_by(d.flow_name, d.name)
        if flow_name is not None:
            query = query.where(d.flow_name == flow_name)
        with self._read() as conn:
            return [deployment_from_row(r) for r in conn.execute(query)]

    def delete_deployment(self, deployment_id: str) -> None:
        d = deployment.c
        with self._transaction("delete a deployment") as conn:
            found = sa.select(deployment).where(d.id == deployment_id).with_for_update()
            row = conn.execute(found).first()
            if row is None:
                raise ObjectNotFound(f"No deployment with id {deployment_id!r}")
            self._forget_waiting_runs(conn, deployment_id, None)
            _stop_claimed(conn, deployment_id, "deleted", time.time())
            conn.execute(sa.delete(deployment).where(d.id == deployment_id))
            record_deployment_event(conn, "deleted", row)

    def set_deployment_paused(
        self, deployment_id: str, paused: bool, now: float | None = None
    ) -> Deployment:
        if not isinstance(paused, bool):
            raise TypeError(f"paused must be True or False, got {paused!r}")
        d = deployment.c
        with self._transaction("pause a deployment" if paused else "resume a deployment") as conn:
            row = conn.execute(
                sa.select(deployment).where(d.id == deployment_id).with_for_update()
            ).first()
            if row is None:
                raise ObjectNotFound(f"No deployment with id {deployment_id!r}")
            if row.paused != paused:
                conn.execute(
                    sa.update(deployment)
                    .where(d.id == deployment_id)
                    .values(paused=paused, updated=_now(now))
                )
                record_deployment_event(conn, "paused" if paused else "resumed", row)
            if paused:  # its schedules' runs go; runs asked for by hand stay asked for
                self._forget_waiting_runs(conn, deployment_id, None, scheduled_only=True)
                _stop_claimed(conn, deployment_id, "paused", _now(now))
            row = conn.execute(sa.select(deployment).where(d.id == deployment_id)).one()
        return deployment_from_row(row)

    def create_deployment_run(
        self,
        deployment_id: str,
        parameters: dict[str, Any] | None = None,
        *,
        when: float | None = None,
        tags: Sequence[str] | None = None,
        now: float | None = None,
        parent_flow_run_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> DeploymentRun:
        at = _now(now)
        origin = RunOrigin.of(deployment_id, parent_flow_run_id, idempotency_key)
        instant, extra = run_instant(when, at), run_tags(tags)
        with self._transaction("create a deployment run") as conn:
            row = conn.execute(
                sa.select(deployment).where(deployment.c.id == deployment_id).with_for_update()
            ).first()
            if row is None:
                raise ObjectNotFound(f"No deployment with id {deployment_id!r}")
            record = deployment_from_row(row)
            if origin.run_id is not None:  # asked before with this idempotency key
                made = conn.execute(sa.select(flow_run).where(flow_run.c.id == origin.run_id))
                earlier = made.first()
                if earlier is not None:
                    return deployment_run_from_row(earlier)
            flow_id = self._flow_id(conn, record.flow_name)
            return insert_requested_run(
                conn, self._backend, record, flow_id, parameters, instant, extra, at, origin
            )

    def read_deployment_runs(
        self, deployment_id: str, states: Sequence[str] | None = None
    ) -> list[DeploymentRun]:
        c = flow_run.c
        query = (
            sa.select(flow_run)
            .where(c.deployment_id == deployment_id)
            .order_by(c.expected_start_time, c.id)
        )
        if states is not None:
            query = query.where(c.state_name.in_(list(states)))
        with self._read() as conn:
            return [deployment_run_from_row(r) for r in conn.execute(query)]

    # -- claiming ----------------------------------------------------------------------------
    def claim_runs(
        self,
        pool_name: str,
        queues: Sequence[str] | None,
        worker: str,
        limit: int,
        now: float | None = None,
        *,
        wait: float = 0.0,
        ahead: float = 0.0,
    ) -> list[DeploymentRun]:
        check_name("The worker name", worker)
        if isinstance(ahead, bool) or not isinstance(ahead, int | float) or not ahead >= 0:
            raise ValueError(f"ahead must be a non-negative number of seconds, got {ahead!r}")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ValueError(f"limit must be a non-negative int, got {limit!r}")
        deadline = time.monotonic() + _wait_seconds(wait)
        # `now` is the first attempt's time; a waiting claim's clock runs on from it, so a run
        # that falls due during the wait is due to it too
        at = _now(now)
        skew = at - time.time()
        watch = self._backend.watch_changes(self.engine()) if wait else None
        try:
            while True:
                with self._transaction("claim runs") as conn:
                    runs = claim(conn, pool_name, queues, worker, limit, at, ahead)
                if runs or limit == 0 or deadline <= time.monotonic():
                    return runs
                self._await_claimable(pool_name, queues, deadline, watch, skew + ahead)
                at = time.time() + skew
        finally:
            if watch is not None:
                watch.close()

    def _await_claimable(
        self,
        pool_name: str,
        queues: Sequence[str] | None,
        deadline: float,
        watch: ChangeWatch | None,
        skew: float,
    ) -> None:
        """Sleep until a claim may find something: the pool's next run falls due, or (with a
        `watch`) another connection committed (a new run, a run ended and freed a slot), or
        the deadline. Without a watch, at most `CLAIM_RECHECK`."""
        until = deadline
        due = self.next_run_due(pool_name, queues)
        ahead = None if due is None else due - (time.time() + skew)
        if ahead is not None and ahead > 0:  # on time, not at the next check
            until = min(until, time.monotonic() + ahead)
        if watch is None or (ahead is not None and ahead <= 0):  # due, yet held by a limit
            time.sleep(max(0.001, min(CLAIM_RECHECK, until - time.monotonic())))
            return
        while (left := until - time.monotonic()) > 0:
            time.sleep(min(CHANGE_CHECK, left))
            if watch.changed():
                return

    def next_run_due(self, pool_name: str, queues: Sequence[str] | None = None) -> float | None:
        c = flow_run.c
        query = sa.select(sa.func.min(c.expected_start_time)).where(
            c.work_pool_name == pool_name,
            c.state_type == StateType.SCHEDULED.value,
            c.state_name.in_(WAITING_NAMES),
            c.claimed_by.is_(None),
        )
        if queues is not None:
            query = query.where(c.work_queue_name.in_(list(queues)))
        with self._read() as conn:
            due = conn.execute(query).scalar()
        return None if due is None else float(due)

    def release_stale_claims(self, older_than: float) -> int:
        with self._transaction("release stale claims") as conn:
            return release_stale(conn, float(older_than), time.time())

    # -- starting claimed runs, retrying crashed ones ----------------------------------------
    def start_claimed_run(self, run_id: str, worker: str, now: float | None = None) -> bool:
        with self._transaction("start a claimed run") as conn:
            return start_claim(conn, run_id, worker, _now(now))

    def requeue_crashed_runs(self, now: float | None = None) -> list[str]:
        with self._transaction("reschedule crashed runs") as conn:
            return requeue_crashed(conn, _now(now))
