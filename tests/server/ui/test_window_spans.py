"""A chart's window ends at the next bar on the clock; long windows' bars are whole hours, so
they are read from the hourly counts (store/sql/hour_counts.py) without part-hours."""

from __future__ import annotations

from mainspring.server.ui.windows import WINDOWS
from mainspring.store.sql.hour_counts import plan_window

NOW = 1_796_000_000.123


def test_long_windows_end_on_the_next_hour_and_their_bars_are_whole_hours() -> None:
    for key in ("7d", "30d"):
        window = WINDOWS[key]
        since, until = window.span(NOW)
        assert until % 3600 == 0 and 0 <= until - NOW < 3600
        assert until - since == window.seconds
        width = window.seconds / window.buckets
        plan = plan_window([since + k * width for k in range(window.buckets)] + [until])
        assert plan.edges == [] and len(plan.hours) == window.buckets


def test_short_windows_end_on_the_next_bar() -> None:
    for key, step in (("1h", 60), ("24h", 1800)):
        since, until = WINDOWS[key].span(NOW)
        assert until % step == 0 and 0 <= until - NOW < step
        assert until - since == WINDOWS[key].seconds
