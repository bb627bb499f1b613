"""The chaos suite: real processes killed, disks filled, servers restarted, hostile input.

Every test here is `slow` and bounded (loops have a fixed count and a deadline). The figures
each test measures (recovery times, tasks re-run per kill) are gathered with `chaos_figures`
and printed in pytest's terminal summary, so a run of the suite reports them without `-s`
(tests/conftest.py prints them: they travel in the test's report, which pytest-xdist carries
from its worker processes to the one that prints the summary).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest


@pytest.fixture
def chaos_figures(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Record one line of figures under the current test's id."""

    def record(line: str) -> None:
        request.node.user_properties.append(("chaos figure", line))
        print(line)  # also in the test's captured output

    return record


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A fresh database for a server: a SQLite file, or a PostgreSQL database."""
    if request.param == "sqlite":
        folder = tmp_path / "db"
        folder.mkdir()
        return f"sqlite:///{folder / 'mainspring.db'}"
    return request.getfixturevalue("postgres_database")
