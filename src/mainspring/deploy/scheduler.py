"""One scheduler tick, as a function of a store and a time: what creates runs ahead of time.

A tick (`Scheduler.tick`):
1. plans the deployments whose watermark is not `lead` seconds ahead of now (the store reads
   only those: `read_deployments_to_schedule`), except those of a `serve()` process that is
   not running (its pool has no worker heartbeat within `SERVE_ALIVE_WITHIN`: its runs would
   wait for no one, while a serve() started again catches up what it missed by the catch-up
   policy, from the watermark left where it stopped), with `plan_runs`, and stores the plans
   a piece at a time, a transaction each (`schedule_plans`: the unique (deployment, time)
   index makes a run at most once, whoever ticks and however often);
2. looks at the runs no worker took `late_after` seconds after their time (missed): they are
   marked Late, or ended Skipped (a kind of Cancelled, with the reason) when past their
   deployment's `max_lateness` or when its catch-up policy says so (`latest`: only the newest
   missed run of a deployment runs; `none`: no missed run does), the same policy the planner
   applies to times missed before they became runs. A piece at a time, each one
   `move_waiting_runs`, a compare-and-set, so a worker claiming the run at the same moment
   wins or loses cleanly;
3. reschedules the Crashed runs of deployments with `retries` (`requeue_crashed_runs`: the
   same run, due now, while it crashed at most `retries` times);
4. returns claims no process took up within `claim_timeout` to the queue (3 and 4 once in
   `HOUSEKEEPING_EVERY` seconds at most).

Parsed schedules are cached per (deployment, updated): parsing a cron costs ~0.3 ms, and a tick
over 1,000 deployments must stay well under 200 ms. For the same reason a tick's work is
bounded, in time (`budget`: planning may spend half of it, the overdue runs the rest, and
planning what is left; deploy/tick_budget.py) and in rows read (`plan_limit` deployments,
`overdue_limit` runs): a backlog is left to the next tick, and `TickFigures.more` says to run
it at once (`catch_up` ticks until none is left). The same tick runs in the server's
scheduler service and inside `serve()` when there is no server.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from mainspring.deploy.tick_budget import Pace, TickBudget
from mainspring.model.deployments import Deployment, OverdueRun
from mainspring.model.schedules import CatchUp, Plan, Schedule, plan_runs
from mainspring.model.states import Late, State, StateType
from mainspring.store.base import Store
from mainspring.store.deployments import DeploymentStore

#: Work pools named so belong to a `serve()` process (deploy/serve.py names them).
SERVE_POOL_PREFIX = "serve-"
#: A serve() process heartbeats its pool every 10 s (deploy/loop.py); one silent for longer
#: than this is not running, and its deployments are not planned.
SERVE_ALIVE_WITHIN = 35.0


def is_serve_pool(name: str) -> bool:
    """Whether the pool `name` is the pool of a `serve()` process."""
    return name.startswith(SERVE_POOL_PREFIX)


__all__ = ["Scheduler", "TickFigures"]

#: How far ahead runs are created, and how far ahead a watermark must be to skip a deployment.
DEFAULT_HORIZON = 600.0
DEFAULT_LEAD = 60.0
DEFAULT_LATE_AFTER = 15.0
DEFAULT_CLAIM_TIMEOUT = 60.0
#: Deployments read for planning per tick at most, most urgent first: deployments registered
#: together would otherwise all come due for planning in the same tick, every horizon (a
#: burst of thousands of inserts).
DEFAULT_PLAN_LIMIT = 50
#: Overdue runs read per tick at most: a catch-up after downtime (thousands of missed runs)
#: is spread over ticks that follow one another at once (`TickFigures.more`).
DEFAULT_OVERDUE_LIMIT = 500
#: The seconds a tick spends taking on work (planning, deciding overdue runs) before it
#: leaves the rest to the next: a tick's reads and its last piece come on top, so a tick
#: stays under 200 ms on a machine several times slower than a quiet one.
DEFAULT_BUDGET = 0.08
#: Planning may spend this share of the budget before the overdue runs get their turn.
PLAN_SHARE = 0.5
#: Crashed runs and stale claims are looked at once in this many seconds at most: not by each
#: of the ticks of a backlog that follow one another at once (two writes, ~8 ms a tick on
#: PostgreSQL under load, for what a second's delay does not change).
HOUSEKEEPING_EVERY = 1.0
#: The moves of overdue runs a tick decided and had no time to make are made by the next tick
#: when it follows within this many seconds, instead of reading and deciding them again (the
#: read is most of a tick's fixed cost: a catch-up's ticks each made ~50-500 moves of one).
REUSE_MOVES_WITHIN = 1.0


@dataclass
class TickFigures:
    """What one tick did, for logs and benchmarks."""

    planned: int = 0  # deployments planned
    created: int = 0  # runs created (Scheduled or Skipped)
    late: list[str] = field(default_factory=list)  # runs marked Late
    expired: list[str] = field(default_factory=list)  # runs not started: past max_lateness
    released: int = 0  # stale claims returned to the queue
    requeued: list[str] = field(default_factory=list)  # crashed runs rescheduled (retries)
    seconds: float = 0.0
    #: work was left for the next tick (a planning or overdue limit was reached): tick again
    #: at once rather than after the usual interval
    more: bool = False

    def __str__(self) -> str:
        return (
            f"planned {self.planned} deployments, created {self.created} runs, "
            f"{len(self.late)} late, {len(self.expired)} expired, {self.released} released, "
            f"{len(self.requeued)} crashed rescheduled "
            f"in {self.seconds * 1000:.1f} ms"
        )


class Scheduler:
    """Runs scheduler ticks over `store` (module docstring); holds the schedule cache."""

    def __init__(
        self,
        store: Store,
        *,
        horizon: float = DEFAULT_HORIZON,
        lead: float = DEFAULT_LEAD,
        late_after: float = DEFAULT_LATE_AFTER,
        claim_timeout: float = DEFAULT_CLAIM_TIMEOUT,
        plan_limit: int | None = DEFAULT_PLAN_LIMIT,
        overdue_limit: int | None = DEFAULT_OVERDUE_LIMIT,
        budget: float | None = DEFAULT_BUDGET,
    ) -> None:
        if not isinstance(store, DeploymentStore):
            raise TypeError(
                f"the scheduler needs a store that keeps deployments, got {type(store).__name__}"
            )
        if min(horizon, lead, late_after, claim_timeout) <= 0 or lead > horizon:
            raise ValueError("horizon, lead, late_after and claim_timeout must be positive")
        if budget is not None and not budget > 0:
            raise ValueError(f"budget must be positive seconds or None, got {budget!r}")
        self.store = store
        self.deployments: DeploymentStore = store
        self.horizon = horizon
        self.lead = lead
        self.late_after = late_after
        self.claim_timeout = claim_timeout
        self.plan_limit = plan_limit
        self.overdue_limit = overdue_limit
        self.budget = budget
        self._schedules: dict[str, tuple[float | None, list[Schedule]]] = {}
        #: seconds a run took lately, to size a tick's pieces of work (tick_budget.py)
        self._plan_pace = Pace()
        self._move_pace = Pace()
        self._housekept_at = -math.inf  # `now` of the last crash and claim housekeeping
        #: (now, grace, moves) a tick out of time decided and did not make (_end_overdue)
        self._left_moves: tuple[float, float, list[tuple[str, State]]] | None = None

    def _parsed(self, deployment: Deployment) -> list[Schedule]:
        cached = self._schedules.get(deployment.id)
        if cached is not None and cached[0] == deployment.updated:
            return cached[1]
        schedules = deployment.schedule_objects()
        self._schedules[deployment.id] = (deployment.updated, schedules)
        return schedules

    def tick(self, now: float | None = None, *, late_after: float | None = None) -> TickFigures:
        """One tick at `now` (default: the clock); see the module docstring. `late_after`
        overrides the grace for this tick: 0 when whoever runs the runs has just started
        (`serve()`), so every run due while it was away counts as missed."""
        budget = TickBudget(self.budget)
        now = time.time() if now is None else now
        grace = self.late_after if late_after is None else late_after
        figures = TickFigures()
        due = self._to_plan(now)
        figures.more = self.plan_limit is not None and len(due) >= self.plan_limit
        planned = self._plan(due, now, budget, PLAN_SHARE, figures)
        self._end_overdue(now, grace, budget, figures)
        if planned < len(due):  # the overdue runs left time: plan on with it
            planned += self._plan(due[planned:], now, budget, 1.0, figures, first=False)
        if planned < len(due):
            figures.more = True  # out of time: the next tick, at once, plans the rest
        if not self._housekept_at <= now < self._housekept_at + HOUSEKEEPING_EVERY:
            self._housekept_at = now
            figures.requeued = self.deployments.requeue_crashed_runs(now)
            figures.released = self.deployments.release_stale_claims(now - self.claim_timeout)
        figures.seconds = time.perf_counter() - budget.started
        return figures

    def _plan(
        self,
        due: list[Deployment],
        now: float,
        budget: TickBudget,
        share: float,
        figures: TickFigures,
        *,
        first: bool = True,
    ) -> int:
        """Plan `due` in order, a piece (one transaction) at a time, until `share` of the
        budget is spent; return how many were planned (the first piece is taken whatever the
        time when `first`: each tick plans one deployment at least)."""
        done = 0
        while done < len(due):
            runs_wanted = budget.piece(self._plan_pace, share, first=first)
            if not runs_wanted:
                break
            started = time.perf_counter()
            plans: list[tuple[str, Plan]] = []
            runs = 0
            while done < len(due) and (not plans or runs < runs_wanted):
                deployment = due[done]
                plan = plan_runs(
                    self._parsed(deployment),
                    now=now,
                    scheduled_until=deployment.scheduled_until,
                    policy=deployment.catch_up,
                    max_lateness=deployment.max_lateness,
                    horizon=self.horizon,
                )
                plans.append((deployment.id, plan))
                runs += max(1, len(plan.runs))
                done += 1
            figures.planned += len(plans)
            figures.created += self.deployments.schedule_plans(plans, now)
            self._plan_pace.measured(runs, time.perf_counter() - started)
            first = False
        return done

    def _to_plan(self, now: float) -> list[Deployment]:
        """The deployments to plan this tick: those the store names, less those of a
        `serve()` process that is not running (their runs would wait for no one; a serve()
        started again plans and catches up its missed runs itself). Read again, further,
        when those filled the page, so they cannot hold back the others."""
        alive: dict[str, bool] = {}
        limit = self.plan_limit
        while True:
            due = self.deployments.read_deployments_to_schedule(now + self.lead, limit)
            kept = [d for d in due if self._attended(d, now, alive)]
            if limit is None or len(due) < limit or len(kept) >= (self.plan_limit or 0):
                return kept
            limit = (self.plan_limit or 0) + len(due) - len(kept)

    def _attended(self, deployment: Deployment, now: float, alive: dict[str, bool]) -> bool:
        pool = deployment.work_pool_name
        if pool is None or not is_serve_pool(pool):
            return True
        if pool not in alive:
            since = now - SERVE_ALIVE_WITHIN
            workers = self.deployments.read_workers(pool)
            alive[pool] = any(w.last_heartbeat >= since for w in workers)
        return alive[pool]

    def catch_up(self, now: float | None = None, *, late_after: float | None = None) -> None:
        """Tick until a tick leaves nothing for the next (`TickFigures.more`): a backlog
        (a first planning of many deployments, a catch-up after downtime) is worked off in
        bounded ticks, one after the other."""
        while self.tick(now, late_after=late_after).more:
            pass

    def _end_overdue(
        self, now: float, grace: float, budget: TickBudget, figures: TickFigures
    ) -> None:
        """Late, Skipped by max_lateness, or Skipped by the catch-up policy: the runs no
        worker took on time. A run planned ahead and then missed (the worker, or `serve()`,
        was down) gets the same catch-up policy as a time the planner found missed. Moved a
        piece at a time until the budget is spent; the moves a tick leaves are made by the
        next if it follows within `REUSE_MOVES_WITHIN` (each move is a compare-and-set on
        "still waiting, unclaimed", so a run taken meanwhile is left alone), else decided
        again from a fresh read."""
        moves = self._moves_left(now, grace)
        if moves is None:
            moves = self._decide_overdue(now, grace, figures)
        else:
            figures.more = True  # then a fresh read, which finds what came due meanwhile
        done = 0
        while done < len(moves):
            size = budget.piece(self._move_pace, first=done == 0)
            if not size:
                figures.more = True
                self._left_moves = (now, grace, moves[done:])
                break
            started = time.perf_counter()
            piece = moves[done : done + size]
            moved = set(self.deployments.move_waiting_runs(piece))
            for run_id, state in piece:
                if run_id in moved:
                    (figures.late if state.name == "Late" else figures.expired).append(run_id)
            self._move_pace.measured(len(piece), time.perf_counter() - started)
            done += len(piece)

    def _moves_left(self, now: float, grace: float) -> list[tuple[str, State]] | None:
        """The moves the tick before left, when they still hold at `now` (and forget them)."""
        left, self._left_moves = self._left_moves, None
        if left is None:
            return None
        decided_at, decided_grace, moves = left
        if decided_grace != grace or not 0 <= now - decided_at <= REUSE_MOVES_WITHIN:
            return None
        return moves

    def _decide_overdue(
        self, now: float, grace: float, figures: TickFigures
    ) -> list[tuple[str, State]]:
        """Read the overdue runs (`overdue_limit`) and decide each one's move; the runs of a
        deployment are decided together (the newest missed one is the one `latest` runs)."""
        overdue = self.deployments.find_overdue_runs(now, grace, self.overdue_limit)
        if self.overdue_limit is not None and len(overdue) >= self.overdue_limit:
            figures.more = True
            cut = overdue[-1].deployment_id  # its runs may go on past the limit: next tick
            overdue = [r for r in overdue if r.deployment_id != cut] or overdue
        by_deployment: dict[str, list[OverdueRun]] = {}
        for waiting in overdue:
            by_deployment.setdefault(waiting.deployment_id, []).append(waiting)
        moves: list[tuple[str, State]] = []
        for runs in by_deployment.values():
            missed = [r for r in runs if r.expected_start_time < now - grace]
            newest = missed[-1].run_id if missed else None  # runs come by time
            for waiting in runs:
                reason = _skip_reason(waiting, now, grace, newest)
                if reason is not None:
                    moves.append((waiting.run_id, State(StateType.CANCELLED, "Skipped", reason)))
                elif waiting.state_name == "Scheduled":
                    late = now - waiting.expected_start_time
                    message = f"Not started {late:.1f} s after its scheduled time"
                    moves.append((waiting.run_id, Late(message=message)))
        return moves


def _skip_reason(waiting: OverdueRun, now: float, grace: float, newest: str | None) -> str | None:
    late = now - waiting.expected_start_time
    limit = waiting.max_lateness
    if limit is not None and late > limit:
        return (
            f"Not started: {late:.1f} s after its scheduled time, more than the "
            f"deployment's max_lateness ({limit:g} s)"
        )
    if late < grace or late <= 0:
        return None
    if waiting.catch_up is CatchUp.NONE:
        return f"Missed by {late:.1f} s; the catch-up policy 'none' runs no missed run"
    if waiting.catch_up is CatchUp.LATEST and waiting.run_id != newest:
        return (
            f"Missed by {late:.1f} s; a later run was missed too and the catch-up policy "
            "'latest' runs only the newest"
        )
    return None
