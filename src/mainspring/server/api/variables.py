"""`/api/variables`: named JSON values, set, read, listed and unset."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Response

from mainspring.exceptions import ObjectAlreadyExists, ObjectNotFound
from mainspring.server.api.deps import NOT_FOUND, ErrorOut, StoreDep, invalid
from mainspring.server.schemas.blocks import VARIABLE_NAME_PATTERN, VariableIn, VariableOut
from mainspring.store import json_values
from mainspring.store.blocks import BlockStore

router = APIRouter(prefix="/variables", tags=["variables"])

EXISTS: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut, "description": "The variable is set (no overwrite)."}
}
VariableName = Annotated[
    str, Path(pattern=VARIABLE_NAME_PATTERN, max_length=255, description="A variable's name.")
]


def _variables(store: object) -> BlockStore:
    if not isinstance(store, BlockStore):
        raise HTTPException(501, "This server's store keeps no variables")
    return store


@router.get("", response_model=list[VariableOut])
def list_variables(store: StoreDep) -> list[VariableOut]:
    """Every variable, by name."""
    return [VariableOut.of(v) for v in _variables(store).read_variables()]


@router.get("/{name}", response_model=VariableOut, responses=NOT_FOUND)
def read_variable(store: StoreDep, name: VariableName) -> VariableOut:
    found = _variables(store).read_variable(name)
    if found is None:
        raise ObjectNotFound(f"No variable {name!r} is set")
    return VariableOut.of(found)


@router.put("/{name}", response_model=VariableOut, responses=EXISTS)
def set_variable(store: StoreDep, name: VariableName, body: VariableIn) -> VariableOut:
    """Set a variable (409 when it is set and `overwrite` is false)."""
    try:
        value = json_values.decode(body.value, strict=True, where="value")
        stored = _variables(store).set_variable(
            name, value, tags=body.tags, overwrite=body.overwrite
        )
    except ObjectAlreadyExists as exc:
        raise HTTPException(409, str(exc)) from None
    except ValueError as exc:
        raise invalid(("body", "value"), str(exc)) from None
    return VariableOut.of(stored)


@router.delete("/{name}", status_code=204, responses=NOT_FOUND)
def delete_variable(store: StoreDep, name: VariableName) -> Response:
    if not _variables(store).delete_variable(name):
        raise ObjectNotFound(f"No variable {name!r} is set")
    return Response(status_code=204)
