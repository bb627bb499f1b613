"""A full disk gives one clear message and no waiting (issue 10, defect 1).

A real small filesystem (tmpfs, mounted for the test: skipped where `mount` is not permitted)
holds the database (for PostgreSQL, a tablespace of the test database); a file fills what is
left of it. Before, SQLITE_FULL was retried as if
transient: each flow call waited 60 s and nothing more was recorded.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mainspring import flow, get_run_logger
from mainspring.settings import reset_settings
from mainspring.store import get_store, reset_store
from mainspring.store.dead_letter import dead_letter_file
from mainspring.store.recorder import get_recorder, reset_recorder

from .support import flow_runs_of

PROMPT = 10.0  # the defect made each call wait 60 s


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs mounted for the test."""
    disk = tmp_path / "disk"
    disk.mkdir()
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)],
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot mount a small filesystem here: {exc}")
    if mounted.returncode != 0:
        pytest.skip(f"mount is not permitted here: {mounted.stderr.decode(errors='replace')}")
    try:
        yield disk
    finally:
        reset_recorder()  # before unmounting: the store holds files open there
        reset_store()
        subprocess.run(["umount", "-l", str(disk)], capture_output=True, timeout=30)


def _fill(disk: Path) -> Path:
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError as exc:
        assert exc.errno == 28  # ENOSPC
    try:
        while True:  # the last few bytes too
            os.write(fd, b"\0")
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


@flow(name="chatty")
def chatty(i: int) -> int:
    for j in range(100):
        get_run_logger().info("line %d %s", j, "x" * 200)
    return i


def _use(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    reset_recorder()
    reset_store()


def _notes(capfd: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capfd.readouterr().err.splitlines() if line.startswith("mainspring:")]


def test_a_full_disk_sets_records_aside_once_said_and_calls_do_not_wait(
    small_disk: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    home = tmp_path / "home"  # on another disk: the dead-letter file can be written
    _use(
        monkeypatch,
        MAINSPRING_HOME=str(home),
        MAINSPRING_DATABASE_URL=f"sqlite:///{small_disk / 'mainspring.db'}",
    )
    assert chatty(0) == 0  # the database exists, its schema made
    filler = _fill(small_disk)

    for i in (1, 2, 3):
        started = time.monotonic()
        assert chatty(i) == i
        assert time.monotonic() - started < PROMPT
    notes = _notes(capfd)
    assert len(notes) == 1, notes
    assert "is full" in notes[0] and "database or disk is full" in notes[0]
    assert f"set aside in {dead_letter_file(home)}" in notes[0]
    recorder = get_recorder()
    assert recorder.dropped > 0 and recorder.lost == 0 and recorder.last_error is None
    assert len(dead_letter_file(home).read_text().splitlines()) == recorder.dropped

    filler.unlink()  # space again: recording resumes
    assert chatty(4) == 4
    runs = flow_runs_of(get_store(), "chatty")
    assert runs[0].parameters == {"i": 0} and runs[-1].parameters == {"i": 4}
    assert runs[-1].state.is_completed()


def test_when_the_dead_letter_file_cannot_be_written_either_the_records_are_counted_lost(
    small_disk: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    _use(monkeypatch, MAINSPRING_HOME=str(small_disk / "home"))  # database and all on it
    assert chatty(0) == 0
    _fill(small_disk)
    started = time.monotonic()
    assert chatty(1) == 1
    assert chatty(2) == 2
    assert time.monotonic() - started < PROMPT * 2
    notes = _notes(capfd)
    assert len(notes) == 1, notes
    assert "is full" in notes[0] and "are lost" in notes[0]
    recorder = get_recorder()
    assert recorder.lost == recorder.dropped > 0


@pytest.fixture
def postgres_on_small_disk(postgres_database: str) -> Iterator[tuple[str, Path]]:
    """A PostgreSQL database whose tables live on a 4 MiB tmpfs (a tablespace), for a
    throwaway cluster on this machine whose server runs as `postgres` (skipped otherwise)."""
    import pwd
    import tempfile

    import sqlalchemy as sa

    url = sa.make_url(postgres_database)
    if url.host not in ("127.0.0.1", "localhost") or os.geteuid() != 0:
        pytest.skip("needs root and the local throwaway PostgreSQL cluster")
    try:
        owner = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no postgres user")
    disk = Path(tempfile.mkdtemp(prefix="mainspring-pgdisk-"))
    disk.chmod(0o755)
    options = f"size=4m,uid={owner.pw_uid},gid={owner.pw_gid},mode=0700"
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        disk.rmdir()
        pytest.skip(f"mount is not permitted here: {mounted.stderr.decode(errors='replace')}")
    space = f"small_{url.database}"
    server = url.set(database="postgres")
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    quote = admin.dialect.identifier_preparer.quote
    database, space = quote(url.database or ""), quote(space)
    try:
        with admin.connect() as conn:  # DDL: identifiers quoted, the path one of mkdtemp's
            conn.exec_driver_sql(f"CREATE TABLESPACE {space} LOCATION '{disk}'")
            conn.exec_driver_sql(f"ALTER DATABASE {database} SET default_tablespace = {space}")
        yield postgres_database, disk
    finally:
        reset_recorder()
        reset_store()
        try:
            with admin.connect() as conn:  # the database first: its tables are in the space
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
                conn.exec_driver_sql(f"DROP TABLESPACE IF EXISTS {space}")
        finally:
            admin.dispose()
            subprocess.run(["umount", "-l", str(disk)], capture_output=True, timeout=30)
            disk.rmdir()


@pytest.mark.postgres
def test_a_full_disk_on_postgresql_is_one_message_and_no_waiting(
    postgres_on_small_disk: tuple[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    url, disk = postgres_on_small_disk
    home = tmp_path / "home"
    _use(monkeypatch, MAINSPRING_HOME=str(home), MAINSPRING_DATABASE_URL=url)
    assert chatty(0) == 0
    filler = _fill(disk)
    started = time.monotonic()
    for i in (1, 2, 3, 4, 5):
        assert chatty(i) == i
    assert time.monotonic() - started < PROMPT * 2
    notes = _notes(capfd)
    assert len(notes) == 1, "\n".join(notes)
    assert "is full" in notes[0] and "DiskFull" in notes[0] and "set aside in" in notes[0]
    recorder = get_recorder()
    assert recorder.dropped > 0 and recorder.lost == 0 and recorder.last_error is None
    filler.unlink()
    assert chatty(6) == 6
    assert flow_runs_of(get_store(), "chatty")[-1].parameters == {"i": 6}
