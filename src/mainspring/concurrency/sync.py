"""`concurrency()` and `rate_limit()` for synchronous code (package docstring)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from mainspring.engine.concurrency_slots import acquire_slots, release_slots

__all__ = ["concurrency", "rate_limit"]


def limit_names(names: str | list[str]) -> list[str]:
    """One name or several, as Prefect takes them."""
    if isinstance(names, str):
        return [names]
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise TypeError(f"names must be a limit's name or a list of names, got {names!r}")
    return list(names)


@contextmanager
def concurrency(
    names: str | list[str],
    occupy: int = 1,
    timeout_seconds: float | None = None,
    *,
    strict: bool = False,
    lease_duration: float | None = None,
    holder: str | None = None,
) -> Iterator[None]:
    """Hold `occupy` slots of each named limit for the duration of the block (all or none),
    waiting for them first, at most `timeout_seconds` when given (`ConcurrencySlotTimeout`).

    `lease_duration`: seconds the slots stay held if this process stops renewing them (it
    dies); default MAINSPRING_CONCURRENCY_LEASE_SECONDS. `holder`: what `inspect` shows
    (default: the task or flow run, else the process)."""
    lease = acquire_slots(
        limit_names(names),
        occupy,
        timeout_seconds=timeout_seconds,
        strict=strict,
        lease_seconds=lease_duration,
        holder=holder,
    )
    try:
        yield
    finally:
        release_slots(lease)


def rate_limit(
    names: str | list[str],
    occupy: int = 1,
    timeout_seconds: float | None = None,
    *,
    strict: bool = False,
) -> None:
    """Take `occupy` slots of each named limit and keep them: they decay at the limit's
    `slot_decay_per_second`, so calls are spread to that rate (the limit is the burst). Every
    limit named needs slot_decay_per_second > 0 (ValueError otherwise)."""
    acquire_slots(
        limit_names(names), occupy, timeout_seconds=timeout_seconds, strict=strict, decay=True
    )
