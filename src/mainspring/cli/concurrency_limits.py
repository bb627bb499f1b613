"""`mainspring concurrency-limit ...` (tag limits for task runs) and `mainspring
global-concurrency-limit ...` (limits taken from code), with Prefect's command names.

A tag's limit is the global limit named `tag:<tag>` (model/concurrency.py), so the tag
commands take the tag and the global ones list the other limits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from mainspring.cli.output import NONE, console, fail, format_time, new_table, store, store_errors

if TYPE_CHECKING:
    from mainspring.model.concurrency import ConcurrencyLimit
    from mainspring.store.concurrency import ConcurrencyStore

tags_app = typer.Typer(
    help="Tag concurrency limits: at most N task runs with the tag run at once.",
    no_args_is_help=True,
)
global_app = typer.Typer(
    help="Global concurrency limits, taken from code with concurrency() and rate_limit().",
    no_args_is_help=True,
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (times in ISO 8601 UTC).")]
TagArgument = Annotated[str, typer.Argument(help="The tag.")]
NameArgument = Annotated[str, typer.Argument(help="The limit's name.")]


def _store() -> ConcurrencyStore:
    from mainspring.store.concurrency import ConcurrencyStore

    backend = store()
    assert isinstance(backend, ConcurrencyStore), type(backend)  # every Store kind is one
    return backend


def _tag_name(tag: str) -> str:
    from mainspring.cli.output import not_an_id
    from mainspring.model.concurrency import tag_limit_name

    if not tag or not_an_id(tag):
        fail(f"Error: {tag!r} is not a tag")
    return tag_limit_name(tag)


def _read(backend: ConcurrencyStore, name: str, what: str) -> ConcurrencyLimit:
    from mainspring.cli.output import not_an_id
    from mainspring.exceptions import ObjectNotFound

    if not name or not_an_id(name):
        fail(f"Error: no {what}")
    with store_errors():
        try:
            return backend.read_concurrency_limit(name)
        except ObjectNotFound:
            fail(f"Error: no {what}")


def _limit_json(limit: ConcurrencyLimit) -> dict[str, Any]:
    from mainspring.cli.json_output import iso

    return {
        "name": limit.name,
        "tag": limit.tag,
        "limit": limit.limit,
        "active": limit.active,
        "slot_decay_per_second": limit.slot_decay_per_second,
        "active_slots": limit.active_slots,
        "decaying_slots": limit.decaying_slots,
        "holders": list(limit.holders),
        "created": iso(limit.created),
        "updated": iso(limit.updated),
    }


def _show(limit: ConcurrencyLimit) -> None:
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    rows = [("Tag", limit.tag)] if limit.tag is not None else [("Name", limit.name)]
    rows += [
        ("Limit", str(limit.limit)),
        ("Active", "yes" if limit.active else "no (limits nothing)"),
        ("Slots in use", str(limit.used)),
    ]
    if limit.slot_decay_per_second:
        rows.append(("Slot decay", f"{limit.slot_decay_per_second:g} per second"))
    rows += [
        ("Held by", "\n".join(limit.holders) or NONE),
        ("Created", format_time(limit.created)),
        ("Updated", format_time(limit.updated)),
    ]
    for label, value in rows:
        grid.add_row(label, value)
    console().print(grid)


def _table(limits: list[ConcurrencyLimit], title: str, tags: bool) -> None:
    table = new_table(title)
    table.add_column("Tag" if tags else "Name", style="bold", overflow="fold")
    table.add_column("Limit", justify="right", no_wrap=True)
    table.add_column("In use", justify="right", no_wrap=True)
    if not tags:
        table.add_column("Decay/s", justify="right", no_wrap=True)
    table.add_column("Active", no_wrap=True)
    table.add_column("Updated", min_width=10)
    for x in limits:
        row = [x.tag if tags and x.tag is not None else x.name, str(x.limit), str(x.used)]
        if not tags:
            row.append(f"{x.slot_decay_per_second:g}" if x.slot_decay_per_second else NONE)
        row += ["yes" if x.active else "no", format_time(x.updated)]
        table.add_row(*row)
    console().print(table)


# -- concurrency-limit (tags) -----------------------------------------------------------------
@tags_app.command("create")
def create_tag_limit(
    tag: TagArgument,
    limit: Annotated[int, typer.Argument(min=0, help="At most this many task runs at once.")],
) -> None:
    """Limit the task runs with TAG to LIMIT at once (updates the limit if it exists)."""
    from mainspring.model.concurrency import ConcurrencyLimit

    name = _tag_name(tag)
    try:
        record = ConcurrencyLimit(name, limit)
    except (TypeError, ValueError) as exc:
        fail(f"Error: {exc}")
    backend = _store()
    with store_errors():
        try:
            backend.create_concurrency_limit(record)
            verb = "created"
        except ValueError:
            backend.update_concurrency_limit(name, limit=limit)
            verb = "updated"
    console().print(f"Concurrency limit of tag {tag!r} {verb}: at most {limit} at once.")


@tags_app.command("ls")
def list_tag_limits(as_json: JsonOption = False) -> None:
    """List the tag concurrency limits."""
    from mainspring.cli.json_output import print_json
    from mainspring.model.concurrency import TAG_PREFIX

    with store_errors():
        limits = _store().read_concurrency_limits(prefix=TAG_PREFIX)
    if as_json:
        print_json([_limit_json(x) for x in limits])
    elif not limits:
        console().print(
            "No tag concurrency limits. Create one: mainspring concurrency-limit create TAG N"
        )
    else:
        _table(limits, "Tag concurrency limits", tags=True)


@tags_app.command("inspect")
def inspect_tag_limit(tag: TagArgument, as_json: JsonOption = False) -> None:
    """Show a tag's limit and the task runs holding its slots."""
    from mainspring.cli.json_output import print_json

    found = _read(_store(), _tag_name(tag), f"concurrency limit for tag {tag!r}")
    if as_json:
        print_json(_limit_json(found))
    else:
        _show(found)


