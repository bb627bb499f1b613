"""A real store in a temporary MAINSPRING_HOME, filled with a small known history."""

from __future__ import annotations

import os

import pytest

from mainspring.settings import reset_settings
from mainspring.store import Store, get_store, reset_store

from .history import History, write_history


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty MAINSPRING_HOME and settings read afresh from it."""
    for name in list(os.environ):
        if name.startswith("MAINSPRING_") or name == "COLUMNS":
            monkeypatch.delenv(name)
    monkeypatch.setenv("MAINSPRING_HOME", str(tmp_path))
    reset_settings()
    reset_store()
    yield tmp_path
    reset_store()
    reset_settings()


@pytest.fixture
def store(home) -> Store:
    return get_store()


@pytest.fixture
def history(store: Store) -> History:
    return write_history(store)
