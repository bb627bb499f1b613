"""Which process runs a flow run, and whether that process is still there.

Each flow run records its process as (host, pid, start time). A store opened later on the same
host can then tell that a run left Running has lost its process, without any server or
heartbeat: the pid is not alive, or it is alive but started at another time (the pid was
reused). Runs of other hosts are left to the server's heartbeat-based crash detector.

- `host` is the host name. A process in a PID namespace other than the initial one (a
  container sharing the host's name, as `docker run --network host` does) adds the namespace:
  its pids mean nothing to the host, so its runs must not look like the host's.
- The start time is read from `/proc/<pid>/stat` (clock ticks since boot) plus the boot time,
  as epoch seconds. Two readings of one process agree to within a tick; they may drift apart
  when the wall clock is stepped (the boot time moves with it), so a difference within
  `START_TOLERANCE` counts as the same process. A pid reused that soon after its first owner
  started is not a practical case.
- Elsewhere (macOS, BSD) there is no start time: only whether the pid is alive. On Windows
  nothing is checked (`os.kill` there would terminate the process).
"""

from __future__ import annotations

import os
import socket
import sys
import time
from typing import NamedTuple

#: Seconds two readings of a process's start time may differ by and still be one process.
START_TOLERANCE = 1.0
_INITIAL_PID_NAMESPACE = "pid:[4026531836]"  # the kernel's PROC_PID_INIT_INO
_MAX_HOST = 255


class ProcessId(NamedTuple):
    host: str
    pid: int
    start: float | None


_this: ProcessId | None = None


def this_process() -> ProcessId:
    """This process's identity, computed once per process (a forked child gets its own)."""
    global _this
    this = _this
    if this is None or this.pid != os.getpid():
        pid = os.getpid()
        this = _this = ProcessId(this_host(), pid, start_time(pid))
    return this


def this_host() -> str:
    """The host name, with the PID namespace when it is not the initial one (see above)."""
    host = socket.gethostname()
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:  # not Linux, or /proc is not mounted
        namespace = _INITIAL_PID_NAMESPACE
    if namespace != _INITIAL_PID_NAMESPACE:
        host = f"{host} ({namespace.replace(':', ' ')})"
    return host[:_MAX_HOST]


def start_time(pid: int) -> float | None:
    """When process `pid` started, in epoch seconds; None when unknown (no such process, a
    zombie, not Linux)."""
    stat = _stat(pid)
    if stat is None or stat[0] in (b"Z", b"X"):
        return None
    try:
        with open("/proc/uptime", "rb") as f:
            uptime = float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return time.time() - uptime + stat[1] / os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[bytes, int] | None:
    """The state letter and start (clock ticks since boot) of `/proc/<pid>/stat`; None when
    there is no such process (or no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        fields = stat[stat.rfind(b")") + 2 :].split()  # after "pid (command)": may hold spaces
        return fields[0], int(fields[19])  # fields 3 and 22 of the line: state, starttime
    except (OSError, ValueError, IndexError):
        return None


def process_gone(host: str | None, pid: int | None, start: float | None) -> bool:
    """Whether the process recorded as (host, pid, start) has certainly ended.

    False whenever it cannot be known: another host, no pid recorded, a platform where
    nothing is checked, a pid alive but owned by another user.
    """
    if not pid or pid < 0 or host is None or sys.platform == "win32":
        return False  # (os.kill of pid 0 or below would signal a process group)
    if host != this_process().host:
        return False
    if pid == os.getpid():
        return start is not None and not _same_start(this_process().start, start)
    stat = _stat(pid)  # Linux: /proc tells existence and start time at once
    if stat is not None:
        if stat[0] in (b"Z", b"X"):  # exited, not yet reaped by its parent
            return True
        return start is not None and not _same_start(start_time(pid), start)
    try:  # no /proc, or a pid it hides (hidepid): ask the kernel whether the pid exists
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: alive, another user's
        return False
    return False


def describe(host: str | None, pid: int | None) -> str:
    """How a message names a run's process: "process 1234 on host-a"."""
    return f"process {pid} on {host}"


def _same_start(a: float | None, b: float) -> bool:
    return a is None or abs(a - b) <= START_TOLERANCE
