"""The runners' shared loop: what happens to a flow run's job, whatever it runs in
(a subprocess: deploy/workers/process.py; a container: docker.py; a Kubernetes Job:
kubernetes.py), read in one place so the three runners answer alike.

A runner is this base plus the four things that differ (each method below states its
contract, as huey's BaseStorage does for its stores): `launch` a job, `poll` its status,
`halt` it, and say why its run crashed (`crash_reason`). Everything else is here:

1. start: `launch` makes the run's job. A runner whose start can take long (`starts_slowly`:
   Docker pulling an image) launches in a thread of its own, so the worker's loop goes on
   meanwhile (its heartbeat, which keeps its claims from being released as stale, and the
   other runs' exits and cancels). The run is then *starting*: Pending in the store (claimed
   and taken up by this worker), counted against `limit`, cancellable. A job that cannot
   start (`CannotStart`) ends its run Crashed at once, with the reason.
2. watch: each `check` polls the started jobs; one whose job ended is ended (4).
3. cancel: asked here (`cancel`) or found in the store (Cancelling, Cancelled): the run is
   marked Cancelling and given `cancel_grace` seconds to end itself (its flow ends Cancelled
   at its next heartbeat); then its job is halted. A runner whose infrastructure does not
   kill a job that ignores the halt (`kills_after_grace`: a plain process) kills it a grace
   later.
4. end: the job is `release`d, and its run, if the job could not end it: Cancelled when the
   runner halted it for a cancel, else Crashed with `crash_reason`.

The runner is driven by its owner's loop (deploy/loop.py calls `prepare`, `start`, `check`);
it starts no thread but a slow start's. Store writes stay on the loop's thread.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from mainspring.deploy.workers import endings as run_endings
from mainspring.model.states import Cancelled, Crashed, State
from mainspring.store.base import Store

__all__ = ["CannotStart", "Exit", "FlowRunRunner", "Job"]


class CannotStart(Exception):
    """The run's job cannot start (bad job variables, a missing image, an API refusal): the
    run ends Crashed with this message."""


@dataclass(frozen=True)
class Exit:
    """How a job ended, as far as its infrastructure tells: its exit code (negative: the
    signal that killed it) when known, whether it ran out of memory, the infrastructure's own
    words (a pod's eviction), and whether it `vanished` (gone with no exit to read)."""

    code: int | None = None
    oom: bool = False
    reason: str | None = None
    vanished: bool = False


@dataclass(kw_only=True)
class Job:
    """What the shared loop keeps of a run's job; each runner's subclass adds its handle."""

    run_id: str
    label: str
    #: when a cancel was first seen: the run's grace counts from then
    cancel_at: float | None = None
    #: when `halt` was sent (None: not yet, or it did not get through)
    halted_at: float | None = None
    #: whether the job was killed after ignoring the halt (`kills_after_grace`)
    killed: bool = False


J = TypeVar("J", bound=Job)


@dataclass
class _Starting(Generic[J]):
    """A run whose job is being launched in a thread (`starts_slowly`)."""

    run_id: str
    label: str
    launched: Future[J]
    cancel_at: float | None = None


class FlowRunRunner(ABC, Generic[J]):
    """Runs flow runs' jobs and ends the runs their jobs could not (module docstring)."""

    #: what a job is called in messages ("process", "container", "pod")
    where: ClassVar[str]
    #: how the runner stopped a cancelled run's job, for its Cancelled message
    stopped_by: ClassVar[str]
    #: launch in a thread: a start that may take long (module docstring, 1)
    starts_slowly: ClassVar[bool] = False
    #: kill a halted job that still runs a grace later (its infrastructure would not)
    kills_after_grace: ClassVar[bool] = False
    #: how often `stop` checks while it waits for the jobs to end
    stop_poll: ClassVar[float] = 0.1
    logger: ClassVar[logging.Logger] = logging.getLogger("mainspring.deploy.workers")

    def __init__(
        self,
        store: Store,
        *,
        limit: int | None = None,
        cancel_grace: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit is not None and (isinstance(limit, bool) or limit < 1):
            raise ValueError(f"limit must be a positive int or None, got {limit!r}")
        self.store = store
        self.limit = limit
        self.cancel_grace = cancel_grace
        self._clock = clock
        #: the runs whose job runs now, by run id
        self.children: dict[str, J] = {}
        #: the runs whose job is being launched (`starts_slowly`), by run id
        self.starting: dict[str, _Starting[J]] = {}

    # -- what each runner implements --------------------------------------------------------
    @abstractmethod
    def launch(self, run_id: str, label: str, not_before: float | None = None) -> J:
        """Start the job that runs `run_id` and return it. Raise `CannotStart` with the
        reason when it cannot start (the run then ends Crashed). `not_before`: the run's
        time, for a runner that `prefetches` (its job waits for it); others never get one.
        Runs in a thread of its own when `starts_slowly`: then it must not write the store."""

    @abstractmethod
    def poll(self, jobs: list[J]) -> Iterable[tuple[J, Exit | None]]:
        """Read the status of `jobs`: yield each job read with how it ended, or None while
        it runs. A job that cannot be read now (the engine or API is away) is left out and
        asked again at the next check; a runner that reads in batches may read only the jobs
        due a look."""

    @abstractmethod
    def halt(self, job: J, force: bool) -> bool:
        """Stop the job: ask it to stop (SIGTERM, with the infrastructure's own grace where
        it has one), or kill it at once with `force`. False when the request did not get
        through (asked again at the next check)."""

    @abstractmethod
    def crash_reason(self, job: J, exit: Exit) -> str:
        """Why the run crashed, said from its job's `exit`, when the job ended before its
        run finished and no cancel was asked."""

    def release(self, job: J, exit: Exit) -> None:
        """Let go of an ended job (remove its container, wait for its output), before its
        run is ended. Nothing by default."""

    def abandon(self, job: J) -> None:
        """Stop the job for good: `stop` ran past its timeout. `halt(force=True)` by
        default; a runner that can wait for the job's end here does."""
        self.halt(job, force=True)

    def prepare(self) -> None:
        """Get ready for the next run (a warm process); cheap to call often."""

    @property
    def prefetches(self) -> bool:
        """Whether a run may be started before its time (`start`'s `not_before`)."""
        return False

    # -- the lifecycle ----------------------------------------------------------------------
    @property
    def free_slots(self) -> int:
        """How many more runs may start now (a large number when unlimited); a run whose
        job is still starting holds its slot."""
        return run_endings.free_slots(self.limit, len(self.children) + len(self.starting))

    def start(self, run_id: str, label: str | None = None, not_before: float | None = None) -> None:
        """Start running `run_id`; a run that cannot start is ended Crashed here (or, when
        its job starts in a thread, at the check that finds it failed)."""
        label = label or run_id
        if self.starts_slowly:
            self.logger.info("Starting flow run %s", label)
            launched = _in_thread(lambda: self.launch(run_id, label, not_before), run_id)
            self.starting[run_id] = _Starting(run_id, label, launched)
            return
        try:
            job = self.launch(run_id, label, not_before)
        except CannotStart as exc:
            run_endings.crash_now(self.store, run_id, label, str(exc), self.logger)
            return
        self.children[run_id] = job

    def cancel(self, run_id: str) -> None:
        """Mark the run Cancelling (Cancelled if its flow has not started); its job is halted
        after `cancel_grace` if the flow has not ended itself by then."""
        job = self.children.get(run_id) or self.starting.get(run_id)
        if job is None or job.cancel_at is not None:
            return
        job.cancel_at = self._clock()
        run_endings.ask_cancel(self.store, run_id, job.label, self.logger)

    def check(self) -> list[str]:
        """Take up the jobs launched meanwhile, end the runs whose job ended, push cancels
        along; return the ids of the runs that ended."""
        ended = self._take_up_launched()
        now = self._clock()
        for job, exit in self.poll(list(self.children.values())):
            if exit is not None:
                self._end(job, exit)
                del self.children[job.run_id]
                ended.append(job.run_id)
            elif job.cancel_at is None and run_endings.cancel_asked(self.store, job.run_id):
                job.cancel_at = now
        for job in self.children.values():
            if job.cancel_at is not None:
                self._push_cancel(job, job.cancel_at, now)
        return ended

    def stop(self, cancel: bool = True, timeout: float | None = None) -> None:
        """Cancel (or wait for) every run until all have ended; past `timeout`, abandon the
        jobs still running (a start still under way is left to finish on its own)."""
        if cancel:
            for run_id in [*self.starting, *self.children]:
                self.cancel(run_id)
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.children or self.starting:
            self.check()
            if deadline is not None and time.monotonic() > deadline:
                for job in self.children.values():
                    self.abandon(job)
                self.check()
                for starting in self.starting.values():
                    self.logger.warning("Flow run %s: left starting", starting.label)
                return
            time.sleep(self.stop_poll)

    def _take_up_launched(self) -> list[str]:
        """Move the jobs launched in a thread to `children`; end the runs whose launch failed
        (their ids are returned)."""
        failed = []
        for starting in list(self.starting.values()):
            if not starting.launched.done():
                continue
            del self.starting[starting.run_id]
            try:
                job = starting.launched.result()
            except Exception as exc:
                message = (
                    str(exc)
                    if isinstance(exc, CannotStart)
                    else f"Its {self.where} could not start: {exc}"
                )
                run_endings.crash_now(
                    self.store, starting.run_id, starting.label, message, self.logger
                )
                failed.append(starting.run_id)
                continue
            job.cancel_at = starting.cancel_at  # a cancel asked meanwhile: its grace runs on
            self.children[job.run_id] = job
        return failed

    def _push_cancel(self, job: J, asked_at: float, now: float) -> None:
        """Halt the job once its grace is over; kill it a grace later if need be."""
        if job.halted_at is None:
            if now - asked_at >= self.cancel_grace and self.halt(job, force=False):
                job.halted_at = now
        elif self.kills_after_grace and not job.killed and now - job.halted_at >= self.cancel_grace:
            self.halt(job, force=True)
            job.killed = True

    def _end(self, job: J, exit: Exit) -> None:
        """End the run if its job could not: Cancelled for a cancel, else Crashed."""
        self.release(job, exit)
        store, logger = self.store, self.logger
        if run_endings.unfinished(store, job.run_id, job.label, self.where, logger) is None:
            return
        if job.cancel_at is not None:
            state: State = Cancelled(message=f"Cancelled: {self.stopped_by}")
        else:
            state = Crashed(message=self.crash_reason(job, exit))
        run_endings.record_end(store, job.run_id, job.label, state, logger)


def _in_thread(launch: Callable[[], J], run_id: str) -> Future[J]:
    """`launch()` in a daemon thread (a pull under way does not hold the process's exit)."""
    launched: Future[J] = Future()

    def run() -> None:
        try:
            launched.set_result(launch())
        except BaseException as exc:  # the loop reports it, as the run's crash
            launched.set_exception(exc)

    threading.Thread(target=run, name=f"start-{run_id}", daemon=True).start()
    return launched
