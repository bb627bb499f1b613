"""The docker work pool for real: a worker of a `docker` pool runs each flow run in a container
of a locally built image (`--network none`), streams its output, maps exits to states (out of
memory -> Crashed with that reason), stops the container on cancel, and refuses bad job
variables with a clear message; while a run's image is pulled (slowly: slow_registry.py) the
worker's loop goes on. Skipped where no Docker engine runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mainspring.deploy.loop import RunLoop
from mainspring.deploy.workers.docker import DockerRunner
from mainspring.model.deployments import Deployment, WorkPool
from mainspring.model.states import Cancelling
from mainspring.settings import get_settings
from mainspring.store.sql import SqlStore

from .docker_support import docker_client, job_env, mounts, remove_test_containers, runtime_image
from .slow_registry import slow_registry
from .workers import wait_until

pytestmark = pytest.mark.slow

FLOWS = textwrap.dedent(
    """
    import os, time
    from mainspring import flow, get_run_logger

    @flow(log_prints=True)
    def hello(who: str = "world") -> str:
        print(f"hello {who} from {os.environ.get('GREETING_FROM')}")
        return who

    @flow
    def hog() -> None:
        block = []
        for _ in range(64):
            block.append(bytearray(16 * 1024 * 1024))  # 1 GiB in all, far past the limit

    @flow
    def sleeper() -> None:
        get_run_logger().info("going to sleep")
        time.sleep(300)
    """
)


@pytest.fixture(scope="module")
def image() -> str:
    return runtime_image(docker_client())


@pytest.fixture
def setup(tmp_path: Path, image: str) -> Iterator[dict[str, Any]]:
    client = docker_client()
    home = tmp_path / "home"
    home.mkdir()
    flows = tmp_path / "flows.py"
    flows.write_text(FLOWS)
    store = SqlStore(f"sqlite:///{home / 'mainspring.db'}")
    store.create_work_pool(
        WorkPool(
            "dock",
            type="docker",
            base_job_template={
                "image": image,
                "network_mode": "none",
                "volumes": mounts(tmp_path),
                "env": job_env(),
            },
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
    env["MAINSPRING_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [job_env()["PYTHONPATH"], env.get("PYTHONPATH")])
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "mainspring.cli.main", "worker", "start", "--pool", "dock"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield {"store": store, "flows": flows, "env": env, "worker": worker, "client": client}
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
        store.close()
        remove_test_containers(client)


def _deploy(setup: dict[str, Any], flow: str, **job_variables: Any) -> str:
    deployment = setup["store"].upsert_deployment(
        Deployment(
            flow_name=flow,
            name="in-docker",
            entrypoint=f"{setup['flows']}:{flow}",
            work_pool_name="dock",
            job_variables=job_variables,
        )
    )
    return setup["store"].create_deployment_run(deployment.id).run.id


def _wait(store: SqlStore, run_id: str, final: bool = True, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = store.read_flow_run(run_id)
        if run.state.is_final() if final else run.state.is_running():
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} is still {run.state.name}")


def _wait_until_gone(client: Any, run_id: str, every: bool, timeout: float = 60) -> None:
    """Until no container of the run is listed (`every`: stopped ones too). A container the
    worker removes while Docker lists it answers 404: listed again."""
    import docker.errors

    labelled = {"label": f"io.mainspring.flow-run-id={run_id}"}
    deadline = time.monotonic() + timeout
    while True:
        try:
            if not client.containers.list(all=every, filters=labelled):
                return
        except docker.errors.NotFound:
            pass
        assert time.monotonic() < deadline, f"a container of run {run_id} is still there"
        time.sleep(0.2)


def test_a_run_completes_in_a_container_with_no_network(setup):
    run_id = _deploy(setup, "hello", env={"GREETING_FROM": "the-container"})
    run = _wait(setup["store"], run_id)
    assert run.state.is_completed(), run.state
    logs = [log.message for log in setup["store"].read_logs(run_id)]
    assert any("hello world from the-container" in m for m in logs), logs
    assert run.host != os.uname().nodename  # it ran in the container, not here
    # the worker removes it once it has seen the exit
    _wait_until_gone(setup["client"], run_id, every=True)
    worker = setup["worker"]
    worker.send_signal(signal.SIGTERM)
    out, _ = worker.communicate(timeout=60)
    assert "hello world from the-container" in out  # the container's output, streamed


def test_out_of_memory_is_crashed_with_that_reason(setup):
    run_id = _deploy(setup, "hog", mem_limit="64m")
    run = _wait(setup["store"], run_id)
    assert run.state.name == "Crashed", run.state
    assert "out of memory" in run.state.message and "64m" in run.state.message


def test_cancelling_stops_the_container(setup):
    run_id = _deploy(setup, "sleeper")
    _wait(setup["store"], run_id, final=False)
    done = subprocess.run(
        [sys.executable, "-m", "mainspring.cli.main", "flow-run", "cancel", run_id],
        env=setup["env"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    run = _wait(setup["store"], run_id, timeout=90)
    assert run.state.name == "Cancelled", run.state
    _wait_until_gone(setup["client"], run_id, every=False)  # none of its containers runs


def test_a_missing_image_or_a_bad_job_variable_crashes_the_run_clearly(setup):
    missing = _deploy(setup, "hello", image="no-such-image:never")
    run = _wait(setup["store"], missing)
    assert run.state.name == "Crashed" and "no image 'no-such-image:never'" in run.state.message
    setup["store"].upsert_deployment(
        Deployment(
            flow_name="hello",
            name="typo",
            entrypoint=f"{setup['flows']}:hello",
            work_pool_name="dock",
            job_variables={"memory": "1g"},
        )
    )
    typo = (
        setup["store"]
        .create_deployment_run(setup["store"].find_deployment("hello", "typo").id)
        .run.id
    )
    run = _wait(setup["store"], typo)
    assert run.state.name == "Crashed" and "'memory' not known to a docker work pool" in (
        run.state.message
    )


def test_the_cli_refuses_bad_job_variables_before_registering(tmp_path, image):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
    env["MAINSPRING_HOME"] = str(tmp_path)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mainspring.cli.main", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    bad = cli("work-pool", "create", "d", "--type", "docker", "-j", "cpus=-1")
    assert bad.returncode == 1 and "cpus must be a positive number" in bad.stderr
    good = cli("work-pool", "create", "d", "--type", "docker", "--image", image)
    assert good.returncode == 0, good.stderr
    shown = json.loads(cli("work-pool", "inspect", "d", "--json").stdout)
    assert shown["base_job_template"] == {"image": image}


def test_the_dockerfile_template_and_a_build(tmp_path, image):
    from mainspring import __version__

    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
    env["MAINSPRING_HOME"] = str(tmp_path / "home")
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.txt").write_text("pandas>=2\n")
    (project / "flows.py").write_text(FLOWS)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mainspring.cli.main", *args],
            env=env,
            cwd=project,
            capture_output=True,
            text=True,
            timeout=300,
        )

    assert cli("docker", "dockerfile").returncode == 0
    text = (project / "Dockerfile").read_text()
    assert "RUN pip install -r requirements.txt" in text
    assert f'"mainspring[docker]=={__version__}"' in text
    assert text.index("requirements.txt") < text.index("COPY . /opt/project")
    again = cli("docker", "dockerfile")
    assert again.returncode == 1 and "--force" in again.stderr

    # No registry here, so the build starts from the local test image (no RUN: it has no
    # shell): what is checked is the build through the SDK and its errors.
    (project / "Dockerfile").write_text(
        f"FROM {image}\nWORKDIR /opt/project\nCOPY . /opt/project\n"
    )
    built = cli("docker", "build", "mainspring-test-project:1")
    assert built.returncode == 0, built.stderr
    assert "Built mainspring-test-project:1" in built.stdout
    client = docker_client()
    out = client.containers.run(
        "mainspring-test-project:1",
        ["python", "-c", "import os; print(sorted(os.listdir('.')))"],
        environment=job_env(),
        volumes=mounts(),
        network_mode="none",
        remove=True,
    )
    assert "flows.py" in out.decode()
    client.images.remove("mainspring-test-project:1", force=True)
    (project / "Dockerfile").write_text(f"FROM {image}\nCOPY no-such-file /x\n")
    failed = cli("docker", "build", "x:1")
    assert failed.returncode == 1 and "no-such-file" in failed.stderr
    assert "Traceback" not in failed.stderr
    (project / "Dockerfile").unlink()
    missing = cli("docker", "build", "x:1")
    assert missing.returncode == 1 and "mainspring docker dockerfile" in missing.stderr


SLOW_START_FLOWS = textwrap.dedent(
    """
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
)


