"""The ConcurrencyStore protocol: concurrency limits and the leases holding their slots.

Apart from `Store` (store/base.py) like `DeploymentStore`: `concurrency()`, tagged task runs
and the CLI use it; the engine's hot path never does (a task run without a limited tag makes
no call here). `SqlStore` implements it (store/sql/concurrency.py); `ApiStore` carries it over
the server's routes (store/http/concurrency.py, server/api/concurrency_limits.py).

The guarantee that matters: a limit's slots in use (unexpired leases plus undecayed rate-limit
slots) never exceed its limit, whoever acquires at once (threads, processes, hosts). Each
acquisition counts and takes in one write transaction that locks the limits' rows. A lease
that is not renewed within its `lease_seconds` stops counting (model/concurrency.py).
Times are epoch seconds; `now` arguments are for tests (a server uses its own clock).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from mainspring.model.concurrency import Acquisition, ConcurrencyLimit

__all__ = ["ConcurrencyStore"]


class ConcurrencyStore(ABC):
    """Persistence of concurrency limits and their leases (module doc)."""

    @abstractmethod
    def create_concurrency_limit(
        self, limit: ConcurrencyLimit, now: float | None = None
    ) -> ConcurrencyLimit:
        """Create the limit; return it as stored. `ValueError` if one of that name exists."""

    @abstractmethod
    def read_concurrency_limit(self, name: str, now: float | None = None) -> ConcurrencyLimit:
        """The limit with its use at `now`; `ObjectNotFound` if there is none."""

    @abstractmethod
    def read_concurrency_limits(
        self, prefix: str | None = None, now: float | None = None
    ) -> list[ConcurrencyLimit]:
        """Every limit (whose name starts with `prefix` when given), by name, with its use."""

    @abstractmethod
    def update_concurrency_limit(
        self,
        name: str,
        *,
        limit: int | None = None,
        active: bool | None = None,
        slot_decay_per_second: float | None = None,
        now: float | None = None,
    ) -> ConcurrencyLimit:
        """Change what is given (None: unchanged); return the limit. Lowering the limit below
        its use takes no slot away: new acquisitions wait until use is below it.
        `ObjectNotFound` if unknown."""

    @abstractmethod
    def delete_concurrency_limit(self, name: str) -> None:
        """Delete the limit and its leases (their holders' renewals then find nothing and
        their releases do nothing). `ObjectNotFound` if unknown."""

    @abstractmethod
    def reset_concurrency_limit(self, name: str, now: float | None = None) -> ConcurrencyLimit:
        """Free every slot of the limit (its leases and decaying slots); return it.
        `ObjectNotFound` if unknown."""

    @abstractmethod
    def acquire_concurrency_slots(
        self,
        names: Sequence[str],
        occupy: int,
        holder: str,
        *,
        lease_seconds: float,
        strict: bool = False,
        decay: bool = False,
        wait: float = 0.0,
        now: float | None = None,
    ) -> Acquisition:
        """Take `occupy` slots of each limit in `names`, all or none, for `holder` (text
        shown by `inspect`).

        Limits that are inactive take nothing. Names that are no limit are reported in
        `missing` and take nothing, unless `strict`: then `ConcurrencyLimitNotFound` naming
        them, and nothing is taken. `occupy` above an active limit's `limit` is `ValueError`
        (it could never be granted). `decay`: take rate-limit slots (`rate_limit`), which every
        limit named must have `slot_decay_per_second` > 0 for (`ValueError` otherwise); they
        are never released and the answer holds no lease. Otherwise the slots are one lease
        valid `lease_seconds`, to renew and release.

        When a limit has no room: wait up to `wait` seconds for it, without hammering the
        database (backing off, and waking at once when a slot is released in this process or
        through this server), then answer `acquired=False`.
        """

    @abstractmethod
    def renew_concurrency_leases(
        self, lease_ids: Sequence[str], lease_seconds: float, now: float | None = None
    ) -> list[str]:
        """Extend each lease to `now + lease_seconds`; return the ids still held. A lease that
        has expired (or was reset or deleted) is not renewed: its slot may be someone else's."""

    @abstractmethod
    def release_concurrency_lease(self, lease_id: str) -> None:
        """Free the lease's slots (nothing happens for an unknown or expired lease)."""
