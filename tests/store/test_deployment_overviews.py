"""DeploymentOverviews: the deployments a page names (by id, by pool, by a search) and counts
per flow and per pool, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from mainspring.model import State, StateType
from mainspring.model.deployments import Deployment, WorkPool
from mainspring.store.sql import SqlStore

from .conftest import T0


@pytest.fixture
def deployed(store: SqlStore) -> list[Deployment]:
    for pool in ("east", "west"):
        store.create_work_pool(WorkPool(pool))
    specs = [("etl", "daily", "east"), ("etl", "hourly", "west"), ("report", "50%_off", "east")]
    specs.append(("report", "adhoc", None))
    return [
        store.upsert_deployment(Deployment(flow, name, entrypoint="f.py:f", work_pool_name=pool))
        for flow, name, pool in specs
    ]


def test_deployments_by_id_leave_unknown_ids_out(store, deployed) -> None:
    wanted = [deployed[2].id, "no-such-id", deployed[0].id, deployed[0].id]
    found = store.read_deployments_by_id(wanted)
    assert set(found) == {deployed[0].id, deployed[2].id}
    assert found[deployed[2].id].name == "50%_off"
    assert store.read_deployments_by_id([]) == {}


def test_a_pools_deployments_and_the_counts(store, deployed) -> None:
    assert [d.name for d in store.read_pool_deployments("east")] == ["daily", "50%_off"]
    assert store.read_pool_deployments("nowhere") == []
    assert store.count_deployments_by_flow() == {"etl": 2, "report": 2}
    assert store.count_deployments_by_pool() == {"east": 2, "west": 1}


def test_search_matches_flow_slash_name_without_wildcards(store, deployed) -> None:
    assert [d.name for d in store.find_deployments("ETL/", 10)] == ["daily", "hourly"]
    assert [d.name for d in store.find_deployments("l/h", 10)] == ["hourly"]
    assert [d.name for d in store.find_deployments("%", 10)] == ["50%_off"]  # literal %
    assert [d.name for d in store.find_deployments("_", 10)] == ["50%_off"]  # literal _
    assert len(store.find_deployments("", 3)) == 3


def test_pool_run_counts_by_state_type(store, deployed) -> None:
    daily, hourly = deployed[0], deployed[1]
    for i in range(3):
        store.create_deployment_run(daily.id, now=T0 + i)
    store.create_deployment_run(hourly.id, now=T0)
    [claimed] = store.claim_runs("east", None, "w", 1, now=T0 + 10)
    store.set_state(claimed.run.id, State(StateType.RUNNING))
    assert store.count_pool_runs(["SCHEDULED", "PENDING"]) == {"east": 2, "west": 1}
    assert store.count_pool_runs(["RUNNING", "CANCELLING"]) == {"east": 1}
    assert store.count_pool_runs(["COMPLETED"]) == {}


def test_a_page_of_deployments_in_the_lists_order(store, deployed) -> None:
    everything = [d.id for d in store.read_deployments()]
    assert store.read_deployments_page(0, 2)[0] == 4
    pages = [store.read_deployments_page(offset, 2)[1] for offset in (0, 2, 4)]
    assert [d.id for page in pages for d in page] == everything
    with pytest.raises(ValueError):
        store.read_deployments_page(-1, 2)
