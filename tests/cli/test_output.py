"""Formatting shared by the commands."""

from __future__ import annotations

from datetime import datetime

import pytest

from mainspring.cli.output import format_duration, format_time


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "-"),
        (0.0001, "<1ms"),
        (0.85, "850ms"),
        (4.21, "4.2s"),
        (185, "3m 05s"),
        (2 * 3600 + 7 * 60 + 3, "2h 07m"),
        (3 * 86400 + 4 * 3600 + 59, "3d 4h"),
    ],
)
def test_format_duration(seconds, shown):
    assert format_duration(seconds) == shown


def test_format_time_is_local_with_date():
    ts = datetime(2024, 5, 1, 14, 3, 22, 123456).timestamp()  # naive: local time

    assert format_time(ts) == "2024-05-01 14:03:22"
    assert format_time(ts, precise=True) == "2024-05-01 14:03:22.123"
    assert format_time(None) == "-"
