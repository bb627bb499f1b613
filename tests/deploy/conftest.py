"""The scheduler tick runs on SQLite and PostgreSQL: `store` is parametrized like tests/store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mainspring.store.sql import SqlStore


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'db' / 'mainspring.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
    s = SqlStore(url)
    yield s
    s.close()
