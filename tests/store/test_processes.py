"""Which process runs a flow run, and whether it is gone: checked against real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from mainspring.store.processes import process_gone, start_time, this_process

linux_only = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")


def test_this_process_is_named_by_host_pid_and_start_time() -> None:
    me = this_process()
    assert me.pid == os.getpid()
    assert me.host
    if os.path.isdir("/proc/self"):
        assert me.start is not None and me.start <= time.time()
        assert abs(me.start - start_time(os.getpid())) < 0.1  # type: ignore[operator]
    assert not process_gone(*me)


def test_a_live_process_is_not_gone_and_an_ended_one_is() -> None:
    host = this_process().host
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        started = start_time(child.pid)
        assert not process_gone(host, child.pid, started)
        assert not process_gone(host, child.pid, None)  # no start time: the pid alone
    finally:
        child.kill()
        child.wait()
    assert process_gone(host, child.pid, started)
    assert process_gone(host, child.pid, None)


@linux_only
def test_a_zombie_is_gone() -> None:
    """Killed but not yet reaped by its parent: the pid still answers, the process is over."""
    host = this_process().host
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    started = start_time(child.pid)
    child.kill()
    try:
        deadline = time.monotonic() + 10
        while start_time(child.pid) is not None:  # until it is a zombie
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert os.path.isdir(f"/proc/{child.pid}")  # not reaped: the pid is still taken
        assert process_gone(host, child.pid, started)
    finally:
        child.wait()


@linux_only
def test_a_pid_taken_by_another_process_is_gone() -> None:
    """The pid is alive, but it started at another time: the run's process was another."""
    me = this_process()
    assert me.start is not None
    assert process_gone(me.host, me.pid, me.start - 3600)
    other = os.getppid()
    assert process_gone(me.host, other, me.start + 3600)
    assert not process_gone(me.host, other, start_time(other))


def test_what_cannot_be_known_is_never_gone() -> None:
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    assert not process_gone("another-host", ended.pid, None)  # the crash detector's business
    assert not process_gone(None, ended.pid, None)
    assert not process_gone(this_process().host, None, None)
    assert not process_gone(this_process().host, 0, None)  # never a signal to a group
    assert not process_gone(this_process().host, -1, None)
