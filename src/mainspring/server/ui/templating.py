"""Rendering pages: one Jinja2 environment (autoescaping on), the filters every page shares,
and what every page receives (navigation, viewer, CSRF token, flash messages, version).

Autoescaping is on for every template, so anything user-supplied (flow names, parameters,
log lines, tracebacks) is text, never markup; helpers that build markup escape what they
insert (badges.py, formatting.py). Nothing in a template uses `|safe` on user data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from starlette.routing import NoMatchFound

from mainspring._version import __version__
from mainspring.server.ui import csrf, nav
from mainspring.server.ui.badges import state_badge
from mainspring.server.ui.formatting import human_duration, time_tag
from mainspring.server.ui.viewer import current_viewer

HERE = Path(__file__).parent
FLASH_COOKIE = "ms_flash"


def static_url(path: str) -> str:
    """A static file's URL, versioned so a new release is never served from a stale cache."""
    return f"/static/{path}?v={quote(__version__)}"


def to_json_script(value: Any) -> Markup:
    """JSON for a `<script type="application/json">` block: `<`, `>` and `&` escaped so no
    string in it can close the element or open a comment."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


def page_url(request: Request, name: str, **params: str) -> str | None:
    """The URL of the page whose route is called `name`, or None while no such page exists:
    a link to a page another part of the UI adds (a flow run's, `flow_run`; a deployment's,
    `deployment`; a work pool's, `work_pool`) appears once that page does, never dead.

    The route's path template is looked up once per app (a lookup walks every route, which
    cost a runs page of 50 rows tens of milliseconds) and filled in here."""
    templates: dict[tuple[str, tuple[str, ...]], str | None] = request.app.state.ui_paths
    key = (name, tuple(sorted(params)))
    if key not in templates:
        markers = {param: f"\x00{param}\x00" for param in params}
        try:
            templates[key] = str(request.app.url_path_for(name, **markers))
        except NoMatchFound:
            templates[key] = None
    path = templates[key]
    if path is None:
        return None
    for param, value in params.items():
        path = path.replace(f"\x00{param}\x00", quote(str(value), safe=""))
    return path


def _make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,  # a misspelt variable fails the test, not the page silently
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["duration"] = human_duration
    env.filters["time"] = time_tag
    env.filters["json_script"] = to_json_script
    env.filters["thousands"] = lambda n: f"{n:,}"
    env.globals["badge"] = state_badge
    env.globals["static"] = static_url
    env.globals["version"] = __version__
    env.globals["page_url"] = _page_url
    return env


@pass_context
def _page_url(context: Context, name: str, **params: str) -> str | None:
    return page_url(context["request"], name, **params)


environment = _make_environment()


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """The page `template` with `context` and what every page shows."""
    flashes = _read_flashes(request)
    values = {
        "request": request,
        "nav": nav.entries(),
        "viewer": current_viewer(request),
        "csrf_field": csrf.FIELD,
        "csrf_token": csrf.token_for(request),
        "flashes": flashes,
        "error": None,
        **(context or {}),
    }
    html = environment.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status)
    new_csrf = getattr(request.state, "new_csrf", None)
    if new_csrf is not None:
        response.set_cookie(csrf.COOKIE, new_csrf, httponly=True, samesite="strict", path="/")
    if flashes:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(location: str, flash: str | None = None, kind: str = "info") -> RedirectResponse:
    """303 to `location` (after a POST), with a message shown once on the next page."""
    response = RedirectResponse(location, status_code=303)
    if flash:
        value = quote(json.dumps([kind, flash[:500]]), safe="")
        response.set_cookie(FLASH_COOKIE, value, httponly=True, samesite="strict", path="/")
    return response


def _read_flashes(request: Request) -> list[dict[str, str]]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    try:
        kind, text = json.loads(unquote(raw))
    except (ValueError, TypeError):
        return []
    if kind not in ("info", "error") or not isinstance(text, str):
        return []
    return [{"kind": kind, "text": text}]
