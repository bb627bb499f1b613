"""The dead-letter file: run history a store refused for good, kept where a person can read it.

A record the store will never take (a value its column cannot hold, a constraint it breaks) or
cannot take now (a full disk) must not hold back the records after it, and should not vanish
either. The recorder writes such records here and goes on:
`$MAINSPRING_HOME/dead-letter/<UTC date>.jsonl`, one JSON object a line:

    {"set_aside": 1765019000.5, "reason": "...", "kind": "task_run", "record": {...}}

`kind` is flow, flow_run, task_run, state, log or edge; `record` holds the record's fields as
the model names them, times as epoch seconds, a state as {type, name, message, timestamp,
result}. Text is written as `wire.dumps` writes it (NUL and lone surrogates as U+FFFD, values
JSON has no type for converted), so that writing it cannot fail on what made the store refuse it.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mainspring.model import State
from mainspring.store.base import Batch
from mainspring.store.http.wire import dumps
from mainspring.store.results.storage import ResultRef

FOLDER = "dead-letter"
_KINDS = (
    ("flow", "flows"),
    ("flow_run", "flow_runs"),
    ("task_run", "task_runs"),
    ("state", "states"),
    ("log", "logs"),
    ("edge", "edges"),
)


def dead_letter_file(home: Path, now: float | None = None) -> Path:
    """Today's (UTC) dead-letter file under `home`."""
    day = datetime.fromtimestamp(time.time() if now is None else now, UTC).date()
    return home / FOLDER / f"{day.isoformat()}.jsonl"


def set_aside(parts: list[tuple[Batch, str]], home: Path) -> Path:
    """Append the records of `parts` ((batch part, reason) pairs) to today's dead-letter file
    and return its path; raises OSError if it cannot be written (a full disk, say)."""
    now = time.time()
    path = dead_letter_file(home, now)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = b"".join(
        dumps({"set_aside": now, "reason": why, "kind": kind, "record": record}) + b"\n"
        for part, why in parts
        for kind, record in records(part)
    )
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        written = 0
        while written < len(lines):  # one append of whole lines: a reader never sees half
            written += os.write(fd, lines[written:])
    finally:
        os.close(fd)
    return path


def records(batch: Batch) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each record of `batch` as (kind, its fields as JSON-ready values)."""
    for kind, name in _KINDS:
        found = getattr(batch, name)
        for record in found.values() if isinstance(found, dict) else found:
            yield kind, _fields(record)


def _fields(record: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(record):
        fields = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    else:  # a NamedTuple: StateRecord, LogRecord
        fields = record._asdict()
    for key, value in fields.items():
        if isinstance(value, State):
            fields[key] = {
                "type": value.type.value,
                "name": value.name,
                "message": value.message,
                "timestamp": value.ts,
                "result": _result(value.data),
            }
        elif key == "result" or isinstance(value, ResultRef):
            fields[key] = _result(value)
        elif key == "type" and hasattr(value, "value"):
            fields[key] = value.value
    return fields


def _result(data: Any) -> dict[str, Any] | None:
    return data.to_json() if type(data) is ResultRef else None
