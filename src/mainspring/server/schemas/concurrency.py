"""Concurrency limits and slot acquisitions as the API takes and shows them.

Validated before the store sees them (names and text as everywhere, integers as JSON Schema
has them); what only the store can judge (occupy above a limit, a rate limit without decay)
is its ValueError, which the route answers as a 409 (a conflict with the stored limit).
Answers carry epoch seconds, as the deployment routes do (store/http/concurrency.py is the
other end).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from mainspring.model.concurrency import MAX_LEASE_SECONDS, Acquisition, ConcurrencyLimit
from mainspring.server.schemas.common import Id, Name
from mainspring.server.schemas.deployments import Integer, Limit, StrictInput
from mainspring.store.http.concurrency import limit_json
from mainspring.store.http.wire import INT32, MAX_NAME

#: Limits one acquisition may name, leases one renewal may carry.
MAX_NAMES = 100
MAX_RENEW = 10_000
#: Longest an acquisition waits at the server (seconds): below every proxy's idle timeout.
MAX_WAIT = 30.0

Decay = Annotated[
    float,
    Field(ge=0, le=1e9, allow_inf_nan=False, description="Slots freed per second (0: none)."),
]
LeaseSeconds = Annotated[
    float,
    Field(gt=0, le=MAX_LEASE_SECONDS, allow_inf_nan=False, description="Seconds until expiry."),
]


class ConcurrencyLimitIn(StrictInput):
    name: Name = Field(description="A tag's limit is named 'tag:<tag>'.")
    limit: Limit
    active: bool = True
    slot_decay_per_second: Decay = 0.0

    def to_record(self) -> ConcurrencyLimit:
        return ConcurrencyLimit(**self.model_dump())


class ConcurrencyLimitUpdateIn(StrictInput):
    """What to change; a field left out stays as it is."""

    limit: Limit | None = None
    active: bool | None = None
    slot_decay_per_second: Decay | None = None


class ConcurrencyLimitOut(BaseModel):
    name: str
    limit: int
    active: bool
    slot_decay_per_second: float
    active_slots: int = Field(description="Held by unexpired leases.")
    decaying_slots: float = Field(description="A rate limit's slots not yet decayed.")
    holders: list[str]
    created: float | None = Field(description="Epoch seconds.")
    updated: float | None = Field(description="Epoch seconds.")

    @classmethod
    def of(cls, limit: ConcurrencyLimit) -> ConcurrencyLimitOut:
        return cls(**limit_json(limit))


class AcquireIn(StrictInput):
    names: Annotated[list[Name], Field(min_length=1, max_length=MAX_NAMES)]
    occupy: Integer = Field(1, ge=1, le=INT32)
    holder: Annotated[str, Field(max_length=MAX_NAME, pattern=r"^[^\x00]*$")] = ""
    lease_seconds: LeaseSeconds
    strict: bool = False
    decay: bool = Field(False, description="Take rate-limit slots, which decay (no lease).")
    wait: Annotated[float, Field(ge=0, le=MAX_WAIT, allow_inf_nan=False)] = Field(
        0.0, description="Seconds to wait for room before answering acquired=false."
    )


class AcquisitionOut(BaseModel):
    acquired: bool
    lease_id: str | None
    missing: list[str]
    full: list[str]
    retry_after: float | None

    @classmethod
    def of(cls, got: Acquisition) -> AcquisitionOut:
        return cls(
            acquired=got.acquired,
            lease_id=got.lease_id,
            missing=list(got.missing),
            full=list(got.full),
            retry_after=got.retry_after,
        )


class RenewIn(StrictInput):
    ids: Annotated[list[Id], Field(max_length=MAX_RENEW)]
    lease_seconds: LeaseSeconds


class RenewOut(BaseModel):
    held: list[str] = Field(description="The leases still held (the others expired).")
