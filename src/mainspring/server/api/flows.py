"""`/api/flows`: every flow that has run."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from mainspring.exceptions import ObjectNotFound
from mainspring.server.api.deps import NOT_FOUND, StoreDep
from mainspring.server.schemas import ID_PATTERN, FlowOut

router = APIRouter(prefix="/flows", tags=["flows"])


@router.get("", response_model=list[FlowOut])
def list_flows(store: StoreDep) -> list[FlowOut]:
    """Every flow, sorted by name."""
    return [FlowOut.of(f) for f in store.read_flows()]


@router.get("/{flow_id}", response_model=FlowOut, responses=NOT_FOUND)
def read_flow(store: StoreDep, flow_id: Annotated[str, Path(pattern=ID_PATTERN)]) -> FlowOut:
    for f in store.read_flows():  # one row per flow name: few, and the store has no by-id read
        if f.id == flow_id:
            return FlowOut.of(f)
    raise ObjectNotFound(f"No flow with id {flow_id!r}")
