"""A kubernetes work pool's job variables: their checks, the job they make, and the deep merge
of Job manifests (a user's `job_manifest` under ours). Pure: no Kubernetes client here.

Values are checked as far as the Kubernetes API would refuse them anyway (names, quantities,
label syntax) so a typo is an error when the pool or deployment is registered, not a Job the
cluster rejects later; the rest of `job_manifest` is the API server's to check (a refused Job
ends its run Crashed with the server's message).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_POD_WATCH_TIMEOUT", "KubernetesJob", "check_kubernetes", "merge_manifest"]

#: Seconds a run's pod may take to start (scheduled, image pulled) before the run is Crashed.
DEFAULT_POD_WATCH_TIMEOUT = 300.0
PULL_POLICIES = ("Always", "IfNotPresent", "Never")

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUANTITY = re.compile(r"^\d+(\.\d+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_RESOURCES = ("cpu_request", "cpu_limit", "memory_request", "memory_limit")
_CONTAINER_LISTS = frozenset({"containers", "initContainers", "ephemeralContainers"})


@dataclass(frozen=True)
class KubernetesJob:
    """What the Kubernetes worker creates for a flow run (deploy/workers/kubernetes_manifest.py)."""

    image: str
    namespace: str = "default"
    service_account_name: str | None = None
    image_pull_policy: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    #: variable name -> (secret name, key in the secret)
    env_from_secrets: dict[str, tuple[str, str]] = field(default_factory=dict)
    cpu_request: str | None = None
    cpu_limit: str | None = None
    memory_request: str | None = None
    memory_limit: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    finished_job_ttl: int | None = None
    pod_watch_timeout_seconds: float = DEFAULT_POD_WATCH_TIMEOUT
    job_manifest: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_variables(cls, v: dict[str, Any]) -> KubernetesJob:
        """The job of checked variables (`check_kubernetes`)."""

        def text(name: str) -> str | None:
            return None if v.get(name) is None else str(v[name])

        timeout = v.get("pod_watch_timeout_seconds")
        return cls(
            image=v["image"],
            namespace=v.get("namespace") or "default",
            service_account_name=v.get("service_account_name"),
            image_pull_policy=v.get("image_pull_policy"),
            env={str(k): _env_text(x) for k, x in (v.get("env") or {}).items()},
            env_from_secrets={
                name: (ref["secret"], ref["key"])
                for name, ref in (v.get("env_from_secrets") or {}).items()
            },
            cpu_request=text("cpu_request"),
            cpu_limit=text("cpu_limit"),
            memory_request=text("memory_request"),
            memory_limit=text("memory_limit"),
            labels=dict(v.get("labels") or {}),
            finished_job_ttl=v.get("finished_job_ttl"),
            pod_watch_timeout_seconds=(
                DEFAULT_POD_WATCH_TIMEOUT if timeout is None else float(timeout)
            ),
            job_manifest=dict(v.get("job_manifest") or {}),
        )


def _env_text(value: Any) -> str:
    """An env value as the container sees it (true -> "true", as YAML users expect)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def merge_manifest(base: dict[str, Any], ours: dict[str, Any]) -> dict[str, Any]:
    """`ours` deep-merged over `base` (neither changed): mappings key by key; lists of named
    items (env, volumes, ports) item by item on `name`, ours replacing theirs whole (an env
    entry's `value` and `valueFrom` must not mix), containers merged into theirs; anything
    else ours."""
    merged = dict(base)
    for key, value in ours.items():
        old = merged.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            merged[key] = merge_manifest(old, value)
        elif isinstance(old, list) and _named_items(old) and _named_items(value):
            by_name = {item["name"]: item for item in old}
            for item in value:
                mine = by_name.get(item["name"])
                if key in _CONTAINER_LISTS and isinstance(mine, dict):
                    item = merge_manifest(mine, item)
                by_name[item["name"]] = item
            merged[key] = list(by_name.values())
        else:
            merged[key] = value
    return merged


def _named_items(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, dict) and isinstance(item.get("name"), str) for item in value
    )


