"""The deployments and work pools pages over PostgreSQL: list, a deployment's page, a Run from
its form (good and bad values), Pause, a pool's page."""

from __future__ import annotations

import pytest

from mainspring.model.deployments import WorkPool
from mainspring.store.sql import SqlStore

from .conftest import ui_client
from .test_deployments import make_deployment, page_of
from .test_pages import text_of

pytestmark = pytest.mark.postgres


def test_deployments_and_pools_over_postgres(postgres_database: str) -> None:
    store = SqlStore(postgres_database, end_dead_runs=False)
    try:
        store.create_work_pool(WorkPool("local-pool"))
        store.worker_heartbeat("local-pool", "w1")
        deployment = make_deployment(store)
        with ui_client(store) as client:
            assert "by-hand" in text_of(client.get("/deployments").text)
            assert client.get(page_of(deployment)).status_code == 200
            token = client.cookies.get("ms_csrf")
            bad = client.post(
                f"{page_of(deployment)}/run", data={"csrf_token": token, "param.n": "x"}
            )
            assert bad.status_code == 400 and "not a whole number" in bad.text
            good = client.post(
                f"{page_of(deployment)}/run",
                data={"csrf_token": token, "param.n": "3", "param.cities": '["a"]'},
                follow_redirects=False,
            )
            assert good.status_code == 303
            (made,) = store.read_deployment_runs(deployment.id)
            assert made.run.parameters["n"] == 3 and made.run.parameters["cities"] == ["a"]
            pool = text_of(client.get("/work-pools/work-pool/local-pool").text)
            assert "1 of 1 online" in pool and made.run.name in pool
            assert "1 of 1" in text_of(client.get("/work-pools").text)
            paused = client.post(f"{page_of(deployment)}/pause", data={"csrf_token": token})
            assert paused.status_code == 200 and store.read_deployment(deployment.id).paused
    finally:
        store.close()
