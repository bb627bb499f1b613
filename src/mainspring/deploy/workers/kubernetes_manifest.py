"""The batch/v1 Job manifest of a flow run on a kubernetes work pool: a pure function of the run
id, its job (model/kubernetes_job.py) and the store settings the pod needs, so every manifest
can be checked against the Kubernetes API's schema without a cluster.

The user's `job_manifest` is the base; ours is merged over it (model/kubernetes_job.py's
`merge_manifest`). Its container named `flow`, or else its first container, is the flow's: our
image, command, env and resources go over it; its other containers stay as they are.
"""

from __future__ import annotations

import copy
from typing import Any

from mainspring.model.kubernetes_job import KubernetesJob, merge_manifest

__all__ = ["FLOW_CONTAINER", "MANAGED_BY", "RUN_LABEL", "job_manifest", "job_name"]

#: The label naming the flow run a Job (and its pod) runs: `kubectl get pods -l ...`.
RUN_LABEL = "mainspring.io/flow-run-id"
MANAGED_BY = {"app.kubernetes.io/managed-by": "mainspring"}
FLOW_CONTAINER = "flow"


def job_name(run_id: str) -> str:
    """The Job's name: one per run, so creating it twice is a conflict, not a second run."""
    return f"mainspring-{run_id.lower()}"


def job_manifest(run_id: str, job: KubernetesJob, store_env: dict[str, str]) -> dict[str, Any]:
    """The Job that runs `run_id`: its pod runs `python -m mainspring.cli.main flow-run execute
    ID` once (no pod retries: a flow's retries are its own), recording where `store_env` says."""
    labels = {**job.labels, **MANAGED_BY, RUN_LABEL: run_id}
    spec: dict[str, Any] = {
        "backoffLimit": 0,
        "template": {
            "metadata": {"labels": labels},
            "spec": {"restartPolicy": "Never", "containers": [_container(run_id, job, store_env)]},
        },
    }
    if job.finished_job_ttl is not None:
        spec["ttlSecondsAfterFinished"] = job.finished_job_ttl
    if job.service_account_name:
        spec["template"]["spec"]["serviceAccountName"] = job.service_account_name
    ours = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": job_name(run_id), "namespace": job.namespace, "labels": labels},
        "spec": spec,
    }
    return merge_manifest(_with_flow_container_named(job.job_manifest), ours)


def _container(run_id: str, job: KubernetesJob, store_env: dict[str, str]) -> dict[str, Any]:
    plain = {**store_env, **job.env}
    env: list[dict[str, Any]] = [
        {"name": name, "value": value}
        for name, value in plain.items()
        if name not in job.env_from_secrets  # a secret named for it wins over a plain value
    ]
    env += [
        {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
        for name, (secret, key) in job.env_from_secrets.items()
    ]
    container: dict[str, Any] = {
        "name": FLOW_CONTAINER,
        "image": job.image,
        "command": ["python", "-m", "mainspring.cli.main", "flow-run", "execute", run_id],
        "env": env,
    }
    if job.image_pull_policy:
        container["imagePullPolicy"] = job.image_pull_policy
    requests = {"cpu": job.cpu_request, "memory": job.memory_request}
    limits = {"cpu": job.cpu_limit, "memory": job.memory_limit}
    resources = {
        kind: {k: q for k, q in values.items() if q is not None}
        for kind, values in (("requests", requests), ("limits", limits))
        if any(q is not None for q in values.values())
    }
    if resources:
        container["resources"] = resources
    return container


def _with_flow_container_named(manifest: dict[str, Any]) -> dict[str, Any]:
    """The user's manifest with its flow container named `flow` (its first, if none is), so
    ours merges into it instead of running beside it."""
    manifest = copy.deepcopy(manifest)
    containers = manifest.get("spec", {}).get("template", {}).get("spec", {}).get("containers")
    if containers and not any(c.get("name") == FLOW_CONTAINER for c in containers):
        containers[0]["name"] = FLOW_CONTAINER
    return manifest
