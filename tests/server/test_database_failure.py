"""A database that fails is a 503 whatever the route (the store's `StoreError`), with the
details in the server's log only: the server has no SQLAlchemy of its own to catch."""

from __future__ import annotations

import logging
from pathlib import Path

from mainspring.model import StateType
from mainspring.store.sql import SqlStore

from .conftest import flow_run, make_client, write_runs


def test_a_database_that_fails_is_a_503(tmp_path: Path, caplog) -> None:
    path = tmp_path / "mainspring.db"
    store = SqlStore(f"sqlite:///{path}")
    run = flow_run(state=StateType.RUNNING)
    write_runs(store, run)
    try:
        with make_client(store) as client:
            assert client.get(f"/api/flow_runs/{run.id}").status_code == 200
            store.engine().dispose()  # no connection keeps the old pages
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            path.write_bytes(b"not a database " * 512)
            body = {"state": {"type": "CANCELLING"}}
            with caplog.at_level(logging.ERROR, logger="mainspring.server"):
                answers = [
                    client.get("/api/flow_runs"),  # the key check reads the database first
                    client.post(f"/api/flow_runs/{run.id}/set_state", json=body),
                ]
            for answer in answers:
                assert answer.status_code == 503, answer.text
                assert answer.json()["detail"].startswith("The database could not complete")
                assert "not a database" not in answer.text  # details stay in the log
            assert "not a database" in caplog.text
    finally:
        store.close()
