"""`mainspring artifact ls | inspect | delete`: what runs created for people to read."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mainspring.cli.output import NONE, console, fail, format_time, new_table, store_errors

if TYPE_CHECKING:
    from mainspring.model.artifacts import Artifact
    from mainspring.store.artifacts import ArtifactStore

app = typer.Typer(help="Artifacts: Markdown, tables, links and progress from runs.")
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (times in ISO 8601 UTC).")]
#: How much of an artifact's content a table cell shows.
PREVIEW = 60


def _store() -> ArtifactStore:
    from mainspring.cli.output import store
    from mainspring.store.artifacts import ArtifactStore

    backend = store()
    if not isinstance(backend, ArtifactStore):
        fail(f"Error: the store in use ({type(backend).__name__}) keeps no artifacts")
    return backend


def artifact_json(a: Artifact) -> dict[str, Any]:
    from mainspring.cli.json_output import iso

    return {
        "id": a.id,
        "key": a.key,
        "type": a.type,
        "description": a.description,
        "data": a.data,
        "flow_run_id": a.flow_run_id,
        "task_run_id": a.task_run_id,
        "created": iso(a.created),
        "updated": iso(a.updated),
    }


def preview(a: Artifact) -> str:
    """One line of the artifact's content, for a table cell."""
    if a.type == "progress":
        return f"{a.data:g}%"
    if a.type == "link":
        return str(a.data.get("text") or a.data["link"])
    if a.type == "table":
        return f"{len(a.data)} rows"
    text = " ".join(str(a.data).split())
    return text if len(text) <= PREVIEW else text[: PREVIEW - 3] + "..."


@app.command("ls")
def list_artifacts(
    key: Annotated[str | None, typer.Option("--key", help="Only this key's versions.")] = None,
    flow_run: Annotated[
        str | None, typer.Option("--flow-run", help="Only those of this flow run (id).")
    ] = None,
    all_versions: Annotated[
        bool, typer.Option("--all-versions", help="Every version of each key, not the latest.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="How many.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List artifacts, newest first (each key's latest version unless --all-versions)."""
    from mainspring.cli.json_output import print_json

    backend = _store()
    with store_errors():
        try:
            found = backend.read_artifacts(
                key=key,
                flow_run_id=flow_run,
                latest_only=not all_versions and key is None,
                limit=limit,
            )
        except ValueError as exc:
            fail(f"Error: {exc}")
    if as_json:
        print_json([artifact_json(a) for a in found])
        return
    out = console()
    if not found:
        out.print("No artifacts yet. Runs create them with create_markdown_artifact() and co.")
        return
    table = new_table("Artifacts")
    table.add_column("Key", overflow="fold", style="bold")
    table.add_column("Type", no_wrap=True)
    table.add_column("Content", overflow="fold", ratio=1)
    table.add_column("Flow run", no_wrap=True)
    table.add_column("Updated", no_wrap=True)
    table.add_column("ID", no_wrap=True)
    for a in found:
        table.add_row(
            a.key or NONE, a.type, preview(a), a.flow_run_id or NONE, format_time(a.updated), a.id
        )
    out.print(table)


@app.command("inspect")
def inspect_artifact(
    key_or_id: Annotated[str, typer.Argument(metavar="KEY|ID", help="A key or an id.")],
    as_json: JsonOption = False,
) -> None:
    """Show an artifact (by id), or every version of a key, newest first, with its content."""
    from mainspring.cli.json_output import print_json
    from mainspring.exceptions import ObjectNotFound
    from mainspring.model.artifacts import check_artifact_key

    backend = _store()
    found: list[Artifact] = []
    with store_errors():
        try:
            found = [backend.read_artifact(key_or_id)]
        except (ObjectNotFound, ValueError):
            try:
                check_artifact_key(key_or_id)
                found = backend.read_artifacts(key=key_or_id, limit=1000)
            except ValueError:
                found = []
    if not found:
        fail(f"Error: no artifact with id or key {key_or_id!r}")
    if as_json:
        print_json([artifact_json(a) for a in found])
        return
    out = console()
    for a in found:
        out.print(f"{a.key or a.id}  ({a.type}, {format_time(a.updated)})", style="bold")
        if a.description:
            out.print(a.description)
        out.print(f"flow run {a.flow_run_id or NONE}, task run {a.task_run_id or NONE}, id {a.id}")
        if a.type == "markdown":
            out.print(a.data)  # the source: a terminal has no HTML, and nothing is hidden
        elif a.type == "table":
            out.print(_table(a.data))
        else:
            out.print(preview(a) if a.type == "progress" else json.dumps(a.data))
        out.print()


def _table(rows: list[Any]) -> Any:
    table = new_table()
    if rows and isinstance(rows[0], dict):
        columns = list(dict.fromkeys(k for r in rows for k in r))
        for name in columns:
            table.add_column(name, overflow="fold")
        for r in rows:
            table.add_row(*("" if r.get(c) is None else str(r.get(c)) for c in columns))
    else:
        width = max((len(r) for r in rows), default=0)
        for i in range(width):
            table.add_column(str(i), overflow="fold")
        for r in rows:
            table.add_row(*("" if v is None else str(v) for v in r))
    return table


@app.command("delete")
def delete_artifact(artifact_id: Annotated[str, typer.Argument(help="The artifact's id.")]) -> None:
    """Delete one artifact (one version of its key)."""
    from mainspring.exceptions import ObjectNotFound

    backend = _store()
    with store_errors():
        try:
            backend.delete_artifact(artifact_id)
        except (ObjectNotFound, ValueError):
            fail(f"Error: no artifact {artifact_id!r}")
    console().print(f"Artifact {artifact_id} deleted.")
