"""What Mainspring creates on disk is the user's alone, whatever the umask: the home and result
folders 0700, the SQLite database (with its -wal and -shm files), result records and lock files
0600. They hold parameters, results and logs, and a writable result folder would let another
user plant a pickle."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from mainspring import flow, task
from mainspring.cache_policies import INPUTS
from mainspring.settings import reset_settings
from mainspring.store import get_store, reset_store
from mainspring.store.recorder import reset_recorder


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def fresh_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A MAINSPRING_HOME that does not exist yet, under a permissive umask."""
    home = tmp_path / "not-yet" / "home"
    monkeypatch.setenv("MAINSPRING_HOME", str(home))
    reset_settings()
    reset_store()
    old_umask = os.umask(0o022)
    try:
        yield home
    finally:
        os.umask(old_umask)


@task(persist_result=True, cache_policy=INPUTS.configure(isolation_level="SERIALIZABLE"))
def double(x: int) -> int:
    return 2 * x


@flow(persist_result=True)
def private_flow() -> int:
    return double(21)


def test_home_database_and_results_are_private(fresh_home: Path) -> None:
    assert private_flow() == 42
    reset_recorder()  # written and flushed: the WAL files exist while the store is open
    get_store().read_flow_runs()
    assert mode(fresh_home) == 0o700
    assert mode(fresh_home.parent) == 0o700  # a missing parent is created private too
    database = fresh_home / "mainspring.db"
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        assert path.exists(), path
        assert mode(path) == 0o600, path
    results = fresh_home / "results"
    folders = [results, *(p for p in results.rglob("*") if p.is_dir())]
    files = [p for p in results.rglob("*") if p.is_file()]
    assert len(folders) >= 3 and any(p.suffix == ".lock" for p in files)
    assert any(p.parent.name == "tasks" for p in files)  # the task's own record
    assert {str(p): mode(p) for p in folders} == {str(p): 0o700 for p in folders}
    assert {str(p): mode(p) for p in files} == {str(p): 0o600 for p in files}


def test_an_existing_home_keeps_the_mode_its_owner_gave(tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "shared-home"
    home.mkdir(mode=0o750)
    home.chmod(0o750)
    monkeypatch.setenv("MAINSPRING_HOME", str(home))
    reset_settings()
    reset_store()
    get_store().read_flow_runs()
    assert mode(home) == 0o750
    assert mode(home / "mainspring.db") == 0o600
