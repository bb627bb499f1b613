"""The fork server: one long-lived helper process per Runner, Mainspring loaded, that forks a
child per deployment run.

A new interpreter per run pays Python's start-up and Mainspring's imports (0.3-0.5 s of CPU)
before the flow's first line, so a worker taking 100 queued runs spent most of its time
loading the same modules 100 times. This helper loads them once (`python -m
mainspring.deploy.workers.fork_server`, started by the runner with its own cwd and environment, so
its `sys.path` is the one `flow-run execute` would have); each run is then an `os.fork()`
(a few ms) whose child runs the run as `mainspring flow-run execute ID` does
(deploy/execute.py's `execute_exit_code`: the same exit codes).

What keeps a fork safe here:
- the helper is single-threaded and never opens a store, a log handler or a socket: the
  recorder's, console's and heartbeat's threads and the store's connections are made lazily
  in each child (and `PerProcess` would make them anew after a fork anyway);
- it imports no user code: a worker's deployments come from different folders and git
  checkouts, and each child loads its own flow from its entrypoint, as a new interpreter would;
- each child gets a session of its own (Ctrl-C in a terminal reaches the worker, which cancels
  its runs cleanly), the run's cwd and environment, `sys.path` as for that cwd and
  PYTHONPATH, settings and logging read anew, default signal handlers, and the helper's
  stdin, stdout and stderr (the worker's own); the helper's pipes are closed in it.

Protocol (JSON lines on two pipes the runner passes as fds): a request `{"run_id", "cwd",
"env", "not_before"}` is answered `{"event": "started", "run_id", "pid"}` (or `"failed"` with
an `"error"`); the helper reaps its children and reports `{"event": "exited", "run_id",
"pid", "code"}` (`code` as `Popen.returncode`: negative for a signal). When the request pipe
closes (the runner stopped or died) it starts nothing more and exits once its children have.
The runner's side is deploy/workers/fork_client.py.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import json
import os
import selectors
import signal
import sys
import traceback
from typing import Any

__all__ = ["main"]


def _preload() -> None:
    """Import what a run's child needs before its flow's own code: the engine (and what a
    flow file imports first: `from mainspring import flow, task`), the store and the
    database dialect and driver in use. Nothing is opened."""
    import mainspring.deploy.execute
    import mainspring.engine.parameters
    import mainspring.engine.run_flow
    import mainspring.store.recorder
    from mainspring import flow, task  # noqa: F401  # lazy attributes: load them now
    from mainspring.settings import get_settings, reset_settings

    try:
        settings = get_settings()
    except Exception:  # invalid settings: each child says so, as `flow-run execute` would
        return
    if settings.api_url:
        import h11  # noqa: F401
        import httpcore  # noqa: F401  # httpx imports it (and h11) at its first request

        from mainspring.store.http import ApiStore  # noqa: F401
    else:
        import mainspring.store.sql.migrations  # noqa: F401
        from mainspring.store.sql import SqlStore  # noqa: F401
        from mainspring.store.sql.dialects import backend_for

        with contextlib.suppress(Exception):  # a bad URL: each child says so
            backend_for(settings.effective_database_url)  # its dialect's module
        with contextlib.suppress(ImportError):
            import sqlalchemy.dialects.sqlite.pysqlite

            if settings.effective_database_url.startswith("postgres"):
                import psycopg  # noqa: F401
                import sqlalchemy.dialects.postgresql.psycopg  # noqa: F401
    reset_settings()  # each child reads them anew, in its own environment


class _Helper:
    def __init__(self, requests: int, events: int) -> None:
        self.requests, self.events = requests, events
        self.children: dict[int, str] = {}  # pid -> run id
        self.buffer = b""
        self.wake_read, self.wake_write = os.pipe()
        for fd in (self.wake_read, self.wake_write):
            os.set_blocking(fd, False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(self.wake_write, warn_on_full_buffer=False)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the runner stops it, not a Ctrl-C

    def run(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self.requests, selectors.EVENT_READ)
        selector.register(self.wake_read, selectors.EVENT_READ)
        listening = True
        while listening or self.children:
            for key, _ in selector.select():
                if key.fd == self.wake_read:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self.wake_read, 4096)
                elif not self._read_requests():
                    listening = False
                    selector.unregister(self.requests)
            self._reap()

    def _read_requests(self) -> bool:
        data = os.read(self.requests, 65536)
        if not data:
            return False
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        for line in lines:
            self._start(json.loads(line))
        return True

    def _start(self, request: dict[str, Any]) -> None:
        run_id = request["run_id"]
        try:
            pid = os.fork()
        except OSError as exc:
            self._report({"event": "failed", "run_id": run_id, "error": str(exc)})
            return
        if pid == 0:
            _child(request, (self.requests, self.events, self.wake_read, self.wake_write))
        self.children[pid] = run_id
        self._report({"event": "started", "run_id": run_id, "pid": pid})

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            run_id = self.children.pop(pid, None)
            code = os.waitstatus_to_exitcode(status)
            self._report({"event": "exited", "run_id": run_id, "pid": pid, "code": code})

    def _report(self, event: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):  # the runner is gone: keep reaping regardless
            os.write(self.events, (json.dumps(event) + "\n").encode())


def _child(request: dict[str, Any], inherited: tuple[int, ...]) -> None:
    """In the forked child: become the run's process (module docstring); never returns."""
    code = 1
    try:
        os.setsid()
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for fd in inherited:
            os.close(fd)
        cwd = request.get("cwd") or os.getcwd()
        os.chdir(cwd)
        env = request["env"]
        sys.path[:] = _sys_path(os.getcwd(), env.get("PYTHONPATH", ""))
        os.environ.clear()
        os.environ.update(env)
        sys.argv[:] = [_CLI_MAIN, "flow-run", "execute", request["run_id"]]
        code = _execute(request["run_id"], request.get("not_before"))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            atexit._run_exitfuncs()  # the recorder's last flush, as at an interpreter's exit
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


