"""What the worker's loop needs of a runner, whatever it runs flow runs in: subprocesses
(deploy/workers/process.py), containers (deploy/workers/docker.py) or Kubernetes Jobs
(deploy/workers/kubernetes.py)."""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["FlowRunRunner"]


class FlowRunRunner(Protocol):
    #: the runs it runs now, by run id
    children: dict[str, Any]

    @property
    def free_slots(self) -> int:
        """How many more runs may start now."""

    def prepare(self) -> None:
        """Get ready for the next run (a warm process); cheap to call often."""

    def start(self, run_id: str, label: str | None = None) -> None:
        """Start running `run_id`; a run that cannot start is ended (Crashed) here."""

    def cancel(self, run_id: str) -> None:
        """Stop the run: Cancelling first, then its process or container after a grace."""

    def check(self) -> list[str]:
        """Account for runs whose process or container ended; return their ids."""

    def stop(self, cancel: bool = True, timeout: float | None = None) -> None:
        """Cancel (or wait for) every run until all have ended."""
