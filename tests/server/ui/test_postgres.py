"""The pages over PostgreSQL: the same real history (history.py recording into PostgreSQL),
the same answers as on SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from mainspring.model import FlowRunFilter
from mainspring.store.sql import SqlStore

from .conftest import record_history, ui_client
from .test_pages import run_names, text_of

pytestmark = pytest.mark.postgres


def test_every_page_over_postgres(postgres_database: str, tmp_path: Path) -> None:
    record_history(tmp_path, postgres_database)
    store = SqlStore(postgres_database, end_dead_runs=False)
    try:
        flows = {f.name: f for f in store.read_flows()}
        failed = store.read_flow_runs(FlowRunFilter(states=["FAILED"]))
        with ui_client(store) as client:
            for path in ("/dashboard?window=1h", "/dashboard?window=30d", "/flows", "/settings"):
                assert client.get(path).status_code == 200, path
            dashboard = text_of(client.get("/dashboard").text)
            assert all(r.name in dashboard for r in failed)
            assert set(run_names(client.get("/runs?state=FAILED").text)) == {r.name for r in failed}
            assert len(run_names(client.get("/runs?q=NIGHTLY").text)) == 1
            weather = client.get(f"/flows/flow/{flows['weather'].id}")
            assert "100.0%" in text_of(weather.text)
    finally:
        store.close()
