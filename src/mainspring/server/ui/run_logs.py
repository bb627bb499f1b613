"""A run's log lines on its page: filtered by level and searched on the server (so it works
without JavaScript), and tailed live while the run goes on through server-sent events.

The stream sends only what is new: each event holds the lines stored since the last one
(rendered, escaped, ready to append) and its SSE id is how many lines the page holds, so a
reconnecting browser (`Last-Event-ID`) carries on where it stopped. The store is asked every
`POLL` seconds per open page, one indexed query from an offset; the stream ends with an `end`
event once the run has finished and its last lines are out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from mainspring.model import LogRecord
from mainspring.server.ui.run_live import TaskWatch
from mainspring.server.ui.templating import environment

#: Lines shown on one page of a run's logs (the rest: "next lines" links).
PAGE = 200
#: Seconds between the stream's looks at the store.
POLL = 0.5
#: Lines sent in one event at most (a burst is sent over several).
BURST = 500
LEVELS = {"": 0, "debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}


@dataclass(frozen=True, slots=True)
class LogQuery:
    """What the page's filter form asks: a minimum level and a search text."""

    level: str = ""
    text: str = ""

    @classmethod
    def of(cls, level: str | None, text: str | None) -> LogQuery:
        level = (level or "").lower()
        return cls(level if level in LEVELS else "", (text or "").strip()[:200])

    @property
    def min_level(self) -> int:
        return LEVELS[self.level]

    def matches(self, record: LogRecord) -> bool:
        return not self.text or self.text.casefold() in record.message.casefold()

    def params(self) -> dict[str, str]:
        return {k: v for k, v in (("level", self.level), ("q", self.text)) if v}


_NAMES = {number: name for name, number in logging.getLevelNamesMapping().items()}
_NAMES[30] = "WARNING"  # not WARN
_NAMES[50] = "CRITICAL"  # not FATAL


def level_name(level: int) -> str:
    """`INFO` for 20; a level of its own as its number."""
    return _NAMES.get(level, str(level))


environment.globals["level_name"] = level_name


def render_lines(records: list[LogRecord]) -> Markup:
    """The `<li>` of each line, as the page's list holds them (escaped by the template)."""
    template = environment.get_template("log_lines.html")
    return Markup(template.render(lines=records))


def _event(name: str, data: str, event_id: int | None = None) -> str:
    head = f"event: {name}\n" + (f"id: {event_id}\n" if event_id is not None else "")
    lines = data.replace("\r\n", "\n").replace("\r", "\n").split("\n")  # CR ends a field
    body = "".join(f"data: {line}\n" for line in lines)
    return head + body + "\n"


async def stream(
    read: Callable[[int, int], list[LogRecord]],
    run_state: Callable[[], tuple[bool, Markup]],
    query: LogQuery,
    offset: int,
    disconnected: Callable[[], object],
    watch: Callable[[], TaskWatch] | None = None,
) -> AsyncIterator[str]:
    """Events for a page that holds the first `offset` lines at `query.min_level`:
    `log` (new lines), `state` (the run's badge, when it changes), `tasks` (what changed in
    its task runs and subflow runs, when `watch` makes their watcher) and `end`.

    `read(offset, limit)` reads lines from the store; `run_state()` says whether the run has
    finished and gives its badge."""
    badge: Markup | None = None
    yield "retry: 2000\n\n"
    tasks = await run_in_threadpool(watch) if watch is not None else None
    while True:
        if await disconnected():  # type: ignore[misc]
            return
        finished, now_badge = await run_in_threadpool(run_state)
        records = await run_in_threadpool(read, offset, BURST)
        while records:
            offset += len(records)
            shown = [r for r in records if query.matches(r)]
            if shown:
                yield _event("log", str(render_lines(shown)), offset)
            else:
                yield f"id: {offset}\n: nothing matched\n\n"
            if len(records) < BURST:
                break
            records = await run_in_threadpool(read, offset, BURST)
        if tasks is not None and (finished or tasks.due()):
            changed = await run_in_threadpool(tasks.look)
            if changed is not None:
                yield _event("tasks", changed)
        if now_badge != badge:
            badge = now_badge
            yield _event("state", str(now_badge))
        if finished:
            yield _event("end", "the run has finished")
            return
        await asyncio.sleep(POLL)
