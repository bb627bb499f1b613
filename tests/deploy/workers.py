"""Helpers for the end-to-end tests: `mainspring worker start` as a real process, and waiting
for what it does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

SRC = str(Path(__file__).resolve().parents[2] / "src")
T = TypeVar("T")


def start_worker(*args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mainspring.cli.main", "worker", "start", *args],
        env=dict(os.environ, PYTHONPATH=SRC, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(process: subprocess.Popen[str]) -> str:
    """SIGTERM, then its output; it must have stopped cleanly."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=90)
    assert process.returncode == 0, out
    return out


def wait_until(check: Callable[[], T], timeout: float = 60.0, what: str = "it") -> T:
    """`check()`'s first true value, polled; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s (last: {found!r})")
        time.sleep(0.1)
