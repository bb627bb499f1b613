"""The throwaway PostgreSQL cluster the test sessions (one per pytest-xdist worker) start."""

from __future__ import annotations

import socket

import pytest
import sqlalchemy as sa

from mainspring import testing
from mainspring.testing import postgres_bindir, throwaway_postgres

pytestmark = pytest.mark.slow


def test_a_cluster_whose_free_port_was_taken_meanwhile_starts_on_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """free_port() only says a port is free now: another process (a worker starting its own
    cluster) may bind it first. The start is then tried again on another port."""
    if postgres_bindir() is None:
        pytest.skip("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin)")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        offered = iter([taken])
        any_free = testing.free_port
        monkeypatch.setattr(testing, "free_port", lambda: next(offered, None) or any_free())
        with throwaway_postgres() as url:
            assert sa.make_url(url).port != taken
            engine = sa.create_engine(url, poolclass=sa.NullPool)
            try:
                with engine.connect() as conn:
                    assert conn.exec_driver_sql("SELECT 1").scalar() == 1
            finally:
                engine.dispose()
