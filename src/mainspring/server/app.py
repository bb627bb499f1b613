"""`create_app`: the FastAPI application of the Mainspring server.

The API lives under `/api` (OpenAPI document at `/api/openapi.json`, interactive docs at
`/api/docs`); the web UI owns `/` (server/ui/). The app serves the same store the engine
records into (a `SqlStore` on the configured database), so runs of a plain
`python my_flow.py` show up without any extra step. It reaches the store only through the
`Store` protocol: no SQL here.

Errors: pydantic's 422s name the offending field; an unknown id is a 404 naming it; a database
failure is a 503 whose details go to the server log only (they can quote SQL and values).
Bodies over `server_max_request_bytes` are a 413, 422s show only a preview of the input, and
anything unexpected is a 500 that keeps the connection open (server/error_responses.py).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from mainspring._version import __version__
from mainspring.exceptions import ObjectNotFound, StoreError
from mainspring.server.allowed_methods import install_allowed_methods
from mainspring.server.api import PROTECTED
from mainspring.server.api.batches import document_batch_body
from mainspring.server.api.deps import ERRORS
from mainspring.server.api.meta import open_router
from mainspring.server.auth import KeyRing, authorize
from mainspring.server.error_responses import install_error_responses
from mainspring.server.guard import install_guard, is_api_path
from mainspring.server.request_size import RequestSizeLimit
from mainspring.server.run_signal import RunSignal
from mainspring.server.ui import error_page, install_ui
from mainspring.settings import Settings, get_settings
from mainspring.store import open_store
from mainspring.store.base import Store

logger = logging.getLogger("mainspring.server")


def create_app(
    store: Store | None = None,
    settings: Settings | None = None,
    *,
    exposed: bool = False,
    insecure: bool = False,
    services: bool = True,
) -> FastAPI:
    """The server app over `store` (default: a SqlStore on the settings' database URL; an
    `ApiStore` cannot serve: API keys and the crash detector need the database itself).

    `exposed` says the server is reachable beyond loopback: then every request needs an API
    key, unless `insecure`. On loopback a key is needed once any key exists. A store passed in
    stays open when the app shuts down; one the app opened itself is closed. `services` runs
    the background services (the crash detector and the scheduler, unless
    `server_crash_detector` / `server_scheduler` is off) while
    the app is up; tests of the API alone turn them off.
    """
    settings = settings or get_settings()
    owned = store is None
    if store is None:
        # Never an ApiStore: MAINSPRING_API_URL points clients at this server, not the server
        # at itself; a database URL given selects the SQL store.
        store = open_store(settings.effective_database_url)

    detector = None
    if services and settings.server_crash_detector:
        from mainspring.server.services.crash_detector import CrashDetector

        detector = CrashDetector.from_settings(store, settings)
    scheduler = None
    if services and settings.server_scheduler:
        from mainspring.server.services.scheduler import SchedulerService

        scheduler = SchedulerService.from_settings(store, settings)
    others = _event_services(store, settings) if services else []

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if detector is not None:
            detector.start()
        if scheduler is not None:
            scheduler.start()
        for service in others:
            service.start()
        try:
            yield
        finally:
            for service in others:
                service.stop()
            if scheduler is not None:
                scheduler.stop()
            if detector is not None:
                detector.stop()
            if owned:
                store.close()

    app = FastAPI(
        title="Mainspring",
        version=__version__,
        description="REST API of the Mainspring workflow orchestrator.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.crash_detector = detector
    app.state.scheduler = scheduler
    app.state.services = others
    app.state.run_signal = RunSignal()  # wakes claims waiting for runs (api/work_pools.py)
    if scheduler is not None:  # runs it creates wake those claims at once
        scheduler.on_created = app.state.run_signal.notify_threadsafe
    app.state.keyring = KeyRing(store)
    app.state.exposed = exposed
    app.state.insecure = insecure
    app.include_router(open_router, prefix="/api")
    for router in PROTECTED:
        app.include_router(
            router, prefix="/api", dependencies=[Depends(authorize)], responses=ERRORS
        )
    install_ui(app)  # the web UI under / (server/ui/)
    _add_error_handlers(app)
    install_allowed_methods(app, PROTECTED, "/api")  # Allow: every method of a path
    install_guard(app, settings)  # Host, Origin and JSON rules; CORS if configured
    app.add_middleware(RequestSizeLimit, max_bytes=settings.server_max_request_bytes)
    install_error_responses(app)  # last: its catch-all wraps the middleware above
    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document_batch_body(default_openapi())
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _event_services(store: Store, settings: Settings) -> list[Any]:
    """The automations and retention services, unless turned off (or the store keeps no
    events)."""
    from mainspring.store.events import EventStore

    if not isinstance(store, EventStore):
        return []
    found: list[Any] = []
    if settings.server_automations:
        from mainspring.server.services.automations import AutomationService

        found.append(AutomationService.from_settings(store, settings))
    from mainspring.server.services.retention import RetentionService

    found.append(RetentionService.from_settings(store, settings))
    return found


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ObjectNotFound)
    async def not_found(_request: Request, exc: ObjectNotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(StoreError)
    async def store_failed(request: Request, exc: Exception) -> Response:
        logger.error("Database error on %s %s: %s", request.method, request.url.path, exc)
        detail = "The database could not complete the request; the server log has details."
        if not is_api_path(request.url.path):  # a page of the web UI: a page saying so
            return error_page(request, 503, detail)
        return JSONResponse({"detail": detail}, status_code=503)
