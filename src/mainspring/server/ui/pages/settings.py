"""`/settings`: the server's version and database, and signing in with an API key.

Signing in stores the key in an HttpOnly, SameSite=Strict cookie (viewer.py); the key is
checked before it is kept, so a wrong key is said at once, and on every request after.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from mainspring.server.api.meta import API_VERSION
from mainspring.server.ui import nav
from mainspring.server.ui.csrf import require_csrf
from mainspring.server.ui.templating import redirect, render
from mainspring.server.ui.viewer import COOKIE, check_key, current_viewer
from mainspring.settings import redact_url

router = APIRouter(include_in_schema=False)
nav.register(nav.NavEntry("Settings", "/settings"))


def _local_path(target: str | None) -> str:
    """Where to go after signing in: a path on this server only (never another site)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/dashboard"


def _database(request: Request) -> str:
    url = getattr(request.app.state.store, "url", None)
    return redact_url(url) if isinstance(url, str) else type(request.app.state.store).__name__


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, next: str | None = None) -> HTMLResponse:
    return _page(request, next)


def _page(
    request: Request, next: str | None, error: str | None = None, status: int = 200
) -> HTMLResponse:
    viewer = current_viewer(request)
    context = {
        "api_version": API_VERSION,
        "database": _database(request) if viewer.may_view else None,
        "next": _local_path(next),
        "error": error or (viewer.problem if not viewer.signed_in else None),
    }
    return render(request, "settings.html", context, status=status)


@router.post("/settings/sign-in", dependencies=[Depends(require_csrf)], response_model=None)
def sign_in(
    request: Request,
    api_key: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/dashboard",
) -> HTMLResponse | RedirectResponse:
    key = api_key.strip()
    viewer = check_key(request, key)
    if not viewer.keys_required:
        return redirect(_local_path(next), "This server does not ask for API keys.")
    if not viewer.signed_in:
        problem = viewer.problem or "Enter an API key (from `mainspring api-key create`)."
        return _page(request, next, error=problem, status=400)
    response = redirect(_local_path(next), f"Signed in with the API key {viewer.key_name!r}.")
    response.set_cookie(
        COOKIE,
        key,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/settings/sign-out", dependencies=[Depends(require_csrf)])
def sign_out() -> RedirectResponse:
    response = redirect("/settings", "Signed out.")
    response.delete_cookie(COOKIE, path="/")
    return response
