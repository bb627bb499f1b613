"""What pages read through: the app's store, seen as the protocols it implements.

The server runs over a `SqlStore`, which is a `Store`, a `DeploymentStore`, a `RunInsights`
and a `DeploymentOverviews`; pages go through these protocols only (no SQL under server/).
"""

from __future__ import annotations

from typing import cast

from fastapi import Request

from mainspring.server.ui.errors import UiError
from mainspring.store.base import Store
from mainspring.store.deployment_overviews import DeploymentOverviews
from mainspring.store.deployments import DeploymentStore
from mainspring.store.insights import RunInsights
from mainspring.store.run_pages import RunPages


class UiStore(Store, DeploymentStore, RunInsights, DeploymentOverviews, RunPages):
    """Typing only: the store a page reads (SqlStore is one)."""


def ui_store(request: Request) -> UiStore:
    store = request.app.state.store
    needed = (DeploymentStore, RunInsights, DeploymentOverviews, RunPages)
    if not all(isinstance(store, p) for p in needed):
        raise UiError(501, "The web UI needs the server's database (a SQL store).")
    return cast(UiStore, store)


def not_found(what: str) -> UiError:
    return UiError(404, f"No {what} here: it may have been deleted, or the link is wrong.")
