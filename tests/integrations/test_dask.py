"""DaskTaskRunner on a real distributed.LocalCluster on loopback (2 worker processes), one
cluster for the module; the shared contract (contract.py) plus what is Dask's own."""

from __future__ import annotations

import os
import socket
import time

import pytest

from engine.support import only_flow_run, task_runs_by_name
from mainspring import flow, task
from mainspring.settings import reset_settings
from mainspring.store import get_store, reset_store
from mainspring.store.recorder import reset_recorder

from .contract import RemoteRunnerContract

distributed = pytest.importorskip("distributed", reason="needs mainspring[dask]")

from mainspring.integrations.dask import DaskTaskRunner, get_dask_client  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dask_cluster(worker_home):
    import dask

    # a worker dying fails its task at once rather than after three more workers die
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=2,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            memory_limit="512MiB",
        ) as cluster,
    ):
        os.environ["MAINSPRING_TEST_DASK_ADDRESS"] = cluster.scheduler_address
        yield cluster
        os.environ.pop("MAINSPRING_TEST_DASK_ADDRESS", None)


class TestDaskTaskRunner(RemoteRunnerContract):
    runner_import = "from mainspring.integrations.dask import DaskTaskRunner"
    runner_expression = 'DaskTaskRunner(address=os.environ["MAINSPRING_TEST_DASK_ADDRESS"])'

    @pytest.fixture
    def runner(self, dask_cluster):
        return DaskTaskRunner(address=dask_cluster.scheduler_address)

    def test_get_dask_client_inside_a_task_uses_the_same_cluster(self, runner, store):
        @task
        def total(n):
            with get_dask_client() as client:
                return client.submit(sum, list(range(n))).result(), client.scheduler.address

        @flow(name="nested", task_runner=runner)
        def nested():
            with get_dask_client() as client:
                flow_side = client.scheduler.address
            return total.submit(10).result(), flow_side

        (value, task_side), flow_side = nested()
        assert value == 45
        assert task_side == flow_side == runner.address

    def test_a_worker_dying_mid_task_fails_the_run_and_the_flow_goes_on(self, runner, store):
        @task
        def die():
            os._exit(1)  # the worker process is gone; its nanny starts another

        @task
        def fine():
            return "still here"

        @flow(name="dying", task_runner=runner)
        def dying():
            dead = die.submit()
            dead.wait()
            return dead.state.name, fine.submit(wait_for=[]).result()

        assert dying() == ("Failed", "still here")
        run = only_flow_run(store, "dying")
        message = task_runs_by_name(store, run.id)["die-0"].state.message
        assert "KilledWorker" in message, message

    def test_the_runner_closes_its_client_when_the_flow_run_ends(self, runner, store):
        seen = []

        @flow(name="closing", task_runner=runner)
        def closing():
            from mainspring.engine.context import flow_run_context

            own = flow_run_context.get().task_runner
            task(lambda: 1, name="one").submit().result()
            seen.append(own)

        closing()
        assert seen[0]._client is None
        assert only_flow_run(store, "closing").state.is_completed()


def test_a_temporary_cluster_is_started_and_closed_per_flow_run(store, worker_home):
    runner = DaskTaskRunner(
        cluster_kwargs={
            "n_workers": 1,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
            "memory_limit": "512MiB",
        }
    )
    clusters = []

    @task
    def pid():
        return os.getpid()

    @flow(name="temporary", task_runner=runner)
    def temporary():
        from mainspring.engine.context import flow_run_context

        own = flow_run_context.get().task_runner
        worker_pid = pid.submit().result()
        clusters.append(own._cluster)
        return worker_pid

    assert temporary() != os.getpid()
    assert clusters[0] is not None and clusters[0].status.name == "closed"


def test_bad_arguments_are_refused_when_the_runner_is_made():
    with pytest.raises(ValueError, match=r"either address= .* or cluster_class="):
        DaskTaskRunner(address="tcp://127.0.0.1:8786", cluster_kwargs={"n_workers": 1})
    with pytest.raises(TypeError, match="cluster_kwargs must be a dict"):
        DaskTaskRunner(cluster_kwargs=[("n_workers", 1)])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"'nowhere\.Cluster' cannot be imported"):
        DaskTaskRunner(cluster_class="nowhere.Cluster")
    with pytest.raises(ValueError, match=r"not a 'module\.Class' path"):
        DaskTaskRunner(cluster_class="LocalCluster")
    assert DaskTaskRunner(cluster_class="distributed.LocalCluster").cluster_class is (
        distributed.LocalCluster
    )


def test_a_scheduler_that_cannot_be_reached_fails_each_task_run_at_once(store):
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    runner = DaskTaskRunner(address=f"tcp://127.0.0.1:{port}", client_kwargs={"timeout": 2})

    @task
    def never(i):
        return i

    @flow(name="unreachable", task_runner=runner)
    def unreachable():
        futures = never.map(range(3))
        futures.wait()  # each run ends on its own; the first failure raised would cancel
        return futures.result()  # the others' runs not yet started (a race under load)

    started = time.monotonic()
    state = unreachable(return_state=True)
    assert state.is_failed()
    assert time.monotonic() - started < 20  # one connection attempt, not one per task run
    runs = task_runs_by_name(store, only_flow_run(store, "unreachable").id)
    assert sorted(runs) == ["never-0", "never-1", "never-2"]
    for run in runs.values():
        assert run.state.is_failed()
        assert "could not reach its cluster" in run.state.message, run.state.message


@pytest.mark.postgres
class TestDaskTaskRunnerOnPostgres:
    """What reaches the store (logs from workers, retries' states, resumed results) on
    PostgreSQL as well; the rest of the contract does not depend on the database."""

    runner_import = TestDaskTaskRunner.runner_import
    runner_expression = TestDaskTaskRunner.runner_expression

    @pytest.fixture
    def store(self, postgres_database, monkeypatch):
        monkeypatch.setenv("MAINSPRING_DATABASE_URL", postgres_database)
        reset_settings()
        reset_recorder()
        reset_store()
        return get_store()

    @pytest.fixture
    def runner(self, dask_cluster):
        return DaskTaskRunner(address=dask_cluster.scheduler_address)

    test_logs = RemoteRunnerContract.test_logs_and_prints_in_a_worker_are_stored_with_the_run
    test_retries = RemoteRunnerContract.test_retries_run_again_on_a_worker_until_it_succeeds
    test_resume = RemoteRunnerContract.test_a_failed_run_resumes_without_redoing_finished_tasks
