"""`mainspring variable ...`: list, get, set and unset variables (named JSON values)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mainspring.cli.output import console, fail, format_time, new_table, store, store_errors

if TYPE_CHECKING:
    from mainspring.model.blocks import VariableRecord
    from mainspring.store.blocks import BlockStore

app = typer.Typer(help="Variables: list, get, set, unset.", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (times in ISO 8601 UTC).")]
NameArgument = Annotated[str, typer.Argument(help="The variable's name.")]


def _variables() -> BlockStore:
    from mainspring.store.blocks import BlockStore

    backend = store()
    assert isinstance(backend, BlockStore), type(backend)
    return backend


def variable_json(v: VariableRecord) -> dict[str, Any]:
    from mainspring.cli.json_output import iso

    return {
        "name": v.name,
        "value": v.value,
        "tags": list(v.tags),
        "created": iso(v.created),
        "updated": iso(v.updated),
    }


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _parsed(text: str) -> Any:
    """A value typed on the command line: JSON when it is JSON (3, [1,2], {"a":1}, true,
    null, "quoted"), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


@app.command("ls")
def list_variables(as_json: JsonOption = False) -> None:
    """List every variable with its value."""
    from mainspring.cli.json_output import print_json

    with store_errors():
        found = _variables().read_variables()
    if as_json:
        print_json([variable_json(v) for v in found])
        return
    out = console()
    if not found:
        out.print("No variables yet. Set one with: mainspring variable set NAME VALUE")
        return
    table = new_table("Variables")
    table.add_column("Name", no_wrap=True, style="bold")
    table.add_column("Value", overflow="fold")
    table.add_column("Tags", overflow="fold")
    table.add_column("Updated", no_wrap=True)
    for v in found:
        table.add_row(v.name, _shown(v.value), ", ".join(v.tags), format_time(v.updated))
    out.print(table)


@app.command("get")
def get_variable(name: NameArgument, as_json: JsonOption = False) -> None:
    """Print a variable's value (text as it is, anything else as JSON)."""
    from mainspring.cli.json_output import print_json

    with store_errors():
        try:
            found = _variables().read_variable(name)
        except ValueError as exc:
            fail(f"Error: {exc}")
    if found is None:
        fail(f"Error: no variable {name!r} is set")
    if as_json:
        print_json(variable_json(found))
        return
    typer.echo(_shown(found.value))


@app.command("set")
def set_variable(
    name: NameArgument,
    value: Annotated[str, typer.Argument(help='JSON (3, [1,2], {"a": 1}) or plain text.')],
    overwrite: Annotated[bool, typer.Option(help="Replace the value if it is set.")] = False,
    tag: Annotated[list[str] | None, typer.Option(help="A tag (repeatable).")] = None,
) -> None:
    """Set a variable (its value read as JSON when it is JSON, else as text)."""
    from mainspring.exceptions import ObjectAlreadyExists

    with store_errors():
        try:
            stored = _variables().set_variable(
                name, _parsed(value), tags=tag or [], overwrite=overwrite
            )
        except ObjectAlreadyExists:
            fail(f"Error: variable {name!r} is set already; add --overwrite to replace it")
        except ValueError as exc:
            fail(f"Error: {exc}")
    console().print(f"Variable {stored.name!r} set.")


@app.command("unset")
def unset_variable(name: NameArgument) -> None:
    """Unset a variable."""
    with store_errors():
        try:
            was_set = _variables().delete_variable(name)
        except ValueError as exc:
            fail(f"Error: {exc}")
    if not was_set:
        fail(f"Error: no variable {name!r} is set")
    console().print(f"Variable {name!r} unset.")
