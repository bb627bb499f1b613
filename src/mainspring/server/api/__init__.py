"""One thin router per resource: parse and validate, call the store, convert the records."""

from mainspring.server.api import (
    artifacts,
    automations,
    batches,
    blocks,
    concurrency_limits,
    deployments,
    events,
    flow_runs,
    flows,
    graph,
    heartbeats,
    logs,
    meta,
    states,
    task_runs,
    variables,
    work_pools,
)

#: Routers behind authentication, in the order they appear in the API docs.
PROTECTED = (
    meta.router,
    flows.router,
    heartbeats.router,  # before flow_runs: /flow_runs/heartbeat is not a run's id
    flow_runs.router,
    task_runs.router,
    states.router,
    logs.router,
    graph.router,
    batches.router,
    deployments.router,
    work_pools.router,
    events.router,
    automations.router,
    blocks.router,
    variables.router,
    artifacts.router,
    concurrency_limits.limits,
    concurrency_limits.leases,
)

__all__ = ["PROTECTED"]
