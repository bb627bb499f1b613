"""CSRF protection of the UI's forms: a signed double-submit token.

HTML forms cannot send JSON, so the guard's content-type rule (server/guard.py) does not
apply to the UI's paths; this check takes its place. Every page sets a cookie `ms_csrf`
holding `nonce.signature` (an HMAC of the nonce with the app's secret) and puts the same
value in a hidden field of its forms. A POST is accepted only when the field equals the
cookie and the signature is the app's: another site can make the browser send the cookie but
cannot read it to fill in the field, and cannot plant a cookie of its own making (it would
need the secret). The guard's Host and Origin rules apply on top.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request

from mainspring.server.ui.errors import UiError

COOKIE = "ms_csrf"
FIELD = "csrf_token"


def _sign(secret: bytes, nonce: str) -> str:
    return hmac.new(secret, nonce.encode(), hashlib.sha256).hexdigest()


def new_token(secret: bytes) -> str:
    nonce = secrets.token_urlsafe(24)
    return f"{nonce}.{_sign(secret, nonce)}"


def is_valid(secret: bytes, token: str | None) -> bool:
    if not token or token.count(".") != 1:
        return False
    nonce, signature = token.split(".")
    return hmac.compare_digest(_sign(secret, nonce), signature)


def token_for(request: Request) -> str:
    """The token of this browser: its cookie when valid, else a new one (which the page's
    response sets as the cookie, see templating.render)."""
    secret: bytes = request.app.state.ui_secret
    cookie = request.cookies.get(COOKIE)
    if is_valid(secret, cookie):
        return cookie  # type: ignore[return-value]
    if not hasattr(request.state, "new_csrf"):
        request.state.new_csrf = new_token(secret)
    token: str = request.state.new_csrf
    return token


async def require_csrf(request: Request) -> None:
    """Dependency of every UI POST route: 403 unless the form carries this browser's token."""
    secret: bytes = request.app.state.ui_secret
    cookie = request.cookies.get(COOKIE)
    form = await request.form()
    sent = form.get(FIELD)
    if not isinstance(sent, str) or not is_valid(secret, cookie) or sent != cookie:
        raise UiError(
            403,
            "This form has expired or did not come from this server's pages (CSRF check). "
            "Reload the page and try again.",
        )
