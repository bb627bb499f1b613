"""Who is looking: the API key a browser signed in with, and what it may do.

When the server requires API keys (any key exists, or it is exposed beyond loopback), the
UI asks for one on /settings and keeps it in an HttpOnly, SameSite=Strict cookie: scripts
cannot read it and other sites' requests do not carry it. The key is checked like an API
request's (the same `KeyRing`), on every page and every action: a read-only key sees no
action buttons, and an action posted anyway is refused here, not only hidden. The cookie
authenticates the UI's own routes only, never /api.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Request

from mainspring.server.auth import KeyRing
from mainspring.server.ui.errors import UiError, UiRedirect

COOKIE = "ms_api_key"


@dataclass(frozen=True, slots=True)
class Viewer:
    keys_required: bool
    key_name: str | None = None
    can_write: bool = False
    problem: str | None = None  # why the cookie's key was not accepted

    @property
    def signed_in(self) -> bool:
        return self.key_name is not None

    @property
    def may_view(self) -> bool:
        return not self.keys_required or self.signed_in


def keys_required(request: Request) -> bool:
    app = request.app
    keyring: KeyRing = app.state.keyring
    return keyring.any() or (app.state.exposed and not app.state.insecure)


def check_key(request: Request, token: str | None) -> Viewer:
    """The viewer `token` makes (a key's plaintext, or None)."""
    if not keys_required(request):
        return Viewer(keys_required=False, can_write=True)
    if not token:
        return Viewer(keys_required=True)
    keyring: KeyRing = request.app.state.keyring
    key = keyring.authenticate(token)
    if key is None:
        return Viewer(keys_required=True, problem="That API key is not valid.")
    refusal = key.refusal(time.time())
    if refusal is not None:
        return Viewer(keys_required=True, problem=refusal)
    return Viewer(keys_required=True, key_name=key.name, can_write=not key.read_only)


def current_viewer(request: Request) -> Viewer:
    """Dependency: the viewer of this request (cached on it)."""
    cached = getattr(request.state, "viewer", None)
    if cached is None:
        cached = request.state.viewer = check_key(request, request.cookies.get(COOKIE))
    return cached


def page_viewer(request: Request) -> Viewer:
    """Dependency of pages that show history: sign in first when keys are required."""
    viewer = current_viewer(request)
    if not viewer.may_view:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise UiRedirect(f"/settings?next={quote(target, safe='')}")
    return viewer


def action_viewer(request: Request) -> Viewer:
    """Dependency of actions (POSTs that change something): a key that may write."""
    viewer = current_viewer(request)
    if not viewer.may_view:
        raise UiError(401, "Sign in with an API key on the Settings page first.")
    if not viewer.can_write:
        raise UiError(403, f"The API key {viewer.key_name!r} is read-only; it cannot do this.")
    return viewer
