"""`/api/health` (open to all, for load balancers and start-up probes) and `/api/version`."""

from __future__ import annotations

from fastapi import APIRouter

from mainspring._version import __version__
from mainspring.server.schemas import HealthOut, VersionOut

#: Bumped when the API changes incompatibly; clients compare it, not the package version.
API_VERSION = "1"

open_router = APIRouter(tags=["meta"])
router = APIRouter(tags=["meta"])


@open_router.get("/health", response_model=HealthOut)
def health() -> HealthOut:
    """The server is up and answering (it does not query the database)."""
    return HealthOut()


@router.get("/version", response_model=VersionOut)
def version() -> VersionOut:
    return VersionOut(version=__version__, api_version=API_VERSION)
