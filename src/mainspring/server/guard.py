"""The request guard: web pages the user visits must not be able to use the server.

A server on 127.0.0.1 with no API key trusts whoever connects, and a browser connects on
behalf of any page it shows. Three rules, checked before any route runs, close that door:

- **Host** names this server: a loopback name (127.0.0.1, localhost, [::1]) or the address
  the connection arrived on, with the server's port, or a name listed in
  `server_allowed_hosts`. A page whose DNS name is re-pointed at 127.0.0.1 (DNS rebinding)
  is same-origin with the server in the browser's eyes, but its requests still say
  `Host: evil.example`: 400.
- **Origin**: a write (POST, PUT, PATCH, DELETE) whose `Origin` header is present and is
  neither this server's own (the host it was sent to) nor listed in `server_cors_origins`:
  403. Browsers send Origin with every cross-origin write; programs (the CLI, `ApiStore`,
  curl) send none and are not concerned.
- **Content type**: a POST, PUT or PATCH must declare `Content-Type: application/json`
  (`ApiStore` sends its msgspec batches as JSON with that type): 415. A browser sends a
  cross-origin write without asking first (no CORS preflight) only as text/plain, a form,
  multipart or with no type at all, so this rule turns every cross-origin write into one
  the browser must first ask about, and CORS answers no unless the origin is configured.

CORS itself (Starlette's middleware) is off unless `server_cors_origins` lists origins.

The web UI's HTML forms cannot send JSON: outside `/api` (the UI's paths) the content-type
rule gives way to the UI's CSRF check, a signed token in a hidden field matched against one
in a cookie (server/ui/csrf.py, a dependency of every UI POST route); the Host and Origin
rules apply to the UI as they are. Only HTTP is guarded: there are no websocket routes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse
from starlette.routing import Match

from mainspring.server.auth import WRITE_METHODS

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import ASGIApp, Receive, Scope, Send

    from mainspring.settings import Settings

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
JSON_TYPE = "application/json"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
Refusal = tuple[int, str]


def install_guard(app: FastAPI, settings: Settings) -> None:
    """Add the guard, and CORS when origins are configured (outermost, so that a browser
    allowed by CORS can read the guard's refusals)."""
    app.add_middleware(
        RequestGuard,
        allowed_hosts=settings.server_allowed_hosts,
        cors_origins=settings.server_cors_origins,
    )
    if settings.server_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.server_cors_origins,
            allow_methods=["GET", "HEAD", *sorted(WRITE_METHODS)],
            allow_headers=["Authorization", "Content-Type"],
        )


def split_host(value: str) -> tuple[str, int | None] | None:
    """(name, port or None) of a Host header, lower-cased, IPv6 without brackets; None when it
    is not shaped like one."""
    value = value.strip().lower()
    if value.startswith("["):
        name, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None
        port = rest[1:] if rest else None
    else:
        name, colon, port_text = value.partition(":")
        port = port_text if colon else None
    if not name or (port is not None and not (port.isdigit() and len(port) <= 5)):
        return None
    return name, int(port) if port is not None else None


class RequestGuard:
    """ASGI middleware applying the rules of this module to every HTTP request."""

    def __init__(
        self, app: ASGIApp, allowed_hosts: Iterable[str] = (), cors_origins: Iterable[str] = ()
    ) -> None:
        self.app = app
        hosts = [h.strip() for h in allowed_hosts if h.strip()]
        self.any_host = "*" in hosts
        #: Configured names: with a port, only that port; without, any port.
        self.named_hosts = [parsed for h in hosts if h != "*" and (parsed := split_host(h))]
        origins = {o.strip().rstrip("/").lower() for o in cors_origins}
        self.any_origin = "*" in origins
        self.cors_origins = frozenset(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self.refusal(scope)
            if refusal is not None:
                status, detail = refusal
                await JSONResponse({"detail": detail}, status_code=status)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope) -> Refusal | None:
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            if name in (b"host", b"origin", b"content-type"):
                headers.setdefault(name, value)
        host = headers.get(b"host", b"").decode("latin-1")
        return (
            self.host_refusal(scope, host)
            or self.origin_refusal(scope, host, headers.get(b"origin"))
            or self.content_refusal(scope, headers.get(b"content-type"))
        )

    def host_refusal(self, scope: Scope, host: str) -> Refusal | None:
        server = scope.get("server")
        if self.any_host or not server or server[1] is None:  # a Unix socket: no browser
            return None
        parsed = split_host(host)
        if parsed is not None:
            name, port = parsed
            if port is None:
                port = 443 if scope["scheme"] == "https" else 80
            if port == server[1] and (name in LOOPBACK_NAMES or name == server[0].lower()):
                return None
            if any(n == name and p in (None, port) for n, p in self.named_hosts):
                return None
        shown = host[:100] or "(none)"
        return 400, (
            f"Refused: this server does not answer to the host {shown!r}. Reach it by the "
            "address it is bound to, or list the name in MAINSPRING_SERVER_ALLOWED_HOSTS "
            "(a guard against DNS rebinding)."
        )

    def origin_refusal(self, scope: Scope, host: str, origin: bytes | None) -> Refusal | None:
        if origin is None or scope["method"] not in WRITE_METHODS:
            return None
        text = origin.decode("latin-1").strip().rstrip("/").lower()
        # Its own origin: the page was served by this server, under the name it was sent to.
        # The scheme is not compared: behind a TLS proxy the server itself sees http.
        if text != "null" and _netloc(text) == host.strip().lower():
            return None
        if self.any_origin or text in self.cors_origins:
            return None
        return 403, (
            f"Refused: a write from the web page at {text[:100]!r}, which is not this server's "
            "own origin. Allow trusted origins with MAINSPRING_SERVER_CORS_ORIGINS."
        )

    def content_refusal(self, scope: Scope, content_type: bytes | None) -> Refusal | None:
        """The JSON rule, for the API (the UI's forms are CSRF-checked: module docstring)."""
        if scope["method"] not in BODY_METHODS or not is_api_path(scope["path"]):
            return None
        media = (content_type or b"").decode("latin-1").partition(";")[0].strip().lower()
        if media == JSON_TYPE or not _has_route(scope):  # the app's 404 or 405 says more
            return None
        declared = f"Content-Type {media[:100]!r}" if media else "no Content-Type"
        return 415, f"This API takes JSON: send 'Content-Type: application/json' ({declared})."


def is_api_path(path: str) -> bool:
    """Whether `path` is the API's (the rest is the web UI's)."""
    return path == "/api" or path.startswith("/api/")


def _netloc(origin: str) -> str | None:
    try:
        return urlsplit(origin).netloc
    except ValueError:  # e.g. "http://[not-ipv6": no origin of ours
        return None


def _has_route(scope: Scope) -> bool:
    """Whether a route takes this method at this path (looked up only to refuse a request)."""
    app = scope.get("app")
    routes = getattr(getattr(app, "router", None), "routes", ())
    return any(route.matches(scope)[0] is Match.FULL for route in routes)
