"""SqlStore: the Store protocol over SQLAlchemy Core, for SQLite (default) and PostgreSQL.

What differs between the two databases (engine options, the upsert construct, the tag filter,
transaction start, the migration lock) lives in a `SqlBackend` (store/sql/dialect.py) subclass per
dialect: `store/sql/sqlite.py` and `store/sql/postgres.py`. This module holds what is shared:
batched writes (one transaction per batch; the statements in store/sql/upserts.py, how rows reach
the driver in the backend: executemany on SQLite, arrays and COPY on PostgreSQL). The reads that
rebuild model records are in store/sql/run_reads.py, the other capabilities in their mixins.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa

from mainspring.exceptions import StoreError, StoreRejected
from mainspring.model import (
    TERMINAL_TYPES,
    FlowRecord,
    StateType,
)
from mainspring.model.text import storable_text
from mainspring.settings import redact_url
from mainspring.store.base import Batch, Store
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
    flow_row,
    flow_run_values,
    log_values,
    state_values,
    task_run_values,
)
from mainspring.store.sql.run_changes import SqlRunChangeFeed
from mainspring.store.sql.run_pages import SqlRunPages
from mainspring.store.sql.run_reads import SqlRunReads
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
    SqlRunPages,
    SqlRunReads,
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
            self._backend.learn_schema(engine)
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

    #: the names the mixins of deployments, pools, blocks and concurrency use for them
    _read = _reading
    _transaction = _writing

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


def _name(record: FlowRecord) -> str:
    return record.name
