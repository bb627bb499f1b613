"""The time windows pages offer (`?window=24h`), as links that need no JavaScript."""

from __future__ import annotations

import math
from dataclasses import dataclass

from mainspring.server.ui.errors import UiError

HOUR = 3600


@dataclass(frozen=True, slots=True)
class Window:
    key: str  # as in the URL
    label: str
    seconds: float
    buckets: int  # bars in a chart of this window

    def since(self, now: float) -> float:
        return now - self.seconds

    def span(self, now: float) -> tuple[float, float]:
        """The window's [since, until) for a chart: `until` is `now` rounded up to the next
        bar (to the next hour when bars are whole hours), so bars fall on the clock and a long
        window's bars are whole hours of the hourly counts (store/sql/hour_counts.py), not
        part-hours counted from the runs; the last bar is the one still filling."""
        width = self.seconds / self.buckets
        step = HOUR if width % HOUR == 0 else width
        until = math.ceil(now / step) * step
        return until - self.seconds, until


WINDOWS = {
    w.key: w
    for w in (
        Window("1h", "Last hour", 3600, 60),
        Window("24h", "Last 24 hours", 86400, 48),
        Window("7d", "Last 7 days", 7 * 86400, 56),
        Window("30d", "Last 30 days", 30 * 86400, 60),
    )
}
DEFAULT = "24h"


def window(key: str | None) -> Window:
    """The window named `key` (default 24h); an unknown one is a 400 saying which exist."""
    if key is None or key == "":
        return WINDOWS[DEFAULT]
    try:
        return WINDOWS[key]
    except KeyError:
        known = ", ".join(WINDOWS)
        raise UiError(400, f"Unknown time window {key[:20]!r}; choose one of {known}.") from None
