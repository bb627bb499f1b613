"""Running deployment runs in Docker containers: the runner of a `docker` work pool's worker.

Same contract as the process runner (deploy/workers/process.py) — `start`, `cancel`, `check`,
`stop`, `free_slots` — so the worker's loop is one for both. Each claimed run becomes a container of
the run's image (job variables: the pool's `base_job_template` under the deployment's
`job_variables`, model/job_variables.py) running `python -m mainspring.cli.main flow-run
execute ID`, with the worker's store settings (`MAINSPRING_API_URL`, or the database URL: a
SQLite file must then be mounted at the same path) and the job's `env`. The container records
its own states; the runner steps in when it could not:

- the container exited without finishing its run: Crashed, with the reason — out of memory
  (the kernel's OOM killer, exit code 137) named as such, else the exit code;
- the image is missing or Docker refused to start it: Crashed at once, with Docker's message;
- a cancel: Cancelling first (the flow ends itself Cancelled at its next heartbeat), then
  `docker stop` after `cancel_grace` (SIGTERM, SIGKILL after the same grace).

The container's output is copied to the worker's stderr, each line prefixed with the run
(`stream_output`, default on). Containers are removed once their exit is accounted for
(`auto_remove`, default on; removing it ourselves, not Docker's `--rm`, keeps the exit code).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from mainspring.deploy.workers import endings as run_endings
from mainspring.deploy.workers.job_environment import store_environment
from mainspring.deploy.workers.process import DEFAULT_CANCEL_GRACE
from mainspring.model.deployments import WorkPool
from mainspring.model.job_variables import DockerJob, docker_job
from mainspring.model.states import Cancelled, Crashed, State
from mainspring.store.base import Store
from mainspring.store.deployments import DeploymentStore

__all__ = ["DockerRunner", "container_environment"]

logger = logging.getLogger("mainspring.deploy.docker")

#: The label naming the flow run a container runs (`docker ps --filter label=...`).
RUN_LABEL = "io.mainspring.flow-run-id"
OOM_EXIT_CODE = 137


def container_environment(job: DockerJob) -> dict[str, str]:
    """The container's environment: where to record (this worker's store) and the job's env.
    Nothing else of the worker's environment goes in (a container is another machine)."""
    return {**store_environment(), **job.env}


@dataclass
class _Container:
    run_id: str
    label: str
    container: Any
    job: DockerJob
    cancel_at: float | None = None
    stopped: bool = False
    streamer: threading.Thread | None = None


