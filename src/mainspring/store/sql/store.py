"""SqlStore: the Store protocol over SQLAlchemy Core, for SQLite (default) and PostgreSQL.

What differs between the two databases (engine options, the upsert construct, the tag filter,
transaction start, the migration lock) lives in a `SqlBackend` (store/sql/dialect.py) subclass per
dialect: `store/sql/sqlite.py` and `store/sql/postgres.py`. This module holds what is shared:
batched writes (one transaction per batch; the statements in store/sql/upserts.py, how rows reach
the driver in the backend: executemany on SQLite, arrays and COPY on PostgreSQL) and reads that
rebuild model records.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from mainspring.exceptions import ObjectNotFound, StoreError, StoreRejected
from mainspring.model import (
    TERMINAL_TYPES,
    FlowRecord,
    FlowRun,
    FlowRunFilter,
    FlowRunSort,
    LogRecord,
    StateRecord,
    StateType,
    TaskRun,
    TaskRunEdge,
)
from mainspring.model.text import storable_text
from mainspring.settings import redact_url
from mainspring.store.base import Batch, Store, check_page
from mainspring.store.batch_parts import PartRefused, write_isolating
from mainspring.store.events import EventStore
from mainspring.store.per_process import PerProcess
from mainspring.store.sql.artifacts import SqlArtifacts
from mainspring.store.sql.automations import SqlAutomations
from mainspring.store.sql.blocks import SqlBlocks
from mainspring.store.sql.concurrency import SqlConcurrency
from mainspring.store.sql.deployment_overviews import SqlDeploymentOverviews
from mainspring.store.sql.deployments import SqlDeployments
from mainspring.store.sql.dialect import Condition, SqlBackend, json_dumps
from mainspring.store.sql.dialects import backend_for
from mainspring.store.sql.events import SqlEvents
from mainspring.store.sql.insights import SqlInsights
from mainspring.store.sql.outbox import SqlAutomationOutbox
from mainspring.store.sql.outside import OutsideChanges
from mainspring.store.sql.rows import (
    EDGE_COLUMNS,
    FLOW_RUN_COLUMNS,
    FLOW_RUN_MUTABLE,
    LOG_COLUMNS,
    STATE_COLUMNS,
    TASK_RUN_COLUMNS,
    TASK_RUN_MUTABLE,
    flow_from_row,
    flow_row,
    flow_run_from_row,
    flow_run_values,
    log_from_row,
    log_values,
    state_from_row,
    state_values,
    task_run_from_row,
    task_run_values,
)
from mainspring.store.sql.run_changes import SqlRunChangeFeed
from mainspring.store.sql.run_retries import SqlRunRetries
from mainspring.store.sql.schema import (
    applied_batch,
    flow,
    flow_run,
    log,
    state_history,
    task_run,
    task_run_edge,
)
from mainspring.store.sql.storable import RowChecks, storable_flow_row
from mainspring.store.sql.task_run_summaries import SqlTaskRunSummaries
from mainspring.store.sql.upserts import Upserts
from mainspring.store.sql.variables import SqlVariables
from mainspring.store.sql.write_errors import Failure, classify, disk_full, reason

__all__ = ["Condition", "SqlBackend", "SqlStore", "backend_for"]

logger = logging.getLogger("mainspring.store")

#: Order in which this process wrote rows: the `seq` tie-breaker for equal timestamps (the
#: states of one run that fall in the same microsecond all come from the process running it).
_ARRIVAL = itertools.count()


#: How long the ids of applied batches are remembered, and how often old ones are deleted.
APPLIED_BATCH_RETENTION = 3600.0
PRUNE_EVERY = 60.0

_SORTS: dict[FlowRunSort, tuple[sa.ColumnElement[Any], ...]] = {
    FlowRunSort.START_TIME_DESC: (flow_run.c.sort_time.desc(), flow_run.c.id.desc()),
    FlowRunSort.START_TIME_ASC: (flow_run.c.sort_time.asc(), flow_run.c.id.asc()),
    FlowRunSort.CREATED_DESC: (flow_run.c.created.desc(), flow_run.c.id.desc()),
    FlowRunSort.NAME_ASC: (flow_run.c.name.asc(), flow_run.c.id.asc()),
}


def _utc(value: datetime, field: str) -> float:
    """A time filter as epoch seconds, like stored times; naive datetimes are taken as UTC."""
    if not isinstance(value, datetime):
        raise TypeError(f"{field} must be a datetime, got {type(value).__name__}")
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).timestamp()


class SqlStore(
    OutsideChanges,
    SqlDeployments,
    SqlVariables,
    SqlBlocks,
    SqlEvents,
    SqlAutomations,
    SqlAutomationOutbox,
    SqlArtifacts,
    SqlInsights,
    SqlDeploymentOverviews,
    SqlRunRetries,
    SqlTaskRunSummaries,
    SqlRunChangeFeed,
    SqlConcurrency,
    EventStore,
    Store,
):
    """Run history in a SQL database, reached through SQLAlchemy Core.

    It also keeps deployments, work pools and their runs (`DeploymentStore`, implemented in
    store/sql/deployments.py).

    Thread-safe: each call checks a connection out of the engine's pool. The engine is made
    (and the schema migrated) on first use, so constructing a store costs nothing. On that
    first use the store also ends the runs of this host whose process is gone
    (store/sql/dead_runs.py), unless `end_dead_runs` is False. What changes from outside a run
    (`set_state`, API keys, the crash detector's queries) is in `OutsideChanges`.
    """

    def __init__(self, url: str, end_dead_runs: bool = True) -> None:
        self.url = url
        self.end_dead_runs = end_dead_runs
        self._backend = backend_for(url)
        self._engine = PerProcess(
            self._create_engine,
            close=lambda engine: engine.dispose(),
            forget=lambda engine: engine.dispose(close=False),  # the parent's connections
        )
        self._closed = False
        self._sql = Upserts(self._backend)  # the write statements, compiled once
        self._pruned = 0.0  # when this store last deleted old applied-batch ids
        self._check = RowChecks()  # makes each table's rows storable (storable.py)

    def __repr__(self) -> str:
        return f"SqlStore({redact_url(self.url)!r})"

    # -- connections -------------------------------------------------------------------------
    def open(self) -> None:
        self.engine()

    def engine(self) -> sa.Engine:
        """The engine, created and the schema brought to head on first use (per process)."""
        if self._closed:
            raise StoreError(f"{self!r} is closed")
        return self._engine.get()

    def _create_engine(self) -> sa.Engine:
        from mainspring.store.sql.migrations import ensure_schema

        engine = self._backend.create_engine()
        try:
            with self._backend.serialized():
                ensure_schema(engine, self._backend)
        except Exception as exc:
            engine.dispose()
            raise StoreError(
                f"Could not prepare the database {redact_url(self.url)!r}: {exc}"
            ) from exc
        if self.end_dead_runs:
            self._end_dead_runs(engine)
        return engine

    def _end_dead_runs(self, engine: sa.Engine) -> None:
        """Once per open: end this host's runs whose process is gone. Never fails the open
        (a read-only database, say): the runs stay as they are, with one warning."""
        from mainspring.store.sql.dead_runs import end_dead_runs

        try:
            with self._backend.serialized():
                end_dead_runs(engine, self._backend)
        except Exception as exc:
            logger.warning("Could not check for runs whose process is gone: %s", exc)

    @contextmanager
    def _reading(self) -> Iterator[sa.Connection]:
        engine = self.engine()
        try:
            with self._backend.serialized(), engine.connect() as conn:
                yield conn
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"Could not read from {redact_url(self.url)!r}: {exc}") from exc

    @contextmanager
    def _writing(self, what: str = "write") -> Iterator[sa.Connection]:
        """A write transaction (commits on success); a database failure is `StoreError`."""
        engine = self.engine()
        try:
            with self._backend.serialized(), self._backend.write_transaction(engine) as conn:
                yield conn
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"Could not {what} in {redact_url(self.url)!r}: {exc}") from exc

    def close(self) -> None:
        self._closed = True
        self._engine.close()

    # -- writing -----------------------------------------------------------------------------
    def write(self, batch: Batch) -> bool:
        """See `Store.write`. Records the database refuses for good are isolated by halving
        the batch (one transaction per part) and named in the `StoreRejected` raised after
        the others are stored; a full disk is `StoreFull`; other failures are `StoreError`,
        for the caller to retry (store/sql/write_errors.py says which is which)."""
        if not batch:
            return True
        try:
            engine = self.engine()
        except StoreError as exc:
            if exc.__cause__ is not None and classify(exc.__cause__) is Failure.DISK_FULL:
                raise disk_full(redact_url(self.url), exc.__cause__) from exc
            raise
        refused: list[tuple[Batch, str]] = []
        stored = write_isolating(batch, lambda part: self._write_part(engine, part), refused)
        if refused:
            count = sum(part.size() for part, _ in refused)
            reasons = "; ".join(dict.fromkeys(why for _, why in refused))
            raise StoreRejected(
                f"{redact_url(self.url)} refused {count} of {batch.size()} records; the others "
                f"are stored. {reasons}",
                refused=count,
                parts=refused,
            )
        return stored

    def _write_part(self, engine: sa.Engine, part: Batch) -> bool:
        """Write `part` in one transaction: True if stored, False if it had been;
        `PartRefused` when its records are at fault."""
        try:
            with self._backend.serialized(), self._backend.write_transaction(engine) as conn:
                if part.id is not None and not self._claim(conn, part.id):
                    return False
                self._write(conn, part)
        except PartRefused:
            raise
        except Exception as exc:
            failure = classify(exc)
            if failure is Failure.REFUSED:
                raise PartRefused(reason(exc)) from exc
            if failure is Failure.DISK_FULL:
                raise disk_full(redact_url(self.url), exc) from exc
            if not isinstance(exc, sa.exc.SQLAlchemyError):
                raise
            raise StoreError(
                f"Could not write {part.size()} records to {redact_url(self.url)!r}: {reason(exc)}"
            ) from exc
        return True

    def _claim(self, conn: sa.Connection, batch_id: str) -> bool:
        """Record `batch_id` as applied in this transaction; False if it already was. First in
        the transaction: a concurrent retry of the same batch (its client timed out) waits on
        the key until the first attempt commits (then skips) or rolls back (then stores it)."""
        now = time.time()
        if now - self._pruned > PRUNE_EVERY:
            self._pruned = now
            cutoff = now - APPLIED_BATCH_RETENTION
            conn.execute(sa.delete(applied_batch).where(applied_batch.c.applied < cutoff))
        claim = self._sql.upsert(applied_batch, None, ()).returning(applied_batch.c.id)
        return conn.execute(claim, {"id": batch_id, "applied": now}).first() is not None

    def _write(self, conn: sa.Connection, batch: Batch) -> None:
        seq, ts, js, upserts = _ARRIVAL, float, json_dumps, self._sql
        if batch.flows or batch.flow_runs:
            flows = {f.name: f for f in batch.flows.values()}
            for run in batch.flow_runs.values():
                if run.flow_name not in flows:
                    flows[run.flow_name] = FlowRecord(name=run.flow_name)
            # An existing flow keeps its row. DO NOTHING rather than DO UPDATE: on PostgreSQL an
            # update would lock the flow row and serialize every writer of that flow's runs.
            # Sorted by name so concurrent writers take locks in one order.
            rows = [storable_flow_row(flow_row(f)) for f in sorted(flows.values(), key=_name)]
            conn.execute(upserts.upsert(flow, None, ()), rows)
            if batch.flow_runs:
                names = [row["name"] for row in rows]
                query = sa.select(flow.c.name, flow.c.id).where(flow.c.name.in_(names))
                ids: dict[str, str] = {name: id_ for name, id_ in conn.execute(query)}
                values = [
                    flow_run_values(r, ids[storable_text(r.flow_name)], ts, js)
                    for r in batch.flow_runs.values()
                ]
                values = self._check(flow_run, FLOW_RUN_COLUMNS)(values)
                upserts.write(conn, flow_run, FLOW_RUN_COLUMNS, values, "id", FLOW_RUN_MUTABLE)
        if batch.task_runs:
            values = [task_run_values(t, next(seq), ts, js) for t in batch.task_runs.values()]
            values = self._check(task_run, TASK_RUN_COLUMNS)(values)
            upserts.write(conn, task_run, TASK_RUN_COLUMNS, values, "id", TASK_RUN_MUTABLE)
        if batch.states:
            values = [state_values(s, js) for s in batch.states]
            values = self._check(state_history, STATE_COLUMNS)(values)
            upserts.append(conn, state_history, STATE_COLUMNS, values)
        if batch.logs:
            values = self._check(log, LOG_COLUMNS)([log_values(r) for r in batch.logs])
            upserts.append(conn, log, LOG_COLUMNS, values)
        if batch.edges:
            values = [(e.flow_run_id, e.task_run_id, e.upstream_id, e.kind) for e in batch.edges]
            values = self._check(task_run_edge, EDGE_COLUMNS)(values)
            upserts.write(conn, task_run_edge, EDGE_COLUMNS, values)

    def heartbeat(self, flow_run_ids: Sequence[str]) -> dict[str, StateType]:
        ids = list(dict.fromkeys(flow_run_ids))
        if not ids:
            return {}
        c = flow_run.c
        finished = [t.value for t in TERMINAL_TYPES]
        update = (
            sa.update(flow_run)
            .where(c.id.in_(ids), c.state_type.not_in(finished))
            .values(heartbeat=time.time())
        )
        engine = self.engine()
        try:
            with self._backend.serialized(), self._backend.write_transaction(engine) as conn:
                conn.execute(update)
                rows = conn.execute(sa.select(c.id, c.state_type).where(c.id.in_(ids)))
                return {id_: StateType(type_) for id_, type_ in rows}
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(
                f"Could not record heartbeats in {redact_url(self.url)!r}: {exc}"
            ) from exc

    # -- reading -----------------------------------------------------------------------------
    def read_flows(self) -> list[FlowRecord]:
        query = sa.select(flow).order_by(flow.c.name)
        with self._reading() as conn:
            return [flow_from_row(r) for r in conn.execute(query)]

    def read_flow_run(self, flow_run_id: str) -> FlowRun:
        with self._reading() as conn:
            row = conn.execute(sa.select(flow_run).where(flow_run.c.id == flow_run_id)).first()
        if row is None:
            raise ObjectNotFound(f"No flow run with id {flow_run_id!r}")
        return flow_run_from_row(row)

    def _conditions(self, filter: FlowRunFilter | None) -> list[sa.ColumnElement[bool]]:
        if filter is None:
            return []
        c = flow_run.c
        where: list[sa.ColumnElement[bool]] = []
        if filter.flow_names:
            where.append(c.flow_name.in_(filter.flow_names))
        if filter.states:
            types, names = filter.state_types_and_names()
            # only the non-empty side: `x IN () OR ...` keeps the planner off the index
            either = [c.state_type.in_([t.value for t in types])] if types else []
            either += [c.state_name.in_(names)] if names else []
            where.append(sa.or_(*either))
        if filter.tags:
            where.append(self._backend.has_all_tags(c.tags, list(dict.fromkeys(filter.tags))))
        if filter.ids:
            where.append(c.id.in_(filter.ids))
        if filter.parent_flow_run_id is not None:
            where.append(c.parent_flow_run_id == filter.parent_flow_run_id)
        if filter.deployment_ids:
            where.append(c.deployment_id.in_(filter.deployment_ids))
        if filter.name_contains:
            where.append(c.name.ilike(f"%{_like_escaped(filter.name_contains)}%", escape="\\"))
        if filter.started_after is not None:
            where.append(c.start_time >= _utc(filter.started_after, "started_after"))
        if filter.started_before is not None:
            where.append(c.start_time <= _utc(filter.started_before, "started_before"))
        return where

    def read_flow_runs(
        self,
        filter: FlowRunFilter | None = None,
        sort: FlowRunSort = FlowRunSort.START_TIME_DESC,
        limit: int = 100,
        offset: int = 0,
    ) -> list[FlowRun]:
        check_page(limit, offset)
        order = _SORTS[FlowRunSort(sort)]
        query = (
            sa.select(flow_run)
            .where(*self._conditions(filter))
            .order_by(*order)
            .limit(limit)
            .offset(offset)
        )
        with self._reading() as conn:
            return [flow_run_from_row(r) for r in conn.execute(query)]

    def count_flow_runs(self, filter: FlowRunFilter | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(flow_run).where(*self._conditions(filter))
        with self._reading() as conn:
            return int(conn.execute(query).scalar_one())

    def read_task_run(self, task_run_id: str) -> TaskRun:
        with self._reading() as conn:
            row = conn.execute(sa.select(task_run).where(task_run.c.id == task_run_id)).first()
        if row is None:
            raise ObjectNotFound(f"No task run with id {task_run_id!r}")
        return task_run_from_row(row)

    def read_task_runs(self, flow_run_id: str) -> list[TaskRun]:
        query = (
            sa.select(task_run)
            .where(task_run.c.flow_run_id == flow_run_id)
            .order_by(task_run.c.created, task_run.c.seq)
        )
        with self._reading() as conn:
            return [task_run_from_row(r) for r in conn.execute(query)]

    def read_states(self, run_id: str) -> list[StateRecord]:
        query = (
            sa.select(state_history)
            .where(state_history.c.run_id == run_id)
            .order_by(state_history.c.timestamp, state_history.c.id)
        )
        with self._reading() as conn:
            return [state_from_row(r) for r in conn.execute(query)]

    def read_logs(
        self,
        flow_run_id: str,
        task_run_id: str | None = None,
        min_level: int = 0,
        limit: int = 10_000,
        offset: int = 0,
    ) -> list[LogRecord]:
        check_page(limit, offset)
        query = sa.select(log).where(log.c.flow_run_id == flow_run_id)
        if task_run_id is not None:
            query = query.where(log.c.task_run_id == task_run_id)
        if min_level:
            query = query.where(log.c.level >= min_level)
        query = query.order_by(log.c.timestamp, log.c.id).limit(limit).offset(offset)
        with self._reading() as conn:
            return [log_from_row(r) for r in conn.execute(query)]

    def read_edges(self, flow_run_id: str) -> list[TaskRunEdge]:
        e = task_run_edge.c
        query = (
            sa.select(e.flow_run_id, e.task_run_id, e.upstream_id, e.kind)
            .where(e.flow_run_id == flow_run_id)
            .order_by(e.task_run_id, e.kind, e.upstream_id)
        )
        with self._reading() as conn:
            return [TaskRunEdge(*r) for r in conn.execute(query)]


def _like_escaped(text: str) -> str:
    """`text` matched literally by LIKE: its wildcards and the escape character escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _name(record: FlowRecord) -> str:
    return record.name
