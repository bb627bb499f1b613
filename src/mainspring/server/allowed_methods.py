"""A 405 whose `Allow` header lists every method the path takes.

Starlette answers 405 with the methods of the first route matching the path only; where one
path has a route per method (GET and POST /api/deployments), `Allow` must list them all (RFC
9110; schemathesis checks it against the OpenAPI document): the methods of every route with
the path template of the first one matching.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException


def install_allowed_methods(app: FastAPI, routers: Iterable[APIRouter], prefix: str) -> None:
    """`routers` are included in `app` under `prefix`."""
    routes = [r for router in routers for r in router.routes if isinstance(r, APIRoute)]

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code != 405:
            return await http_exception_handler(request, exc)
        path = request.url.path.removeprefix(prefix)
        first = next((r for r in routes if r.path_regex.match(path)), None)
        # the routes of the path the router picks (the first matching one), not every path
        # template that also matches (/flow_runs/heartbeat is not a GET /flow_runs/{id})
        methods = {m for r in routes if first and r.path == first.path for m in r.methods or ()}
        headers = dict(exc.headers or {})
        if methods:
            headers["Allow"] = ", ".join(sorted(methods))
        return JSONResponse({"detail": exc.detail}, 405, headers)
