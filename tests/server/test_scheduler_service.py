"""The server's scheduler service: started by the app's lifespan, it creates deployments' runs
ahead of time; `server_scheduler = false` turns it off."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from mainspring.model.deployments import Deployment
from mainspring.model.schedules import Interval
from mainspring.server.app import create_app
from mainspring.settings import Settings
from mainspring.store.sql import SqlStore


def _deployment(store: SqlStore) -> Deployment:
    return store.upsert_deployment(
        Deployment(
            flow_name="etl", name="minutely", entrypoint="etl.py:etl", schedules=[Interval(60)]
        )
    )


def test_the_server_schedules_deployments_runs(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        deployment = _deployment(store)
        app = create_app(store, Settings(server_scheduler_interval=0.2))
        with TestClient(app):
            deadline = time.time() + 20
            while time.time() < deadline and not store.read_deployment_runs(deployment.id):
                time.sleep(0.05)
        runs = store.read_deployment_runs(deployment.id)
        assert len(runs) >= 5 and {r.run.state.name for r in runs} == {"Scheduled"}
        assert not app.state.scheduler._thread.is_alive()  # stopped with the app
    finally:
        store.close()


def test_the_scheduler_can_be_turned_off(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        deployment = _deployment(store)
        app = create_app(store, Settings(server_scheduler=False))
        with TestClient(app):
            time.sleep(0.5)
        assert app.state.scheduler is None
        assert store.read_deployment_runs(deployment.id) == []
    finally:
        store.close()


def test_a_backlog_is_worked_off_in_ticks_that_follow_at_once(tmp_path: Path) -> None:
    """250 new deployments (more than a tick plans) are all planned long before the service's
    interval (an hour here) would have let a second tick run."""
    from mainspring.server.services.scheduler import SchedulerService

    store = SqlStore(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        for i in range(250):
            store.upsert_deployment(
                Deployment(flow_name="etl", name=f"d{i}", schedules=[Interval(60)])
            )
        service = SchedulerService(store, interval=3600)
        service.start()
        deadline = time.time() + 120
        while time.time() < deadline and store.read_deployments_to_schedule(time.time() + 60):
            time.sleep(0.1)
        service.stop()
        assert store.read_deployments_to_schedule(time.time() + 60) == []
        assert service.last is not None and not service.last.more
    finally:
        store.close()
