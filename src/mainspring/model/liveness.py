"""A flow run that has shown no sign of life for a while, as the crash detector finds it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SilentRun"]


@dataclass(frozen=True, slots=True)
class SilentRun:
    id: str
    state_name: str
    #: Its last heartbeat; None when its process never sent one.
    heartbeat: float | None
    #: The later of its last heartbeat and when it entered its state: a state change is a
    #: sign of life too (a retried run starts with its dead process's old heartbeat).
    last_sign_of_life: float