def check_kubernetes(v: dict[str, Any], what: str) -> None:
    """ValueError naming the first kubernetes job variable of the wrong kind."""

    def wrong(name: str, expected: str) -> ValueError:
        return ValueError(f"{what}: {name} must be {expected}, got {v[name]!r}")

    if "image" in v and (not isinstance(v["image"], str) or not v["image"].strip()):
        raise wrong("image", "an image name such as 'registry.example.com/flows:1.0'")
    if v.get("namespace") is not None and not _dns(v["namespace"], _DNS_LABEL, 63):
        raise wrong("namespace", "a namespace name (lower-case letters, digits, '-')")
    account = v.get("service_account_name")
    if account is not None and not _dns(account, _DNS_SUBDOMAIN, 253):
        raise wrong("service_account_name", "a service account name such as 'flow-runner'")
    policy = v.get("image_pull_policy")
    if policy is not None and policy not in PULL_POLICIES:
        raise wrong("image_pull_policy", " or ".join(PULL_POLICIES))
    if "env" in v and (
        not isinstance(v["env"], dict)
        or not all(_env_name(k) for k in v["env"])
        or not all(isinstance(x, str | int | float | bool) for x in v["env"].values())
    ):
        raise wrong("env", "a mapping of variable names to text")
    if "env_from_secrets" in v and not _secret_refs(v["env_from_secrets"]):
        raise wrong(
            "env_from_secrets",
            "a mapping of variable names to {'secret': SECRET-NAME, 'key': KEY-IN-SECRET}",
        )
    for name in _RESOURCES:
        quantity = v.get(name)
        if quantity is None:
            continue
        if isinstance(quantity, bool) or not (
            (isinstance(quantity, int | float) and math.isfinite(quantity) and quantity > 0)
            or (isinstance(quantity, str) and _QUANTITY.match(quantity))
        ):
            example = "'500m' or 1" if name.startswith("cpu") else "'512Mi' or '2Gi'"
            raise wrong(name, f"a Kubernetes quantity such as {example}")
    if "labels" in v and not _labels(v["labels"]):
        raise wrong("labels", "a mapping of label keys to values of at most 63 characters")
    ttl = v.get("finished_job_ttl")
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 0):
        raise wrong("finished_job_ttl", "a whole number of seconds (0 or more)")
    timeout = v.get("pod_watch_timeout_seconds")
    if timeout is not None and (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not (math.isfinite(timeout) and timeout > 0)
    ):
        raise wrong("pod_watch_timeout_seconds", "a positive number of seconds")
    if "job_manifest" in v:
        _check_manifest(v, wrong)


def _check_manifest(v: dict[str, Any], wrong: Any) -> None:
    manifest = v["job_manifest"]
    expected = "a batch/v1 Job manifest (a mapping)"
    if not isinstance(manifest, dict):
        raise wrong("job_manifest", expected)
    if manifest.get("apiVersion", "batch/v1") != "batch/v1" or manifest.get("kind", "Job") != (
        "Job"
    ):
        raise wrong("job_manifest", expected)
    pod = manifest.get("spec", {}).get("template", {}).get("spec", {})
    if not isinstance(pod, dict):
        raise wrong("job_manifest", f"{expected} whose spec.template.spec is a mapping")
    containers = pod.get("containers", [])
    if not isinstance(containers, list) or not all(isinstance(c, dict) for c in containers):
        raise wrong("job_manifest", f"{expected} whose containers are a list of mappings")


def _dns(value: Any, pattern: re.Pattern[str], longest: int) -> bool:
    return isinstance(value, str) and len(value) <= longest and bool(pattern.match(value))


def _env_name(name: Any) -> bool:
    return isinstance(name, str) and bool(name) and "=" not in name


def _secret_refs(refs: Any) -> bool:
    return isinstance(refs, dict) and all(
        _env_name(name)
        and isinstance(ref, dict)
        and set(ref) == {"secret", "key"}
        and _dns(ref["secret"], _DNS_SUBDOMAIN, 253)
        and isinstance(ref["key"], str)
        and bool(_SECRET_KEY.match(ref["key"]))
        for name, ref in refs.items()
    )


def _labels(labels: Any) -> bool:
    return isinstance(labels, dict) and all(
        _label_key(key) and isinstance(value, str) and _label_value(value)
        for key, value in labels.items()
    )


def _label_key(key: Any) -> bool:
    if not isinstance(key, str):
        return False
    prefix, _, name = key.rpartition("/")
    if prefix and not _dns(prefix, _DNS_SUBDOMAIN, 253):
        return False
    return len(name) <= 63 and bool(_LABEL_NAME.match(name))


def _label_value(value: str) -> bool:
    return value == "" or (len(value) <= 63 and bool(_LABEL_NAME.match(value)))
