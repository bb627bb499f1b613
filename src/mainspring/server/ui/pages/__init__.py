"""One module per page (or group of pages), each with its `router` and menu entry."""

from mainspring.server.ui.pages import (
    artifacts,
    automations,
    blocks,
    dashboard,
    deployments,
    events,
    flow_run,
    flows,
    runs,
    settings,
    task_run,
    variables,
    work_pools,
)

#: The UI's routers, included by `install_ui` under `/`.
ROUTERS = (
    dashboard.router,
    runs.router,
    flow_run.router,
    task_run.router,
    flows.router,
    deployments.router,
    work_pools.router,
    automations.router,
    events.router,
    artifacts.router,
    blocks.router,
    variables.router,
    settings.router,
)

__all__ = ["ROUTERS"]
