"""A cap on the size of a request body (MAINSPRING_SERVER_MAX_REQUEST_BYTES): 413 above it.

Without one a client could make the server parse and hold any amount (a 50 MB batch cost 89 MB
of server memory). A body whose Content-Length is over the cap is refused before a byte of it
is read; one without a Content-Length (chunked) is counted as it arrives and refused as soon as
it passes the cap, so it is never buffered whole. The rest of a refused body is discarded by
uvicorn, and the connection stays usable for the next request.

Clients split what they send below the cap (ApiStore halves a batch the server refuses as too
large), so the cap bounds one request, not how much a client may record.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SETTING = "MAINSPRING_SERVER_MAX_REQUEST_BYTES"


class RequestTooLarge(HTTPException):
    """Raised while the body is read: FastAPI re-raises an HTTPException met while reading a
    body, and its handler answers with the detail."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, too_large_detail(max_bytes))


def too_large_detail(max_bytes: int) -> str:
    return (
        f"The request body is larger than {max_bytes} bytes, the most this server takes in one "
        f"request ({SETTING}); send it in smaller parts."
    )


class RequestSizeLimit:
    """Pure ASGI middleware (no buffering of its own) enforcing the cap on HTTP requests."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            response = JSONResponse({"detail": too_large_detail(limit)}, status_code=413)
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise RequestTooLarge(limit)
            return message

        await self.app(scope, limited, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # uvicorn refuses such a request before it gets here
    return None
