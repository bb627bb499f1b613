"""Pages of a long list: which one this is, how many there are, and links to the neighbours."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Page:
    number: int
    pages: int
    previous_url: str | None
    next_url: str | None


def page_of(number: int, count: int, size: int, url: Callable[[int], str]) -> Page:
    """Page `number` (from 1) of `count` items, `size` a page; `url(n)` links page n."""
    pages = max(1, math.ceil(count / size))
    return Page(
        number=number,
        pages=pages,
        previous_url=url(number - 1) if number > 1 else None,
        next_url=url(number + 1) if number < pages else None,
    )


def page_number(text: str | None, most: int = 100_000) -> int:
    """A page number from the query string; anything else is the first page."""
    if text and text.isdigit() and 1 <= int(text) <= most:
        return int(text)
    return 1
