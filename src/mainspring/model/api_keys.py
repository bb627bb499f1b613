"""An API key of the server as stored: who it is for, what it may do, until when.

The secret itself is never stored; `salt` and `key_hash` (sha256 of salt + secret, made by
server/auth.py) let the server recognise it. Both are left out of `repr`, and nothing shows
them: they are only compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = ["ApiKey", "id_from_hex"]


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    read_only: bool
    created: float
    last_used: float | None = None
    expires: float | None = None  #: when it stops working; None: never
    revoked: float | None = None  #: when it was revoked; None: in force
    salt: str = field(default="", repr=False)
    key_hash: str = field(default="", repr=False)

    def refusal(self, now: float) -> str | None:
        """Why this key may not be used at `now`, or None when it may."""
        if self.revoked is not None:
            return f"The API key {self.name!r} was revoked on {_utc(self.revoked)}."
        if self.expires is not None and now >= self.expires:
            return (
                f"The API key {self.name!r} expired on {_utc(self.expires)}; create a new one "
                "(mainspring api-key create)."
            )
        return None


def _utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def id_from_hex(text: str) -> str | None:
    """The key id (a UUID, as stored and listed) that `text` spells as 32 hex digits, with or
    without dashes (a presented key carries it so, after `ms_`); None when it spells none."""
    digits = text.replace("-", "").lower()
    if len(digits) != 32 or not all(c in "0123456789abcdef" for c in digits):
        return None
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
