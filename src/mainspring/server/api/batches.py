"""`POST /api/batches`: store a batch of changes in one transaction, as `Store.write` does.

This is the write path of a remote store: a client gathers state changes, logs and run
snapshots like the embedded recorder does and sends them here, all stored or none. A batch
with an `id` is stored at most once, so a client whose answer was lost retries it safely.

Every recording client sends one every few tens of milliseconds, so the body is decoded by
`store.wire_batch` (a strict fast path, ~10x cheaper than generic validation) and only a body
it does not take is validated by the `BatchIn` schema, which answers 422 naming the field or
gives the canonical form to decode. The schema is the documented contract either way.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from mainspring.exceptions import StoreFull, StoreRejected
from mainspring.model import FlowRecord
from mainspring.server.api.deps import StoreDep
from mainspring.server.schemas import BatchIn, BatchOut
from mainspring.server.schemas.batches import server_id
from mainspring.server.schemas.json_location import located
from mainspring.store.base import Store
from mainspring.store.http.wire import dumps
from mainspring.store.http.wire_batch import decode_batch

router = APIRouter(tags=["batches"])

#: The body is read raw (see above); the OpenAPI document still gives its schema.
BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchIn"}}},
    }
}
INVALID: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "Validation Error",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}
        },
    }
}


@router.post("/batches", response_model=BatchOut, openapi_extra=BODY, responses=INVALID)
async def write_batch(request: Request, store: StoreDep) -> BatchOut:
    """Store a batch (see `BatchIn`): runs are upserted, states, logs and edges appended."""
    body = await request.body()
    return await run_in_threadpool(_write, store, body)


def _write(store: Store, body: bytes) -> BatchOut:
    batch = decode_batch(body)
    if batch is None:
        batch = decode_batch(dumps(_validated(body).model_dump(mode="json")))
        if batch is None:  # the schema's canonical form always decodes
            raise RuntimeError("A validated batch could not be decoded")
    now = time.time()
    for run in batch.flow_runs.values():  # the flow of each run exists, with an id made here
        if run.flow_name not in batch.flows:
            batch.flows[run.flow_name] = FlowRecord(name=run.flow_name, id=server_id())
        if run.heartbeat is not None and run.heartbeat > now:  # the server's clock decides
            run.heartbeat = now  # liveness: a future one would hide a dead run for ever
    for flow in batch.flows.values():  # a client-chosen id could collide with another flow's
        flow.id = server_id()
    try:
        if not store.write(batch):
            return BatchOut(written=0, duplicate=True)
    except StoreFull:
        raise  # a 503 (StoreError): the client keeps the batch and tries again later
    except StoreRejected as exc:  # the database refused some records for good, stored the rest
        reasons = "; ".join(dict.fromkeys(why for _, why in exc.parts or ()))
        raise HTTPException(422, f"{exc.refused} records refused: {reasons}") from None
    return BatchOut(written=batch.size())


def _validated(body: bytes) -> BatchIn:
    try:
        return BatchIn.model_validate_json(body)
    except ValidationError as exc:
        errors = [located(_in_body(e), body) for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


def _in_body(error: Any) -> Any:
    """A pydantic error as FastAPI reports a body's: located in "body", and never the raw
    bytes of a body that is not JSON (they may not be text at all)."""
    error = {**error, "loc": ("body", *error["loc"])}
    if isinstance(error.get("input"), bytes):
        error["input"] = error["input"][:200].decode("utf-8", "replace")
    return error


def document_batch_body(schema: dict[str, Any]) -> None:
    """Add `BatchIn` and the models it uses to the components of an OpenAPI `schema`: the
    route reads its body raw, so FastAPI does not list them itself."""
    body = BatchIn.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in body.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components["BatchIn"] = body
