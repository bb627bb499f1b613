"""Helpers that users' tests, our own tests and our benchmarks share.

`throwaway_postgres()` starts a private PostgreSQL cluster from the local binaries (Debian's
`postgresql` package) on a free loopback port, with fsync off, and removes it afterwards: a real
server for tests and benchmarks without touching any system cluster.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["PostgresUnavailable", "free_port", "postgres_bindir", "throwaway_postgres"]


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's binaries are missing, or the cluster would not start (the message says why)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bindir() -> Path | None:
    """The newest `/usr/lib/postgresql/N/bin` holding initdb and pg_ctl, if any."""
    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(f"{bindir}/initdb") and os.path.exists(f"{bindir}/pg_ctl"):
            return Path(bindir)
    return None


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Start a private cluster and yield its SQLAlchemy URL (database `postgres`); stop it after.

    Raises `PostgresUnavailable` when it cannot. PostgreSQL refuses to run as root, so as root
    the cluster runs as the `postgres` user in a folder it owns.
    """
    bindir = postgres_bindir()
    if bindir is None:
        raise PostgresUnavailable("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin)")
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    workdir = Path(tempfile.mkdtemp(prefix="mainspring-pg-"))
    if as_user:
        shutil.chown(workdir, "postgres", "postgres")
    data = workdir / "data"

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, stdin=subprocess.DEVNULL)

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
        port = _start_cluster(run, str(bindir / "pg_ctl"), workdir)
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        detail = exc.stderr.decode(errors="replace")[-500:]
        raise PostgresUnavailable(f"PostgreSQL could not start: {detail}") from exc
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )
        shutil.rmtree(workdir, ignore_errors=True)


def _start_cluster(run: Callable[..., None], pg_ctl: str, workdir: Path) -> int:
    """Start the cluster in `workdir` on a free port; return the port. A port found free can be
    taken before the server binds it (by another test process starting its own cluster, say),
    so a failed start is tried again on other ports; the third failure is raised."""

    def start(port: int) -> int:
        options = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(pg_ctl, "-D", f"{workdir}/data", "-o", options, "-l", f"{workdir}/log", "-w", "start")
        return port

    for _ in range(2):
        with contextlib.suppress(subprocess.CalledProcessError):
            return start(free_port())
    return start(free_port())
