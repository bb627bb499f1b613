"""Console output of run logs, written in small bursts by a background thread.

A write to stderr is a system call, and a system call releases the GIL: when the recorder's
thread is busy, the task that logged then waits for the GIL for up to a whole switch interval
(5 ms). Two lines per task call made that the largest cost of a task. So the engine appends
formatted lines to a list and this thread writes what has gathered every few tens of
milliseconds, in one call; `flush()` (at the end of every top-level run and at exit) empties it
at once. Lines keep their order; the console lags the run by at most `INTERVAL`.
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

    def write(self, line: str) -> None:
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


console = ConsoleBuffer()
atexit.register(console.flush)
