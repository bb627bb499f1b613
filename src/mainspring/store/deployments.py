"""The DeploymentStore protocol: deployments, work pools, queues, workers, and their runs.

Apart from `Store` (store/base.py) because it is a different client: the scheduler, workers,
`serve()` and the CLI use it, never the engine's hot path. `SqlStore` implements it
(store/sql/deployments.py); `ApiStore` carries it over the server's /api routes
(store/http/deployments.py, server/api/deployments.py), except `release_stale_claims`, which
is the server's own service and needs its database.

Every method states its contract; the guarantees that matter under concurrency are:
- a (deployment, scheduled time) becomes at most one run, whoever schedules it and however
  often (`schedule_runs`: a unique index, not a read-then-write);
- a due run is claimed by at most one worker (`claim_runs`: a compare-and-set inside a locked
  transaction), and limits are counted in the same transaction as the claim.
Times are epoch seconds. Runs made here carry `DeploymentRun`'s extra columns.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from mainspring.model.deployments import (
    Deployment,
    DeploymentRun,
    OverdueRun,
    Worker,
    WorkPool,
    WorkQueue,
)
from mainspring.model.schedules import Plan
from mainspring.model.states import State

__all__ = ["DeploymentStore"]


class DeploymentStore(ABC):
    """Persistence of deployments and the runs their schedules and workers make (module doc)."""

    # -- deployments -------------------------------------------------------------------------
    @abstractmethod
    def upsert_deployment(self, deployment: Deployment, now: float | None = None) -> Deployment:
        """Register `deployment`, or update the one with its (flow_name, name), and return it
        as stored.

        An existing deployment keeps its id and `created` (the id of `deployment` is then
        ignored) and gets every other field from `deployment`, except `scheduled_until`,
        which the store owns. When its schedules change (or what its runs copy from it:
        parameters, tags, entrypoint, version, pool, queue), its runs still Scheduled,
        unclaimed and not due before `now` are deleted and the watermark is reset, so the
        next scheduler tick plans them afresh from `now` on. Paused the same way as
        `set_deployment_paused`. The flow is registered too; the work pool need not exist
        (its runs wait until it does). Safe to call from several processes at once: one row
        per (flow_name, name). `ValueError` if a new deployment's id is another's.
        Its `parameters` must fit its `parameter_openapi_schema` (when it has one; required
        ones may be missing): `ParameterTypeError` (a TypeError) naming the first that does
        not, and nothing is registered.
        """

    @abstractmethod
    def read_deployment(self, deployment_id: str) -> Deployment:
        """The deployment with this id; `ObjectNotFound` if there is none."""

    @abstractmethod
    def find_deployment(self, flow_name: str, name: str) -> Deployment:
        """The deployment 'flow_name/name'; `ObjectNotFound` if there is none."""

    @abstractmethod
    def read_deployments(self, flow_name: str | None = None) -> list[Deployment]:
        """All deployments (of `flow_name` when given), by flow name then name."""

    @abstractmethod
    def delete_deployment(self, deployment_id: str) -> None:
        """Delete the deployment and its runs that have not started (Scheduled, unclaimed);
        the history of its other runs stays. `ObjectNotFound` if there is none."""

    @abstractmethod
    def set_deployment_paused(
        self, deployment_id: str, paused: bool, now: float | None = None
    ) -> Deployment:
        """Pause or resume; return the deployment. Pausing deletes the Scheduled runs its
        schedules made that no worker has claimed (due or not; runs asked for by hand with
        `create_deployment_run` stay) and resets the watermark, and `schedule_runs` then
        creates nothing for it; resuming lets the next scheduler tick create runs from `now`
        on (times missed while paused are not caught up). `ObjectNotFound` if unknown."""

    # -- scheduling --------------------------------------------------------------------------
    @abstractmethod
    def schedule_runs(self, deployment_id: str, plan: Plan, now: float | None = None) -> int:
        """Create the runs of `plan` (from `plan_runs`) for the deployment; return how many
        were new.

        Each planned time becomes a flow run of the deployment with its parameters (overlaid
        by the schedule's), tags, entrypoint, version, pool and queue (the pool's default
        queue when it names none), and `expected_start_time` = the planned time: Scheduled, or
        Skipped (a kind of Cancelled) with the plan's reason as its message. A time that
        already has a run is left as it is (the unique index on (deployment, time): two
        schedulers running the same plan at once create each run once). The watermark
        `scheduled_until` advances to `plan.scheduled_until`, never backwards. A paused or
        deleted deployment gets nothing (0), even if it was paused after `plan` was made.
        """

    @abstractmethod
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
        """A run of the deployment asked for by hand (`run_deployment`, `deployment run`, the
        UI's Run button): Scheduled at `when` (default `now`), due then for its pool's workers.

        Its parameters are the deployment's with `parameters` over them, validated against
        the deployment's `parameter_openapi_schema` when it has one: `ParameterTypeError` (a
        TypeError) naming the parameter, or `ValueError` for a missing one. Its tags are the
        deployment's plus `tags`. Made even when the deployment is paused (pausing stops the
        schedule, not a person). `ObjectNotFound` if the deployment is unknown.

        Such a run is not a schedule time, yet it shares `expected_start_time` (which is what
        makes it due and orders it) and so the unique (deployment, time) index with scheduled
        runs. When its instant is taken it moves to the next representable float (a fraction
        of a microsecond later) until it is free: two runs asked for at the same instant are
        two runs. A schedule time that an earlier hand-made run took exactly is then not
        scheduled again (one run at that instant, not two).
        """

    @abstractmethod
    def read_deployment_runs(
        self, deployment_id: str, states: Sequence[str] | None = None
    ) -> list[DeploymentRun]:
        """The deployment's runs (with state name in `states` when given), by
        `expected_start_time` then id."""

    # -- work pools, queues, workers ---------------------------------------------------------
    @abstractmethod
    def create_work_pool(self, pool: WorkPool, now: float | None = None) -> WorkPool:
        """Create the pool, with its queue 'default' (priority 1); return it as stored.
        `ValueError` if a pool of that name exists."""

    @abstractmethod
    def read_work_pool(self, name: str) -> WorkPool:
        """The pool; `ObjectNotFound` if there is none."""

    @abstractmethod
    def read_work_pools(self) -> list[WorkPool]:
        """All pools, by name."""

    @abstractmethod
    def create_work_queue(self, queue: WorkQueue, now: float | None = None) -> WorkQueue:
        """Create a queue in an existing pool (`ObjectNotFound` if the pool is unknown,
        `ValueError` if the queue exists); return it as stored."""

    @abstractmethod
    def read_work_queues(self, pool_name: str) -> list[WorkQueue]:
        """The pool's queues, by priority then name."""

    @abstractmethod
    def worker_heartbeat(self, pool_name: str, name: str, now: float | None = None) -> Worker:
        """Register the worker, or record that it is alive; return it. `ObjectNotFound` if
        the pool is unknown."""

    @abstractmethod
    def read_workers(self, pool_name: str) -> list[Worker]:
        """The pool's workers, by name."""

    # -- claiming ----------------------------------------------------------------------------
    @abstractmethod
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
        """Claim up to `limit` due runs of the pool for `worker`: move them Scheduled (or
        Late) -> Pending with `claimed_by` = worker and `claimed_at` = now, and return them.

        `ahead` > 0: runs due within that many seconds count as due (a worker's prefetch:
        its run's process waits for the run's time). SqlStore only: through a server the
        server decides what is due (ApiStore ignores it).

        `wait` > 0: when none is claimable, wait up to that many seconds for one and return
        as soon as one is (empty only when the wait ran out). ApiStore waits at the server,
        which hears of runs made through it at once (a long poll, at most 30 s a request);
        SqlStore claims again when the pool's next run falls due and, on SQLite, as soon as
        another connection commits (it watches `PRAGMA data_version` every ~10 ms); on
        PostgreSQL it re-checks every `CLAIM_RECHECK` seconds.

        Due: `expected_start_time <= now`, unclaimed. Taken from `queues` (all the pool's when
        None) by queue priority (lower first), then oldest first. Limits are honoured, each
        counting the runs of its scope that are claimed and not finished (Pending, Running,
        Cancelling, Paused; a Crashed or Cancelled run holds no slot): the pool's, each
        queue's, each deployment's. A run over its deployment's limit waits (`enqueue`) or
        is Cancelled (`cancel_new`). A paused pool gives nothing. Atomic: concurrent claimers
        (threads, processes, hosts) never claim the same run, and together claim each due run
        once. `ObjectNotFound` if the pool is unknown.
        """

    @abstractmethod
    def next_run_due(self, pool_name: str, queues: Sequence[str] | None = None) -> float | None:
        """The earliest `expected_start_time` of the pool's runs waiting for a worker
        (Scheduled or Late, unclaimed; in `queues` when given), or None: a waiting claim
        sleeps until then rather than polling (the server's long poll; ApiStore raises
        `NeedsDatabase`). A time in the past means a run is due yet held by a limit."""

    @abstractmethod
    def release_stale_claims(self, older_than: float) -> int:
        """Return to Scheduled the runs claimed before `older_than` that no process took up
        (still Pending, no process recorded): their worker died between claim and start.
        That is a run its worker never said it was starting (`start_claimed_run`), or one
        it said so before `older_than` while the worker itself has not heartbeated since
        (killed between that word and its subprocess's start). Returns how many; they are
        due again at once."""

    # -- added by deploy-serve ---------------------------------------------------------------
    @abstractmethod
    def read_deployments_to_schedule(
        self, ahead_until: float, limit: int | None = None
    ) -> list[Deployment]:
        """The unpaused deployments whose watermark `scheduled_until` is None or before
        `ahead_until`: those a scheduler tick must plan, most urgent first (no watermark, then
        the oldest), at most `limit`. The others are skipped without being read, so a tick
        over many deployments that are scheduled far enough ahead costs one scan of a small
        table, not a parse of every schedule."""

    @abstractmethod
    def find_overdue_runs(
        self, now: float, late_after: float, limit: int | None = None
    ) -> list[OverdueRun]:
        """The unclaimed runs of unpaused deployments that a scheduler must look at: those
        Scheduled more than `late_after` seconds after their time (missed: to be marked Late,
        or skipped by the catch-up policy), those missed (Scheduled or Late) with a newer
        missed run of the same deployment when its catch-up policy is not `all` (the newer
        one may skip them), and those Scheduled or Late past their deployment's
        `max_lateness` (no longer to be started). A Late run with nothing to decide is not
        read again each tick. Reads the waiting runs only (an index).

        By deployment, then `expected_start_time`, so a deployment's overdue runs come
        together (its newest missed run among them); `limit`: at most that many runs. A caller
        that got `limit` runs may have the last deployment's cut short: it decides on the
        deployments before it and asks again for the rest."""

    @abstractmethod
    def schedule_plans(self, plans: Sequence[tuple[str, Plan]], now: float | None = None) -> int:
        """`schedule_runs` for several deployments (deployment id, plan) in one transaction,
        with the same guarantees for each: a scheduler tick's writes in a few statements
        rather than a few per deployment. Returns how many runs were new in all; unknown and
        paused deployments get nothing."""

    @abstractmethod
    def move_waiting_runs(self, moves: Sequence[tuple[str, State]]) -> list[str]:
        """Move each run (flow run id, state) still waiting for a worker (Scheduled or Late,
        unclaimed) to its state, if `model.orchestration` allows it and it is not the state
        it is in (the scheduler's Late and Skipped, many at once, each with its own
        message). A run claimed, started, ended or deleted since it was read is left as it
        is: a compare-and-set in one transaction. Returns the ids moved, in `moves` order."""

    # -- starting claimed runs, retrying crashed ones ----------------------------------------
    @abstractmethod
    def start_claimed_run(self, run_id: str, worker: str, now: float | None = None) -> bool:
        """The worker's last word before it starts a run it claimed: a compare-and-set that
        succeeds only while the run is still Pending, claimed by `worker` and taken up by no
        process, and then records the worker as taken it up, so the claim is no longer stale
        (`release_stale_claims` leaves it alone while the worker heartbeats). False when the
        claim was released and maybe claimed by another worker meanwhile (a slow worker): the
        run is not this worker's to start. Asked again while the run has not started, the same
        answer (idempotent). An unknown run is simply not this worker's (False, no
        `ObjectNotFound`)."""

    @abstractmethod
    def requeue_crashed_runs(self, now: float | None = None) -> list[str]:
        """Put the Crashed runs of deployments with `retries` back to Scheduled, due at once
        and unclaimed, under the same id (durable resume then skips their finished task runs
        with persisted results), while a run has crashed at most `retries` times; return their
        ids. A compare-and-set per run (still Crashed), so two schedulers requeue a run once.
        The server's own (ApiStore raises `NeedsDatabase`)."""
