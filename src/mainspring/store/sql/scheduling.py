"""The scheduler's writes and reads in bulk: plans of many deployments, overdue runs, and their
moves to Late or Skipped, each in a few statements inside the caller's transaction.

Why in bulk: a tick over 1,000 deployments must stay under 200 ms, and one transaction (and a
freshly compiled multi-row INSERT) per deployment, or one `set_state` per missed run, cost
~5 ms a deployment and ~1 ms a run (a first planning took 0.5 s a tick, a catch-up after
downtime 7-17 s). Here the INSERT is compiled once and sent with all rows (SQLAlchemy's
"insertmanyvalues": multi-row VALUES batches, RETURNING the ids actually inserted), and the
moves are an executemany of one UPDATE.

What keeps it correct is what kept the per-deployment writes correct: the unique (deployment,
time) index with ON CONFLICT DO NOTHING (a run at most once, whoever plans it), the
deployments' rows locked (PostgreSQL: FOR UPDATE, in id order so two schedulers cannot
deadlock; SQLite: the write transaction is BEGIN IMMEDIATE) so a pause cannot interleave with
the inserts, and for the moves a compare-and-set on "still waiting, unclaimed" under the same
locks.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from mainspring.model import FlowRecord, StateType
from mainspring.model.deployments import Deployment, OverdueRun
from mainspring.model.orchestration import TERMINAL_TYPES, decide
from mainspring.model.schedules import CatchUp, Plan
from mainspring.model.states import State
from mainspring.store.sql.claims import WAITING_NAMES
from mainspring.store.sql.deployment_rows import deployment_from_row, planned_run_row
from mainspring.store.sql.rows import STATE_COLUMNS, flow_row
from mainspring.store.sql.schema import deployment, flow, flow_run, state_history

if TYPE_CHECKING:
    from mainspring.store.sql.dialect import SqlBackend
    from mainspring.store.sql.upserts import Upserts

#: Ids per IN (...) list: well under SQLite's 32,766 bound values.
CHUNK = 500
_SCHEDULED = StateType.SCHEDULED.value


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def flow_ids(conn: sa.Connection, backend: SqlBackend, names: set[str]) -> dict[str, str]:
    """The ids of the flows named so, registering those that are new (in name order: two
    writers registering the same flows take their locks in one order)."""
    ordered = sorted(names)
    if not ordered:
        return {}
    insert = backend.insert(flow).on_conflict_do_nothing()
    conn.execute(insert, [flow_row(FlowRecord(name=n)) for n in ordered])
    found: dict[str, str] = {}
    for part in chunks(ordered):
        query = sa.select(flow.c.name, flow.c.id).where(flow.c.name.in_(list(part)))
        found.update({name: flow_id for name, flow_id in conn.execute(query)})
    return found


def locked_deployments(conn: sa.Connection, ids: Sequence[str]) -> list[sa.Row[Any]]:
    """The deployments `ids`, locked against a concurrent pause or update (in id order)."""
    rows: list[sa.Row[Any]] = []
    for part in chunks(sorted(set(ids))):
        query = (
            sa.select(deployment)
            .where(deployment.c.id.in_(list(part)))
            .order_by(deployment.c.id)
            .with_for_update()
        )
        rows += conn.execute(query).all()
    return rows


def advance_watermarks(conn: sa.Connection, watermarks: dict[str, float]) -> None:
    if not watermarks:
        return
    d = deployment.c
    update = (
        sa.update(deployment)
        .where(d.id == sa.bindparam("d_id"))
        .values(scheduled_until=sa.bindparam("d_until"))
    )
    conn.execute(update, [{"d_id": i, "d_until": t} for i, t in sorted(watermarks.items())])


def watermark(plan: Plan, current: float | None) -> float:
    """Never backwards: a slow scheduler's older plan must not undo a newer one's."""
    return plan.scheduled_until if current is None else max(plan.scheduled_until, current)


# -- overdue runs ------------------------------------------------------------------------------
def overdue_query(now: float, late_after: float, limit: int | None) -> sa.Select[Any]:
    """`DeploymentStore.find_overdue_runs`'s rows (narrow), by deployment then time."""
    c, d = flow_run.c, deployment.c
    missed_before = now - late_after
    newer = flow_run.alias("newer")
    n = newer.c
    newer_missed = (
        sa.select(n.id)
        .where(
            n.deployment_id == c.deployment_id,
            n.expected_start_time > c.expected_start_time,
            n.expected_start_time < missed_before,
            n.state_name.in_(WAITING_NAMES),
            n.claimed_by.is_(None),
        )
        .exists()
    )
    missed = sa.and_(
        c.expected_start_time < missed_before,
        sa.or_(c.state_name == "Scheduled", sa.and_(d.catch_up != "all", newer_missed)),
    )
    expired = sa.and_(d.max_lateness.is_not(None), c.expected_start_time + d.max_lateness < now)
    query = (
        sa.select(
            c.id, c.deployment_id, c.state_name, c.expected_start_time, d.catch_up, d.max_lateness
        )
        .join(deployment, d.id == c.deployment_id)
        .where(
            c.state_name.in_(WAITING_NAMES),
            c.claimed_by.is_(None),
            # implied by both (max_lateness >= 0), but on the run alone: the ~10 runs a
            # deployment has planned ahead are dropped before the join, not after (a tick
            # over 1,000 deployments read 10,000 deployment rows for nothing, ~30 ms)
            c.expected_start_time < max(now, missed_before),
            d.paused.is_(False),
            sa.or_(missed, expired),
        )
        .order_by(c.deployment_id, c.expected_start_time, c.id)
    )
    return query if limit is None else query.limit(limit)


