"""RayTaskRunner on a real local Ray instance (ray.init(num_cpus=2) on loopback), one for the
module; the shared contract (contract.py). Skipped, saying why, where Ray cannot start."""

from __future__ import annotations

import os

import pytest

from .contract import RemoteRunnerContract

ray = pytest.importorskip("ray", reason="needs mainspring[ray]")

from mainspring.integrations.ray import RayTaskRunner  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_session(worker_home):
    try:
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            _node_ip_address="127.0.0.1",
        )
    except Exception as exc:  # no shared memory, no ports, an unsupported platform...
        pytest.skip(f"Ray cannot start here: {type(exc).__name__}: {exc}")
    yield
    ray.shutdown()


class TestRayTaskRunner(RemoteRunnerContract):
    runner_import = "from mainspring.integrations.ray import RayTaskRunner"
    runner_expression = "RayTaskRunner()"

    @pytest.fixture
    def runner(self, ray_session):
        return RayTaskRunner()

    def test_a_connection_opened_by_the_user_is_left_open(self, runner, store):
        from mainspring import flow, task

        @flow(name="ray-open", task_runner=runner)
        def ray_open():
            return task(os.getpid, name="pid").submit().result()

        assert ray_open() != os.getpid()
        assert ray.is_initialized()


def test_bad_arguments_are_refused_when_the_runner_is_made():
    with pytest.raises(TypeError, match="init_kwargs must be a dict"):
        RayTaskRunner(init_kwargs=["num_cpus"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="address as address="):
        RayTaskRunner(init_kwargs={"address": "auto"})
