"""One thin router per resource: parse and validate, call the store, convert the records."""

from mainspring.server.api import (
    batches,
    flow_runs,
    flows,
    graph,
    heartbeats,
    logs,
    meta,
    states,
    task_runs,
)

#: Routers behind authentication, in the order they appear in the API docs. `heartbeats` comes
#: before `flow_runs`: its fixed path /flow_runs/heartbeat must be matched before the pattern
#: /flow_runs/{id} (else OPTIONS /flow_runs/heartbeat answers `Allow: GET`).
PROTECTED = (
    meta.router,
    flows.router,
    heartbeats.router,
    flow_runs.router,
    task_runs.router,
    states.router,
    logs.router,
    graph.router,
    batches.router,
)

__all__ = ["PROTECTED"]
