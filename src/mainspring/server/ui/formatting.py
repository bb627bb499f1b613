"""Times and durations as people read them, in the browser's zone.

A time is rendered as `<time datetime="...Z" title="... UTC">... UTC</time>`: readable as UTC
without JavaScript, and static/app.js rewrites the text into the browser's zone (the UTC
instant stays on hover). Durations are short and rounded to what matters at their scale.
"""

from __future__ import annotations

from datetime import UTC, datetime

from markupsafe import Markup


def utc(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def time_tag(ts: float | None, missing: str = "\u2014") -> Markup:
    """A `<time>` element for epoch seconds `ts` (an em dash when there is none)."""
    if ts is None:
        return Markup('<span class="none">{}</span>').format(missing)
    when = datetime.fromtimestamp(ts, UTC)
    iso = when.isoformat(timespec="milliseconds")[:-6] + "Z"
    text = when.strftime("%Y-%m-%d %H:%M:%S UTC")
    # Both are digits and separators only: nothing to escape (a page has hundreds of these).
    return Markup(f'<time datetime="{iso}" title="{text}">{text}</time>')


def human_duration(seconds: float | None) -> str:
    """`850 ms`, `12.3 s`, `4m 05s`, `2h 03m`, `3d 4h`; an em dash for None."""
    if seconds is None:
        return "\u2014"
    seconds = max(0.0, float(seconds))
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"
