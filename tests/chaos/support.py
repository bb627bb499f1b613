"""What the chaos tests share: child processes, the SQLite integrity check, ledger files."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from engine.support import subprocess_env  # tests/engine: a sibling package

__all__ = [
    "integrity_check",
    "mainspring_command",
    "read_ledger",
    "spawn",
    "subprocess_env",
    "wait_for",
]


def mainspring_command(*args: str) -> list[str]:
    """The real `mainspring` command (the console script when installed beside this Python)."""
    cli = Path(sys.executable).parent / "mainspring"
    if cli.exists():
        return [str(cli), *args]
    return [sys.executable, "-c", "from mainspring.cli.main import main; main()", *args]


def spawn(command: list[str], env: dict[str, str], cwd: Path | None = None) -> subprocess.Popen:
    """A child process with its output captured (text), reading nothing from our stdin."""
    return subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )


def integrity_check(database: Path) -> str:
    """SQLite's own verdict on the file ("ok" when sound), as a fresh connection sees it."""
    conn = sqlite3.connect(database, timeout=30)
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    finally:
        conn.close()
    return "\n".join(str(row[0]) for row in rows)


def read_ledger(path: Path) -> list[int]:
    """The task numbers a ledger file holds, in the order the tasks wrote them (a line torn by
    a kill is left out: it was never a whole record)."""
    if not path.exists():
        return []
    return [int(line) for line in path.read_text().split("\n")[:-1] if line.isdigit()]


def wait_for(condition: Callable[[], bool], timeout: float, what: str, step: float = 0.01) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(step)
