"""`mainspring block ...`: list, inspect and delete saved blocks; list block types.

Secrets are masked in everything printed here (the store reads them masked: the CLI never
asks for them in the clear).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from mainspring.cli.output import console, fail, format_time, new_table, store, store_errors

if TYPE_CHECKING:
    from mainspring.model.blocks import BlockDocument, BlockType
    from mainspring.store.blocks import BlockStore

app = typer.Typer(help="Blocks: list, inspect, delete; block types.", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (times in ISO 8601 UTC).")]
Address = Annotated[str, typer.Argument(help="The block, as TYPE-SLUG/NAME.", metavar="SLUG/NAME")]


def block_store() -> BlockStore:
    from mainspring.store.blocks import BlockStore

    backend = store()
    assert isinstance(backend, BlockStore), type(backend)  # every Store kind is one
    return backend


def _address(text: str) -> tuple[str, str]:
    from mainspring.model.blocks import split_block_address

    try:
        return split_block_address(text)
    except ValueError as exc:
        fail(f"Error: {exc}")


def document_json(d: BlockDocument) -> dict[str, Any]:
    from mainspring.cli.json_output import iso

    return {
        "id": d.id,
        "block_type_slug": d.block_type_slug,
        "name": d.name,
        "data": d.data,
        "created": iso(d.created),
        "updated": iso(d.updated),
    }


def type_json(t: BlockType) -> dict[str, Any]:
    return {
        "slug": t.slug,
        "name": t.name,
        "description": t.description,
        "secret_fields": list(t.secret_fields),
        "fields_schema": t.fields_schema,
    }


@app.command("ls")
def list_blocks(
    block_type: Annotated[str | None, typer.Option("--type", help="Only this type's.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List saved blocks (secrets masked)."""
    from mainspring.cli.json_output import print_json

    with store_errors():
        found = block_store().read_block_documents(block_type)
    if as_json:
        print_json([document_json(d) for d in found])
        return
    out = console()
    if not found:
        out.print("No blocks yet. Save one in Python: SomeBlock(...).save('name')")
        return
    table = new_table("Blocks")
    table.add_column("Block", overflow="fold", style="bold")
    table.add_column("Type", no_wrap=True)
    table.add_column("Id", overflow="fold")
    table.add_column("Updated", no_wrap=True)
    for d in found:
        table.add_row(d.address, d.block_type_slug, d.id, format_time(d.updated))
    out.print(table)


@app.command("types")
def list_block_types(as_json: JsonOption = False) -> None:
    """List block types: those registered in the store and the built-in ones."""
    from mainspring.blocks.core import registered_block_types
    from mainspring.cli.json_output import print_json

    with store_errors():
        kinds = {t.slug: t for t in block_store().read_block_types()}
    for slug, cls in registered_block_types().items():
        kinds.setdefault(slug, cls.block_type())
    ordered = [kinds[slug] for slug in sorted(kinds)]
    if as_json:
        print_json([type_json(t) for t in ordered])
        return
    table = new_table("Block types")
    table.add_column("Slug", no_wrap=True, style="bold")
    table.add_column("Description", overflow="fold")
    table.add_column("Secret fields", overflow="fold")
    for t in ordered:
        table.add_row(t.slug, t.description, ", ".join(t.secret_fields) or "-")
    console().print(table)


@app.command("inspect")
def inspect_block(address: Address, as_json: JsonOption = False) -> None:
    """Show one block: its type, id, times and field values (secrets masked)."""
    import json

    from mainspring.cli.json_output import print_json
    from mainspring.exceptions import ObjectNotFound

    slug, name = _address(address)
    with store_errors():
        try:
            found = block_store().read_block_document(slug, name)
        except ObjectNotFound as exc:
            fail(f"Error: {exc}")
    if as_json:
        print_json(document_json(found))
        return
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row("Block", found.address)
    grid.add_row("Id", found.id)
    grid.add_row("Created", format_time(found.created))
    grid.add_row("Updated", format_time(found.updated))
    for field, value in found.data.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        grid.add_row(field, shown)
    console().print(grid)


@app.command("delete")
def delete_block(address: Address) -> None:
    """Delete a saved block."""
    from mainspring.exceptions import ObjectNotFound

    slug, name = _address(address)
    with store_errors():
        try:
            block_store().delete_block_document(slug, name)
        except ObjectNotFound as exc:
            fail(f"Error: {exc}")
    console().print(f"Deleted block {slug}/{name}.")