class DockerRunner:
    """Runs flow runs in containers (module docstring)."""

    def __init__(
        self,
        store: Store,
        pool: WorkPool,
        *,
        limit: int | None = None,
        cancel_grace: float = DEFAULT_CANCEL_GRACE,
        client: Any = None,
    ) -> None:
        if limit is not None and (isinstance(limit, bool) or limit < 1):
            raise ValueError(f"limit must be a positive int or None, got {limit!r}")
        if not isinstance(store, DeploymentStore):
            raise TypeError(f"a docker runner needs a DeploymentStore, got {type(store).__name__}")
        self.store = store
        self.pool = pool
        self.limit = limit
        self.cancel_grace = cancel_grace
        self.children: dict[str, _Container] = {}
        self._client = client

    @property
    def client(self) -> Any:
        """The Docker engine's client (from DOCKER_HOST or the local socket), made once."""
        if self._client is None:
            try:
                import docker
            except ImportError:
                raise RuntimeError(
                    "a docker work pool needs the Docker SDK: pip install 'mainspring[docker]'"
                ) from None
            self._client = docker.from_env()
        return self._client

    @property
    def free_slots(self) -> int:
        return run_endings.free_slots(self.limit, len(self.children))

    def prepare(self) -> None:
        """Nothing to warm: a container starts from its image."""

    def start(self, run_id: str, label: str | None = None) -> None:
        """Start the container that runs `run_id`; a run that cannot start ends Crashed."""
        label = label or run_id
        try:
            job = self._job(run_id)
        except (LookupError, ValueError, TypeError) as exc:
            self._crash(run_id, label, f"Its docker job is not valid: {exc}")
            return
        import docker.errors

        try:
            self._ensure_image(job.image)
        except docker.errors.DockerException as exc:
            self._crash(
                run_id,
                label,
                f"Docker has no image {job.image!r} and could not pull it: {_reason(exc)}",
            )
            return
        try:
            container = self.client.containers.run(
                job.image,
                ["python", "-m", "mainspring.cli.main", "flow-run", "execute", run_id],
                detach=True,
                environment=container_environment(job),
                volumes=list(job.volumes),
                network_mode=job.network_mode,
                mem_limit=job.mem_limit,
                nano_cpus=None if job.cpus is None else int(job.cpus * 1e9),
                labels={RUN_LABEL: run_id},
                name=f"mainspring-{run_id}",
            )
        except docker.errors.DockerException as exc:
            self._crash(run_id, label, f"Docker could not start its container: {_reason(exc)}")
            return
        child = _Container(run_id, label, container, job)
        if job.stream_output:
            child.streamer = threading.Thread(
                target=_stream, args=(container, label), name=f"logs-{run_id}", daemon=True
            )
            child.streamer.start()
        self.children[run_id] = child
        logger.info("Started flow run %s in container %s", label, container.short_id)

    def _ensure_image(self, image: str) -> None:
        """Have `image` locally: pulled when missing (where a registry is reachable)."""
        import docker.errors

        try:
            self.client.images.get(image)
        except docker.errors.ImageNotFound:
            logger.info("Pulling image %s", image)
            self.client.images.pull(image)

    def _job(self, run_id: str) -> DockerJob:
        assert isinstance(self.store, DeploymentStore)
        run = self.store.read_flow_run(run_id)
        if run.deployment_id is None:
            raise LookupError("the run has no deployment")
        deployment = self.store.read_deployment(run.deployment_id)
        return docker_job(self.pool.base_job_template, deployment.job_variables)

    def cancel(self, run_id: str) -> None:
        child = self.children.get(run_id)
        if child is None or child.cancel_at is not None:
            return
        child.cancel_at = time.monotonic()
        run_endings.ask_cancel(self.store, run_id, child.label, logger)

    def check(self) -> list[str]:
        """Account for exited containers, push cancels along; return the runs that ended."""
        ended = []
        now = time.monotonic()
        for child in list(self.children.values()):
            try:
                child.container.reload()
                status = child.container.status
            except Exception:  # removed behind our back, or the engine is away
                status = "gone"
            if status in ("exited", "dead", "gone"):
                self._reconcile(child, status)
                del self.children[child.run_id]
                ended.append(child.run_id)
                continue
            if child.cancel_at is None and self._cancel_asked(child.run_id):
                child.cancel_at = now
            if (
                child.cancel_at is not None
                and not child.stopped
                and now - child.cancel_at >= self.cancel_grace
            ):
                logger.warning("Flow run %s: stopping its container", child.label)
                child.stopped = True
                threading.Thread(
                    target=_stop, args=(child.container, self.cancel_grace), daemon=True
                ).start()
        return ended

    def _cancel_asked(self, run_id: str) -> bool:
        return run_endings.cancel_asked(self.store, run_id)

    def _reconcile(self, child: _Container, status: str) -> None:
        state_info = child.container.attrs.get("State", {}) if status != "gone" else {}
        code = state_info.get("ExitCode")
        oom = bool(state_info.get("OOMKilled"))
        if child.streamer is not None:
            child.streamer.join(5)
        if child.job.auto_remove and status != "gone":
            try:
                child.container.remove(force=True)
            except Exception:
                logger.warning("Flow run %s: could not remove its container", child.label)
        if (
            run_endings.unfinished(self.store, child.run_id, child.label, "container", logger)
            is None
        ):
            return
        if child.cancel_at is not None:
            state: State = Cancelled(message="Cancelled: its container was stopped")
        elif oom:
            state = Crashed(
                message="Its container ran out of memory (OOM-killed, exit code 137; "
                f"mem_limit {child.job.mem_limit!r}) before the run finished"
            )
        elif code == OOM_EXIT_CODE:
            state = Crashed(message="Its container was killed (exit code 137, SIGKILL)")
        elif code is None:
            state = Crashed(message="Its container disappeared before the run finished")
        else:
            state = Crashed(
                message=f"Its container exited with code {code} before the run finished"
            )
        run_endings.record_end(self.store, child.run_id, child.label, state, logger)

    def _crash(self, run_id: str, label: str, message: str) -> None:
        run_endings.crash_now(self.store, run_id, label, message, logger)

    def stop(self, cancel: bool = True, timeout: float | None = None) -> None:
        """Cancel (or wait for) every running container until all have exited."""
        if cancel:
            for run_id in self.children:
                self.cancel(run_id)
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.children:
            self.check()
            if deadline is not None and time.monotonic() > deadline:
                for child in self.children.values():
                    _stop(child.container, 0)
                self.check()
                return
            time.sleep(0.1)


def _stream(container: Any, label: str) -> None:
    """Copy the container's output to this process's stderr, a line at a time."""
    pending = b""
    try:
        for chunk in container.logs(stream=True, follow=True):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                sys.stderr.write(f"[{label}] {line.decode(errors='replace')}\n")
        if pending:
            sys.stderr.write(f"[{label}] {pending.decode(errors='replace')}\n")
        sys.stderr.flush()
    except Exception:  # the container went away: its output is over
        return


def _stop(container: Any, grace: float) -> None:
    try:
        container.stop(timeout=max(0, int(grace)))
    except Exception:
        logger.debug("stopping a container that is gone", exc_info=True)


def _reason(exc: BaseException) -> str:
    """Docker's own explanation, on one line (its message, not the HTTP wrapping)."""
    explanation = getattr(exc, "explanation", None) or str(exc)
    return " ".join(str(explanation).split())[:300]
