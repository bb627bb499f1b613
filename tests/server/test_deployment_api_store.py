"""DeploymentStore through ApiStore against a real server process (SQLite and PostgreSQL):
the contract SqlStore passes (store/deployment_contract.py), the long-poll claim, concurrent
claimers over HTTP, and what only the HTTP path has (server-only methods, hostile input)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from mainspring.exceptions import NeedsDatabase, ObjectNotFound
from mainspring.model.deployments import WorkPool
from mainspring.model.schedules import Plan
from mainspring.store.http import ApiStore
from mainspring.store.http.deployments import ArgumentRefused
from mainspring.store.sql import SqlStore
from store.deployment_contract import *  # noqa: F403  (tests/store: the contract's tests, run here)
from store.deployment_contract import check_pausing_ends_claimed_runs_not_started, register

from .conftest import Server


@pytest.fixture
def deployments(api_store: ApiStore) -> ApiStore:
    return api_store


def test_a_waiting_claim_hears_of_a_new_run_at_once(deployments: ApiStore) -> None:
    deployments.create_work_pool(WorkPool("pool"))
    made = register(deployments)
    got: list[tuple[float, list]] = []

    def worker() -> None:
        runs = deployments.claim_runs("pool", None, "w1", 1, wait=20)
        got.append((time.monotonic(), runs))

    waiting = threading.Thread(target=worker)
    waiting.start()
    time.sleep(1.0)  # the claim is waiting at the server
    assert not got
    asked_at = time.monotonic()
    run = deployments.create_deployment_run(made.id)
    waiting.join(timeout=25)
    answered_at, runs = got[0]
    assert [r.run.id for r in runs] == [run.run.id]
    assert answered_at - asked_at < 1.0  # ~ms in practice; generous for a loaded machine


def test_a_waiting_claim_returns_empty_when_the_wait_runs_out(deployments: ApiStore) -> None:
    deployments.create_work_pool(WorkPool("pool"))
    started = time.monotonic()
    assert deployments.claim_runs("pool", None, "w1", 1, wait=0.6) == []
    assert 0.55 <= time.monotonic() - started < 10


def test_three_waiting_claimers_take_each_run_once(deployments: ApiStore) -> None:
    deployments.create_work_pool(WorkPool("pool"))
    made = register(deployments)
    taken: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def claimer(name: str) -> None:
        store = ApiStore(deployments.url, api_key="")
        try:
            while not stop.is_set():
                runs = store.claim_runs("pool", None, name, 1, wait=1)
                with lock:
                    taken.extend(r.run.id for r in runs)
        finally:
            store.close()

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    asked = [deployments.create_deployment_run(made.id).run.id for _ in range(15)]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with lock:
            if len(taken) >= len(asked):
                break
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert sorted(taken) == sorted(asked)


def test_the_servers_own_services_need_the_database(deployments: ApiStore) -> None:
    made = register(deployments)
    with pytest.raises(NeedsDatabase, match="claim"):
        deployments.release_stale_claims(time.time())
    with pytest.raises(NeedsDatabase, match="scheduler"):
        deployments.schedule_runs(made.id, Plan((), time.time()))
    with pytest.raises(NeedsDatabase, match="long poll"):
        deployments.next_run_due("pool")


def test_pool_names_with_a_slash_travel(deployments: ApiStore) -> None:
    deployments.create_work_pool(WorkPool("team/a"))
    assert deployments.read_work_pool("team/a").name == "team/a"
    assert [q.name for q in deployments.read_work_queues("team/a")] == ["default"]
    assert deployments.worker_heartbeat("team/a", "w/1").name == "w/1"
    assert deployments.claim_runs("team/a", None, "w/1", 1) == []


def test_refusals_name_what_is_wrong(deployments: ApiStore) -> None:
    made = register(deployments)
    with pytest.raises(ArgumentRefused, match=r"parameters\.limit"):
        deployments.create_deployment_run(made.id, {"limit": "ten"})
    with pytest.raises(ObjectNotFound, match="ghost"):
        deployments.claim_runs("ghost", None, "w", 1)
    assert deployments.read_deployment_runs("not an id") == []
    assert deployments.read_deployment_runs(made.id, ["NoSuchState"]) == []


def test_hostile_requests_get_4xx(database_server: Server) -> None:
    with database_server.client() as http:
        bad_cron = {"flow_name": "f", "name": "d", "schedules": [{"kind": "cron", "cron": "x"}]}
        answer = http.post("/deployments", json=bad_cron)
        assert answer.status_code == 422 and "schedules" in answer.text and "cron" in answer.text
        bad_zone = {"kind": "cron", "cron": "0 3 * * *", "timezone": "Mars/Olympus"}
        answer = http.post(
            "/deployments", json={"flow_name": "f", "name": "d", "schedules": [bad_zone]}
        )
        assert answer.status_code == 422 and "Mars/Olympus" in answer.text
        answer = http.post("/deployments", json={"flow_name": "f", "name": "a/b"})
        assert answer.status_code == 422 and '"loc":["body","name"]' in answer.text
        answer = http.post("/deployments", json={"flow_name": "f\x00", "name": "d"})
        assert answer.status_code == 422
        assert http.post("/work_pools", json={"name": "p", "type": "bogus"}).status_code == 422
        assert http.post("/work_pools", json={"name": "p"}).status_code == 201
        answer = http.post("/work_pools", json={"name": "p"})
        assert answer.status_code == 409 and "'p'" in answer.text
        answer = http.post("/work_pools/p/claim", json={"worker": "w", "wait": 3600})
        assert answer.status_code == 422 and "wait" in answer.text
        answer = http.post("/work_pools/p/claim", json={"worker": "w", "limit": -1})
        assert answer.status_code == 422
        answer = http.post("/work_pools/nope/claim", json={"worker": "w"})
        assert answer.status_code == 404 and "nope" in answer.text
        answer = http.get("/deployments/01a24b63-0581-7d83-ad27-8f26ce9a5bee")
        assert answer.status_code == 404 and "01a24b63" in answer.text
        answer = http.post("/deployments/01a24b63-0581-7d83-ad27-8f26ce9a5bee/runs", json={})
        assert answer.status_code == 404
        answer = http.post("/work_pools/p/queues", json={"name": "default"})
        assert answer.status_code == 409


@pytest.mark.parametrize("by_registering", [False, True])
def test_pausing_through_the_server_ends_the_claimed_runs_not_started(
    deployments: ApiStore, database_server: Server, by_registering: bool
) -> None:
    """The pause travels to the server; the schedules' run is made in its database directly
    (ApiStore may not schedule runs)."""
    env = database_server.env
    url = env.get("MAINSPRING_DATABASE_URL") or (
        f"sqlite:///{Path(env['MAINSPRING_HOME']) / 'mainspring.db'}"
    )
    scheduler = SqlStore(url)
    try:
        check_pausing_ends_claimed_runs_not_started(
            deployments, scheduler, by_registering=by_registering
        )
    finally:
        scheduler.close()
