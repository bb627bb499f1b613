"""The numbers behind the charts (static/charts.js draws them with uPlot), and the totals
the pages print beside them so the page says the same without JavaScript."""

from __future__ import annotations

from typing import Any

from mainspring.model import StateType
from mainspring.model.insights import RunPoint, StateBucket
from mainspring.server.ui.badges import CHART_ORDER, LOOKS


def state_bars(
    buckets: list[StateBucket], since: float, until: float, count: int
) -> dict[str, Any]:
    """Stacked bars of runs by state type: completed at the bottom, failures on top of it."""
    counts: dict[StateType, list[int]] = {}
    for b in buckets:
        counts.setdefault(b.state_type, [0] * count)[b.bucket] += b.count
    bottom_first = [t for t in reversed(CHART_ORDER) if t in counts]
    return {
        "start": since,
        "width": (until - since) / count,
        "series": [
            {"label": t.value.capitalize(), "colour": LOOKS[t].colour, "counts": counts[t]}
            for t in bottom_first
        ],
    }


def totals(buckets: list[StateBucket]) -> list[tuple[StateType, int]]:
    """Runs by state type over the whole window, in CHART_ORDER (failures first)."""
    summed: dict[StateType, int] = {}
    for b in buckets:
        summed[b.state_type] = summed.get(b.state_type, 0) + b.count
    return [(t, summed[t]) for t in CHART_ORDER if t in summed]


def duration_scatter(points: list[RunPoint]) -> dict[str, Any]:
    by_type: dict[StateType, list[list[float]]] = {}
    for p in points:
        by_type.setdefault(p.state_type, []).append([p.start_time, round(p.duration, 3)])
    return {
        "series": [
            {
                "state": t.value,
                "label": t.value.capitalize(),
                "colour": LOOKS[t].colour,
                "points": by_type[t],
            }
            for t in CHART_ORDER
            if t in by_type
        ]
    }
