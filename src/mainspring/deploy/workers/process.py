"""Running deployment runs in subprocesses: start, watch, cancel, and account for their exits.

Each claimed run becomes `python -m mainspring.cli.main flow-run execute ID` (deploy/execute.py)
with this process's MAINSPRING_* settings made explicit in its environment (a setting read
from a config file reaches the child too) and the given working directory. The child records
its own states; the runner only steps in when the child could not:

- it exited without finishing its run (killed by a signal, the interpreter failing before the
  flow started): the run is ended Crashed with the reason (the exit code or the signal), or
  Cancelled when the runner itself stopped it for a cancel;
- a cancel was asked (`cancel`, or the run was found Cancelling or Cancelled in the store):
  the child normally ends the run Cancelled itself at its next heartbeat; one still alive after
  `cancel_grace` seconds gets SIGTERM, then SIGKILL after the same grace again.

How a run's process starts (most of the time between a run's scheduled time and its first
line is that start):
- forked (`fork`, the default where `os.fork` exists and MAINSPRING_RUNNER_FORK is not false):
  a fork server (deploy/workers/fork_server.py), started once per runner with Mainspring
  loaded, forks a child per run in a few milliseconds, and reports its pid and, having reaped
  it, its exit code. The runner signals the pid only while it is known alive. If the fork
  server dies, the next `prepare` starts another; its children run on, watched by pid and
  start time, and one that ends unfinished is ended Crashed with an unknown exit code;
- spawned (the fallback, or a fork server that cannot start): a new interpreter per run. A
  warm spare (`warm`) is started ahead: `flow-run execute --from-stdin` loads Mainspring and
  opens the store, then waits for a run id on stdin; a new spare is started behind each run
  it takes.

`limit` caps how many subprocesses run at once (`free_slots` tells the claimer how many runs to
take). Watching, cancelling and ending runs is the runners' shared loop (deploy/workers/base.py);
this module says how a process starts, is polled, stopped, and what its exit means.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from mainspring.deploy.workers.base import Exit, FlowRunRunner, Job
from mainspring.deploy.workers.fork_client import (
    ForkedProcess,
    ForkServer,
    ForkServerGone,
    fork_supported,
)
from mainspring.settings import Settings, get_settings
from mainspring.store.base import Store

__all__ = ["Runner", "child_environment"]

logger = logging.getLogger("mainspring.deploy.workers.process")

DEFAULT_CANCEL_GRACE = 10.0


def child_environment(settings: Settings | None = None) -> dict[str, str]:
    """This process's environment with the store it uses named explicitly, so the child
    records where this process reads (a database URL from a config file included)."""
    settings = settings or get_settings()
    env = dict(os.environ)
    if settings.api_url:
        env["MAINSPRING_API_URL"] = settings.api_url
    else:
        env.pop("MAINSPRING_API_URL", None)
        env["MAINSPRING_DATABASE_URL"] = settings.effective_database_url
    # the child imports the same mainspring as this process (a source checkout included)
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if package_root not in paths:
        env["PYTHONPATH"] = os.pathsep.join([package_root, *paths])
    return env


@dataclass(kw_only=True)
class _Child(Job):
    process: subprocess.Popen[bytes] | ForkedProcess


class Runner(FlowRunRunner[_Child]):
    """Runs flow runs in subprocesses (module docstring)."""

    where = "process"
    stopped_by = "its process was stopped"
    kills_after_grace = True  # a process ignoring SIGTERM runs on: SIGKILL a grace later
    stop_poll = 0.05
    logger = logger

    def __init__(
        self,
        store: Store,
        *,
        limit: int | None = None,
        cancel_grace: float = DEFAULT_CANCEL_GRACE,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        warm: bool = True,
        fork: bool | None = None,
    ) -> None:
        super().__init__(store, limit=limit, cancel_grace=cancel_grace)
        self.cwd = cwd
        self.env = env if env is not None else child_environment()
        #: with `warm`, a subprocess started ahead, Mainspring loaded and the store open,
        #: waiting for its run's id on stdin: a run starts without the interpreter's start-up
        self.warm = warm
        self._spare: subprocess.Popen[bytes] | None = None
        #: runs forked from a fork server (module docstring); None: the setting decides
        self.fork = fork_supported() and (get_settings().runner_fork if fork is None else fork)
        self._fork_server: ForkServer | None = None

    def _spawn(self, *arguments: str, stdin: int | None = None) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "mainspring.cli.main", "flow-run", "execute", *arguments]
        # a session of its own: Ctrl-C in a terminal reaches this process, which cancels its
        # children cleanly, and not the children directly (they would end Crashed)
        return subprocess.Popen(
            command, cwd=self.cwd, env=self.env, stdin=stdin, start_new_session=True
        )

    def prepare(self) -> None:
        """Start the fork server (`fork`) or the warm spare process (`warm`) if there is
        none, or it died; cheap to call often."""
        if self.fork:
            self._forks()
        elif self.warm and (self._spare is None or self._spare.poll() is not None):
            self._spare = self._spawn("--from-stdin", stdin=subprocess.PIPE)

    def _forks(self) -> ForkServer | None:
        """The live fork server, started anew if it died; None if it cannot start."""
        server = self._fork_server
        if server is not None and server.alive():
            return server
        if server is not None:
            logger.warning("The fork server (process %d) is gone; starting another", server.pid)
            with contextlib.suppress(Exception):
                server.close(timeout=0)
        try:
            self._fork_server = ForkServer(self.cwd, self.env)
        except OSError:
            logger.exception("Could not start the fork server; starting runs as new processes")
            self._fork_server = None
        return self._fork_server

    @property
    def prefetches(self) -> bool:
        """Whether a run may be started before its time (`start`'s `not_before`): a forked
        child waits for it."""
        return self.fork

    def _forked(self, run_id: str, not_before: float | None) -> ForkedProcess | None:
        """The run's child forked by the fork server; None when there is none to ask."""
        for _attempt in range(2):  # a fork server found dead is started again once
            server = self._forks()
            if server is None:
                return None
            try:
                pid = server.fork(run_id, self.cwd, self.env, not_before)
                return ForkedProcess(server, pid)
            except ForkServerGone:
                continue
            except OSError:
                logger.exception("The fork server could not fork; starting a new process")
                return None
        return None

    def _from_spare(self, run_id: str) -> subprocess.Popen[bytes] | None:
        """The warm spare, handed `run_id`; None when there is none alive."""
        spare, self._spare = self._spare, None
        if spare is None or spare.poll() is not None or spare.stdin is None:
            return None
        try:
            spare.stdin.write(f"{run_id}\n".encode())
            spare.stdin.close()
        except OSError:  # it died meanwhile
            return None
        return spare

    def launch(self, run_id: str, label: str, not_before: float | None = None) -> _Child:
        """The process that runs `run_id`: forked, else the warm spare or a new one (and a
        new spare behind it). `not_before`: a forked child waits until then to call the
        flow (see `prefetches`)."""
        process: subprocess.Popen[bytes] | ForkedProcess | None = None
        if self.fork:
            process = self._forked(run_id, not_before)
        if process is None:
            process = self._from_spare(run_id) or self._spawn(run_id)
            self.prepare()
        logger.info("Started flow run %s in process %d", label, process.pid)
        return _Child(run_id=run_id, label=label, process=process)

    def poll(self, jobs: list[_Child]) -> Iterator[tuple[_Child, Exit | None]]:
        """Each process's exit code once it exited; vanished when its fork server died
        before reporting it."""
        for child in jobs:
            code = child.process.poll()
            if code is not None:
                yield child, Exit(code=code)
            elif getattr(child.process, "lost", False):
                yield child, Exit(vanished=True)
            else:
                yield child, None

    def halt(self, job: _Child, force: bool) -> bool:
        """SIGTERM, or SIGKILL with `force`."""
        if force:
            logger.warning("Flow run %s: its process ignored SIGTERM; SIGKILL", job.label)
            job.process.kill()
        else:
            logger.warning("Flow run %s: stopping its process (SIGTERM)", job.label)
            job.process.send_signal(signal.SIGTERM)
        return True

    def abandon(self, job: _Child) -> None:
        """SIGKILL, and wait for the process to be reaped (its exit then ends its run)."""
        job.process.kill()
        job.process.wait()

    def crash_reason(self, job: _Child, exit: Exit) -> str:
        if exit.vanished:  # it ended while its fork server was gone
            return (
                "Its process ended before the run finished (exit code unknown: the fork "
                "server that started it had died)"
            )
        code = exit.code if exit.code is not None else 0
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else -code
            return f"Its process was killed by {name} before the run finished"
        return f"Its process exited with code {code} before the run finished"

    def stop(self, cancel: bool = True, timeout: float | None = None) -> None:
        """Let the warm spare go, cancel (or wait for) every running subprocess until all
        have exited, then close the fork server."""
        spare, self._spare = self._spare, None
        if spare is not None and spare.stdin is not None:
            with contextlib.suppress(OSError):
                spare.stdin.close()  # EOF: it exits without running anything
            try:
                spare.wait(10)
            except subprocess.TimeoutExpired:
                spare.kill()
                spare.wait()
        super().stop(cancel, timeout)
        server, self._fork_server = self._fork_server, None
        if server is not None:
            server.close()
