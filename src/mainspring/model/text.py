"""Text every store can keep: the limits on names, and what replaces unstorable characters.

One set of limits for every store. PostgreSQL refuses a name longer than its column (String(255))
where SQLite would keep it, so the stores check these limits themselves, and `@flow` and `@task`
check the names given to them, where a too-long name is easy to fix.

Two characters no store keeps reach us easily: NUL (PostgreSQL refuses it in text and in JSON)
and lone surrogates, which are not Unicode at all and which no UTF-8 encoder takes, yet are what
`os.fsdecode` returns for a file name that is not UTF-8 (b"x\\xff" -> "x\\udcff"). Each becomes
U+FFFD, the replacement character, which shows that something was there: the rest of the text
is kept. Only these are replaced; the check that finds them (`has_unstorable`) is one regular
expression search, run by a store over a whole batch at once, never per task call.
"""

from __future__ import annotations

import re
from string import Formatter
from typing import Any

#: Longest name, key, tag or version a store keeps (flow, run, task, logger; a column's size).
MAX_NAME = 255
#: Longest text the API keeps in one field (a log message, a state message).
MAX_TEXT = 1_000_000
#: Longest state name (a column of 32 characters).
MAX_STATE_NAME = 32
#: What a run key adds to a flow or task name: "-" and the call index ("my-task-12"); a name
#: given at definition leaves room for it.
KEY_SUFFIX_ROOM = 16
MAX_DEFINED_NAME = MAX_NAME - KEY_SUFFIX_ROOM

#: What replaces a character no store keeps.
REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def has_unstorable(text: str) -> bool:
    """Whether `text` holds a NUL character or a surrogate."""
    return _UNSTORABLE.search(text) is not None


def storable_text(text: str) -> str:
    """`text` with each NUL and surrogate replaced by U+FFFD (the text itself when it has none)."""
    return _UNSTORABLE.sub(REPLACEMENT, text)


def storable_json(value: Any) -> Any:
    """`value` (decoded JSON: dicts, lists, text, numbers) with its text, keys too, storable."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable_text(str(k)): storable_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable_json(v) for v in value]
    return value


def check_name(what: str, name: Any, limit: int = MAX_NAME) -> None:
    """Raise ValueError, saying what to do, if `name` is not text a store can keep as a name."""
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a str, got {type(name).__name__}")
    if not name:
        raise ValueError(f"{what} must not be empty")
    if len(name) > limit:
        room = " (the rest of 255 is kept for the call index runs add)" if limit < MAX_NAME else ""
        raise ValueError(
            f"{what} is {len(name)} characters long; the most is {limit}{room}: "
            f"{name[:40]!r}... (give a shorter one)"
        )
    if has_unstorable(name):
        raise ValueError(
            f"{what} {name!r} holds a NUL character or a lone surrogate, which no store keeps"
        )


def check_definition(
    name: str,
    version: Any,
    tags: Any,
    run_name: Any,
    what: str,
    key: str | None = None,
) -> None:
    """What `@flow` and `@task` are given that a store keeps: their name (with room for the
    call index runs add to it), version, tags and run name template. Called once per
    definition, so a name no store could keep fails where it is written, not in a run."""
    check_name(f"The {what} name", name, MAX_DEFINED_NAME)
    if key is not None:
        check_name(f"The {what}'s task_key", key, MAX_DEFINED_NAME)
    if version is not None:
        check_name(f"The {what}'s version", str(version))
    if tags is not None and not isinstance(tags, str):
        for tag in tags:
            check_name(f"A tag of {what} {name!r}", tag)
    check_run_name_template(f"The {what}'s run name template", run_name)


def check_run_name_template(what: str, template: Any) -> None:
    """A `flow_run_name` / `task_run_name` given as a template: its fixed text alone must fit
    (what its fields add is known only when a run is named)."""
    if not isinstance(template, str):
        return  # a callable: checked by the store when the run is named
    try:
        fixed = "".join(literal for literal, *_ in Formatter().parse(template))
    except ValueError:
        fixed = template  # not a valid template: rendering it will say so
    if len(fixed) > MAX_NAME:
        raise ValueError(
            f"{what} {template[:40]!r}... is {len(fixed)} characters long before its fields "
            f"are filled in; a run name may have at most {MAX_NAME}"
        )
