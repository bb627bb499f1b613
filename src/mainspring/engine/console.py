"""Console output of run logs, written in small bursts by a background thread.

A write to stderr is a system call, and a system call releases the GIL: when the recorder's
thread is busy, the task that logged then waits for the GIL for up to a whole switch interval
(5 ms). Two lines per task call made that the largest cost of a task. So the engine appends
formatted lines to a list and this thread writes what has gathered every few tens of
milliseconds, in one call; `flush()` (at the end of every top-level run and at exit) empties it
at once. Lines keep their order; the console lags the run by at most `INTERVAL`.

On a terminal a person reads the lines as they come, between their own `print()` output and
`input()` prompts, which do not wait: there each line is written at once, so what is on the
screen is in the order it happened. Whether stderr is a terminal is asked once per stream
object (a test or a program may swap `sys.stderr`), not per line.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading

INTERVAL = 0.03


class ConsoleBuffer:
    def __init__(self) -> None:
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._pending = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._stream: object = None  # the stderr whose kind is known
        self._interactive = False

    def write(self, line: str) -> None:
        stream = sys.stderr
        if stream is not self._stream:
            self._stream, self._interactive = stream, _is_terminal(stream)
        if self._interactive:
            self._write_now(line)
            return
        self._lines.append(line)  # list.append is atomic under the GIL
        if not self._pending.is_set():
            self._pending.set()
            if self._thread is None or self._pid != os.getpid():
                self._start()

    def flush(self) -> None:
        with self._lock:
            lines, self._lines = self._lines, []
            if not lines:
                return
            stream = sys.stderr
            if stream is None:
                return
            try:
                stream.write("".join(lines))
                stream.flush()
            except (OSError, ValueError):  # stderr closed or gone: nothing left to tell
                pass

    def _write_now(self, line: str) -> None:
        """Write `line` after whatever gathered before stderr became a terminal."""
        with self._lock:
            lines, self._lines = self._lines, []
            lines.append(line)
            try:
                sys.stderr.write("".join(lines))
                sys.stderr.flush()
            except (OSError, ValueError, AttributeError):  # closed or gone
                pass

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=self._loop, name="mainspring-console", daemon=True
                )
                self._thread.start()

    def _loop(self) -> None:
        while True:
            self._pending.wait()
            self._pending.clear()
            threading.Event().wait(INTERVAL)  # let a burst of lines gather
            self.flush()


def _is_terminal(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False


console = ConsoleBuffer()
atexit.register(console.flush)
