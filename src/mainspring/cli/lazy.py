"""Command groups imported only when invoked: `mainspring deployment run` loads the deployment
commands, not the seventeen other modules and what they import.

The top-level group knows each command by a `LazyCommand`: its name, the help line `--help`
shows, and where its code is ("module:attribute", a typer app or a command function). Listing
commands (`--help`, shell completion) uses these alone; running one imports its module and
builds its click command exactly as `add_typer`/`command` would have.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from mainspring.cli.loading import loading

try:
    from typer._click.exceptions import UsageError  # typer 0.2x carries its own click
except ImportError:  # pragma: no cover - older typer runs on click itself
    from click.exceptions import UsageError  # type: ignore[no-redef, assignment]


@dataclass(frozen=True)
class LazyCommand:
    """A command registered by name: `target` is "module:attribute", a typer app (a command
    group) or a function (one command); `help` is what `--help` lists for it."""

    name: str
    target: str
    help: str

    def load(self) -> Any:
        module, _, attribute = self.target.partition(":")
        with loading():
            return getattr(importlib.import_module(module), attribute)

    def build(self) -> Any:
        """The click command, as registering the target on a typer app makes it."""
        loaded = self.load()
        holder = typer.Typer()
        holder.callback()(_no_options)  # a group, even with one command
        if isinstance(loaded, typer.Typer):
            holder.add_typer(loaded, name=self.name)
        else:
            holder.command(self.name)(loaded)
        return typer.main.get_command(holder).commands[self.name]  # type: ignore[attr-defined]

    def placeholder(self) -> Any:
        """What listing the commands shows: name and help, no import."""
        return TyperCommand(self.name, help=self.help)


def _no_options() -> None:
    """(the holder group's callback)"""


class LazyGroup(TyperGroup):
    """A typer group whose `lazy_commands` are imported when invoked, listed without import."""

    lazy_commands: tuple[LazyCommand, ...] = ()

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._lazy = {command.name: command for command in self.lazy_commands}
        self._listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        eager = [name for name in super().list_commands(ctx) if name not in self._lazy]
        return [*self._lazy, *eager]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands or cmd_name not in self._lazy:
            return super().get_command(ctx, cmd_name)
        lazy = self._lazy[cmd_name]
        if self._listing:
            return lazy.placeholder()
        self.commands[cmd_name] = command = lazy.build()
        return command

    @contextmanager
    def _only_listing(self) -> Iterator[None]:
        self._listing = True
        try:
            yield
        finally:
            self._listing = False

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """As typer's, with "Did you mean" chosen among every command, not only those built."""
        suggest = getattr(self, "suggest_commands", False)
        self.suggest_commands = False
        try:
            return super().resolve_command(ctx, args)
        except UsageError as error:
            matches = get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if suggest and matches:
                names = ", ".join(repr(match) for match in matches)
                error.message = f"{error.message.rstrip('.')}. Did you mean {names}?"
            raise
        finally:
            self.suggest_commands = suggest

    def format_help(self, ctx: Any, formatter: Any) -> None:
        with self._only_listing():
            super().format_help(ctx, formatter)

    def shell_complete(self, ctx: Any, incomplete: str) -> Any:
        with self._only_listing():
            return super().shell_complete(ctx, incomplete)
