"""What `mainspring deploy` registers: a Deployment built from arguments or a mainspring.yaml
entry, with the flow loaded from its file so that its parameters and schedules are checked
before anything is stored. Every problem is a `DeploySpecError` with one line naming it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mainspring.engine.flows import Flow
    from mainspring.model.deployments import Deployment
    from mainspring.model.schedules import Schedule

#: The file `mainspring deploy --all` reads, in the current folder (as Prefect's prefect.yaml).
PROJECT_FILE = "mainspring.yaml"
_YAML_KEYS = {
    "name",
    "entrypoint",
    "description",
    "version",
    "parameters",
    "tags",
    "schedule",
    "schedules",
    "work_pool",
    "paused",
    "concurrency_limit",
}


class DeploySpecError(ValueError):
    """A deployment that cannot be registered; the message is one line for the user."""


def parse_params(pairs: list[str] | None, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """`k=v` pairs. A value is read as JSON when it is JSON (`n=3`, `xs=[1,2]`), else kept as
    text; a parameter the JSON `schema` says is a string is always text (`--param code=007`)."""
    properties = (schema or {}).get("properties") or {}
    parameters: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise DeploySpecError(f"--param {pair!r} is not of the form name=value")
        if (properties.get(key) or {}).get("type") == "string":
            parameters[key] = raw
            continue
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        parameters[key] = value
    return parameters


def resolve_entrypoint(entrypoint: str, folder: str | None = None) -> str:
    """`path/to/file.py:function` as given, or the one found for a bare flow name (`etl`)
    among the Python files of `folder` (the current one)."""
    from mainspring.cli.flow_discovery import find_flow_entrypoint

    if ":" in entrypoint or entrypoint.endswith(".py"):
        return entrypoint
    try:
        return find_flow_entrypoint(entrypoint, Path(folder or os.getcwd()))
    except LookupError as exc:
        raise DeploySpecError(str(exc)) from None


def load_flow(entrypoint: str) -> tuple[Flow, str]:
    """The flow `path/to/file.py:function` names, and its entrypoint as runs store it (the
    absolute path); deploy/flow_files.py says how it is loaded."""
    from mainspring.deploy.flow_files import FlowFileError, load_flow_file

    try:
        return load_flow_file(entrypoint)
    except FlowFileError as exc:
        raise DeploySpecError(str(exc)) from None


def check_parameters(flow: Flow, parameters: dict[str, Any]) -> None:
    """Refuse parameters the flow's signature does not take, or of the wrong type. Missing
    required ones are allowed: a run may give them (`deployment run --param`)."""
    from mainspring.exceptions import ParameterTypeError

    signature = flow.parameters.signature
    try:
        signature.bind_partial(**parameters)
    except TypeError as exc:
        raise DeploySpecError(f"flow {flow.name!r}: {exc}") from None
    if not flow.validate_parameters:
        return
    try:
        flow.parameters.validate(parameters)
    except ParameterTypeError as exc:
        raise DeploySpecError(str(exc)) from None


def job_variables(image: str | None, pairs: list[str] | None) -> dict[str, Any]:
    """`--image` and `--job-variable name=value` (JSON when it is JSON, else text) as a
    deployment's job variables; the pool's type checks them when it is known."""
    variables = parse_params(pairs)
    if image is not None:
        variables["image"] = image
    return variables


def _in_image(entrypoint: str) -> str:
    """A flow file under the current folder as the image sees it: relative to the project,
    which `mainspring docker dockerfile` copies to the image's working directory."""
    place, _, qualname = entrypoint.rpartition(":")
    here = os.getcwd()
    if os.path.commonpath([here, place]) != here:
        return entrypoint  # outside the project: the image must have it at this path
    return f"{os.path.relpath(place, here)}:{qualname}"


def build_schedules(
    cron: str | None, interval: str | float | None, rrule: str | None, timezone: str | None
) -> list[Schedule]:
    """The one schedule the options name (none: run on request only)."""
    from mainspring.exceptions import InvalidSchedule
    from mainspring.model.schedules import Cron, Interval, RRule

    given = [x for x in (cron, interval, rrule) if x is not None]
    if len(given) > 1:
        raise DeploySpecError("give at most one of --cron, --interval and --rrule")
    if not given:
        if timezone is not None:
            raise DeploySpecError("--timezone needs a schedule: --cron, --interval or --rrule")
        return []
    try:
        if cron is not None:
            return [Cron(cron, timezone=timezone)]
        if rrule is not None:
            return [RRule(rrule, timezone=timezone)]
        return [Interval(_seconds(interval), timezone=timezone)]
    except InvalidSchedule as exc:
        raise DeploySpecError(str(exc)) from None


