"""What a flow run's pod says about the run: a pure reading of the pod the Kubernetes API returned
(the client's V1Pod), so the kubernetes runner's decisions are tested without a cluster.

The flow in the pod records Completed or Failed itself; what the pod can tell that the flow
cannot is why it never ran or died under it: out of memory, an image that cannot be pulled, a
secret that is missing, a pod that no node can take (after `pod_watch_timeout_seconds`), an
eviction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mainspring.deploy.workers.kubernetes_manifest import FLOW_CONTAINER

__all__ = ["FATAL_WAITING", "PodWatch", "watch_pod"]

#: Container waiting reasons that will not fix themselves: the run ends Crashed at once.
FATAL_WAITING = frozenset(
    {
        "ImagePullBackOff",  # a pull failed and is being retried with back-off
        "ErrImageNeverPull",
        "InvalidImageName",
        "CreateContainerConfigError",  # e.g. a secret or key named in env_from_secrets
        "CreateContainerError",
    }
)
OOM_EXIT_CODE = 137


@dataclass(frozen=True)
class PodWatch:
    """The pod's news. `ended`: it will not run the flow (any more). `crash`: why the run
    crashed, when it did. `delete`: the Job must be deleted (its pod would wait forever)."""

    ended: bool = False
    crash: str | None = None
    delete: bool = False
    exit_code: int | None = None


STILL_GOING = PodWatch()


def watch_pod(pod: Any, waited: float, timeout: float, memory_limit: str | None = None) -> PodWatch:
    """Read `pod` (a V1Pod; None: no pod yet) `waited` seconds after its Job was created."""
    if pod is None:
        if waited >= timeout:
            return PodWatch(
                True, f"No pod was created for its Job within {timeout:g} s", delete=True
            )
        return STILL_GOING
    status = pod.status
    phase = status.phase if status is not None else None
    flow = _flow_container_status(status)
    if phase in ("Succeeded", "Failed"):
        return _finished(pod, phase, flow, memory_limit)
    waiting = flow.state.waiting if flow is not None and flow.state is not None else None
    if waiting is not None and waiting.reason in FATAL_WAITING:
        image = flow.image if flow is not None else None
        what = (
            f"Kubernetes could not pull its image {image!r}"
            if "Image" in waiting.reason
            else "Kubernetes could not create its container"
        )
        return PodWatch(True, f"{what} ({_said(waiting.reason, waiting.message)})", delete=True)
    if phase == "Pending" and waited >= timeout:
        unschedulable = _condition(status, "PodScheduled", "False")
        if unschedulable is not None:
            why = _said(unschedulable.reason, unschedulable.message)
            return PodWatch(
                True, f"Its pod could not be scheduled within {timeout:g} s ({why})", delete=True
            )
        why = _said(waiting.reason, waiting.message) if waiting is not None else "Pending"
        return PodWatch(True, f"Its pod did not start within {timeout:g} s ({why})", delete=True)
    return STILL_GOING


def _finished(pod: Any, phase: str, flow: Any, memory_limit: str | None) -> PodWatch:
    terminated = flow.state.terminated if flow is not None and flow.state is not None else None
    code = terminated.exit_code if terminated is not None else None
    if terminated is not None and terminated.reason == "OOMKilled":
        limit = f"; memory limit {memory_limit!r}" if memory_limit else ""
        return PodWatch(
            True,
            f"Its pod ran out of memory (OOMKilled, exit code {code}{limit}) "
            "before the run finished",
            exit_code=code,
        )
    if phase == "Succeeded":
        return PodWatch(True, None, exit_code=code)
    status = pod.status
    if status.reason:  # the pod's own reason first: Evicted, DeadlineExceeded, node lost
        why = _said(status.reason, status.message)
        return PodWatch(True, f"Its pod failed before the run finished ({why})", exit_code=code)
    if terminated is not None and code is not None:
        reason = f" ({terminated.reason})" if terminated.reason not in (None, "Error") else ""
        killed = ", SIGKILL" if code == OOM_EXIT_CODE else ""
        return PodWatch(
            True,
            f"Its pod's container exited with code {code}{killed}{reason} before the run finished",
            exit_code=code,
        )
    return PodWatch(True, "Its pod failed before the run finished (no reason given)")


def _flow_container_status(status: Any) -> Any:
    statuses = (status.container_statuses if status is not None else None) or []
    for container in statuses:
        if container.name == FLOW_CONTAINER:
            return container
    return statuses[0] if statuses else None


def _condition(status: Any, kind: str, value: str) -> Any:
    for condition in status.conditions or []:
        if condition.type == kind and condition.status == value:
            return condition
    return None


def _said(reason: str | None, message: str | None) -> str:
    """Kubernetes' reason and message on one line."""
    text = f"{reason}: {message}" if reason and message else reason or message or ""
    return " ".join(text.split())[:400]
