"""Job variables per pool type: known names only, values of the right kind, the pool's
defaults under the deployment's (env merged by key)."""

from __future__ import annotations

import pytest

from mainspring.model.deployments import Deployment, WorkPool
from mainspring.model.job_variables import (
    check_job_variables,
    docker_job,
    kubernetes_job,
    merged_variables,
)


def test_a_process_pool_takes_none():
    with pytest.raises(ValueError, match="'image' not known to a process work pool"):
        check_job_variables("process", {"image": "x"})
    assert check_job_variables("process", {}) == {}


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"image": ""}, "image must be"),
        ({"env": {"A": ["list"]}}, "env must be"),
        ({"volumes": ["relative:path"]}, "volumes must be"),
        ({"volumes": "/a:/b"}, "volumes must be"),
        ({"mem_limit": "lots"}, "mem_limit must be"),
        ({"mem_limit": True}, "mem_limit must be"),
        ({"cpus": 0}, "cpus must be"),
        ({"cpus": float("nan")}, "cpus must be"),
        ({"auto_remove": "yes"}, "auto_remove must be"),
        ({"memory": "1g"}, "'memory' not known to a docker work pool"),
    ],
)
def test_docker_variables_are_checked(variables, message):
    with pytest.raises(ValueError, match=message):
        check_job_variables("docker", variables)


def test_the_deployments_values_win_and_env_merges():
    template = {"image": "base:1", "env": {"A": "1", "B": "2"}, "network_mode": "none"}
    variables = {"image": "mine:2", "env": {"B": "3"}, "mem_limit": "512m"}
    assert merged_variables(template, variables) == {
        "image": "mine:2",
        "env": {"A": "1", "B": "3"},
        "network_mode": "none",
        "mem_limit": "512m",
    }
    job = docker_job(template, variables)
    assert (job.image, job.env, job.mem_limit, job.auto_remove) == (
        "mine:2",
        {"A": "1", "B": "3"},
        "512m",
        True,
    )
    with pytest.raises(ValueError, match="needs an image"):
        docker_job({}, {"env": {}})


def test_pools_check_their_template_and_deployments_keep_theirs():
    with pytest.raises(ValueError, match="job template"):
        WorkPool("d", type="docker", base_job_template={"cpu": 1})
    assert WorkPool("d", type="docker", base_job_template={"image": "x"}).base_job_template == {
        "image": "x"
    }
    with pytest.raises(TypeError, match="job_variables must be a dict"):
        Deployment(flow_name="f", name="n", job_variables=["image"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"image": " "}, "image must be"),
        ({"namespace": "Data_Team"}, "namespace must be"),
        ({"service_account_name": "Flow Runner"}, "service_account_name must be"),
        ({"image_pull_policy": "always"}, "image_pull_policy must be Always or IfNotPresent"),
        ({"env": {"A=B": "x"}}, "env must be"),
        ({"env_from_secrets": {"KEY": "my-secret"}}, "env_from_secrets must be"),
        ({"env_from_secrets": {"KEY": {"secret": "s"}}}, "env_from_secrets must be"),
        ({"env_from_secrets": {"KEY": {"secret": "S!", "key": "k"}}}, "env_from_secrets must"),
        ({"cpu_limit": "two"}, "cpu_limit must be a Kubernetes quantity such as '500m'"),
        ({"memory_request": "1GB"}, "memory_request must be a Kubernetes quantity"),
        ({"memory_limit": -1}, "memory_limit must be"),
        ({"cpu_request": True}, "cpu_request must be"),
        ({"labels": {"team": "a b"}}, "labels must be"),
        ({"labels": {"-team": "a"}}, "labels must be"),
        ({"labels": {"team": "x" * 64}}, "labels must be"),
        ({"finished_job_ttl": -5}, "finished_job_ttl must be"),
        ({"finished_job_ttl": 1.5}, "finished_job_ttl must be"),
        ({"pod_watch_timeout_seconds": 0}, "pod_watch_timeout_seconds must be"),
        ({"job_manifest": []}, "job_manifest must be"),
        ({"job_manifest": {"kind": "Pod"}}, "job_manifest must be"),
        ({"job_manifest": {"spec": {"template": {"spec": {"containers": {}}}}}}, "containers"),
        ({"mem_limit": "1g"}, "'mem_limit' not known to a kubernetes work pool"),
    ],
)
def test_kubernetes_variables_are_checked(variables, message):
    with pytest.raises(ValueError, match=message):
        check_job_variables("kubernetes", variables)


def test_a_kubernetes_job_merges_the_pools_defaults_under_the_deployments():
    template = {
        "image": "base:1",
        "namespace": "flows",
        "labels": {"team": "data", "tier": "batch"},
        "env_from_secrets": {"DB": {"secret": "db", "key": "url"}},
        "job_manifest": {"spec": {"activeDeadlineSeconds": 60, "template": {"spec": {}}}},
    }
    variables = {
        "labels": {"tier": "urgent"},
        "env_from_secrets": {"TOKEN": {"secret": "api", "key": "token"}},
        "memory_limit": 536870912,
        "job_manifest": {"spec": {"template": {"spec": {"nodeSelector": {"gpu": "no"}}}}},
    }
    job = kubernetes_job(template, variables)
    assert (job.image, job.namespace, job.memory_limit) == ("base:1", "flows", "536870912")
    assert job.labels == {"team": "data", "tier": "urgent"}
    assert job.env_from_secrets == {"DB": ("db", "url"), "TOKEN": ("api", "token")}
    assert job.job_manifest == {
        "spec": {"activeDeadlineSeconds": 60, "template": {"spec": {"nodeSelector": {"gpu": "no"}}}}
    }
    assert (job.pod_watch_timeout_seconds, job.finished_job_ttl) == (300.0, None)
    with pytest.raises(ValueError, match="kubernetes work pool's run needs an image"):
        kubernetes_job({"namespace": "flows"}, {})
    pool = WorkPool("k", type="kubernetes", base_job_template={"image": "x", "namespace": "n"})
    assert pool.base_job_template == {"image": "x", "namespace": "n"}
    with pytest.raises(ValueError, match="'volumes' not known to a kubernetes work pool"):
        WorkPool("k", type="kubernetes", base_job_template={"volumes": ["/a:/b"]})
