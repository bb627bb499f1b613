"""Bodies of `POST /api/flow_runs/heartbeat`: which runs are alive, and what state each is in."""

from __future__ import annotations

from pydantic import BaseModel, Field

from mainspring.model import StateType
from mainspring.server.schemas.common import Id, Input

#: A process runs few flow runs at once (one top-level run and its subflows); this bounds a body.
MAX_HEARTBEAT_IDS = 10_000


class HeartbeatIn(Input):
    flow_run_ids: list[Id] = Field(
        max_length=MAX_HEARTBEAT_IDS, description="The flow runs this process is running."
    )


class HeartbeatOut(BaseModel):
    states: dict[str, StateType] = Field(
        description="The current state type of each listed run that exists; a CANCELLING run "
        "should be stopped by the process running it."
    )
