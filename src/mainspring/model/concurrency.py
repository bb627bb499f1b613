"""Concurrency limits and the leases that hold their slots: pure records and rules.

A limit is a named number of slots shared by every process using the store (SQLite file,
PostgreSQL, or a server). Code takes slots with `concurrency("db")`; a task run with a tag
that has a limit takes one slot of the limit named `tag:<tag>` (Prefect 3 keeps its tag
limits as global limits of that name too, so both commands see one kind of object).

Slots are held by leases, not by a counter: a lease expires `lease_seconds` after it was
taken or last renewed, and its holder renews it while it holds it. A process killed while
holding a slot (kill -9, a machine gone) therefore frees it once its lease runs out, instead
of blocking the limit for ever, which is what a counter that only its holder decrements does.

A limit with `slot_decay_per_second` > 0 is a rate limit: `rate_limit("api")` takes slots
that are never released but decay, `slot_decay_per_second` of them each second. Leases and
decaying slots both count against the limit. Times are epoch seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from mainspring.model.text import check_name

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "MAX_LEASE_SECONDS",
    "TAG_PREFIX",
    "Acquisition",
    "ConcurrencyLimit",
    "check_decay",
    "check_lease_seconds",
    "check_limit",
    "check_occupy",
    "decayed",
    "tag_limit_name",
]

#: The name of a tag's limit is this prefix and the tag.
TAG_PREFIX = "tag:"
#: How long a lease lasts unless renewed (MAINSPRING_CONCURRENCY_LEASE_SECONDS).
DEFAULT_LEASE_SECONDS = 30.0
#: No lease may outlive a day without renewal: a holder that vanished frees its slot by then.
MAX_LEASE_SECONDS = 86_400.0
#: The largest limit (an int32 column).
MAX_LIMIT = 2**31 - 1


def tag_limit_name(tag: str) -> str:
    """The limit that caps the task runs carrying `tag`."""
    return TAG_PREFIX + tag


def check_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise TypeError(f"a concurrency limit must be an int, got {limit!r}")
    if not 0 <= limit <= MAX_LIMIT:
        raise ValueError(f"a concurrency limit must be between 0 and {MAX_LIMIT}, got {limit}")
    return limit


def check_decay(decay: object) -> float:
    if isinstance(decay, bool) or not isinstance(decay, int | float):
        raise TypeError(f"slot_decay_per_second must be a number, got {decay!r}")
    if not (math.isfinite(decay) and decay >= 0):
        raise ValueError(f"slot_decay_per_second must be a finite number >= 0, got {decay!r}")
    return float(decay)


def check_occupy(occupy: object) -> int:
    """How many slots one acquisition takes: a positive int."""
    if isinstance(occupy, bool) or not isinstance(occupy, int):
        raise TypeError(f"occupy must be an int, got {occupy!r}")
    if not 1 <= occupy <= MAX_LIMIT:
        raise ValueError(f"occupy must be at least 1, got {occupy}")
    return occupy


def check_lease_seconds(seconds: object) -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise TypeError(f"lease_seconds must be a number, got {seconds!r}")
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_LEASE_SECONDS):
        raise ValueError(
            f"lease_seconds must be above 0 and at most {MAX_LEASE_SECONDS:g}, got {seconds!r}"
        )
    return float(seconds)


def decayed(slots: float, decay_per_second: float, since: float | None, now: float) -> float:
    """What is left at `now` of `slots` rate-limit slots counted at `since`."""
    if slots <= 0 or since is None:
        return max(slots, 0.0)
    return max(0.0, slots - decay_per_second * max(0.0, now - since))


@dataclass
class ConcurrencyLimit:
    """A limit as stored, with its use at the moment it was read.

    `active=False` keeps the limit but stops it limiting (acquisitions pass at once, holding
    nothing). `active_slots` are held by unexpired leases; `decaying_slots` are a rate
    limit's slots not yet decayed; `holders` say who holds the leases (a task run's id, or
    `pid N on HOST`)."""

    name: str
    limit: int
    active: bool = True
    slot_decay_per_second: float = 0.0
    created: float | None = None
    updated: float | None = None
    active_slots: int = 0
    decaying_slots: float = 0.0
    holders: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_name("The concurrency limit name", self.name)
        if self.name == TAG_PREFIX:
            raise ValueError(f"The concurrency limit name {self.name!r} names no tag")
        self.limit = check_limit(self.limit)
        if not isinstance(self.active, bool):
            raise TypeError(f"active must be True or False, got {self.active!r}")
        self.slot_decay_per_second = check_decay(self.slot_decay_per_second)

    @property
    def tag(self) -> str | None:
        """The tag this limit caps, when it is a tag limit."""
        return self.name[len(TAG_PREFIX) :] if self.name.startswith(TAG_PREFIX) else None

    @property
    def used(self) -> int:
        """Slots in use now: leases plus undecayed rate-limit slots (a part counts as one)."""
        return self.active_slots + math.ceil(self.decaying_slots - 1e-9)


@dataclass(frozen=True)
class Acquisition:
    """What an attempt to take slots got.

    `acquired`: the slots are taken (or nothing needed taking: every limit named is unknown
    or inactive). `lease_id`: the lease to renew and release, None when nothing is held (no
    active limit, or only rate-limit slots, which decay rather than being released).
    `missing`: the names that are no limit. When not acquired, `full` names the limits that
    had no room and `retry_after` says, for rate limits, when enough will have decayed."""

    acquired: bool
    lease_id: str | None = None
    missing: tuple[str, ...] = ()
    full: tuple[str, ...] = ()
    retry_after: float | None = None
