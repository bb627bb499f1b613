"""The runs list's deployment filter: a text field taking an id, a 'flow/name' or part of one
(without JavaScript), with suggestions from `/runs/deployment-options` (htmx); the page no
longer lists every deployment."""

from __future__ import annotations

from pathlib import Path

from mainspring.model import FlowRunFilter
from mainspring.model.deployments import Deployment, WorkPool
from mainspring.server.ui.deployment_picker import MATCHED
from mainspring.store.sql import SqlStore

from .conftest import ui_client
from .history import HOSTILE
from .test_pages import run_names, text_of


def test_a_deployment_is_picked_by_id_name_or_part_of_it(client, history_store) -> None:
    deployment = history_store.find_deployment("weather", "nightly")
    expected = {
        r.name for r in history_store.read_flow_runs(FlowRunFilter(deployment_ids=[deployment.id]))
    }
    assert expected
    for value in (deployment.id, "weather/nightly", "WEATHER/NIGHTLY", "nightl"):
        page = client.get("/runs", params={"deployment": value})
        assert page.status_code == 200
        assert set(run_names(page.text)) == expected, value
    by_id = client.get("/runs", params={"deployment": deployment.id}).text
    assert 'name="deployment" value="weather/nightly"' in by_id  # the field shows its name
    assert '<select name="deployment"' not in by_id
    assert '<option value="weather/nightly"></option>' in client.get("/runs").text


def test_a_deployment_nothing_matches_is_said_and_matches_no_run(client) -> None:
    page = client.get("/runs", params={"deployment": "no-such-thing"})
    assert page.status_code == 200
    assert "No deployment has the id 'no-such-thing' or a name containing it" in text_of(page.text)
    assert run_names(page.text) == []


def test_suggestions_follow_what_is_typed_and_are_escaped(client) -> None:
    found = client.get("/runs/deployment-options", params={"deployment": "NIGHT"})
    assert found.status_code == 200
    assert found.text.strip() == '<option value="weather/nightly"></option>'
    assert client.get("/runs/deployment-options", params={"deployment": "zzz"}).text.strip() == ""
    hostile = client.get("/runs", params={"deployment": HOSTILE})
    assert HOSTILE not in hostile.text  # shown escaped in the field and the notice
    too_long = client.get("/runs/deployment-options", params={"deployment": "x" * 300})
    assert too_long.status_code == 200 and too_long.text.strip() == ""


def test_many_deployments_are_not_listed_and_a_broad_part_is_cut_off(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'db.sqlite'}", end_dead_runs=False)
    try:
        store.create_work_pool(WorkPool("pool"))
        for i in range(MATCHED + 50):
            store.upsert_deployment(
                Deployment("etl", f"part-{i:03d}", entrypoint="f.py:etl", work_pool_name="pool")
            )
        with ui_client(store) as client:
            page = client.get("/runs")
            assert page.text.count('<option value="etl/part-') == 20  # suggestions only
            broad = text_of(client.get("/runs", params={"deployment": "part-"}).text)
            assert f"matches more than {MATCHED} deployments" in broad
            exact = text_of(client.get("/runs", params={"deployment": "etl/part-007"}).text)
            assert "matches more than" not in exact
    finally:
        store.close()
