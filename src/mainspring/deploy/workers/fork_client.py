"""The runner's side of the fork server (deploy/workers/fork_server.py): start the helper, ask it to
fork a run, read the pids and exit codes it reports, and watch a forked child as a `Popen`."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from typing import Any

__all__ = ["ForkServer", "ForkServerGone", "ForkedProcess", "fork_supported"]

#: How long the runner waits for the helper to answer a request (it forks at once).
ANSWER_TIMEOUT = 30.0


def fork_supported() -> bool:
    """Whether runs may be forked here: POSIX with `os.fork` (not Windows)."""
    return hasattr(os, "fork") and os.name == "posix"


class ForkServerGone(Exception):
    """The helper process is not there (it died, or could not start)."""


class ForkServer:
    """The runner's handle on its helper: `fork` a run, read its children's exits, `close`."""

    def __init__(self, cwd: str | None, env: dict[str, str]) -> None:
        requests_read, self._requests = os.pipe()
        self._events, events_write = os.pipe()
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "mainspring.deploy.workers.fork_server",
                    str(requests_read),
                    str(events_write),
                ],
                cwd=cwd,
                env=env,
                pass_fds=(requests_read, events_write),
                start_new_session=True,
            )
        except OSError:
            for fd in (self._requests, self._events):
                os.close(fd)
            raise
        finally:
            os.close(requests_read)
            os.close(events_write)
        os.set_blocking(self._events, False)
        self._buffer = b""
        self._exits: dict[int, int] = {}  # pid -> exit code, reported and not yet collected
        self._answers: list[dict[str, Any]] = []
        self.gone = False

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        """False once the helper is known gone (its events pipe closed, or it exited)."""
        if not self.gone:
            self._pump()
        if not self.gone and self.process.poll() is not None:
            self._pump()  # what it reported before it died still counts
            self.gone = True
        return not self.gone

    def fork(
        self, run_id: str, cwd: str | None, env: dict[str, str], not_before: float | None = None
    ) -> int:
        """Start `run_id` in a forked child (which waits until `not_before` to call the flow);
        its pid. `ForkServerGone` when the helper is not there; `OSError` when it could not
        fork."""
        if self.gone:
            raise ForkServerGone("the fork server is gone")
        request = {"run_id": run_id, "cwd": cwd, "env": env, "not_before": not_before}
        line = json.dumps(request) + "\n"
        try:
            os.write(self._requests, line.encode())  # small: a pipe takes it at once
        except OSError as exc:  # BrokenPipeError: it died
            self.gone = True
            raise ForkServerGone(f"the fork server is gone ({exc})") from None
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while True:
            for answer in self._answers:
                if answer["run_id"] == run_id:
                    self._answers.remove(answer)
                    if answer["event"] == "failed":
                        raise OSError(answer["error"])
                    return int(answer["pid"])
            if self.gone or time.monotonic() > deadline:
                self.gone = True
                raise ForkServerGone("the fork server stopped answering")
            select.select([self._events], [], [], 0.5)
            self._pump()

    def exit_code(self, pid: int) -> int | None:
        """Child `pid`'s exit code once reported (then forgotten: asked once per child)."""
        return self._exits.pop(pid, None)

    def _pump(self) -> None:
        """Read what the helper reported, without blocking."""
        while True:
            try:
                data = os.read(self._events, 65536)
            except BlockingIOError:
                return
            except OSError:
                self.gone = True
                return
            if not data:  # EOF: it exited
                self.gone = True
                return
            self._buffer += data
            *lines, self._buffer = self._buffer.split(b"\n")
            for line in lines:
                event = json.loads(line)
                if event["event"] == "exited":
                    self._exits[int(event["pid"])] = int(event["code"])
                else:
                    self._answers.append(event)

    def close(self, timeout: float = 10.0) -> None:
        """Let it exit (no more requests: it leaves once its children have), or kill it."""
        with contextlib.suppress(OSError):
            os.close(self._requests)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._pump()
        with contextlib.suppress(OSError):
            os.close(self._events)
        self.gone = True


class ForkedProcess:
    """A run's forked child as the runner sees it, shaped like the `Popen` of a spawned one
    (`pid`, `poll`, `returncode`, `send_signal`, `kill`, `wait`).

    Its exit code comes from its fork server. Signals go to the pid only while it is known
    alive: not after its exit was reported (the pid may be reused). If the fork server dies
    first, the child (now reparented) is watched by its pid and start time instead, and its
    end is `lost`: its exit code is unknown."""

    def __init__(self, server: ForkServer, pid: int) -> None:
        from mainspring.store.processes import start_time, this_process

        self.server, self.pid = server, pid
        self.host = this_process().host
        self.start = start_time(pid)
        self.returncode: int | None = None
        self.lost = False

    def poll(self) -> int | None:
        if self.returncode is not None or self.lost:
            return self.returncode
        self.server.alive()  # reads what it reported
        code = self.server.exit_code(self.pid)
        if code is not None:
            self.returncode = code
        elif self.server.gone and self._gone():
            self.lost = True
        return self.returncode

    def ended(self) -> bool:
        return self.poll() is not None or self.lost

    def _gone(self) -> bool:
        from mainspring.store.processes import process_gone

        return process_gone(self.host, self.pid, self.start)

    def send_signal(self, sig: int) -> None:
        if self.ended() or (self.server.gone and self._gone()):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.ended():
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            time.sleep(0.01)
        return self.returncode
