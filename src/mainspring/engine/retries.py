"""Retry policy: how many times, after how long, and whether this failure deserves another go."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass

DelaySpec = float | int | Iterable[float] | Callable[[int], Iterable[float]] | None


def exponential_backoff(backoff_factor: float) -> Callable[[int], list[float]]:
    """Delays of `backoff_factor * 2**n` seconds for retry n = 0, 1, 2...

    Pass the returned callable as `retry_delay_seconds`; it is given the number of retries.
    """
    if backoff_factor < 0:
        raise ValueError(f"backoff_factor must be >= 0, got {backoff_factor}")

    def delays(retries: int) -> list[float]:
        return [backoff_factor * 2**n for n in range(retries)]

    return delays


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries: int = 0
    delays: tuple[float, ...] = ()
    jitter_factor: float | None = None

    @classmethod
    def build(cls, retries: int | None, delay: DelaySpec, jitter: float | None) -> RetryPolicy:
        retries = retries or 0
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        if jitter is not None and jitter < 0:
            raise ValueError(f"retry_jitter_factor must be >= 0, got {jitter}")
        if callable(delay):
            delay = delay(retries)
        if delay is None:
            delays: tuple[float, ...] = ()
        elif isinstance(delay, int | float):
            delays = (float(delay),)
        else:
            delays = tuple(float(d) for d in delay)
        if any(d < 0 for d in delays):
            raise ValueError(f"retry_delay_seconds must not be negative, got {list(delays)}")
        return cls(retries, delays, jitter)

    def delay_before(self, retry_number: int) -> float:
        """Seconds to wait before retry `retry_number` (1-based); the last delay repeats.

        With a jitter factor f the delay is drawn uniformly from [d*(1-f), d*(1+f)] (never
        below zero), so many runs failing together do not all retry in the same instant.
        """
        if not self.delays:
            return 0.0
        base = self.delays[min(retry_number, len(self.delays)) - 1]
        if self.jitter_factor:
            low = max(0.0, base * (1 - self.jitter_factor))
            return random.uniform(low, base * (1 + self.jitter_factor))
        return base
