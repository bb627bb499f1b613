"""A docker worker's loop goes on while a run's image is being pulled: the pull (from a real
registry on loopback whose layer download is held until the test lets it go:
slow_registry.py) runs off the loop, so meanwhile the worker heartbeats (its claims are not
released as stale), another run's exit is accounted for and a third run's cancel is carried
out (their containers removed); the pulled run waits Pending and then runs. On a runner that
pulls inside `start`, the loop is stuck in the pull and none of it happens. Skipped where no
Docker engine runs."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from mainspring.deploy.loop import RunLoop
from mainspring.deploy.workers.docker import RUN_LABEL, DockerRunner
from mainspring.model.deployments import Deployment, WorkPool
from mainspring.model.states import Cancelling
from mainspring.settings import get_settings
from mainspring.store.sql import SqlStore

from .docker_support import docker_client, job_env, mounts, remove_test_containers, runtime_image
from .slow_registry import slow_registry
from .workers import wait_until

pytestmark = pytest.mark.slow

FLOWS = """
import os, time
from mainspring import flow

@flow
def until_told(path: str) -> None:
    while not os.path.exists(path):
        time.sleep(0.1)

@flow
def hello() -> str:
    return "hello"
"""


def _deploy(store: SqlStore, flows: Path, flow: str, **job_variables: Any) -> str:
    deployment = store.upsert_deployment(
        Deployment(
            flow_name=flow,
            name=f"{flow}-in-docker",
            entrypoint=f"{flows}:{flow}",
            work_pool_name="dock",
            job_variables=job_variables,
        )
    )
    return deployment.id


def _containers(client: Any, run_id: str) -> list[Any]:
    import docker.errors

    try:
        return client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={run_id}"})
    except docker.errors.NotFound:  # one removed while listed: it is going
        return [None]


def test_the_loop_heartbeats_and_ends_other_runs_while_an_image_is_pulled(tmp_path: Path):
    client = docker_client()
    image = runtime_image(client)
    home = get_settings().home
    flows = tmp_path / "flows.py"
    flows.write_text(FLOWS)
    store = SqlStore(get_settings().effective_database_url)
    store.create_work_pool(
        WorkPool(
            "dock",
            type="docker",
            base_job_template={
                "image": image,
                "network_mode": "none",
                "volumes": mounts(tmp_path, home),
                "env": job_env(),
            },
        )
    )
    runner = DockerRunner(store, store.read_work_pool("dock"), limit=3, cancel_grace=2)
    loop = RunLoop(store, "dock", runner, worker_name="docker-worker", poll_interval=0.2)
    looping = threading.Thread(target=loop.run, name="worker-loop", daemon=True)
    with slow_registry(client, image) as registry:
        try:
            looping.start()
            told = tmp_path / "go-on"
            waiting = _deploy(store, flows, "until_told")
            first = store.create_deployment_run(waiting, parameters={"path": str(told)}).run.id
            never = {"path": str(tmp_path / "never")}
            cancelled = store.create_deployment_run(waiting, parameters=never).run.id
            wait_until(
                lambda: all(store.read_flow_run(r).state.is_running() for r in (first, cancelled)),
                timeout=120,
                what="the first runs starting in their containers",
            )
            pulled = _deploy(store, flows, "hello", image=registry.image)
            second = store.create_deployment_run(pulled).run.id
            assert registry.pulling.wait(60), "the worker never pulled the image"
            pull_began = time.time()
            told.write_text("")  # the first run's flow returns; its container exits
            store.set_state(cancelled, Cancelling())  # as `flow-run cancel` does

            # the loop, not stuck in the pull, accounts for the first runs' ends ...
            def ended(run_id: str, state: str) -> bool:
                return store.read_flow_run(run_id).state.name == state and not _containers(
                    client, run_id
                )

            wait_until(
                lambda: ended(first, "Completed") and ended(cancelled, "Cancelled"),
                timeout=90,
                what="the first runs ended and their containers removed while the image is pulled",
            )
            # ... and heartbeats
            wait_until(
                lambda: store.read_workers("dock")[0].last_heartbeat > pull_began,
                timeout=60,
                what="a worker heartbeat while the image is pulled",
            )
            assert not _containers(client, second)
            assert store.read_flow_run(second).state.name == "Pending"  # claimed, starting
            assert second in runner.starting and not runner.children
            assert runner.free_slots == 2  # of the limit of 3: a starting run holds its slot

            registry.release()
            run = wait_until(
                lambda: (r := store.read_flow_run(second)).state.is_final() and r,
                timeout=120,
                what="the pulled run ending",
            )
            assert run.state.is_completed(), run.state
        finally:
            loop.stop()
            registry.release()
            looping.join(120)
            runner.stop(cancel=True, timeout=60)
            store.close()
            remove_test_containers(client)
