"""What the routers share: the store, path parameters, error bodies."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from mainspring.server.schemas import ID_PATTERN
from mainspring.store.base import Store


class ErrorOut(BaseModel):
    detail: str


#: Answers every router may give besides its own; documented so the OpenAPI is the contract.
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "The body is not JSON, or the Host is not ours."},
    401: {"model": ErrorOut, "description": "No API key, or not a valid one."},
    403: {"model": ErrorOut, "description": "A read-only key, or a web page, asked to write."},
    415: {"model": ErrorOut, "description": "A write whose body is not declared JSON."},
    503: {"model": ErrorOut, "description": "The database could not answer."},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "No object with this id."}
}


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


StoreDep = Annotated[Store, Depends(_store)]
FlowRunId = Annotated[str, Path(pattern=ID_PATTERN, description="A flow run's id.")]
TaskRunId = Annotated[str, Path(pattern=ID_PATTERN, description="A task run's id.")]


def invalid(location: tuple[str, ...], message: str) -> RequestValidationError:
    """A 422 in FastAPI's own format, for checks pydantic cannot express (e.g. state words)."""
    return RequestValidationError([{"loc": location, "msg": message, "type": "value_error"}])
