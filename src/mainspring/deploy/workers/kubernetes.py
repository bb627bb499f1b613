"""Running deployment runs as Kubernetes Jobs: the runner of a `kubernetes` work pool's worker.

The runners' shared loop (deploy/workers/base.py) starts, watches, cancels and ends the runs;
this module says how a Job is made, read, deleted and what its pod's end means. Each claimed run
becomes a batch/v1 Job (deploy/workers/kubernetes_manifest.py, from the pool's `base_job_template`
under the deployment's `job_variables`) whose one pod runs the flow and records its own states.
Every `watch_interval` seconds `check` lists the runs' pods (one call per namespace) and reads
each (deploy/workers/kubernetes_pods.py); the runner steps in when the flow could not:

- the pod ended without finishing its run: Crashed, with the reason (OOMKilled, the exit code,
  an eviction);
- the pod cannot start (ImagePullBackOff, a missing secret) or no node takes it within
  `pod_watch_timeout_seconds` (Unschedulable, with the scheduler's message): Crashed with the
  reason, and the Job deleted;
- the API refuses the Job (a bad `job_manifest`, a missing namespace, no permission): Crashed
  at once with the API server's message;
- a cancel: Cancelling first (the flow ends itself Cancelled at its next heartbeat), then the
  Job deleted (propagation Background: its pod gets SIGTERM) after `cancel_grace`.

I/O is only the `kubernetes` client's calls here (create, list pods, read, delete); the client
comes from the in-cluster service account or the kubeconfig, unless one is passed in.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from mainspring.deploy.workers.base import CannotStart, Exit, FlowRunRunner, Job
from mainspring.deploy.workers.job_environment import (
    deployment_job_variables,
    require_deployment_store,
    store_environment,
)
from mainspring.deploy.workers.kubernetes_manifest import RUN_LABEL, job_manifest, job_name
from mainspring.deploy.workers.kubernetes_pods import PodWatch, watch_pod
from mainspring.deploy.workers.process import DEFAULT_CANCEL_GRACE
from mainspring.model.deployments import WorkPool
from mainspring.model.job_variables import kubernetes_job
from mainspring.model.kubernetes_job import KubernetesJob
from mainspring.store.base import Store

__all__ = ["KubernetesRunner", "api_client_from_environment"]

logger = logging.getLogger("mainspring.deploy.kubernetes")

#: Seconds between two looks at a run's pod: the flow records its own states; the pod is read
#: only for what the flow cannot say, so the API server is spared a call per run per turn.
DEFAULT_WATCH_INTERVAL = 5.0
#: Runs whose pods one list call asks for (a label selector `in (...)`; URLs stay short).
_LIST_AT_ONCE = 50


def api_client_from_environment() -> Any:
    """A client of the cluster this worker runs in (its service account), else of the
    kubeconfig's current context."""
    try:
        from kubernetes import client, config
    except ImportError:
        raise RuntimeError(
            "a kubernetes work pool needs the Kubernetes client: "
            "pip install 'mainspring[kubernetes]'"
        ) from None
    try:
        config.load_incluster_config()
    except config.ConfigException:
        try:
            config.load_kube_config()
        except (config.ConfigException, OSError) as exc:
            raise RuntimeError(
                "a kubernetes work pool's worker needs a cluster: it runs in none (no service "
                f"account) and found no kubeconfig ({' '.join(str(exc).split())[:200]})"
            ) from None
    return client.ApiClient()


@dataclass(kw_only=True)
class _Job(Job):
    name: str
    job: KubernetesJob
    created: float
    read_at: float = -math.inf
    deleted: bool = False


