"""How much work a scheduler tick takes on: what fits its time budget, in pieces sized by the
pace of the pieces before.

A fixed number of runs a tick is a fixed time only on a machine of known speed: on a loaded
one (other processes, a busy database) the same 500 missed runs took four times as long. So
a tick works in pieces (a transaction each), sizes each piece from the seconds a run took in
the pieces before (this tick's or earlier ones'), and starts no piece once its budget is
spent; what is left goes to the next tick, which follows at once. A piece is a quarter of the
budget at the measured pace, so a machine slowing down mid-tick costs at most about one
piece over the budget, and a piece is never smaller than `MIN_PIECE` runs: a slow machine
still moves on in useful steps (50 runs cost ~2 ms on a quiet machine).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

__all__ = ["MIN_PIECE", "Pace", "TickBudget"]

#: The smallest piece of work, in runs: a tick out of time still takes this much per phase.
MIN_PIECE = 50
#: A piece aims at this share of the budget.
PIECE_SHARE = 0.25
#: The seconds a run is guessed to take before any was measured (~40 us on a quiet machine).
FIRST_GUESS = 100e-6


@dataclass
class Pace:
    """Seconds a run took lately: the mean of the newest piece's and the pace before."""

    per_run: float = FIRST_GUESS

    def runs_in(self, seconds: float) -> int:
        """How many runs fit in `seconds` at this pace, `MIN_PIECE` at least."""
        return max(MIN_PIECE, int(seconds / self.per_run))

    def measured(self, runs: int, seconds: float) -> None:
        if runs > 0 and seconds > 0:
            self.per_run = (self.per_run + seconds / runs) / 2


@dataclass
class TickBudget:
    """The time one tick may spend taking on work; `seconds` None: no limit."""

    seconds: float | None
    started: float = field(default_factory=time.perf_counter)

    def left(self, share: float = 1.0) -> float:
        """Seconds left until `share` of the budget is spent (negative once past it)."""
        if self.seconds is None:
            return float("inf")
        return self.started + self.seconds * share - time.perf_counter()

    def piece(self, pace: Pace, share: float = 1.0, *, first: bool = False) -> int:
        """The runs of the next piece of work, or 0 when `share` of the budget is spent (the
        `first` piece of a phase is taken all the same: every tick moves each phase on)."""
        if self.seconds is None:
            return 2**31 - 1
        left = self.left(share)
        if left <= 0 and not first:
            return 0
        return pace.runs_in(min(max(left, 0.0), self.seconds * PIECE_SHARE))