def overdue_runs(conn: sa.Connection, query: sa.Select[Any]) -> list[OverdueRun]:
    """Read `overdue_query`."""
    return [
        OverdueRun(
            run_id=r.id,
            deployment_id=r.deployment_id,
            state_name=r.state_name,
            expected_start_time=float(r.expected_start_time),
            catch_up=CatchUp(r.catch_up),
            max_lateness=None if r.max_lateness is None else float(r.max_lateness),
        )
        for r in conn.execute(query)
    ]


# -- moves of waiting runs ---------------------------------------------------------------------
def move_waiting(
    conn: sa.Connection, backend: SqlBackend, moves: Sequence[tuple[str, State]]
) -> list[tuple[str, State]]:
    """`DeploymentStore.move_waiting_runs` inside the caller's write transaction, but for the
    history rows: returns the moves made, for the caller to append them."""
    c = flow_run.c
    current: dict[str, tuple[str, str]] = {}
    for part in chunks(sorted({run_id for run_id, _ in moves})):
        query = (
            sa.select(c.id, c.state_type, c.state_name)
            .where(c.id.in_(list(part)), *_waiting())
            .order_by(c.id)
            .with_for_update()
        )
        current.update({i: (t, n) for i, t, n in conn.execute(query)})
    chosen: list[tuple[str, State]] = []
    for run_id, state in moves:
        now = current.pop(run_id, None)  # pop: a run moved twice in one call moves once
        if now is None or now[1] == state.name:
            continue
        if decide(StateType(now[0]), now[1], state.type, state.name, False).accepted:
            chosen.append((run_id, state))
    backend.update_rows(conn, flow_run, [_moved_row(i, s) for i, s in chosen if _ends(s)])
    backend.update_rows(conn, flow_run, [_moved_row(i, s) for i, s in chosen if not _ends(s)])
    return chosen


def _waiting() -> list[sa.ColumnElement[bool]]:
    c = flow_run.c
    return [c.state_type == _SCHEDULED, c.state_name.in_(WAITING_NAMES), c.claimed_by.is_(None)]


def _ends(state: State) -> bool:
    return state.type in TERMINAL_TYPES


def _moved_row(run_id: str, state: State) -> dict[str, Any]:
    """The columns a move sets (a waiting run has no result to clear)."""
    row = {
        "id": run_id,
        "state_type": state.type.value,
        "state_name": state.name,
        "state_message": state.message,
        "state_timestamp": state.ts,
    }
    if _ends(state):
        row["end_time"] = state.ts
    return row


class SqlScheduling:
    """The scheduler's half of `DeploymentStore` in SQL, mixed into SqlStore (module doc)."""

    if TYPE_CHECKING:
        _backend: SqlBackend
        _sql: Upserts

        def _transaction(self, what: str) -> AbstractContextManager[sa.Connection]: ...

        def _read(self) -> AbstractContextManager[sa.Connection]: ...

    def schedule_runs(self, deployment_id: str, plan: Plan, now: float | None = None) -> int:
        return self.schedule_plans([(deployment_id, plan)], now)

    def schedule_plans(self, plans: Sequence[tuple[str, Plan]], now: float | None = None) -> int:
        at = time.time() if now is None else float(now)
        if not plans:
            return 0
        with self._transaction("schedule runs") as conn:
            rows = locked_deployments(conn, [i for i, _ in plans])
            records = {r.id: r for r in rows if not r.paused}
            flows = flow_ids(conn, self._backend, {d.flow_name for d in records.values()})
            runs: list[dict[str, Any]] = []
            watermarks: dict[str, float] = {}
            for deployment_id, plan in plans:
                record = records.get(deployment_id)
                if record is None:  # unknown, or paused (even since the plan was made)
                    continue
                flow_id = flows[record.flow_name]
                runs += [planned_run_row(record, flow_id, p, at) for p in plan.runs]
                current = watermarks.get(deployment_id, record.scheduled_until)
                watermarks[deployment_id] = watermark(plan, current)
            unique = ["deployment_id", "expected_start_time"]
            new = self._backend.insert_new_rows(conn, flow_run, runs, unique)
            states = [
                (r["id"], False, r["state_type"], r["state_name"], r["state_message"], at, None)
                for r in runs
                if r["id"] in new
            ]
            if states:
                self._sql.append(conn, state_history, STATE_COLUMNS, states)
            advance_watermarks(conn, watermarks)
        return len(new)

    def move_waiting_runs(self, moves: Sequence[tuple[str, State]]) -> list[str]:
        if not moves:
            return []
        with self._transaction("move waiting runs") as conn:
            moved = move_waiting(conn, self._backend, moves)
            states = [
                (run_id, False, s.type.value, s.name, s.message, s.ts, None) for run_id, s in moved
            ]
            if states:
                self._sql.append(conn, state_history, STATE_COLUMNS, states)
        return [run_id for run_id, _ in moved]

    def read_deployments_to_schedule(
        self, ahead_until: float, limit: int | None = None
    ) -> list[Deployment]:
        d = deployment.c
        query = (
            sa.select(deployment)
            .where(
                d.paused.is_(False),
                sa.or_(d.scheduled_until.is_(None), d.scheduled_until < float(ahead_until)),
            )
            .order_by(d.scheduled_until.is_not(None), d.scheduled_until, d.id)
            .limit(limit)
        )
        with self._read() as conn:
            return [deployment_from_row(r) for r in conn.execute(query)]

    def find_overdue_runs(
        self, now: float, late_after: float, limit: int | None = None
    ) -> list[OverdueRun]:
        if limit is not None and (isinstance(limit, bool) or limit < 1):
            raise ValueError(f"limit must be a positive int or None, got {limit!r}")
        query = overdue_query(float(now), float(late_after), limit)
        with self._read() as conn:
            return overdue_runs(conn, query)
