"""ApiConcurrency: the ConcurrencyStore protocol over the server's routes, mixed into ApiStore
(server/api/concurrency_limits.py is the other end).

Errors as with SqlStore: an unknown limit is `ObjectNotFound` (`ConcurrencyLimitNotFound` for
a strict acquisition), a refused argument (a 422; a 409: occupy above the limit, a limit that
exists) is `ArgumentRefused`, a ValueError. `now` arguments are not sent: the server's clock
decides, for leases too, so clients on machines whose clocks differ agree on expiry.

A waiting acquisition is a long poll: the server holds the request until the slots are taken
or the wait (at most `MAX_WAIT` a request) runs out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from mainspring.exceptions import ConcurrencyLimitNotFound, ObjectNotFound
from mainspring.model.concurrency import (
    Acquisition,
    ConcurrencyLimit,
    check_lease_seconds,
    check_occupy,
)
from mainspring.store.concurrency import ConcurrencyStore
from mainspring.store.http.queries import path_segment as _p
from mainspring.store.http.server_calls import ServerCalls

#: The server's cap on one acquisition's wait; a longer wait is several requests.
MAX_WAIT = 30.0
WAIT_MARGIN = 30.0


def limit_json(limit: ConcurrencyLimit) -> dict[str, Any]:
    return {
        "name": limit.name,
        "limit": limit.limit,
        "active": limit.active,
        "slot_decay_per_second": limit.slot_decay_per_second,
        "active_slots": limit.active_slots,
        "decaying_slots": limit.decaying_slots,
        "holders": list(limit.holders),
        "created": limit.created,
        "updated": limit.updated,
    }


def limit_from_json(data: dict[str, Any]) -> ConcurrencyLimit:
    return ConcurrencyLimit(**data)


class ApiConcurrency(ConcurrencyStore, ServerCalls):
    """The ConcurrencyStore part of ApiStore (module docstring); needs ApiDeployments' `_call`."""

    def create_concurrency_limit(
        self, limit: ConcurrencyLimit, now: float | None = None
    ) -> ConcurrencyLimit:
        body = {
            "name": limit.name,
            "limit": limit.limit,
            "active": limit.active,
            "slot_decay_per_second": limit.slot_decay_per_second,
        }
        return limit_from_json(self._call("POST", "/concurrency_limits", body))

    def read_concurrency_limit(self, name: str, now: float | None = None) -> ConcurrencyLimit:
        if not name:
            raise ObjectNotFound(f"No concurrency limit named {name!r}")
        return limit_from_json(self._call("GET", f"/concurrency_limits/{_p(name)}"))

    def read_concurrency_limits(
        self, prefix: str | None = None, now: float | None = None
    ) -> list[ConcurrencyLimit]:
        params = {"prefix": prefix} if prefix else None
        found = self._call("GET", "/concurrency_limits", params=params)
        return [limit_from_json(x) for x in found]

    def update_concurrency_limit(
        self,
        name: str,
        *,
        limit: int | None = None,
        active: bool | None = None,
        slot_decay_per_second: float | None = None,
        now: float | None = None,
    ) -> ConcurrencyLimit:
        body = {
            key: value
            for key, value in (
                ("limit", limit),
                ("active", active),
                ("slot_decay_per_second", slot_decay_per_second),
            )
            if value is not None
        }
        if not name:
            raise ObjectNotFound(f"No concurrency limit named {name!r}")
        return limit_from_json(self._call("PATCH", f"/concurrency_limits/{_p(name)}", body))

    def delete_concurrency_limit(self, name: str) -> None:
        if not name:
            raise ObjectNotFound(f"No concurrency limit named {name!r}")
        self._call("DELETE", f"/concurrency_limits/{_p(name)}")

    def reset_concurrency_limit(self, name: str, now: float | None = None) -> ConcurrencyLimit:
        if not name:
            raise ObjectNotFound(f"No concurrency limit named {name!r}")
        return limit_from_json(self._call("POST", f"/concurrency_limits/{_p(name)}/reset", {}))

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
        check_occupy(occupy)
        check_lease_seconds(lease_seconds)
        if isinstance(wait, bool) or not isinstance(wait, int | float) or not wait >= 0:
            raise ValueError(f"wait must be a non-negative number of seconds, got {wait!r}")
        left = float(wait)
        while True:
            part = min(left, MAX_WAIT)
            body = {
                "names": list(names),
                "occupy": occupy,
                "holder": str(holder)[:255],
                "lease_seconds": lease_seconds,
                "strict": strict,
                "decay": decay,
                "wait": part,
            }
            timeout = httpx.Timeout(part + WAIT_MARGIN, connect=5.0)
            try:
                # not retried on a dropped connection: the first attempt may hold a lease
                got = self._call("POST", "/concurrency_leases", body, timeout=timeout, retry=False)
            except ObjectNotFound as exc:
                raise ConcurrencyLimitNotFound(str(exc)) from None
            left -= part
            if got["acquired"] or left <= 0:
                return Acquisition(
                    acquired=got["acquired"],
                    lease_id=got["lease_id"],
                    missing=tuple(got["missing"]),
                    full=tuple(got["full"]),
                    retry_after=got["retry_after"],
                )

    def renew_concurrency_leases(
        self, lease_ids: Sequence[str], lease_seconds: float, now: float | None = None
    ) -> list[str]:
        ids = list(dict.fromkeys(lease_ids))
        if not ids:
            return []
        body = {"ids": ids, "lease_seconds": check_lease_seconds(lease_seconds)}
        held: list[str] = self._call("POST", "/concurrency_leases/renew", body)["held"]
        return held

    def release_concurrency_lease(self, lease_id: str) -> None:
        self._call("DELETE", f"/concurrency_leases/{_p(lease_id)}", missing=None)


__all__ = ["ApiConcurrency", "limit_from_json", "limit_json"]
