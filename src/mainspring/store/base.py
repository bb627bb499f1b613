"""The Store protocol: the only way the engine (and everything above it) touches persistence.

One small base class whose every method states its contract; each backend (`SqlStore` over
SQLite or PostgreSQL, `ApiStore` over HTTP) implements exactly these. Writes arrive in batches
from the recorder, never one call per task, so a backend can make one transaction of many
changes. Reads return the pure records of `mainspring.model`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

from mainspring.model import (
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


@dataclass(slots=True)
class Batch:
    """Changes gathered by the recorder since its last write.

    `flows`, `flow_runs` and `task_runs` hold the *latest* snapshot of each object (keyed by
    name or id): the store inserts it or, when it exists, overwrites its mutable columns.
    `states`, `logs` and `edges` are appended in order.

    `id`, when set, is an idempotency key: a store applies a batch with a given id at most
    once, so a writer that cannot tell whether a write went through (a remote store whose
    answer was lost) retries the same batch, unchanged and with the same id, without storing
    its states and logs twice. The recorder retries a failed batch exactly so.
    """

    flows: dict[str, FlowRecord] = field(default_factory=dict)
    flow_runs: dict[str, FlowRun] = field(default_factory=dict)
    task_runs: dict[str, TaskRun] = field(default_factory=dict)
    states: list[StateRecord] = field(default_factory=list)
    logs: list[LogRecord] = field(default_factory=list)
    edges: list[TaskRunEdge] = field(default_factory=list)
    id: str | None = None

    def __bool__(self) -> bool:
        return bool(
            self.flows or self.flow_runs or self.task_runs or self.states or self.logs or self.edges
        )

    def size(self) -> int:
        return (
            len(self.flows)
            + len(self.flow_runs)
            + len(self.task_runs)
            + len(self.states)
            + len(self.logs)
            + len(self.edges)
        )


class Store(ABC):
    """Persistence for flows, runs, their state history, logs and graph edges."""

    #: Whether the recorder should send each batch as soon as enough changes wait, rather than
    #: every flush interval. True for a store whose writes run in another process (a server):
    #: there they overlap the flow's own work instead of piling up for its end. An in-process
    #: store keeps to the interval, since its writes share the flow's GIL.
    eager: bool = False

    # -- writing -----------------------------------------------------------------------------
    @abstractmethod
    def write(self, batch: Batch) -> bool:
        """Apply `batch`: all of it is stored, or none of it and an error is raised, save for
        records the store refuses for good (a value it cannot hold, a constraint they break):
        those are isolated and named in the `StoreRejected` raised once the others are stored
        (`exc.parts`). A full disk is `StoreFull`; any other `StoreError` stored nothing and is
        worth retrying. Text is stored with NUL and lone surrogates replaced (model/text.py).

        Flows are matched by name (an existing flow keeps its id). Runs are inserted or, when
        their id exists, their mutable fields (state, times, run_count, heartbeat, parameters,
        name) are overwritten with the snapshot, with two exceptions: a snapshot without a
        heartbeat keeps the stored one, and a run that was moved to Cancelling, Cancelled or
        Crashed from outside (CLI, API, crash detector) is only overwritten by a terminal
        state, or by Scheduled/Pending over Cancelled/Crashed (an explicit retry); a stale
        Running snapshot leaves it alone; and a Completed run is not sent back to Scheduled or
        Pending (a resumed attempt's record of the same key; see
        `upserts.snapshot_may_replace`). Flow runs are
        written before task runs, task runs before states, logs and edges that refer to them.
        States and logs are appended (the store assigns their ids); edges are kept once per
        (task run, upstream, kind).
        A retry of a batch that was partly stored (its parts get ids derived from its `id`)
        stores each part once. Safe to call from several threads and several processes at once.

        A batch whose `id` was stored before (within the store's memory of ids, at least an
        hour) is not stored again: returns False then, True when the batch was stored.
        """

    @abstractmethod
    def heartbeat(self, flow_run_ids: Sequence[str]) -> dict[str, StateType]:
        """Record that the process running these flow runs is alive, and report their states.

        Each listed flow run that is not in a terminal state gets the store's current time
        (the server's clock for a remote store, so clients' clocks do not matter) as its
        `heartbeat`; a terminal run is left alone, so a late heartbeat changes nothing. Returns
        the current state type of every listed run that exists (unknown ids are left out): this
        is how a running process learns that its run was asked to cancel (CANCELLING) or was
        presumed crashed. Called from one background thread per process, every few seconds.
        """

    # -- reading -----------------------------------------------------------------------------
    @abstractmethod
    def read_flows(self) -> list[FlowRecord]:
        """Every flow, sorted by name."""

    @abstractmethod
    def read_flow_run(self, flow_run_id: str) -> FlowRun:
        """The flow run with this id; raise `ObjectNotFound` when there is none."""

    @abstractmethod
    def read_flow_runs(
        self,
        filter: FlowRunFilter | None = None,
        sort: FlowRunSort = FlowRunSort.START_TIME_DESC,
        limit: int = 100,
        offset: int = 0,
    ) -> list[FlowRun]:
        """Flow runs matching `filter`, ordered by `sort`, at most `limit` from `offset`.

        Runs that have not started sort by creation time alongside the others. An unknown
        state word in the filter raises ValueError.
        """

    @abstractmethod
    def count_flow_runs(self, filter: FlowRunFilter | None = None) -> int:
        """How many flow runs match `filter`."""

    @abstractmethod
    def read_task_run(self, task_run_id: str) -> TaskRun:
        """The task run with this id; raise `ObjectNotFound` when there is none."""

    @abstractmethod
    def read_task_runs(self, flow_run_id: str) -> list[TaskRun]:
        """The task runs of one flow run, in the order they were created."""

    @abstractmethod
    def read_states(self, run_id: str) -> list[StateRecord]:
        """The timeline of a flow run or task run: every state it entered, oldest first."""

    @abstractmethod
    def read_logs(
        self,
        flow_run_id: str,
        task_run_id: str | None = None,
        min_level: int = 0,
        limit: int = 10_000,
        offset: int = 0,
    ) -> list[LogRecord]:
        """Log lines of a flow run (optionally of one of its task runs), oldest first."""

    @abstractmethod
    def read_edges(self, flow_run_id: str) -> list[TaskRunEdge]:
        """The dependency edges between the task runs of one flow run."""

    # -- lifecycle ---------------------------------------------------------------------------
    def open(self) -> None:  # noqa: B027 - optional for backends without anything to prepare
        """Prepare for use now rather than on first use (connect, check the schema, end the
        runs of this host whose process is gone); raises what first use would raise."""

    def close(self) -> None:  # noqa: B027 - optional for backends without resources
        """Release connections; the store must not be used afterwards."""
