"""Prefect 2's two-step deployments: `mainspring deployment build` writes
`<flow_fn>-deployment.yaml` in Prefect 2's layout without registering anything, and
`mainspring deployment apply FILE.yaml` registers (or updates) what such a file describes.

Prefect 2 had no work pools: its agents served work queues. A file without a work pool goes to
the process pool `default-agent-pool` (Prefect's own name for it when it moved agents to
workers), created on apply, so `mainspring agent start -q QUEUE` runs it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mainspring.cli.output import console, fail, store_errors

if TYPE_CHECKING:
    from mainspring.model.deployments import Deployment
    from mainspring.store.deployments import DeploymentStore

#: The process work pool of deployments written for Prefect 2's agents.
DEFAULT_AGENT_POOL = "default-agent-pool"
DEFAULT_QUEUE = "default"
_HEADER = """###
### A complete description of a Mainspring deployment for flow {flow!r}
### (Prefect 2's deployment.yaml layout; register it with: mainspring deployment apply {file})
###
"""
_SPLIT = """
###
### DO NOT EDIT BELOW THIS LINE
###
"""
_EDITABLE = (
    "name",
    "description",
    "version",
    "work_queue_name",
    "work_pool_name",
    "tags",
    "parameters",
    "schedule",
    "is_schedule_active",
    "infra_overrides",
    "infrastructure",
)
_FIXED = ("flow_name", "manifest_path", "storage", "path", "entrypoint", "parameter_openapi_schema")


def build_command(
    entrypoint: Annotated[
        str,
        typer.Argument(help="path/to/file.py:flow_function, or a flow's bare name in this folder."),
    ],
    name: Annotated[str, typer.Option("--name", "-n", help="The deployment's name.")],
    queue: Annotated[
        str, typer.Option("--work-queue", "-q", help="The work queue its agent serves.")
    ] = DEFAULT_QUEUE,
    pool: Annotated[
        str | None, typer.Option("--pool", "-p", help=f"Work pool (default {DEFAULT_AGENT_POOL}).")
    ] = None,
    cron: Annotated[str | None, typer.Option(help="Cron schedule, e.g. '0 3 * * *'.")] = None,
    interval: Annotated[
        str | None, typer.Option(help="Interval schedule: every this many seconds.")
    ] = None,
    rrule: Annotated[str | None, typer.Option(help="iCalendar recurrence rule schedule.")] = None,
    timezone: Annotated[
        str | None, typer.Option(help="IANA time zone the schedule is read in (default UTC).")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="A default parameter, name=value (JSON or text)."),
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="A tag for its runs (repeatable).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="The file to write.")
    ] = None,
    apply_too: Annotated[
        bool, typer.Option("--apply", "-a", help="Also register it (deployment apply).")
    ] = False,
) -> None:
    """Write a deployment file in Prefect 2's layout (and with --apply, register it)."""
    import yaml

    from mainspring.cli.deploy_specs import (
        DeploySpecError,
        build_deployment,
        build_schedules,
        resolve_entrypoint,
    )

    try:
        found = resolve_entrypoint(entrypoint)
        schedules = build_schedules(cron, interval, rrule, timezone)
        deployment = build_deployment(
            found,
            name,
            parameters=param or [],
            schedules=schedules,
            tags=tag or [],
            pool=pool or DEFAULT_AGENT_POOL,
            queue=queue,
            paused=False,
            description=None,
        )
    except DeploySpecError as exc:
        fail(f"Error: {exc}")
    function = found.rpartition(":")[2]
    target = output or Path(f"{function.rpartition('.')[2]}-deployment.yaml")
    document = to_prefect2_document(deployment)
    editable = {k: document[k] for k in _EDITABLE}
    fixed = {k: document[k] for k in _FIXED}
    dump = {"sort_keys": False, "allow_unicode": True, "default_flow_style": False}
    text = (
        _HEADER.format(flow=deployment.flow_name, file=target.name)
        + yaml.safe_dump(editable, **dump)
        + _SPLIT
        + yaml.safe_dump(fixed, **dump)
    )
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"Error: cannot write {str(target)!r}: {exc.strerror or exc}")
    console().print(f"Deployment file {str(target)!r} written (nothing registered yet).")
    if apply_too:
        _register(deployment)
    else:
        console().print(f"Register it with: mainspring deployment apply {str(target)!r}")


def apply_command(
    path: Annotated[Path, typer.Argument(help="A deployment file written by `deployment build`.")],
) -> None:
    """Register (or update) the deployment a Prefect 2 deployment.yaml describes."""
    from mainspring.cli.deploy_specs import DeploySpecError

    try:
        deployment = from_prefect2_file(path)
    except DeploySpecError as exc:
        fail(f"Error: {exc}")
    _register(deployment)


