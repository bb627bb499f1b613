"""Job variables: how a work pool's infrastructure runs a flow run, per pool type.

A work pool keeps defaults (`WorkPool.base_job_template`), a deployment its own values
(`Deployment.job_variables`); the worker merges them (the deployment's win, `env` merged key by
key) into the job it starts. Each pool type accepts a fixed set of variables, checked when a
pool or deployment is registered and again by the worker, so a typo is a clear error naming
the variable, not a run that silently ignores it.

- `process`: none (the worker's own environment and working directory).
- `docker`: `image` (required), `env`, `volumes` ("host:container[:ro]"), `network_mode`,
  `mem_limit` ("512m", bytes as an int), `cpus` (a fraction of CPUs), `auto_remove`
  (default true), `stream_output` (default true: the container's output in the worker's).
- `kubernetes`: `image` (required), `namespace` (default "default"), `service_account_name`,
  `image_pull_policy`, `env` (plain values), `env_from_secrets` (variable name ->
  {"secret": NAME, "key": KEY}), `cpu_request`, `cpu_limit`, `memory_request`, `memory_limit`
  (Kubernetes quantities: "500m", "1", "512Mi"), `labels`, `finished_job_ttl` (seconds the
  cluster keeps a finished Job), `pod_watch_timeout_seconds` (default 300: a pod not started
  by then ends the run Crashed with the reason), `job_manifest` (a batch/v1 Job manifest that
  ours is merged over: node selectors, tolerations, volumes, sidecars...).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from mainspring.model.kubernetes_job import KubernetesJob, check_kubernetes, merge_manifest

__all__ = [
    "DockerJob",
    "KubernetesJob",
    "check_job_variables",
    "docker_job",
    "kubernetes_job",
    "merged_variables",
]

_DOCKER = {
    "image",
    "env",
    "volumes",
    "network_mode",
    "mem_limit",
    "cpus",
    "auto_remove",
    "stream_output",
}
_KUBERNETES = {
    "image",
    "namespace",
    "service_account_name",
    "image_pull_policy",
    "env",
    "env_from_secrets",
    "cpu_request",
    "cpu_limit",
    "memory_request",
    "memory_limit",
    "labels",
    "finished_job_ttl",
    "pod_watch_timeout_seconds",
    "job_manifest",
}
ALLOWED: dict[str, frozenset[str]] = {
    "process": frozenset(),
    "docker": frozenset(_DOCKER),
    "kubernetes": frozenset(_KUBERNETES),
}
_MEMORY = re.compile(r"^\d+[bkmg]?$", re.IGNORECASE)
_VOLUME = re.compile(r"^[^:]+:/[^:]*(:(ro|rw))?$")


def check_job_variables(
    pool_type: str, variables: Any, what: str = "job variables"
) -> dict[str, Any]:
    """`variables` checked for a pool of `pool_type`: a dict of known names with values of
    the right kind; returns a copy. ValueError / TypeError naming the problem."""
    if not isinstance(variables, dict):
        raise TypeError(f"{what} must be a dict, got {type(variables).__name__}")
    allowed = ALLOWED.get(pool_type)
    if allowed is None:
        raise ValueError(f"unknown work pool type {pool_type!r}")
    unknown = sorted(set(variables) - allowed)
    if unknown:
        accepted = ", ".join(sorted(allowed)) or "none"
        raise ValueError(
            f"{what}: {', '.join(map(repr, unknown))} not known to a {pool_type} work pool "
            f"(it takes: {accepted})"
        )
    if pool_type == "docker":
        _check_docker(variables, what)
    elif pool_type == "kubernetes":
        check_kubernetes(variables, what)
    return dict(variables)


def merged_variables(template: dict[str, Any], variables: dict[str, Any]) -> dict[str, Any]:
    """The pool's defaults overridden by the deployment's; `env` (and a kubernetes pool's
    `env_from_secrets` and `labels`) merged by key."""
    merged = {**template, **variables}
    for by_key in ("env", "env_from_secrets", "labels"):
        if isinstance(template.get(by_key), dict) and isinstance(variables.get(by_key), dict):
            merged[by_key] = {**template[by_key], **variables[by_key]}
    return merged


@dataclass(frozen=True)
class DockerJob:
    """What the Docker worker starts for a flow run."""

    image: str
    env: dict[str, str] = field(default_factory=dict)
    volumes: tuple[str, ...] = ()
    network_mode: str | None = None
    mem_limit: str | int | None = None
    cpus: float | None = None
    auto_remove: bool = True
    stream_output: bool = True


def docker_job(template: dict[str, Any], variables: dict[str, Any]) -> DockerJob:
    """The Docker job of a run: the pool's template and the deployment's variables merged and
    checked. ValueError when no image is named."""
    merged = check_job_variables("docker", merged_variables(template, variables))
    if not merged.get("image"):
        raise ValueError(
            "a docker work pool's run needs an image: give the deployment job variable "
            "'image' (mainspring deploy --image NAME) or the pool's default"
        )
    return DockerJob(
        image=merged["image"],
        env={str(k): str(v) for k, v in (merged.get("env") or {}).items()},
        volumes=tuple(merged.get("volumes") or ()),
        network_mode=merged.get("network_mode"),
        mem_limit=merged.get("mem_limit"),
        cpus=None if merged.get("cpus") is None else float(merged["cpus"]),
        auto_remove=bool(merged.get("auto_remove", True)),
        stream_output=bool(merged.get("stream_output", True)),
    )


def kubernetes_job(template: dict[str, Any], variables: dict[str, Any]) -> KubernetesJob:
    """The Kubernetes job of a run: the pool's template and the deployment's variables merged
    (their `job_manifest`s deep-merged, the deployment's over the pool's) and checked.
    ValueError when no image is named."""
    merged = merged_variables(template, variables)
    if isinstance(template.get("job_manifest"), dict) and isinstance(
        variables.get("job_manifest"), dict
    ):
        merged["job_manifest"] = merge_manifest(template["job_manifest"], variables["job_manifest"])
    merged = check_job_variables("kubernetes", merged)
    if not merged.get("image"):
        raise ValueError(
            "a kubernetes work pool's run needs an image: give the deployment job variable "
            "'image' (mainspring deploy --image NAME) or the pool's default"
        )
    return KubernetesJob.from_variables(merged)


def _check_docker(v: dict[str, Any], what: str) -> None:
    def wrong(name: str, expected: str) -> ValueError:
        return ValueError(f"{what}: {name} must be {expected}, got {v[name]!r}")

    if "image" in v and (not isinstance(v["image"], str) or not v["image"].strip()):
        raise wrong("image", "an image name such as 'python:3.11-slim'")
    if "env" in v and (
        not isinstance(v["env"], dict)
        or not all(isinstance(k, str) and k for k in v["env"])
        or not all(isinstance(x, str | int | float | bool) for x in v["env"].values())
    ):
        raise wrong("env", "a mapping of variable names to text")
    if "volumes" in v and (
        not isinstance(v["volumes"], list | tuple)
        or not all(isinstance(x, str) and _VOLUME.match(x) for x in v["volumes"])
    ):
        raise wrong("volumes", "a list of 'host-path-or-volume:/container/path[:ro]'")
    mode = v.get("network_mode")
    if mode is not None and (not isinstance(mode, str) or not mode):
        raise wrong("network_mode", "a Docker network mode such as 'none' or 'bridge'")
    if "mem_limit" in v and v["mem_limit"] is not None:
        limit = v["mem_limit"]
        if isinstance(limit, bool) or not (
            (isinstance(limit, int) and limit > 0)
            or (isinstance(limit, str) and _MEMORY.match(limit))
        ):
            raise wrong("mem_limit", "bytes (an int) or text such as '512m' or '2g'")
    if "cpus" in v and v["cpus"] is not None:
        cpus = v["cpus"]
        if (
            isinstance(cpus, bool)
            or not isinstance(cpus, int | float)
            or not (math.isfinite(cpus) and cpus > 0)
        ):
            raise wrong("cpus", "a positive number of CPUs such as 0.5")
    for flag in ("auto_remove", "stream_output"):
        if flag in v and not isinstance(v[flag], bool):
            raise wrong(flag, "true or false")
