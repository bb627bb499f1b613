"""`POST /api/flow_runs/heartbeat`: a running process says it is alive and learns its runs' states.

The crash detector (server/services) marks runs whose heartbeats stopped as Crashed; the answer
tells the process whether a run was asked to cancel meanwhile.
"""

from __future__ import annotations

from fastapi import APIRouter

from mainspring.server.api.deps import StoreDep
from mainspring.server.schemas.heartbeats import HeartbeatIn, HeartbeatOut

router = APIRouter(prefix="/flow_runs", tags=["flow runs"])


@router.post("/heartbeat", response_model=HeartbeatOut)
def heartbeat(store: StoreDep, body: HeartbeatIn) -> HeartbeatOut:
    """Record a heartbeat (the server's time) for each listed run that has not finished."""
    return HeartbeatOut(states=store.heartbeat(body.flow_run_ids))
