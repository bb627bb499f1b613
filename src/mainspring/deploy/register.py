"""`flow.deploy(...)`: register a flow as a deployment that a work pool's workers run.

Unlike `serve()`, nothing runs here: the deployment is stored (in the embedded database, or in
the server when MAINSPRING_API_URL is set: whichever store this process uses) and its runs wait
for a worker of `work_pool_name`. Everything is checked before anything is stored: the
arguments (as `to_deployment` checks them), that the flow can be loaded by another process (a
file, or a source from `flow.from_source`), and that the work pool exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from mainspring.deploy.sources import source_entrypoint
from mainspring.deploy.spec import RunnerDeployment
from mainspring.exceptions import ObjectNotFound
from mainspring.model.job_variables import check_job_variables
from mainspring.model.schedules import Schedule
from mainspring.store import get_store
from mainspring.store.deployments import DeploymentStore

if TYPE_CHECKING:
    from mainspring.engine.flows import Flow

__all__ = ["deploy_flow"]


def deploy_flow(
    flow: Flow,
    name: str,
    work_pool_name: str | None = None,
    *,
    work_queue_name: str | None = None,
    cron: str | Iterable[str] | None = None,
    interval: float | timedelta | Iterable[float | timedelta] | None = None,
    rrule: str | Iterable[str] | None = None,
    schedules: Sequence[Schedule | dict[str, Any]] | None = None,
    parameters: dict[str, Any] | None = None,
    tags: Sequence[str] | None = None,
    paused: bool = False,
    timezone: str | None = None,
    description: str | None = None,
    version: str | None = None,
    concurrency_limit: int | None = None,
    catch_up: str = "latest",
    max_lateness: float | timedelta | None = None,
    retries: int = 0,
    job_variables: dict[str, Any] | None = None,
    image: Any = None,
    build: bool = True,
    push: bool = True,
    print_next_steps: bool = True,
    entrypoint: str | None = None,
) -> str:
    """Register `flow` as deployment `name` of pool `work_pool_name`; return its id (module
    docstring). Registering again updates it in place (same id)."""
    del build, push  # Prefect's image build steps: build with `mainspring docker build`
    if not work_pool_name:
        raise ValueError(
            f"flow.deploy() of {flow.name!r} needs work_pool_name=: the work pool whose workers "
            "run it (`mainspring work-pool create NAME --type process`); flow.serve() runs a "
            "flow without one"
        )
    variables = dict(job_variables or {})
    if image is not None:  # a name (Prefect's DockerImage objects carry one too)
        variables["image"] = str(getattr(image, "name", image))
    source = getattr(flow, "source", None)
    if entrypoint is None and source is not None:  # a flow from flow.from_source(git URL)
        entrypoint = source_entrypoint(source)
    spec = RunnerDeployment.from_flow(
        flow,
        name,
        cron=cron,
        interval=interval,
        rrule=rrule,
        schedules=schedules,
        parameters=parameters,
        tags=tags,
        paused=paused,
        timezone=timezone,
        concurrency_limit=concurrency_limit,
        description=description,
        version=version,
        catch_up=catch_up,
        max_lateness=max_lateness,
        entrypoint=entrypoint,
        retries=retries,
    )
    # replace() checks the pool and queue names like the other fields
    deployment = replace(
        spec.deployment,
        work_pool_name=work_pool_name,
        work_queue_name=work_queue_name,
        job_variables=variables,
    )
    store = get_store()
    assert isinstance(store, DeploymentStore), type(store)  # every Store kind is one
    try:
        pool = store.read_work_pool(work_pool_name)
    except ObjectNotFound:
        raise ObjectNotFound(
            f"There is no work pool named {work_pool_name!r}: create it with `mainspring "
            f"work-pool create {work_pool_name} --type process`, then deploy again"
        ) from None
    # image= and job_variables= go with the pool's type (docker: image, env, volumes, ...)
    check_job_variables(pool.type, variables, f"flow.deploy() to {pool.type} pool {pool.name!r}")
    stored = store.upsert_deployment(deployment)
    if print_next_steps:
        print(
            f"Deployment {stored.full_name!r} registered ({stored.id}). Its runs wait for a "
            f"worker: mainspring worker start --pool {work_pool_name}",
            flush=True,
        )
    return stored.id
