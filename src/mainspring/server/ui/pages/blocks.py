"""`/blocks` (the saved blocks and the block types), `/blocks/block/SLUG/NAME` (one block, its
secrets masked, Edit and Delete), and the create and edit forms made from the type's schema
(block_form.py).

Pages read blocks masked only; the saved secrets are read in the clear in one place, the
edit POST, to keep those the form left empty (never rendered). Data that does not fit the
type (the store's `BlockDataInvalid`, naming the field) is said beside its field, 400.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from mainspring.blocks.core import registered_block_types
from mainspring.exceptions import (
    BlockDataInvalid,
    EncryptionKeyError,
    ObjectAlreadyExists,
    ObjectNotFound,
)
from mainspring.model.blocks import BlockDocument, BlockType, check_block_name
from mainspring.server.ui import nav
from mainspring.server.ui.block_form import block_fields, read_block_form
from mainspring.server.ui.csrf import require_csrf
from mainspring.server.ui.errors import UiError
from mainspring.server.ui.pages.deployments import form_data
from mainspring.server.ui.param_form import ParamField
from mainspring.server.ui.reading import not_found
from mainspring.server.ui.templating import redirect, render
from mainspring.server.ui.viewer import Viewer, action_viewer, page_viewer
from mainspring.store.blocks import BlockStore

router = APIRouter(include_in_schema=False)
nav.register(nav.NavEntry("Blocks", "/blocks"))

NAME_FIELD = "block_name"
FIX = "Some values need fixing (see the fields marked below)."


def block_store(request: Request) -> BlockStore:
    store = request.app.state.store
    if not isinstance(store, BlockStore):
        raise UiError(501, "This server's store keeps no blocks or variables.")
    return store


def known_types(store: BlockStore) -> dict[str, BlockType]:
    """The types registered in the store, and the built-in ones (Secret, String, ...) that
    no one has saved a block of yet, so a block of any of them can be made here."""
    types = {t.slug: t for t in store.read_block_types()}
    for slug, cls in registered_block_types().items():
        if slug not in types and cls.__module__.startswith("mainspring."):
            types[slug] = cls.block_type()
    return dict(sorted(types.items()))


def form_viewer(request: Request, _seen: Annotated[Viewer, Depends(page_viewer)]) -> Viewer:
    """Dependency of the pages of a form that changes something: sign in first when keys
    are required (as any page), then a key that may write."""
    return action_viewer(request)


def _type(store: BlockStore, slug: str) -> BlockType:
    found = known_types(store).get(slug)
    if found is None:
        raise not_found("block type with this slug")
    return found


def _block(store: BlockStore, slug: str, name: str) -> BlockDocument:
    try:
        return store.read_block_document(slug, name)  # masked
    except ObjectNotFound:
        raise not_found("block of this type and name") from None


def _page_of(slug: str, name: str) -> str:
    return f"/blocks/block/{slug}/{name}"


def shown_value(value: Any) -> str:
    """A field's value as text: text as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@router.get("/blocks", response_class=HTMLResponse, name="blocks")
def blocks_page(request: Request, _viewer: Annotated[Viewer, Depends(page_viewer)]) -> HTMLResponse:
    store = block_store(request)
    documents = store.read_block_documents()
    types = known_types(store)
    counts: dict[str, int] = {}
    for document in documents:
        counts[document.block_type_slug] = counts.get(document.block_type_slug, 0) + 1
    context = {"documents": documents, "types": list(types.values()), "counts": counts}
    return render(request, "blocks.html", context)


@router.get("/blocks/block/{slug}/{name}", response_class=HTMLResponse, name="block")
def block_page(
    request: Request, slug: str, name: str, _viewer: Annotated[Viewer, Depends(page_viewer)]
) -> HTMLResponse:
    store = block_store(request)
    document = _block(store, slug, name)
    kind = known_types(store).get(slug)
    properties = (kind.fields_schema.get("properties") if kind else None) or {}
    names = list(properties) + [k for k in document.data if k not in properties]
    rows = [
        {
            "name": field,
            "set": field in document.data,
            "value": shown_value(document.data.get(field)),
            "secret": kind is not None and field in kind.secret_fields,
        }
        for field in names
    ]
    context = {"document": document, "kind": kind, "rows": rows}
    return render(request, "block.html", context)


def _render_form(
    request: Request,
    kind: BlockType,
    fields: list[ParamField],
    document: BlockDocument | None = None,
    name: str = "",
    name_error: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "kind": kind,
        "fields": fields,
        "document": document,
        "name": name,
        "name_field": NAME_FIELD,
        "name_error": name_error,
        "error": error,
    }
    return render(request, "block_form.html", context, status=status)


