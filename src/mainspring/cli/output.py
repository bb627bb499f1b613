"""What every command shares: consoles, time and duration formatting, state colours, errors.

Consoles are made per call, not at import, so they bind to the `sys.stdout` of the moment
(test runners swap it) and decide on colour for the stream actually written to. They read no
markup and no emoji codes: what they print is mostly the user's text (a flow named `[/]` or
`:x:`, a tag, a log line), printed as written; styles come from `Text` objects and table columns.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from mainspring.model import FlowRun, State
    from mainspring.settings import Settings, SettingsError
    from mainspring.store import Store

#: Colour of each state type, so the same state looks the same in every table.
STATE_STYLES: dict[str, str] = {
    "SCHEDULED": "yellow",
    "PENDING": "bright_black",
    "RUNNING": "blue",
    "COMPLETED": "green",
    "FAILED": "red",
    "CRASHED": "bold magenta",
    "CANCELLING": "bright_black",
    "CANCELLED": "bright_black",
    "PAUSED": "yellow",
}
NONE = "-"
#: Below this many columns, tables put a run's id under its name instead of beside it.
WIDE = 110
#: Width used when stdout is a pipe or file: one line per row, ids never cut, easy to grep.
PIPE_WIDTH = 200


def console() -> Console:
    """A console on stdout; rich itself drops colour when stdout is not a terminal."""
    from rich.console import Console

    piped = not sys.stdout.isatty() and not os.environ.get("COLUMNS")
    return _plain(Console, width=PIPE_WIDTH if piped else None)


def say(line: str) -> None:
    """One line on stdout, printed as written, without loading rich (~10% of a short
    command's start): for commands whose whole answer is a sentence, often run by scripts."""
    typer.echo(line)


def _plain(console_class: type[Console], **options: Any) -> Console:
    """A console that prints every string as it is (no markup, emoji codes or highlighting):
    the CLI's strings are full of user-supplied names, messages and arguments."""
    return console_class(markup=False, emoji=False, highlight=False, **options)


def is_wide(out: Console) -> bool:
    return out.width >= WIDE


def new_table(title: str | None = None) -> Table:
    """A table in the house style: light rules only, so narrow terminals keep their columns."""
    from rich import box
    from rich.table import Table

    return Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False
    )


def name_and_id(name: str, object_id: str) -> Text:
    """A name with the object's id on the line below: the narrow-terminal layout of a row."""
    from rich.text import Text

    text = Text(name, style="bold")
    text.append("\n" + object_id, style="not bold")
    return text


def err_console() -> Console:
    from rich.console import Console

    return _plain(Console, stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one line to stderr and exit with `code`: a user error, not a crash to debug."""
    err_console().print(message, markup=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def store_errors() -> Iterator[None]:
    """Turn the store's own errors into one readable line and exit status 1."""
    from mainspring.exceptions import StoreError

    try:
        yield
    except StoreError as exc:  # ObjectNotFound included: callers catch it first to say what
        fail(f"Error: {exc}")


def settings() -> Settings:
    """The effective settings; a bad environment variable or profile file is a user error."""
    from mainspring.settings import SettingsError, get_settings

    try:
        return get_settings()
    except SettingsError as exc:
        fail(f"Error: invalid settings: {_settings_error(exc)}")


def _settings_error(exc: SettingsError) -> str:
    """Which settings are wrong and why, without echoing values (they may be secrets)."""
    from mainspring.settings import ENV_PREFIX, SETTINGS

    return "; ".join(
        f"{ENV_PREFIX}{name.upper()}: {message}" if name in SETTINGS else f"{name}: {message}"
        for name, message in exc.problems
    )


def store() -> Store:
    """The configured store, imported on demand so `--help` never loads SQLAlchemy."""
    from mainspring.cli.loading import loading
    from mainspring.store import get_store

    settings()
    with store_errors():
        try:
            with loading():  # SQLAlchemy or httpx, and the store's modules
                return get_store()
        except ValueError as exc:  # a database URL the store cannot use: configuration, not a bug
            fail(f"Error: {exc}")


def read_flow_run(backend: Store, flow_run_id: str) -> FlowRun:
    """The flow run with this id; an unknown id is a user error."""
    from mainspring.exceptions import ObjectNotFound

    if not_an_id(flow_run_id):
        fail(f"No flow run with id {flow_run_id!r}.")
    with store_errors():
        try:
            return backend.read_flow_run(flow_run_id)
        except ObjectNotFound:
            fail(f"No flow run with id {flow_run_id!r}.")


def not_an_id(text: str) -> bool:
    """Whether a command-line argument cannot be an id at all: one with a lone surrogate (a
    non-UTF-8 byte in argv) or a NUL, which no store keeps nor a database driver takes."""
    from mainspring.model.text import has_unstorable

    return has_unstorable(text)


def format_time(ts: float | None, precise: bool = False) -> str:
    """Local date and time; `precise` adds milliseconds (for log lines)."""
    if ts is None:
        return NONE
    moment = datetime.fromtimestamp(ts).astimezone()
    if precise:
        return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def format_duration(seconds: float | None) -> str:
    """Human-sized durations: `<1ms`, `850ms`, `4.2s`, `3m 05s`, `2h 07m`, `3d 4h`."""
    if seconds is None:
        return NONE
    if seconds < 0.0005:
        return "<1ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def run_duration(start: float | None, end: float | None, state: State) -> str:
    """How long a run ran; for one still going, the time so far, marked with `+`."""
    if start is None:
        return NONE
    if end is not None:
        return format_duration(max(0.0, end - start))
    if state.is_final():
        return format_duration(max(0.0, state.ts - start))
    return format_duration(max(0.0, time.time() - start)) + "+"


def state_text(state: State) -> Text:
    """The state's name in its type's colour."""
    from rich.text import Text

    return Text(state.name, style=STATE_STYLES.get(state.type.value, ""))
