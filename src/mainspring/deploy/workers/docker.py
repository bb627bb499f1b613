"""Running deployment runs in Docker containers: the runner of a `docker` work pool's worker.

The runners' shared loop (deploy/workers/base.py) watches, cancels and ends the runs; this
module says how a container starts, is polled, stopped, and what its exit means. Each claimed
run becomes a container of the run's image (job variables: the pool's `base_job_template`
under the deployment's `job_variables`, model/job_variables.py) running `python -m
mainspring.cli.main flow-run execute ID`, with the worker's store settings
(`MAINSPRING_API_URL`, or the database URL: a SQLite file must then be mounted at the same
path) and the job's `env`. The container records its own states; the runner steps in when it
could not:

- the container exited without finishing its run: Crashed, with the reason — out of memory
  (the kernel's OOM killer, exit code 137) named as such, else the exit code;
- the image is missing or Docker refused to start it: Crashed, with Docker's message;
- a cancel: Cancelling first (the flow ends itself Cancelled at its next heartbeat), then
  `docker stop` after `cancel_grace` (SIGTERM, SIGKILL after the same grace).

The container's output is copied to the worker's stderr, each line prefixed with the run
(`stream_output`, default on). Containers are removed once their exit is accounted for
(`auto_remove`, default on; removing it ourselves, not Docker's `--rm`, keeps the exit code).

A container starts in a thread (`starts_slowly`): pulling a missing image can take minutes, and
the worker's loop must go on meanwhile (its heartbeat keeps its claims; other runs end and are
cancelled). The run stays Pending, claimed by this worker, until its container runs.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mainspring.deploy.workers.base import CannotStart, Exit, FlowRunRunner, Job
from mainspring.deploy.workers.job_environment import (
    deployment_job_variables,
    require_deployment_store,
    store_environment,
)
from mainspring.deploy.workers.process import DEFAULT_CANCEL_GRACE
from mainspring.model.deployments import WorkPool
from mainspring.model.job_variables import DockerJob, docker_job
from mainspring.store.base import Store

__all__ = ["DockerRunner", "container_environment"]

logger = logging.getLogger("mainspring.deploy.docker")

#: The label naming the flow run a container runs (`docker ps --filter label=...`).
RUN_LABEL = "io.mainspring.flow-run-id"
OOM_EXIT_CODE = 137


def container_environment(job: DockerJob) -> dict[str, str]:
    """The container's environment: where to record (this worker's store) and the job's env.
    Nothing else of the worker's environment goes in (a container is another machine)."""
    return {**store_environment(), **job.env}


@dataclass(kw_only=True)
class _Container(Job):
    container: Any
    job: DockerJob
    streamer: threading.Thread | None = None


class DockerRunner(FlowRunRunner[_Container]):
    """Runs flow runs in containers (module docstring)."""

    where = "container"
    stopped_by = "its container was stopped"
    starts_slowly = True  # a pull (or a large image's start) must not hold the worker's loop
    logger = logger

    def __init__(
        self,
        store: Store,
        pool: WorkPool,
        *,
        limit: int | None = None,
        cancel_grace: float = DEFAULT_CANCEL_GRACE,
        client: Any = None,
    ) -> None:
        require_deployment_store(store, "docker")
        super().__init__(store, limit=limit, cancel_grace=cancel_grace)
        self.pool = pool
        self._client = client
        self._client_made = threading.Lock()  # containers start in threads (`starts_slowly`)

    @property
    def client(self) -> Any:
        """The Docker engine's client (from DOCKER_HOST or the local socket), made once."""
        with self._client_made:
            if self._client is None:
                try:
                    import docker
                except ImportError:
                    raise RuntimeError(
                        "a docker work pool needs the Docker SDK: pip install 'mainspring[docker]'"
                    ) from None
                self._client = docker.from_env()
            return self._client

    def launch(self, run_id: str, label: str, not_before: float | None = None) -> _Container:
        """The container that runs `run_id`, its image pulled first when missing (in a
        thread: `starts_slowly`); `CannotStart` with Docker's reason when it cannot be."""
        try:
            job = self._job(run_id)
        except (LookupError, ValueError, TypeError) as exc:
            raise CannotStart(f"Its docker job is not valid: {exc}") from None
        import docker.errors

        try:
            self._ensure_image(job.image)
        except docker.errors.DockerException as exc:
            raise CannotStart(
                f"Docker has no image {job.image!r} and could not pull it: {_reason(exc)}"
            ) from None
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
            raise CannotStart(f"Docker could not start its container: {_reason(exc)}") from None
        child = _Container(run_id=run_id, label=label, container=container, job=job)
        if job.stream_output:
            child.streamer = threading.Thread(
                target=_stream, args=(container, label), name=f"logs-{run_id}", daemon=True
            )
            child.streamer.start()
        logger.info("Started flow run %s in container %s", label, container.short_id)
        return child

    def _ensure_image(self, image: str) -> None:
        """Have `image` locally: pulled when missing (where a registry is reachable)."""
        import docker.errors

        try:
            self.client.images.get(image)
        except docker.errors.ImageNotFound:
            logger.info("Pulling image %s", image)
            self.client.images.pull(image)

    def _job(self, run_id: str) -> DockerJob:
        job_variables = deployment_job_variables(self.store, run_id)
        return docker_job(self.pool.base_job_template, job_variables)

    def poll(self, jobs: list[_Container]) -> Iterator[tuple[_Container, Exit | None]]:
        """Each container's status; an exited one's code and OOM flag, read before it is
        removed. A container removed behind our back (or an engine away) has vanished."""
        for child in jobs:
            try:
                child.container.reload()
                status = child.container.status
            except Exception:
                yield child, Exit(vanished=True)
                continue
            if status not in ("exited", "dead"):
                yield child, None
                continue
            state = child.container.attrs.get("State", {})
            yield child, Exit(code=state.get("ExitCode"), oom=bool(state.get("OOMKilled")))

    def halt(self, job: _Container, force: bool) -> bool:
        """`docker stop`: SIGTERM, SIGKILL after the grace (Docker's own), in a thread so the
        loop does not wait for it; with `force`, SIGKILL now and wait for it."""
        if force:
            _stop(job.container, 0)
            return True
        logger.warning("Flow run %s: stopping its container", job.label)
        threading.Thread(target=_stop, args=(job.container, self.cancel_grace), daemon=True).start()
        return True

    def release(self, job: _Container, exit: Exit) -> None:
        """The rest of its output, then the container removed (`auto_remove`)."""
        if job.streamer is not None:
            job.streamer.join(5)
        if job.job.auto_remove and not exit.vanished:
            try:
                job.container.remove(force=True)
            except Exception:
                logger.warning("Flow run %s: could not remove its container", job.label)

    def crash_reason(self, job: _Container, exit: Exit) -> str:
        if exit.oom:
            return (
                "Its container ran out of memory (OOM-killed, exit code 137; "
                f"mem_limit {job.job.mem_limit!r}) before the run finished"
            )
        if exit.code == OOM_EXIT_CODE:
            return "Its container was killed (exit code 137, SIGKILL)"
        if exit.code is None:
            return "Its container disappeared before the run finished"
        return f"Its container exited with code {exit.code} before the run finished"


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
