"""Shared fixtures: an isolated MAINSPRING_HOME per test, and PostgreSQL when it is available."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from mainspring.settings import reset_settings
from mainspring.store import reset_store
from mainspring.store.recorder import reset_recorder


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Each test gets its own MAINSPRING_HOME and no MAINSPRING_* settings from outside."""
    for name in list(os.environ):
        if name.startswith("MAINSPRING_") and not name.startswith("MAINSPRING_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MAINSPRING_HOME", str(tmp_path_factory.mktemp("home")))
    reset_settings()
    reset_recorder()
    reset_store()
    yield
    reset_recorder()  # flush this test's run history into this test's store, then forget it
    reset_store()
    reset_settings()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bindir() -> Path | None:
    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(f"{bindir}/initdb") and os.path.exists(f"{bindir}/pg_ctl"):
            return Path(bindir)
    return None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server URL (its `postgres` database): MAINSPRING_TEST_POSTGRES_URL if set,
    else a throwaway cluster started from the local binaries and stopped at session end."""
    url = os.environ.get("MAINSPRING_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL not available")
    # PostgreSQL refuses to run as root: run it as the `postgres` user in a dir it owns.
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    workdir = Path(tempfile.mkdtemp(prefix="mainspring-pg-"))
    if as_user:
        shutil.chown(workdir, "postgres", "postgres")
    data, port = workdir / "data", _free_port()

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, stdin=subprocess.DEVNULL)

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
        options = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            f"{workdir}/log",
            "-w",
            "start",
        )
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        pytest.skip(f"PostgreSQL could not start: {exc.stderr.decode(errors='replace')[-500:]}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def postgres_database(postgres_url: str) -> Iterator[str]:
    """The URL of a fresh, empty database on the test server, dropped after the test."""
    server = sa.make_url(postgres_url)
    if server.drivername in ("postgres", "postgresql"):
        server = server.set(drivername="postgresql+psycopg")
    name = f"mainspring_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    quoted = admin.dialect.identifier_preparer.quote(name)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {quoted}")
        yield server.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
    finally:
        admin.dispose()
