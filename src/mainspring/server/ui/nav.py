"""The navigation registry: each page that exists adds its entry, so no link leads nowhere.

A page module calls `register(NavEntry(...))` at import time, next to its router; base.html
lists the registered entries in `order`. Pages still to come (deployments, work pools, blocks,
variables, automations, artifacts) slot in the same way, with the order reserved for them
below so the menu reads the same whichever of them exist.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Where each known page goes in the menu (lower first); a page not listed here picks its own.
ORDER = {
    "/dashboard": 10,
    "/runs": 20,
    "/flows": 30,
    "/deployments": 40,
    "/work-pools": 50,
    "/blocks": 60,
    "/variables": 70,
    "/automations": 80,
    "/artifacts": 90,
    "/settings": 1000,
}


@dataclass(frozen=True, slots=True)
class NavEntry:
    label: str
    path: str
    order: int | None = None

    @property
    def position(self) -> int:
        return self.order if self.order is not None else ORDER.get(self.path, 500)

    def is_current(self, request_path: str) -> bool:
        """This entry's page, or a page under it (`/runs/flow-run/ID` belongs to Runs)."""
        return request_path == self.path or request_path.startswith(self.path + "/")


_entries: dict[str, NavEntry] = {}


def register(entry: NavEntry) -> NavEntry:
    """Add `entry` to the menu (again: replaces the entry with its path)."""
    _entries[entry.path] = entry
    return entry


def entries() -> list[NavEntry]:
    return sorted(_entries.values(), key=lambda e: (e.position, e.label))