@router.get("/blocks/catalog/{slug}/create", response_class=HTMLResponse, name="block_create")
def create_form(
    request: Request, slug: str, _viewer: Annotated[Viewer, Depends(form_viewer)]
) -> HTMLResponse:
    kind = _type(block_store(request), slug)
    return _render_form(request, kind, block_fields(kind))


@router.get("/blocks/block/{slug}/{name}/edit", response_class=HTMLResponse, name="block_edit")
def edit_form(
    request: Request, slug: str, name: str, _viewer: Annotated[Viewer, Depends(form_viewer)]
) -> HTMLResponse:
    store = block_store(request)
    document = _block(store, slug, name)
    kind = _type(store, slug)
    return _render_form(request, kind, block_fields(kind, document.data), document, name)


@router.post(
    "/blocks/catalog/{slug}/create", dependencies=[Depends(require_csrf)], response_model=None
)
def create_block(
    request: Request,
    slug: str,
    _viewer: Annotated[Viewer, Depends(action_viewer)],
    form: Annotated[dict[str, str], Depends(form_data)],
) -> HTMLResponse | RedirectResponse:
    store = block_store(request)
    kind = _type(store, slug)
    fields = block_fields(kind)
    data = read_block_form(kind, fields, form)
    name = form.get(NAME_FIELD, "").strip()
    name_error = None
    try:
        check_block_name(name)
    except ValueError as exc:
        name_error = str(exc)
    if name_error or any(f.error for f in fields):
        return _render_form(request, kind, fields, None, name, name_error, FIX, 400)
    if slug not in {t.slug for t in store.read_block_types()}:
        store.upsert_block_type(kind)  # a built-in type's first block
    try:
        saved = _save(store, kind, name, data, fields, overwrite=False)
    except ObjectAlreadyExists:
        taken = f"A {slug} block named {name!r} exists already: choose another name, or edit it."
        return _render_form(request, kind, fields, None, name, taken, FIX, 400)
    except _Invalid as exc:
        return _render_form(request, kind, fields, None, name, None, exc.message, 400)
    return redirect(_page_of(slug, saved.name), f"Block {saved.address} saved.")


@router.post(
    "/blocks/block/{slug}/{name}/edit", dependencies=[Depends(require_csrf)], response_model=None
)
def edit_block(
    request: Request,
    slug: str,
    name: str,
    _viewer: Annotated[Viewer, Depends(action_viewer)],
    form: Annotated[dict[str, str], Depends(form_data)],
) -> HTMLResponse | RedirectResponse:
    store = block_store(request)
    document = _block(store, slug, name)
    kind = _type(store, slug)
    fields = block_fields(kind, document.data)
    try:  # the saved secrets, to keep those left empty; never rendered
        clear = store.read_block_document(slug, name, include_secrets=True).data
    except EncryptionKeyError as exc:
        raise UiError(503, f"The server cannot read this block's secrets: {exc}") from None
    data = read_block_form(kind, fields, form, clear)
    if any(f.error for f in fields):
        return _render_form(request, kind, fields, document, name, None, FIX, 400)
    try:
        _save(store, kind, name, data, fields, overwrite=True)
    except _Invalid as exc:
        return _render_form(request, kind, fields, document, name, None, exc.message, 400)
    return redirect(_page_of(slug, name), f"Block {document.address} saved.")


class _Invalid(Exception):
    """The store refused the data for a reason no single field shows."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _save(
    store: BlockStore,
    kind: BlockType,
    name: str,
    data: dict[str, Any],
    fields: list[ParamField],
    overwrite: bool,
) -> BlockDocument:
    """Save, marking the field the store names when the data does not fit the type."""
    try:
        return store.save_block_document(kind.slug, name, data, overwrite=overwrite)
    except BlockDataInvalid as exc:
        field = next((f for f in fields if f.name == exc.field), None)
        if field is None:
            raise _Invalid(str(exc)) from None
        field.error = str(exc)
        raise _Invalid(FIX) from None
    except EncryptionKeyError as exc:
        raise UiError(503, f"The server cannot encrypt this block's secrets: {exc}") from None


@router.post("/blocks/block/{slug}/{name}/delete", dependencies=[Depends(require_csrf)])
def delete_block(
    request: Request, slug: str, name: str, _viewer: Annotated[Viewer, Depends(action_viewer)]
) -> RedirectResponse:
    try:
        block_store(request).delete_block_document(slug, name)
    except ObjectNotFound:
        raise not_found("block of this type and name") from None
    return redirect("/blocks", f"Block {slug}/{name} deleted.")
