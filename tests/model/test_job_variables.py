"""Job variables per pool type: known names only, values of the right kind, the pool's
defaults under the deployment's (env merged by key)."""

from __future__ import annotations

import pytest

from mainspring.model.deployments import Deployment, WorkPool
from mainspring.model.job_variables import check_job_variables, docker_job, merged_variables


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
