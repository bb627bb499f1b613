"""The kubernetes runner against recorded API responses: the real `kubernetes` client talks HTTP
to a loopback server (kubernetes_support.py) answering with the Job and pods a cluster returns
(Pending/Unschedulable, ContainerCreating, Running, Succeeded, OOMKilled, ImagePullBackOff...),
and the runs end in the states they should in a real SQLite store. Time is a test clock, so the
pod watch timeout and the cancel grace are exact. No cluster is involved (README)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mainspring.deploy.workers.kubernetes import KubernetesRunner
from mainspring.model.deployments import Deployment, WorkPool
from mainspring.model.states import Completed, Running, State
from mainspring.store.sql import SqlStore

from .kubernetes_support import FakeKubernetes, serve

pytest.importorskip("kubernetes", reason="the kubernetes extra is not installed")

TEMPLATE = {
    "image": "registry.example.com/flows:1.0",
    "namespace": "flows",
    "memory_limit": "256Mi",
    "pod_watch_timeout_seconds": 60,
}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    store = SqlStore(f"sqlite:///{tmp_path / 'mainspring.db'}")
    store.create_work_pool(WorkPool("k8s", type="kubernetes", base_job_template=TEMPLATE))
    yield store
    store.close()


def _run(store: SqlStore, **job_variables: Any) -> str:
    deployment = store.upsert_deployment(
        Deployment(
            flow_name="etl",
            name="on-k8s",
            entrypoint="flows.py:etl",
            work_pool_name="k8s",
            job_variables=job_variables,
        )
    )
    return store.create_deployment_run(deployment.id).run.id


def _runner(store: SqlStore, api_client: Any, clock: Clock) -> KubernetesRunner:
    pool = store.read_work_pool("k8s")
    return KubernetesRunner(
        store, pool, api_client=api_client, clock=clock, cancel_grace=10, watch_interval=0
    )


@dataclass
class Started:
    """A deployment run started by a runner against the fake API (`started`)."""

    store: SqlStore
    run_id: str
    fake: FakeKubernetes
    api: Any
    runner: KubernetesRunner
    clock: Clock

    def check_until_ended(self, turns: int = 10) -> list[str]:
        """Check once a second (of the test clock) until the run ends; the ended ids."""
        for _ in range(turns):
            ended = self.runner.check()
            if ended:
                return ended
            self.clock.now += 1
        raise AssertionError("the run never ended")

    def state(self) -> State:
        return self.store.read_flow_run(self.run_id).state


@contextmanager
def started(
    store: SqlStore,
    pods: list[str] | None = None,
    create: tuple[int, str] | None = None,
    **job_variables: Any,
) -> Iterator[Started]:
    """A run of the k8s pool with `job_variables`, started by a runner whose API answers with
    the `pods` (and `create`) fixtures, for the time the API is served."""
    run_id = _run(store, **job_variables)
    fake = FakeKubernetes(run_id=run_id)
    if pods is not None:
        fake.pods = pods
    if create is not None:
        fake.create = create
    clock = Clock()
    with serve(fake) as api:
        runner = _runner(store, api, clock)
        runner.start(run_id)
        yield Started(store, run_id, fake, api, runner, clock)


def test_a_run_becomes_a_job_whose_pod_finishing_leaves_the_flows_own_state(store):
    pods = [
        "pods-none.json",
        "pod-pending-container-creating.json",
        "pod-running.json",
        "pod-succeeded.json",
    ]
    with started(store, pods=pods, env={"GREETING": "hi"}) as k8s:
        run_id, fake, runner = k8s.run_id, k8s.fake, k8s.runner
        (create,) = fake.calls("POST", "/jobs")
        assert create.path == "/apis/batch/v1/namespaces/flows/jobs"
        body = create.body
        assert body["metadata"]["name"] == f"mainspring-{run_id}"
        assert body["metadata"]["labels"]["mainspring.io/flow-run-id"] == run_id
        container = body["spec"]["template"]["spec"]["containers"][0]
        assert container["command"][-3:] == ["flow-run", "execute", run_id]
        assert {"name": "GREETING", "value": "hi"} in container["env"]
        assert container["resources"] == {"limits": {"memory": "256Mi"}}
        for _ in range(3):  # no pod yet, ContainerCreating, Running: still going
            assert runner.check() == []
        store.set_state(run_id, Running())  # what the flow in the pod records
        store.set_state(run_id, Completed())
        assert runner.check() == [run_id]
    pod_lists = fake.calls("GET", "/pods")
    assert pod_lists[0].path == "/api/v1/namespaces/flows/pods"
    assert pod_lists[0].query["labelSelector"] == [f"mainspring.io/flow-run-id in ({run_id})"]
    assert store.read_flow_run(run_id).state.name == "Completed"
    assert not fake.calls("DELETE", run_id)  # a finished Job is left to finished_job_ttl
    assert runner.children == {}


def test_pods_are_read_once_a_watch_interval_in_one_call_per_namespace(store):
    first, second = _run(store), _run(store)
    fake = FakeKubernetes(pods=["pod-running.json"], run_id=first)
    clock = Clock()
    with serve(fake) as api:
        pool = store.read_work_pool("k8s")
        runner = KubernetesRunner(store, pool, api_client=api, clock=clock, watch_interval=5)
        runner.start(first)
        runner.start(second)
        assert runner.check() == []
        (listed,) = fake.calls("GET", "/pods")
        assert listed.query["labelSelector"] == [f"mainspring.io/flow-run-id in ({first},{second})"]
        clock.now += 4
        assert runner.check() == []
        assert len(fake.calls("GET", "/pods")) == 1
        clock.now += 1
        assert runner.check() == []
        assert len(fake.calls("GET", "/pods")) == 2
    # the second run has no pod yet: its Job was read to tell "not yet" from "deleted"
    assert fake.calls("GET", f"/jobs/mainspring-{second}")
    assert not fake.calls("GET", f"/jobs/mainspring-{first}")


def test_a_pod_that_exits_before_its_run_finished_crashes_it(store):
    with started(store, pods=["pod-running.json", "pod-succeeded.json"]) as k8s:
        store.set_state(k8s.run_id, Running())
        assert k8s.check_until_ended() == [k8s.run_id]
    state = k8s.state()
    assert state.name == "Crashed"
    assert state.message == "Its pod exited with code 0 before the run finished"


def test_out_of_memory_is_crashed_with_that_reason(store):
    with started(store, pods=["pod-running.json", "pod-failed-oomkilled.json"]) as k8s:
        store.set_state(k8s.run_id, Running())
        k8s.check_until_ended()
    state = k8s.state()
    assert state.name == "Crashed"
    assert state.message == (
        "Its pod ran out of memory (OOMKilled, exit code 137; memory limit '256Mi') "
        "before the run finished"
    )


def test_a_failing_exit_code_is_named(store):
    with started(store, pods=["pod-failed-exit-code.json"]) as k8s:
        k8s.check_until_ended()
    state = k8s.state()
    assert (state.name, state.message) == (
        "Crashed",
        "Its pod's container exited with code 1 before the run finished",
    )


def test_an_image_that_cannot_be_pulled_crashes_the_run_and_deletes_its_job(store):
    pods = ["pod-pending-container-creating.json", "pod-image-pull-backoff.json"]
    with started(store, pods=pods) as k8s:
        assert k8s.runner.check() == []
        assert k8s.runner.check() == [k8s.run_id]
    run_id, fake, state = k8s.run_id, k8s.fake, k8s.state()
    assert state.name == "Crashed"
    assert state.message.startswith(
        "Kubernetes could not pull its image 'registry.example.com/flows:1.0' "
        '(ImagePullBackOff: Back-off pulling image "registry.example.com/flows:1.0"'
    )
    (delete,) = fake.calls("DELETE", f"/jobs/mainspring-{run_id}")
    assert delete.path == f"/apis/batch/v1/namespaces/flows/jobs/mainspring-{run_id}"
    assert delete.query["propagationPolicy"] == ["Background"]


def test_a_missing_secret_crashes_the_run_with_kubernetes_message(store):
    secrets = {"MAINSPRING_API_KEY": {"secret": "mainspring", "key": "k"}}
    with started(store, pods=["pod-missing-secret.json"], env_from_secrets=secrets) as k8s:
        assert k8s.runner.check() == [k8s.run_id]
    state = k8s.state()
    assert (state.name, state.message) == (
        "Crashed",
        "Kubernetes could not create its container (CreateContainerConfigError: secret "
        '"mainspring" not found)',
    )
    assert k8s.fake.calls("DELETE", f"mainspring-{k8s.run_id}")


def test_a_pod_no_node_takes_is_crashed_with_the_schedulers_reason_after_the_timeout(store):
    with started(store, pods=["pod-pending-unschedulable.json"]) as k8s:
        run_id, fake, runner, clock = k8s.run_id, k8s.fake, k8s.runner, k8s.clock
        clock.now += 59
        assert runner.check() == []  # within pod_watch_timeout_seconds (60): it may yet
        assert not fake.calls("DELETE", run_id)
        clock.now += 1
        assert runner.check() == [run_id]
    state = k8s.state()
    assert state.name == "Crashed"
    assert state.message == (
        "Its pod could not be scheduled within 60 s (Unschedulable: 0/3 nodes are available: "
        "3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims "
        "found for incoming pod.)"
    )
    assert fake.calls("DELETE", f"mainspring-{run_id}")


def test_a_job_that_never_gets_a_pod_times_out(store):
    with started(store, pods=["pods-none.json"], pod_watch_timeout_seconds=5) as k8s:
        assert k8s.runner.check() == []
        k8s.clock.now += 5
        assert k8s.runner.check() == [k8s.run_id]
    state = k8s.state()
    assert (state.name, state.message) == (
        "Crashed",
        "No pod was created for its Job within 5 s",
    )


def test_a_job_the_api_refuses_crashes_the_run_with_the_servers_message(store):
    with started(store, create=(422, "job-invalid.json"), cpu_request="2", cpu_limit="1") as k8s:
        pass
    assert k8s.runner.children == {}
    state = k8s.state()
    assert state.name == "Crashed"
    assert state.message == (
        f'Kubernetes refused its Job: Job.batch "mainspring-{k8s.run_id}" is invalid: '
        'spec.template.spec.containers[0].resources.requests: Invalid value: "2": '
        "must be less than or equal to cpu limit of 1"
    )


def test_a_job_made_before_is_watched_not_made_again(store):
    with started(store, create=(409, "job-invalid.json")) as k8s:
        pass
    assert list(k8s.runner.children) == [k8s.run_id]
    assert k8s.state().name == "Scheduled"


def test_cancel_marks_cancelling_then_deletes_the_job_after_the_grace(store):
    with started(store, pods=["pod-running.json"]) as k8s:
        run_id, fake, runner, clock = k8s.run_id, k8s.fake, k8s.runner, k8s.clock
        store.set_state(run_id, Running())
        runner.cancel(run_id)
        assert store.read_flow_run(run_id).state.name == "Cancelling"
        clock.now += 9
        assert runner.check() == []
        assert not fake.calls("DELETE", run_id)  # the flow may yet stop itself
        clock.now += 1
        assert runner.check() == []
        (delete,) = fake.calls("DELETE", f"mainspring-{run_id}")
        assert delete.query["propagationPolicy"] == ["Background"]
        assert runner.check() == [run_id]  # pod and Job gone
    state = k8s.state()
    assert (state.name, state.message) == ("Cancelled", "Cancelled: its Job was deleted")


def test_a_job_deleted_behind_the_workers_back_crashes_its_run(store):
    with started(store, pods=["pod-running.json"]) as k8s:
        store.set_state(k8s.run_id, Running())
        assert k8s.runner.check() == []
        k8s.fake.deleted = True  # kubectl delete job ...
        assert k8s.runner.check() == [k8s.run_id]
    state = k8s.state()
    assert (state.name, state.message) == (
        "Crashed",
        "Its Job was deleted before the run ended",
    )


def test_bad_job_variables_crash_the_run_before_any_api_call(store):
    with started(store, memory="1Gi") as k8s:
        pass
    assert k8s.fake.requests == []
    state = k8s.state()
    assert state.name == "Crashed"
    assert "'memory' not known to a kubernetes work pool" in state.message


def test_an_unreachable_api_is_asked_again_not_taken_for_a_crash(store):
    with started(store, pods=["pod-running.json"]) as k8s:
        pass
    # the server is gone now: the check fails to connect and keeps the run
    k8s.api.configuration.retries = 0
    assert k8s.runner.check() == []
    assert list(k8s.runner.children) == [k8s.run_id]
    assert k8s.state().name == "Scheduled"


def test_an_evicted_pod_is_crashed_with_the_kubelets_reason(store):
    with started(store, pods=["pod-running.json", "pod-failed-evicted.json"]) as k8s:
        store.set_state(k8s.run_id, Running())
        k8s.check_until_ended()
    state = k8s.state()
    assert state.name == "Crashed"
    assert state.message == (
        "Its pod failed before the run finished (Evicted: The node was low on resource: "
        "memory. Threshold quantity: 100Mi, available: 91232Ki. Container flow was using "
        "1203456Ki, request is 256Mi, has larger consumption of memory.)"
    )


def test_the_cli_makes_kubernetes_pools_and_refuses_bad_job_variables(tmp_path):
    from tests.cli.deploy_cli import cli, cli_json

    secret = '{"MAINSPRING_API_KEY": {"secret": "mainspring", "key": "api-key"}}'
    made = cli(
        "work-pool", "create", "k8s", "--type", "kubernetes", "--image", "reg/flows:1",
        "-j", "namespace=flows", "-j", f"env_from_secrets={secret}", home=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    shown = cli_json("work-pool", "inspect", "k8s", home=tmp_path)
    assert (shown["type"], shown["base_job_template"]) == (
        "kubernetes",
        {
            "image": "reg/flows:1",
            "namespace": "flows",
            "env_from_secrets": {"MAINSPRING_API_KEY": {"secret": "mainspring", "key": "api-key"}},
        },
    )
    bad = cli("work-pool", "create", "k2", "--type", "kubernetes", "-j", "cpu_limit=lots",
              home=tmp_path)  # fmt: skip
    assert bad.returncode == 1
    assert "cpu_limit must be a Kubernetes quantity such as '500m' or 1" in bad.stderr


def test_a_worker_with_no_cluster_to_reach_says_so_at_start(tmp_path, monkeypatch):
    from tests.cli.deploy_cli import cli

    assert cli("work-pool", "create", "k8s", "--type", "kubernetes", home=tmp_path).returncode == 0
    user = tmp_path / "user"  # no ~/.kube/config there, KUBECONFIG pointing nowhere
    user.mkdir()
    monkeypatch.setenv("HOME", str(user))
    monkeypatch.setenv("KUBECONFIG", str(user / "missing"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    done = cli("worker", "start", "--pool", "k8s", home=tmp_path)
    assert done.returncode == 1
    assert "a kubernetes work pool's worker needs a cluster" in done.stderr
    assert "Traceback" not in done.stderr
