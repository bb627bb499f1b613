"""The shared template helpers: durations, times, state badges."""

from __future__ import annotations

from mainspring.model import StateType
from mainspring.server.ui.badges import LOOKS, state_badge
from mainspring.server.ui.formatting import human_duration, time_tag


def test_durations_read_like_a_person_would_say_them() -> None:
    cases = {
        None: "\u2014",
        0.0004: "0 ms",
        0.85: "850 ms",
        12.34: "12.3 s",
        245: "4m 05s",
        7380: "2h 03m",
        3 * 86400 + 4 * 3600 + 59: "3d 4h",
        -5: "0 ms",
    }
    for seconds, said in cases.items():
        assert human_duration(seconds) == said, seconds


def test_a_time_is_utc_in_the_page_and_on_hover() -> None:
    tag = str(time_tag(1_700_000_000.25))
    assert tag == (
        '<time datetime="2023-11-14T22:13:20.250Z" title="2023-11-14 22:13:20 UTC">'
        "2023-11-14 22:13:20 UTC</time>"
    )
    assert "\u2014" in str(time_tag(None))


def test_each_state_type_has_its_own_colour_and_symbol() -> None:
    assert set(LOOKS) == set(StateType)
    assert len({look.colour for look in LOOKS.values()}) == len(LOOKS)
    assert len({look.css for look in LOOKS.values()}) == len(LOOKS)
    # one symbol per type, but Cancelling shares Cancelled's (the label tells them apart)
    assert len({look.symbol for look in LOOKS.values()}) == len(LOOKS) - 1


def test_a_badge_says_its_state_and_escapes_it() -> None:
    badge = str(state_badge(StateType.FAILED, "<b>Odd</b>"))
    assert "&lt;b&gt;Odd&lt;/b&gt;" in badge and "<b>" not in badge
    assert "state-failed" in badge
    assert "Late" in str(state_badge(StateType.SCHEDULED, "Late"))
    assert "state-late" in str(state_badge(StateType.SCHEDULED, "Late"))
    mini = str(state_badge("COMPLETED", mini=True))
    assert 'title="Completed"' in mini and "visually-hidden" in mini