def _seconds(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        raise DeploySpecError(f"interval {value!r} is not a number of seconds") from None


def build_deployment(
    entrypoint: str,
    name: str,
    *,
    parameters: dict[str, Any] | list[str],
    schedules: list[Any],
    tags: list[str],
    pool: str | None,
    queue: str | None,
    paused: bool,
    description: str | None,
    version: str | None = None,
    concurrency_limit: int | None = None,
    job_variables: dict[str, Any] | None = None,
) -> Deployment:
    """The Deployment to register, checked against the flow in `entrypoint`. `parameters` are
    values, or `name=value` texts from the command line (read by `parse_params`)."""
    from mainspring.model.deployments import Deployment

    flow, stored_entrypoint = load_flow(entrypoint)
    if (job_variables or {}).get("image"):
        stored_entrypoint = _in_image(stored_entrypoint)
    schema = flow.parameters.json_schema()
    if isinstance(parameters, list):
        parameters = parse_params(parameters, schema)
    check_parameters(flow, parameters)
    try:
        return Deployment(
            flow_name=flow.name,
            name=name,
            entrypoint=stored_entrypoint,
            parameters=json.loads(json.dumps(parameters)),
            parameter_openapi_schema=schema,
            tags=tags,
            description=description if description is not None else flow.description,
            version=version if version is not None else flow.version,
            schedules=schedules,
            paused=paused,
            concurrency_limit=concurrency_limit,
            work_pool_name=pool,
            work_queue_name=queue,
            job_variables=job_variables or {},
        )
    except (TypeError, ValueError) as exc:
        raise DeploySpecError(str(exc)) from None


# -- mainspring.yaml -------------------------------------------------------------------------
def read_project_file(folder: str | None = None) -> list[dict[str, Any]]:
    """The `deployments:` entries of mainspring.yaml in `folder` (the current one)."""
    import yaml

    path = Path(folder or os.getcwd()) / PROJECT_FILE
    if not path.is_file():
        raise DeploySpecError(f"no {PROJECT_FILE} in {path.parent}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        detail = " ".join(str(exc).split())
        raise DeploySpecError(f"{PROJECT_FILE} is not valid YAML: {detail}") from None
    entries = data.get("deployments") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise DeploySpecError(f"{PROJECT_FILE} has no 'deployments:' list")
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise DeploySpecError(f"{PROJECT_FILE}: deployment #{i + 1} has no name")
        if not isinstance(entry.get("entrypoint"), str):
            raise DeploySpecError(f"{PROJECT_FILE}: deployment {entry['name']!r} has no entrypoint")
        unknown = sorted(set(entry) - _YAML_KEYS)
        if unknown:
            raise DeploySpecError(
                f"{PROJECT_FILE}: deployment {entry['name']!r} has unknown key(s) "
                f"{', '.join(unknown)}"
            )
    return entries


def deployment_from_entry(entry: dict[str, Any]) -> Deployment:
    """A mainspring.yaml entry as a checked Deployment (relative entrypoints: from the cwd)."""
    name = entry["name"]
    pool = entry.get("work_pool") or {}
    if not isinstance(pool, dict):
        raise DeploySpecError(f"{PROJECT_FILE}: {name!r}: work_pool must be a mapping")
    raw = entry.get("schedules")
    if raw is None:
        raw = [entry["schedule"]] if entry.get("schedule") is not None else []
    if not isinstance(raw, list):
        raise DeploySpecError(f"{PROJECT_FILE}: {name!r}: schedules must be a list")
    parameters = entry.get("parameters") or {}
    tags = entry.get("tags") or []
    if not isinstance(parameters, dict) or not isinstance(tags, list):
        raise DeploySpecError(
            f"{PROJECT_FILE}: {name!r}: parameters must be a mapping and tags a list"
        )
    return build_deployment(
        entry["entrypoint"],
        name,
        parameters=parameters,
        schedules=[schedule_entry(name, s) for s in raw],
        tags=tags,
        pool=pool.get("name"),
        queue=pool.get("work_queue_name"),
        paused=bool(entry.get("paused", False)),
        description=entry.get("description"),
        version=entry.get("version"),
        concurrency_limit=entry.get("concurrency_limit"),
        job_variables=pool.get("job_variables") or {},
    )


def schedule_entry(name: str, raw: Any, where: str = PROJECT_FILE) -> Schedule:
    """A schedule written as prefect.yaml (or Prefect 2's deployment.yaml, `where`) does:
    `{cron: ..., timezone: ...}`, `{interval: 60}`, `{rrule: ...}`, optional `active` and
    `parameters`."""
    from mainspring.exceptions import InvalidSchedule
    from mainspring.model.schedules import Cron, Interval, RRule

    if not isinstance(raw, dict):
        raise DeploySpecError(f"{where}: {name!r}: a schedule must be a mapping")
    kinds = [k for k in ("cron", "interval", "rrule") if k in raw]
    if len(kinds) != 1:
        raise DeploySpecError(
            f"{where}: {name!r}: a schedule needs exactly one of cron, interval, rrule"
        )
    options = {k: v for k, v in raw.items() if k not in ("cron", "interval", "rrule")}
    known = {"timezone", "active", "parameters", "slug", "day_or", "anchor_date"}
    if set(options) - known:
        extra = ", ".join(sorted(set(options) - known))
        raise DeploySpecError(f"{where}: {name!r}: unknown schedule key(s) {extra}")
    try:
        schedule: Schedule
        if kinds[0] == "cron":
            schedule = Cron(raw["cron"], **options)
        elif kinds[0] == "rrule":
            schedule = RRule(raw["rrule"], **options)
        else:
            schedule = Interval(_seconds(raw["interval"]), **options)
    except (InvalidSchedule, TypeError) as exc:
        raise DeploySpecError(f"{where}: {name!r}: {exc}") from None
    return schedule
