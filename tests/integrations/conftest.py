"""Fixtures of the remote runner tests: the engine tests' store, and the workers' own home."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mainspring.store import Store, get_store


@pytest.fixture
def store() -> Store:
    return get_store()


@pytest.fixture(scope="module")
def worker_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The MAINSPRING_HOME a module's cluster workers start with (set while they start)."""
    home = tmp_path_factory.mktemp("worker-home")
    before = os.environ.get("MAINSPRING_HOME")
    os.environ["MAINSPRING_HOME"] = str(home)
    yield home
    if before is None:
        os.environ.pop("MAINSPRING_HOME", None)
    else:
        os.environ["MAINSPRING_HOME"] = before
