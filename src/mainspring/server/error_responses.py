"""Error answers that can always be sent, and a last resort that never drops a connection.

- A 422 names each offending field and shows a short preview of the input, never the input
  itself: a refused 50 MB string must not be echoed back, and a NaN or an integer of 400
  digits in an input must not make the 422 itself fail to render (FastAPI's default handler
  then raised, and the client got a 500). Text in it is made storable (model/text.py): a
  lone surrogate refused in an input cannot be encoded into the answer either.
- Anything unexpected is answered with a JSON 500 by `LastResort`, which does not re-raise.
  Starlette's handler for `Exception` answers and then re-raises to the server, and uvicorn
  closes a connection whose application raised: the client's next request on that keep-alive
  connection then failed with ECONNRESET.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mainspring.model.text import storable_json, storable_text
from mainspring.store import json_values

logger = logging.getLogger("mainspring.server")

#: Most characters of an input (or of a value in an error's context) a 422 shows.
PREVIEW = 200
#: Most errors a 422 lists; most characters of one error's message.
MAX_ERRORS = 50
MAX_MESSAGE = 1000


def install_error_responses(app: FastAPI) -> None:
    """Register the 422 handler and the last-resort middleware on `app` (outermost of the
    middleware added so far: add this last)."""
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.add_middleware(LastResort)


async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    shown = [_safe_error(e) for e in errors[:MAX_ERRORS]]
    if len(errors) > MAX_ERRORS:
        more = f"... and {len(errors) - MAX_ERRORS} more errors"
        shown.append({"type": "too_many_errors", "loc": [], "msg": more})
    return JSONResponse({"detail": shown}, status_code=422)


def _safe_error(error: dict[str, Any]) -> dict[str, Any]:
    loc = [_loc(p) for p in error.get("loc", ())]
    safe: dict[str, Any] = {
        "type": str(error.get("type", "value_error")),
        "loc": loc,
        "msg": _cut(str(error.get("msg", "")), MAX_MESSAGE),
    }
    if "input" in error:
        safe["input"] = preview(error["input"])
    ctx = error.get("ctx")
    if isinstance(ctx, dict) and ctx:
        safe["ctx"] = {str(k)[:PREVIEW]: preview(v) for k, v in ctx.items()}
    return safe


def _loc(part: Any) -> str | int:
    if isinstance(part, int) and not isinstance(part, bool):
        return part
    return storable_text(str(part)[:PREVIEW])


def preview(value: Any) -> Any:
    """`value` as JSON that stays short: itself when its JSON is at most PREVIEW characters
    (numbers JSON cannot carry in json_values' tagged form), else the start of its text."""
    if isinstance(value, bytes | bytearray):
        value = bytes(value[: PREVIEW * 4]).decode("utf-8", "replace")
    if isinstance(value, str):
        return _cut(value, PREVIEW)
    if isinstance(value, BaseException):
        return _cut(str(value), PREVIEW)
    try:
        shown = storable_json(json_values.encode(value))
        text = orjson.dumps(shown, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, ValueError):  # (encode gives JSON types only; cleaned text aside)
        return f"<{type(value).__name__}>"
    if len(text) <= PREVIEW:
        return orjson.loads(text)
    return _cut(text, PREVIEW)


def _cut(text: str, limit: int) -> str:
    """`text`, at most `limit` characters of it, with U+FFFD for what UTF-8 cannot carry."""
    if len(text) <= limit:
        return storable_text(text)
    return f"{storable_text(text[:limit])}... ({len(text) - limit} more characters)"


class LastResort:
    """Answers an exception no handler took with a JSON 500 (details in the server log only)
    instead of letting it reach uvicorn, which would close the connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:
            logger.exception("Unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if started:  # half an answer is out: only closing the connection can end it
                raise
            response = JSONResponse({"detail": "Internal server error."}, status_code=500)
            await response(scope, receive, send)
