"""What a flow run started on other infrastructure (a container, a pod) needs: its
deployment's job variables, and in its environment where to record (this worker's store)."""

from __future__ import annotations

from typing import Any

from mainspring.settings import get_settings
from mainspring.store.base import Store
from mainspring.store.deployments import DeploymentStore

__all__ = ["deployment_job_variables", "require_deployment_store", "store_environment"]


def require_deployment_store(store: Store, runner: str) -> None:
    """TypeError unless `store` reads deployments: what a `runner` ("docker", "kubernetes")
    checks when made, so that `deployment_job_variables` can count on it."""
    if not isinstance(store, DeploymentStore):
        raise TypeError(f"a {runner} runner needs a DeploymentStore, got {type(store).__name__}")


def deployment_job_variables(store: Store, run_id: str) -> dict[str, Any]:
    """The job variables of the run's deployment (laid over the pool's template by the
    runner); LookupError for a run of no deployment."""
    assert isinstance(store, DeploymentStore)  # the runners refuse any other when made
    run = store.read_flow_run(run_id)
    if run.deployment_id is None:
        raise LookupError("the run has no deployment")
    return store.read_deployment(run.deployment_id).job_variables


def store_environment() -> dict[str, str]:
    """This worker's store settings (`MAINSPRING_API_URL` and key, or the database URL), and
    unbuffered output. Nothing else of the worker's environment: the run is on another machine."""
    settings = get_settings()
    env: dict[str, str] = {}
    if settings.api_url:
        env["MAINSPRING_API_URL"] = settings.api_url
        if settings.api_key:
            env["MAINSPRING_API_KEY"] = settings.api_key.get_secret_value()
    else:
        env["MAINSPRING_DATABASE_URL"] = settings.effective_database_url
    env["PYTHONUNBUFFERED"] = "1"
    return env
