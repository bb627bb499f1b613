"""The Store protocol: the only way the engine (and everything above it) touches persistence.

One small base class whose every method states its contract; each backend (`SqlStore` over
SQLite or PostgreSQL, `ApiStore` over HTTP) implements exactly these. Writes arrive in batches
from the recorder, never one call per task, so a backend can make one transaction of many
changes. Reads return the pure records of `mainspring.model`.

Besides the run history, the store holds what is changed from outside a run: a state set by
the CLI, the API or the crash detector (`set_state`, a compare-and-set under the rules of
`model/orchestration.py`), the server's API keys, and the queries of its crash detector. The
last two are the server's own tables: `ApiStore`, a client of the server, cannot reach them
and raises `NeedsDatabase` for them.
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
from mainspring.model.api_keys import ApiKey
from mainspring.model.liveness import SilentRun
from mainspring.model.orchestration import Outcome
from mainspring.model.states import State


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


def check_page(limit: int, offset: int) -> None:
    """The paging arguments every reader takes: non-negative integers, else ValueError."""
    for name, value in (("limit", limit), ("offset", offset)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


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

    # -- state changes from outside a run ----------------------------------------------------
    @abstractmethod
    def set_state(self, flow_run_id: str, state: State, *, force: bool = False) -> Outcome:
        """Move a flow run to `state` if the orchestration rules allow it (`decide` in
        model/orchestration.py; `force` asks for an explicit retry out of a terminal state).

        A compare-and-set: the state is judged against the run's current state and written
        only if the run is still in it, with its timeline row, in one transaction; a run
        changed meanwhile is judged again on its new state. The run's times follow the state
        (start_time on first Running, end_time on a terminal state, cleared by a retry).
        A proposed Cancelling for a run whose process is gone (on this host: see
        store/processes.py) becomes Cancelled at once, with the run's unfinished task runs:
        no process is left to finish the cancel.

        Returns the `Outcome`: ACCEPT with the new state, REJECT with the reason and the state
        the run kept, or ABORT when the run kept changing under the proposal (try again). An
        unknown id raises `ObjectNotFound`. Safe from several processes at once.
        """

    @abstractmethod
    def set_task_run_state(self, task_run_id: str, state: State, *, force: bool = False) -> Outcome:
        """`set_state` for a task run: the same rules and the same compare-and-set."""

    # -- the crash detector's queries (the server's: `NeedsDatabase` from a remote store) ----
    @abstractmethod
    def find_silent_flow_runs(self, silent_since: float) -> list[SilentRun]:
        """The Running and Cancelling flow runs that have shown no sign of life (heartbeat or
        state change) since `silent_since` (epoch seconds), in no particular order. Reads the
        unfinished runs only (an index), however long the history."""

    @abstractmethod
    def crash_silent_flow_run(
        self, flow_run_id: str, crashed: State, *, silent_since: float
    ) -> int | None:
        """Move a flow run to `crashed` (a CRASHED state) if the rules allow it and the run
        is still silent since `silent_since`, with a compare-and-set as `set_state`: a run
        that finished meanwhile, or whose heartbeat landed after the scan, is left alone, and
        of two detectors racing only one crashes it. Its unfinished task runs are crashed in
        the same transaction. Returns how many task runs were crashed with it, or None when
        the run was left alone. An unknown id raises `ObjectNotFound`."""

    @abstractmethod
    def end_dead_flow_runs(self) -> list[str]:
        """End the unfinished flow runs of this host whose process is gone (killed, say):
        Running, Pending or waiting to retry -> Crashed, Cancelling -> Cancelled, each with
        its unfinished task runs, as a compare-and-set (a retry that has just taken a run
        over in another process is left alone). Returns their ids. `SqlStore` does this
        when it opens (unless told not to)."""

    # -- API keys (the server's: `NeedsDatabase` from a remote store) -----------------------
    @abstractmethod
    def create_api_key(self, key: ApiKey) -> None:
        """Store a new key. Its name must be unused, by a revoked key too (names stay taken so
        that `revoke` and the server's refusals name one key): ValueError otherwise."""

    @abstractmethod
    def read_api_keys(self) -> list[ApiKey]:
        """Every key, revoked and expired ones too, oldest first, with their salt and hash
        (for the server to check a presented key; never to be shown)."""

    @abstractmethod
    def find_api_key(self, id_or_name: str) -> ApiKey | None:
        """The key with this id (as listed, or the 32 hex digits a key carries after `ms_`)
        or, failing that, this name; None when there is none."""

    @abstractmethod
    def revoke_api_key(self, id_or_name: str) -> tuple[ApiKey, bool]:
        """Revoke the key `find_api_key` finds: it keeps its row, with the time of revocation.
        Returns the key as it now is and whether it was in force until now (False: revoked
        already, and left as it was). An unknown key raises LookupError."""

    @abstractmethod
    def record_api_key_use(self, key_id: str, when: float) -> None:
        """Note that the key was used at `when` (its `last_used`); an unknown id is ignored."""

    # -- lifecycle ---------------------------------------------------------------------------
    def open(self) -> None:  # noqa: B027 - optional for backends without anything to prepare
        """Prepare for use now rather than on first use (connect, check the schema, end the
        runs of this host whose process is gone); raises what first use would raise."""

    def close(self) -> None:  # noqa: B027 - optional for backends without resources
        """Release connections; the store must not be used afterwards."""