@tags_app.command("reset")
def reset_tag_limit(tag: TagArgument) -> None:
    """Free every slot of a tag's limit (runs holding one go on, no longer counted)."""
    from mainspring.exceptions import ObjectNotFound

    name = _tag_name(tag)
    with store_errors():
        try:
            _store().reset_concurrency_limit(name)
        except ObjectNotFound:
            fail(f"Error: no concurrency limit for tag {tag!r}")
    console().print(f"Concurrency limit of tag {tag!r} reset: every slot is free.")


@tags_app.command("delete")
def delete_tag_limit(tag: TagArgument) -> None:
    """Delete a tag's limit: its task runs run unlimited."""
    from mainspring.exceptions import ObjectNotFound

    name = _tag_name(tag)
    with store_errors():
        try:
            _store().delete_concurrency_limit(name)
        except ObjectNotFound:
            fail(f"Error: no concurrency limit for tag {tag!r}")
    console().print(f"Concurrency limit of tag {tag!r} deleted.")


# -- global-concurrency-limit -----------------------------------------------------------------
DecayOption = Annotated[
    float | None,
    typer.Option(
        "--slot-decay-per-second",
        min=0,
        help="Slots freed per second: makes it a rate limit (rate_limit()).",
    ),
]


@global_app.command("create")
def create_global_limit(
    name: NameArgument,
    limit: Annotated[int, typer.Option("--limit", "-l", min=0, help="Slots at once.")],
    slot_decay_per_second: DecayOption = None,
    disable: Annotated[
        bool, typer.Option("--disable", help="Create it inactive (limits nothing).")
    ] = False,
) -> None:
    """Create a global concurrency limit."""
    from mainspring.model.concurrency import ConcurrencyLimit

    try:
        record = ConcurrencyLimit(
            name, limit, active=not disable, slot_decay_per_second=slot_decay_per_second or 0.0
        )
    except (TypeError, ValueError) as exc:
        fail(f"Error: {exc}")
    with store_errors():
        try:
            _store().create_concurrency_limit(record)
        except ValueError as exc:
            fail(f"Error: {exc}")
    console().print(f"Global concurrency limit {name!r} created: {limit} slots.")


@global_app.command("ls")
def list_global_limits(as_json: JsonOption = False) -> None:
    """List the global concurrency limits (tag limits: `mainspring concurrency-limit ls`)."""
    from mainspring.cli.json_output import print_json

    with store_errors():
        limits = [x for x in _store().read_concurrency_limits() if x.tag is None]
    if as_json:
        print_json([_limit_json(x) for x in limits])
    elif not limits:
        console().print(
            "No global concurrency limits. Create one: "
            "mainspring global-concurrency-limit create NAME --limit N"
        )
    else:
        _table(limits, "Global concurrency limits", tags=False)


@global_app.command("inspect")
def inspect_global_limit(name: NameArgument, as_json: JsonOption = False) -> None:
    """Show a global concurrency limit and who holds its slots."""
    from mainspring.cli.json_output import print_json

    found = _read(_store(), name, f"global concurrency limit {name!r}")
    if as_json:
        print_json(_limit_json(found))
    else:
        _show(found)


@global_app.command("update")
def update_global_limit(
    name: NameArgument,
    limit: Annotated[int | None, typer.Option("--limit", "-l", min=0, help="Slots.")] = None,
    slot_decay_per_second: DecayOption = None,
    enable: Annotated[
        bool | None, typer.Option("--enable/--disable", help="Make it limit, or not.")
    ] = None,
) -> None:
    """Change a global concurrency limit."""
    from mainspring.exceptions import ObjectNotFound

    if limit is None and slot_decay_per_second is None and enable is None:
        fail(
            "Error: nothing to update; give --limit, --slot-decay-per-second or --enable/--disable"
        )
    with store_errors():
        try:
            _store().update_concurrency_limit(
                name, limit=limit, active=enable, slot_decay_per_second=slot_decay_per_second
            )
        except ObjectNotFound:
            fail(f"Error: no global concurrency limit {name!r}")
        except (TypeError, ValueError) as exc:
            fail(f"Error: {exc}")
    console().print(f"Global concurrency limit {name!r} updated.")


@global_app.command("delete")
def delete_global_limit(name: NameArgument) -> None:
    """Delete a global concurrency limit (code naming it is then limited by nothing)."""
    from mainspring.exceptions import ObjectNotFound

    with store_errors():
        try:
            _store().delete_concurrency_limit(name)
        except ObjectNotFound:
            fail(f"Error: no global concurrency limit {name!r}")
    console().print(f"Global concurrency limit {name!r} deleted.")
