"""`mainspring automation ...`: create from a spec file, list, inspect, pause, resume, delete.

The spec is YAML (or JSON) as model/automations.py describes it; a bad spec is one line on
stderr naming the field, exit code 1, and nothing stored. Automations run in the server
(its automations service): made with the embedded store, they fire once a server is
started on that database.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mainspring.cli.output import NONE, console, fail, format_time, new_table, store, store_errors

if TYPE_CHECKING:
    from mainspring.model.automations import Automation
    from mainspring.store.events import EventStore

app = typer.Typer(
    help="Automations: react to runs and events (notify, run, pause, cancel).",
    no_args_is_help=True,
)
NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="The automation's name or id.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (times in ISO 8601 UTC).")]


def _events() -> EventStore:
    from mainspring.store.events import EventStore

    backend = store()
    assert isinstance(backend, EventStore), type(backend)  # every Store kind is one
    return backend


def _find(backend: EventStore, name: str) -> Automation:
    from mainspring.exceptions import ObjectNotFound

    with store_errors():
        try:
            return backend.find_automation(name)
        except ObjectNotFound:
            fail(f"Error: no automation {name!r}")


def _read_spec(path: Path) -> Any:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"Error: cannot read {str(path)!r}: {exc.strerror or exc}")
    except UnicodeDecodeError:
        fail(f"Error: {str(path)!r} is not UTF-8 text")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        fail(f"Error: {str(path)!r} is not valid YAML: {str(exc).splitlines()[0]}")


def automation_json(a: Automation) -> dict[str, Any]:
    from mainspring.cli.json_output import iso

    return {
        "id": a.id,
        "name": a.name,
        "description": a.description,
        "enabled": a.enabled,
        "trigger": a.trigger.to_dict(),
        "actions": [x.to_dict() for x in a.actions],
        "created": iso(a.created),
        "updated": iso(a.updated),
    }


def _describe(a: Automation) -> str:
    from mainspring.model.automations import describe_trigger

    return describe_trigger(a.trigger)


@app.command("create")
def create_automation(
    file: Annotated[
        Path, typer.Option("--file", "-f", help="The automation's spec (YAML or JSON).")
    ],
) -> None:
    """Create an automation from a spec file."""
    from mainspring.model.automations import automation_from_spec

    spec = _read_spec(file)
    try:
        automation = automation_from_spec(spec)
        _check_templates(automation)
    except ValueError as exc:
        fail(f"Error: {exc}")
    backend = _events()
    with store_errors():
        try:
            made = backend.create_automation(automation)
        except ValueError as exc:
            fail(f"Error: {exc}")
    console().print(f"Created automation {made.name!r} ({made.id}).")


def _check_templates(automation: Automation) -> None:
    from mainspring.server.services.automation_context import check_template

    for i, action in enumerate(automation.actions):
        for name in ("subject", "body", "message"):
            if name in action.options:
                try:
                    check_template(action.options[name])
                except ValueError as exc:
                    raise ValueError(f"actions[{i}].{name}: {exc}") from None


@app.command("ls")
def list_automations(as_json: JsonOption = False) -> None:
    """List every automation, by name."""
    from mainspring.cli.json_output import print_json

    backend = _events()
    with store_errors():
        automations = backend.read_automations()
    if as_json:
        print_json([automation_json(a) for a in automations])
        return
    out = console()
    if not automations:
        out.print("No automations yet. Create one with: mainspring automation create -f spec.yaml")
        return
    table = new_table("Automations")
    table.add_column("Name", overflow="fold", style="bold")
    table.add_column("ID", no_wrap=True, min_width=36)
    table.add_column("Trigger", overflow="fold", ratio=1)
    table.add_column("Actions", overflow="fold")
    table.add_column("Enabled", no_wrap=True)
    for a in automations:
        actions = ", ".join(x.type for x in a.actions)
        table.add_row(a.name, a.id, _describe(a), actions, "yes" if a.enabled else "no")
    out.print(table)


@app.command("inspect")
def inspect_automation(name: NameArgument, as_json: JsonOption = False) -> None:
    """Show an automation, its spec and its latest firings."""
    import json

    from rich.table import Table

    from mainspring.cli.json_output import iso, print_json

    backend = _events()
    automation = _find(backend, name)
    with store_errors():
        firings = backend.read_firings(automation.id)
    if as_json:
        data = automation_json(automation)
        data["firings"] = [
            {
                "id": f.id,
                "trigger_key": f.key,
                "occurred": iso(f.occurred),
                "fired": iso(f.fired),
                "flow_run_id": (f.context.get("flow_run") or {}).get("id"),
                "actions": [
                    {
                        "index": x.index,
                        "type": x.action.get("type"),
                        "status": x.status.value,
                        "attempts": x.attempts,
                        "last_error": x.last_error,
                        "finished": iso(x.finished),
                    }
                    for x in f.actions
                ],
            }
            for f in firings
        ]
        print_json(data)
        return
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    rows = [
        ("Name", automation.name),
        ("ID", automation.id),
        ("Description", automation.description or NONE),
        ("Enabled", "yes" if automation.enabled else "no"),
        ("Trigger", _describe(automation)),
        ("Actions", json.dumps([x.to_dict() for x in automation.actions], indent=1)),
        ("Created", format_time(automation.created)),
    ]
    for label, value in rows:
        grid.add_row(label, value)
    out = console()
    out.print(grid)
    if firings:
        table = new_table("Latest firings")
        table.add_column("Fired", no_wrap=True)
        table.add_column("Flow run", no_wrap=True)
        table.add_column("Actions", overflow="fold", ratio=1)
        for f in firings:
            actions = "; ".join(
                f"{x.action.get('type')}: {x.status.value}"
                + (f" ({x.last_error})" if x.last_error else "")
                for x in f.actions
            )
            run = (f.context.get("flow_run") or {}).get("id") or NONE
            table.add_row(format_time(f.fired), run, actions)
        out.print(table)


@app.command("pause")
def pause_automation(name: NameArgument) -> None:
    """Pause: it reacts to nothing until resumed (what happens meanwhile never fires it)."""
    _set_enabled(name, False)


@app.command("resume")
def resume_automation(name: NameArgument) -> None:
    """Resume: it reacts to events from now on."""
    _set_enabled(name, True)


def _set_enabled(name: str, enabled: bool) -> None:
    backend = _events()
    automation = _find(backend, name)
    with store_errors():
        backend.set_automation_enabled(automation.id, enabled)
    console().print(f"Automation {automation.name!r} {'resumed' if enabled else 'paused'}.")


@app.command("delete")
def delete_automation(name: NameArgument) -> None:
    """Delete it; its actions not yet done are dropped."""
    backend = _events()
    automation = _find(backend, name)
    with store_errors():
        backend.delete_automation(automation.id)
    console().print(f"Automation {automation.name!r} deleted.")