_BASE_PATH: list[str] = []
_CLI_MAIN = os.path.join(os.path.dirname(os.path.dirname(__file__)), "cli", "main.py")


def _sys_path(cwd: str, pythonpath: str) -> list[str]:
    """`sys.path` of `python -m ...` started in `cwd` with this PYTHONPATH."""
    extra = [os.path.join(cwd, p) for p in pythonpath.split(os.pathsep) if p]
    return [cwd, *extra, *_BASE_PATH]


def _execute(run_id: str, not_before: float | None) -> int:
    """`mainspring flow-run execute ID` in this process; its exit code. Its store leaves
    out the dead-run scan its runner made (`leave_dead_runs_to_parent`); the schema check
    stays, one plain SELECT (store/sql/migrations), so a database migrated since the runner
    started is still noticed."""
    from mainspring.deploy.execute import execute_exit_code
    from mainspring.engine.logging import configure_logging
    from mainspring.settings import get_settings, reset_settings
    from mainspring.store import leave_dead_runs_to_parent

    leave_dead_runs_to_parent()
    reset_settings()
    try:
        get_settings()
    except Exception as exc:  # as the CLI says it: one line, exit code 1
        print(f"Error: invalid settings: {exc}", file=sys.stderr)
        return 1
    configure_logging(force=True)
    return execute_exit_code(run_id, not_before)


def main(argv: list[str]) -> int:
    requests, events = int(argv[0]), int(argv[1])
    # the interpreter's own path, without this start's cwd and PYTHONPATH (each child's own)
    pythonpath = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    started_with = {os.path.abspath(p) for p in pythonpath if p}
    _BASE_PATH[:] = [p for p in sys.path[1:] if os.path.abspath(p) not in started_with]
    _preload()
    # What the children share is frozen (Python's advice for fork without exec): a collection
    # in a child never walks the preloaded objects, which would cost the run ~25 ms of CPU and
    # copy every page they sit on (copy-on-write), for objects that live as long as it does.
    gc.collect()
    gc.freeze()
    _Helper(requests, events).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