def to_prefect2_document(deployment: Deployment) -> dict[str, Any]:
    """The deployment as Prefect 2's `deployment build` wrote it: the project folder in `path`
    and the entrypoint relative to it, so the folder can move with its file."""
    from mainspring.model.schedules import schedule_from_dict

    file, _, function = (deployment.entrypoint or "").rpartition(":")
    folder = os.path.dirname(file)
    schedule = None
    if deployment.schedules:
        rule = schedule_from_dict(deployment.schedules[0])
        schedule = {**rule.rule_fields(), "timezone": rule.timezone}
    return {
        "name": deployment.name,
        "description": deployment.description,
        "version": deployment.version or _file_hash(file),
        "work_queue_name": deployment.work_queue_name or DEFAULT_QUEUE,
        "work_pool_name": deployment.work_pool_name,
        "tags": list(deployment.tags),
        "parameters": dict(deployment.parameters),
        "schedule": schedule,
        "is_schedule_active": not deployment.paused,
        "infra_overrides": {},
        "infrastructure": {"type": "process", "env": {}, "labels": {}, "name": None},
        "flow_name": deployment.flow_name,
        "manifest_path": None,
        "storage": None,
        "path": folder,
        "entrypoint": f"{os.path.basename(file)}:{function}",
        "parameter_openapi_schema": deployment.parameter_openapi_schema,
    }


def from_prefect2_file(path: Path) -> Deployment:
    """The checked Deployment a deployment.yaml describes (written by us or by Prefect 2)."""
    import yaml

    from mainspring.cli.deploy_specs import DeploySpecError, build_deployment, schedule_entry

    where = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DeploySpecError(f"cannot read {where!r}: {exc.strerror or exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DeploySpecError(f"{where} is not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise DeploySpecError(f"{where} is not a deployment file: it has no name")
    entrypoint = data.get("entrypoint")
    if not isinstance(entrypoint, str) or ":" not in entrypoint:
        raise DeploySpecError(f"{where}: entrypoint must be 'file.py:flow_function'")
    infrastructure = data.get("infrastructure") or {}
    kind = infrastructure.get("type", "process") if isinstance(infrastructure, dict) else None
    if kind != "process":
        raise DeploySpecError(
            f"{where}: infrastructure type {kind!r} is not supported here; only 'process' "
            "(for containers, register with a docker work pool: mainspring deploy --pool)"
        )
    folder = data.get("path") or str(path.resolve().parent)
    if not os.path.isabs(entrypoint.rpartition(":")[0]):
        entrypoint = os.path.join(str(folder), entrypoint)
    schedule = data.get("schedule")
    schedules = [schedule_entry(data["name"], schedule, where)] if schedule else []
    parameters, tags = data.get("parameters") or {}, data.get("tags") or []
    if not isinstance(parameters, dict) or not isinstance(tags, list):
        raise DeploySpecError(f"{where}: parameters must be a mapping and tags a list")
    return build_deployment(
        entrypoint,
        data["name"],
        parameters=parameters,
        schedules=schedules,
        tags=[str(t) for t in tags],
        pool=data.get("work_pool_name") or DEFAULT_AGENT_POOL,
        queue=data.get("work_queue_name") or DEFAULT_QUEUE,
        paused=data.get("is_schedule_active") is False,
        description=data.get("description"),
        version=None if data.get("version") is None else str(data["version"]),
    )


def ensure_pool_and_queue(backend: DeploymentStore, pool: str, queue: str) -> None:
    """Create the process pool and its queue if they do not exist yet (Prefect 2 created a
    work queue the first time a deployment or an agent named it)."""
    from mainspring.exceptions import ObjectNotFound
    from mainspring.model.deployments import WorkPool, WorkQueue

    try:
        backend.read_work_pool(pool)
    except ObjectNotFound:
        with contextlib.suppress(ValueError):  # created meanwhile by another process
            backend.create_work_pool(WorkPool(pool, description="Prefect 2 style agents' pool"))
    if queue not in {q.name for q in backend.read_work_queues(pool)}:
        with contextlib.suppress(ValueError):
            backend.create_work_queue(WorkQueue(pool, queue))


def _register(deployment: Deployment) -> None:
    from mainspring.cli.deploy import register_deployments
    from mainspring.cli.deployment_lookup import deployment_store

    if deployment.work_pool_name == DEFAULT_AGENT_POOL:
        with store_errors():
            ensure_pool_and_queue(
                deployment_store(), DEFAULT_AGENT_POOL, deployment.work_queue_name or DEFAULT_QUEUE
            )
    register_deployments([deployment])


def _file_hash(file: str) -> str | None:
    """Prefect 2's default version: a hash of the flow's file."""
    try:
        return hashlib.md5(Path(file).read_bytes(), usedforsecurity=False).hexdigest()
    except OSError:
        return None
