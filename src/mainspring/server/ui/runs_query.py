"""The runs list's query string, read into a FlowRunFilter with its sort and page.

Read by hand rather than by FastAPI's validation, so a bad value (a mistyped date, an
unknown state) is said on the page, with the form kept as typed, instead of a JSON 422.
Repeated parameters (`state=FAILED&state=CRASHED`) select any of them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from mainspring.model import STATE_NAMES, FlowRunFilter, FlowRunSort, StateType
from mainspring.model.run_cursor import RunCursor
from mainspring.model.runs import to_datetime
from mainspring.server.ui.paging import page_number
from mainspring.server.ui.windows import WINDOWS

PAGE_SIZE = 50
MAX_PAGE = 100_000
MAX_TEXT = 255
SORTS = {
    FlowRunSort.START_TIME_DESC: "Newest first",
    FlowRunSort.START_TIME_ASC: "Oldest first",
    FlowRunSort.CREATED_DESC: "Recently created",
    FlowRunSort.NAME_ASC: "Name (A-Z)",
}
#: The state choices the form offers: every type, and the names worth their own box.
STATE_CHOICES = [t.value for t in StateType] + ["Late", "Cached", "TimedOut"]


@dataclass
class RunsQuery:
    flows: list[str] = field(default_factory=list)
    deployments: list[str] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    tags: str = ""
    window: str = ""
    start: str = ""  # "from", as typed
    end: str = ""  # "to", as typed
    q: str = ""
    sort: FlowRunSort = FlowRunSort.START_TIME_DESC
    page: int = 1
    #: the neighbouring page's link: the page after (or before) this cursor, by `sort`
    after: RunCursor | None = None
    before: RunCursor | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def tag_list(self) -> list[str]:
        return [t.strip() for t in self.tags.split(",") if t.strip()]

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE

    def filter(self, now: float | None = None) -> FlowRunFilter:
        started_after = _parse_time(self.start) if self.start else None
        if self.window in WINDOWS and started_after is None:
            started_after = to_datetime((now or time.time()) - WINDOWS[self.window].seconds)
        return FlowRunFilter(
            flow_names=self.flows,
            deployment_ids=self.deployments,
            states=self.states,
            tags=self.tag_list,
            name_contains=self.q or None,
            started_after=started_after,
            started_before=_parse_time(self.end, end_of_day=True) if self.end else None,
        )

    def url(self, **changes: object) -> str:
        """This query's URL on /runs with `changes` (e.g. page=3); a cursor (after=, before=:
        its text) only when given in `changes`, as any other change leaves that page."""
        values: dict[str, object] = {
            "flow": self.flows,
            "deployment": self.deployments,
            "state": self.states,
            "tags": self.tags,
            "window": self.window,
            "from": self.start,
            "to": self.end,
            "q": self.q,
            "sort": "" if self.sort is FlowRunSort.START_TIME_DESC else self.sort.value,
            "page": "" if self.page == 1 else self.page,
        }
        values.update(changes)
        pairs = []
        for key, value in values.items():
            for item in value if isinstance(value, list) else [value]:
                if item not in ("", None) and not (key == "page" and item == 1):
                    pairs.append((key, item))
        return "/runs" + (f"?{urlencode(pairs)}" if pairs else "")


def read_query(params: QueryParams) -> RunsQuery:
    query = RunsQuery()
    query.flows = _texts(params.getlist("flow"))
    query.deployments = _texts(params.getlist("deployment"))
    query.tags = params.get("tags", "")[:1000]
    query.q = params.get("q", "").strip()[:MAX_TEXT]
    query.start = params.get("from", "").strip()[:40]
    query.end = params.get("to", "").strip()[:40]
    states = _texts(params.getlist("state"))
    # a word that is a type (FAILED, and so Failed) selects the type; the others are names
    known = {n.upper(): n for n in STATE_NAMES} | {t.value: t.value for t in StateType}
    query.states = [known[s.upper()] for s in states if s.upper() in known]
    unknown = [s for s in states if s.upper() not in known]
    if unknown:
        query.errors.append(f"Unknown state {unknown[0][:40]!r}; it was left out of the filter.")
    window = params.get("window", "")
    if window and window not in WINDOWS and window != "all":
        query.errors.append(f"Unknown time window {window[:20]!r}; showing all times.")
    else:
        query.window = "" if window == "all" else window
    for label, text in (("From", query.start), ("To", query.end)):
        if text and _parse_time(text) is None:
            query.errors.append(
                f"{label} {text!r} is not a date; use YYYY-MM-DD or YYYY-MM-DD HH:MM (UTC)."
            )
    if query.start and _parse_time(query.start) is None:
        query.start = ""
    if query.end and _parse_time(query.end) is None:
        query.end = ""
    sort = params.get("sort", "")
    if sort:
        try:
            query.sort = FlowRunSort(sort)
        except ValueError:
            query.errors.append(f"Unknown sort {sort[:30]!r}; showing newest first.")
    page = params.get("page", "")
    query.page = page_number(page, MAX_PAGE)
    if page and str(query.page) != page:
        query.errors.append(f"There is no page {page[:12]!r}; showing the first.")
    _read_cursors(query, params)
    return query


def _read_cursors(query: RunsQuery, params: QueryParams) -> None:
    """The page link's cursor (after= or before=), for the list's sort; one that does not
    read (edited, or from another sort) is said, and the first page shown."""
    after, before = params.get("after", ""), params.get("before", "")
    if after and before:
        query.errors.append("A page link names the runs after or before a run, not both.")
        return
    try:
        if after:
            query.after = RunCursor.decode(after, query.sort)
        if before:
            query.before = RunCursor.decode(before, query.sort)
    except ValueError:
        query.errors.append("That page link is out of date or broken; showing the first page.")
        query.page = 1


def _texts(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v.strip()[:MAX_TEXT] for v in values if v.strip()))[:50]


def _parse_time(text: str, end_of_day: bool = False) -> datetime | None:
    """`YYYY-MM-DD` or an ISO date and time, in UTC unless it says otherwise; a bare date
    as an end means the end of that day."""
    try:
        parsed = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        return None
    if end_of_day and len(text) == 10:
        parsed = parsed.replace(hour=23, minute=59, second=59, microsecond=999999)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