def test_the_loop_heartbeats_and_ends_other_runs_while_an_image_is_pulled(tmp_path, image):
    """The pull (from a registry on loopback whose layer download is held until the test lets
    it go) runs off the loop: meanwhile the worker heartbeats (its claims are not released as
    stale), another run's exit is accounted for and a third run's cancel carried out (their
    containers removed); the pulled run waits Pending, holding its slot, then runs. On a runner
    that pulls inside `start` the loop is stuck in the pull and none of it happens."""
    client = docker_client()
    flows = tmp_path / "slow_start_flows.py"
    flows.write_text(SLOW_START_FLOWS)
    store = SqlStore(get_settings().effective_database_url)
    template = {
        "image": image,
        "network_mode": "none",
        "volumes": mounts(tmp_path, get_settings().home),
        "env": job_env(),
    }
    store.create_work_pool(WorkPool("dock", type="docker", base_job_template=template))

    def deploy(flow: str, **job_variables: Any) -> str:
        return store.upsert_deployment(
            Deployment(
                flow_name=flow,
                name=f"{flow}-in-docker",
                entrypoint=f"{flows}:{flow}",
                work_pool_name="dock",
                job_variables=job_variables,
            )
        ).id

    runner = DockerRunner(store, store.read_work_pool("dock"), limit=3, cancel_grace=2)
    loop = RunLoop(store, "dock", runner, worker_name="docker-worker", poll_interval=0.2)
    looping = threading.Thread(target=loop.run, name="worker-loop", daemon=True)
    with slow_registry(client, image) as registry:
        try:
            looping.start()
            told = tmp_path / "go-on"
            waiting = deploy("until_told")
            first = store.create_deployment_run(waiting, {"path": str(told)}).run.id
            cancelled = store.create_deployment_run(waiting, {"path": str(tmp_path / "no")}).run.id
            for run_id in (first, cancelled):
                _wait(store, run_id, final=False)
            second = store.create_deployment_run(deploy("hello", image=registry.image)).run.id
            assert registry.pulling.wait(60), "the worker never pulled the image"
            pull_began = time.time()
            told.write_text("")  # the first run's flow returns; its container exits
            store.set_state(cancelled, Cancelling())  # as `flow-run cancel` does

            # the loop, not stuck in the pull, accounts for the first runs' ends ...
            assert _wait(store, first).state.name == "Completed"
            assert _wait(store, cancelled).state.name == "Cancelled"
            _wait_until_gone(client, first, every=True)
            _wait_until_gone(client, cancelled, every=True)
            # ... and heartbeats
            wait_until(
                lambda: store.read_workers("dock")[0].last_heartbeat > pull_began,
                what="a worker heartbeat while the image is pulled",
            )
            _wait_until_gone(client, second, every=True, timeout=0)  # not made yet
            assert store.read_flow_run(second).state.name == "Pending"  # claimed, starting
            assert second in runner.starting and not runner.children
            assert runner.free_slots == 2  # of the limit of 3: a starting run holds its slot

            registry.release()
            run = _wait(store, second)
            assert run.state.is_completed(), run.state
        finally:
            loop.stop()
            registry.release()
            looping.join(120)
            runner.stop(cancel=True, timeout=60)
            store.close()
            remove_test_containers(client)
