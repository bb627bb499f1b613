"""One module per page (or group of pages), each with its `router` and menu entry."""

from mainspring.server.ui.pages import dashboard, flows, runs, settings

#: The UI's routers, included by `install_ui` under `/`.
ROUTERS = (dashboard.router, runs.router, flows.router, settings.router)

__all__ = ["ROUTERS"]
