"""The store as a DeploymentStore, and deployments and pools found by the names users type."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mainspring.cli.output import fail, not_an_id, store, store_errors

if TYPE_CHECKING:
    from mainspring.model.deployments import Deployment, WorkPool
    from mainspring.store.deployments import DeploymentStore


def deployment_store() -> DeploymentStore:
    """The configured store (SqlStore or ApiStore: both keep deployments)."""
    from mainspring.store.deployments import DeploymentStore

    backend = store()
    assert isinstance(backend, DeploymentStore), type(backend)  # every Store kind is one
    return backend


def find_deployment(backend: DeploymentStore, full_name: str) -> Deployment:
    """The deployment 'flow-name/deployment-name'; anything else is a one-line error."""
    from mainspring.exceptions import ObjectNotFound

    flow_name, sep, name = full_name.partition("/")
    if not sep or not flow_name or not name or "/" in name:
        fail(f"Error: {full_name!r} is not a deployment name; use 'flow-name/deployment-name'")
    if not_an_id(full_name):
        fail(f"Error: no deployment {full_name!r}")
    with store_errors():
        try:
            return backend.find_deployment(flow_name, name)
        except ObjectNotFound:
            fail(f"Error: no deployment {full_name!r}")


def find_work_pool(backend: DeploymentStore, name: str) -> WorkPool:
    from mainspring.exceptions import ObjectNotFound

    if not_an_id(name):
        fail(f"Error: no work pool {name!r}")
    with store_errors():
        try:
            return backend.read_work_pool(name)
        except ObjectNotFound:
            fail(f"Error: no work pool {name!r}")
