"""A place in a sorted list of flow runs, for paging by key instead of by offset.

An offset page makes the database walk past every earlier run (page 1,500 of 50: 75,000 of
them, ~26 ms with 100,000 runs, growing with the page); a cursor names the run a page ends
at, by the sort's key and its id (the tie-breaker), and the next page starts right after it
by the sort's index, whatever its depth. Runs written meanwhile do not shift the pages.
The text form is opaque (URL-safe base64 of JSON) and names its sort, so a cursor is not
taken for another list's.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass

from mainspring.model.filters import FlowRunSort
from mainspring.model.runs import FlowRun

#: Longer text is no cursor (a name of 255 characters, escaped, fits with room to spare).
MAX_CURSOR = 2000


@dataclass(frozen=True, slots=True)
class RunCursor:
    sort: FlowRunSort
    key: float | str  # the sort's value of the run: a time (epoch seconds) or its name
    id: str

    @classmethod
    def of(cls, run: FlowRun, sort: FlowRunSort) -> RunCursor:
        """The place of `run` in the list sorted by `sort`."""
        sort = FlowRunSort(sort)
        if sort is FlowRunSort.NAME_ASC:
            return cls(sort, run.name, run.id)
        if run.created is None:  # a stored run always has its creation time
            raise ValueError(f"The flow run {run.id} was never stored: it has no place in a list")
        if sort is FlowRunSort.CREATED_DESC or run.start_time is None:
            return cls(sort, run.created, run.id)
        return cls(sort, run.start_time, run.id)  # sort_time: COALESCE(start_time, created)

    def encode(self) -> str:
        text = json.dumps([self.sort.value, self.key, self.id], separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, sort: FlowRunSort) -> RunCursor:
        """The cursor `text` encodes, for the list sorted by `sort`; ValueError if it is none."""
        sort = FlowRunSort(sort)
        try:
            if len(text) > MAX_CURSOR:
                raise ValueError
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            named, key, run_id = json.loads(raw)
        except (ValueError, TypeError, binascii.Error):
            raise ValueError(f"{text[:40]!r} is not a cursor of a runs list") from None
        if named != sort.value:
            raise ValueError(f"The cursor is for a list sorted by {str(named)[:20]}, not {sort}")
        by_name = sort is FlowRunSort.NAME_ASC
        fits = _storable(key) if by_name else _finite(key)
        if not fits or not _storable(run_id) or len(run_id) > 64:
            raise ValueError(f"{text[:40]!r} is not a cursor of a runs list")
        return cls(sort, key if by_name else float(key), run_id)


def _finite(key: object) -> bool:
    """A time a stored run can have: JSON also reads NaN, Infinity and integers beyond any
    float (whose float() raises OverflowError), none of which is a place in a list."""
    if not isinstance(key, int | float) or isinstance(key, bool):
        return False
    try:
        return math.isfinite(float(key))
    except OverflowError:
        return False


def _storable(value: object) -> bool:
    """Text a database takes as a parameter: JSON's escapes also make NUL (refused by
    PostgreSQL) and lone surrogates (no UTF-8), which no stored name or id holds."""
    if not isinstance(value, str) or "\x00" in value:
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True