class KubernetesRunner(FlowRunRunner[_Job]):
    """Runs flow runs as Kubernetes Jobs (module docstring)."""

    where = "pod"
    stopped_by = "its Job was deleted"
    stop_poll = 0.5
    logger = logger

    def __init__(
        self,
        store: Store,
        pool: WorkPool,
        *,
        limit: int | None = None,
        cancel_grace: float = DEFAULT_CANCEL_GRACE,
        watch_interval: float = DEFAULT_WATCH_INTERVAL,
        api_client: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        require_deployment_store(store, "kubernetes")
        super().__init__(store, limit=limit, cancel_grace=cancel_grace, clock=clock)
        self.pool = pool
        self.watch_interval = watch_interval
        self._api_client = api_client
        self._apis: tuple[Any, Any] | None = None

    @property
    def apis(self) -> tuple[Any, Any]:
        """(BatchV1Api, CoreV1Api) on the client, made once."""
        if self._apis is None:
            from kubernetes import client

            api_client = self._api_client or api_client_from_environment()
            self._apis = (client.BatchV1Api(api_client), client.CoreV1Api(api_client))
        return self._apis

    def connect(self) -> None:
        """Find the cluster now (RuntimeError saying why not), not at the first run."""
        self.apis  # noqa: B018

    def launch(self, run_id: str, label: str, not_before: float | None = None) -> _Job:
        """Create the Job that runs `run_id` (one made before, by a restarted worker, is
        watched as it is); `CannotStart` with the API server's message when it refuses."""
        try:
            job = self._job(run_id)
        except (LookupError, ValueError, TypeError) as exc:
            raise CannotStart(f"Its kubernetes job is not valid: {exc}") from None
        manifest = job_manifest(run_id, job, self._environment(job))
        batch, _core = self.apis
        try:
            batch.create_namespaced_job(job.namespace, manifest)
        except Exception as exc:
            if getattr(exc, "status", None) != 409:  # 409: made before (a restarted worker)
                raise CannotStart(f"Kubernetes refused its Job: {_api_reason(exc)}") from None
        name = job_name(run_id)
        logger.info("Started flow run %s as Job %s/%s", label, job.namespace, name)
        return _Job(run_id=run_id, label=label, name=name, job=job, created=self._clock())

    def _job(self, run_id: str) -> KubernetesJob:
        job_variables = deployment_job_variables(self.store, run_id)
        return kubernetes_job(self.pool.base_job_template, job_variables)

    def _environment(self, job: KubernetesJob) -> dict[str, str]:
        env = store_environment()
        if "MAINSPRING_API_KEY" in env and "MAINSPRING_API_KEY" not in job.env_from_secrets:
            logger.warning(
                "The API key goes into the Job's spec as plain text: name a Kubernetes secret "
                "for it instead (job variable env_from_secrets: MAINSPRING_API_KEY)"
            )
        return env

    def poll(self, jobs: list[_Job]) -> Iterator[tuple[_Job, Exit | None]]:
        """Read the pods of the jobs due a look (each every `watch_interval`, one list call
        per namespace); delete a Job whose pod would wait forever (a pull that fails)."""
        now = self._clock()
        due = [c for c in jobs if now - c.read_at >= self.watch_interval]
        for child in due:  # also when the API does not answer: asked again after the interval
            child.read_at = now
        for child, pods in self._pods_of(due):
            try:
                watch = self._watch(child, pods)
            except Exception as exc:  # the API is away for a moment: ask again next turn
                logger.warning("Flow run %s: could not read its Job: %s", child.label, exc)
                continue
            if watch.delete and not child.deleted:
                self._delete(child)
            ended = Exit(code=watch.exit_code, reason=watch.crash) if watch.ended else None
            yield child, ended

    def _pods_of(self, children: list[_Job]) -> list[tuple[_Job, list[Any]]]:
        """Each child with its pods: one list call per namespace (and per `_LIST_AT_ONCE` runs).
        Children whose list failed are left out (asked again at the next check)."""
        _batch, core = self.apis
        by_namespace: dict[str, list[_Job]] = {}
        for child in children:
            by_namespace.setdefault(child.job.namespace, []).append(child)
        found: list[tuple[_Job, list[Any]]] = []
        for namespace, group in by_namespace.items():
            for at in range(0, len(group), _LIST_AT_ONCE):
                chunk = group[at : at + _LIST_AT_ONCE]
                ids = ",".join(c.run_id for c in chunk)
                try:
                    pods = core.list_namespaced_pod(
                        namespace, label_selector=f"{RUN_LABEL} in ({ids})"
                    ).items
                except Exception as exc:  # the API is away for a moment
                    logger.warning("Could not list the pods in %s: %s", namespace, exc)
                    continue
                by_run: dict[str | None, list[Any]] = {}
                for pod in pods:
                    run_id = ((pod.metadata and pod.metadata.labels) or {}).get(RUN_LABEL)
                    by_run.setdefault(run_id, []).append(pod)
                found += [(c, by_run.get(c.run_id, [])) for c in chunk]
        return found

    def _watch(self, child: _Job, pods: list[Any]) -> PodWatch:
        batch, _core = self.apis
        namespace = child.job.namespace
        if not pods:
            try:
                batch.read_namespaced_job(child.name, namespace)
            except Exception as exc:
                if getattr(exc, "status", None) == 404:
                    message = None if child.deleted else "Its Job was deleted before the run ended"
                    return PodWatch(True, message)
                raise
        pod = max(pods, key=_created, default=None)
        if child.deleted and pod is not None and pod.status and pod.status.phase == "Pending":
            return PodWatch(True, None)  # deleted before it started: it never will
        return watch_pod(
            pod,
            self._clock() - child.created,
            child.job.pod_watch_timeout_seconds,
            child.job.memory_limit,
        )

    def halt(self, job: _Job, force: bool) -> bool:
        """Delete the Job (propagation Background: its pod gets SIGTERM, then SIGKILL after
        its termination grace: Kubernetes' own), unless it is deleted already."""
        if not job.deleted:
            logger.warning("Flow run %s: deleting its Job", job.label)
            self._delete(job)
        return job.deleted

    def _delete(self, child: _Job) -> None:
        batch, _core = self.apis
        try:
            batch.delete_namespaced_job(
                child.name, child.job.namespace, propagation_policy="Background"
            )
        except Exception as exc:
            if getattr(exc, "status", None) != 404:
                logger.warning("Flow run %s: could not delete its Job: %s", child.label, exc)
                return
        child.deleted = True

    def crash_reason(self, job: _Job, exit: Exit) -> str:
        if exit.reason is not None:
            return exit.reason
        if exit.code is not None:
            return f"Its pod exited with code {exit.code} before the run finished"
        return "Its pod disappeared before the run finished"


def _created(pod: Any) -> float:
    stamp = pod.metadata.creation_timestamp if pod.metadata is not None else None
    return stamp.timestamp() if stamp is not None else 0.0


def _api_reason(exc: BaseException) -> str:
    """The API server's message (its Status body), on one line, else the error itself."""
    body = getattr(exc, "body", None)
    message = None
    if body:
        try:
            message = json.loads(body).get("message")
        except (ValueError, AttributeError):
            message = None
    if message is None:
        status = getattr(exc, "status", None)
        message = f"{status} {getattr(exc, 'reason', '')}" if status else str(exc)
    return " ".join(str(message).split())[:400]
