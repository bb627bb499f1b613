"""API keys: created by `mainspring api-key create`, checked on every API request.

A key reads `ms_<id>_<secret>`: the id (32 hex digits) finds its row without scanning, the
secret (32 random bytes) is what proves possession. The database keeps only
`sha256(salt + secret)` with a random salt per key. A fast hash is the right tool here, unlike
for passwords: the secret has 256 bits of entropy, so no dictionary or brute force can reverse
the hash, and the server checks it on every request, where a deliberately slow KDF would cost
tens of milliseconds each time.

The server asks for a key (`Authorization: Bearer <key>`) when any key exists, and always when
it is reachable beyond loopback without `--insecure` (then no request passes without a key;
the CLI refuses to start that way). Read-only keys may only read: POST, PUT, PATCH and DELETE
answer 403. Keys are never logged, and never shown again after creation.

A key may expire (`--expires-in`) and may be revoked (`mainspring api-key revoke`); either
way its row stays, so the server can say why it refuses the key, and keys stay required
(revoking the last key does not open the server). A revocation takes effect within
`CACHE_SECONDS`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mainspring.server.db import read_connection, write_transaction
from mainspring.store.sql import SqlStore
from mainspring.store.sql.schema import api_key

logger = logging.getLogger("mainspring.server.auth")

PREFIX = "ms_"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: How long the server trusts its copy of the key table (keys made by the CLI meanwhile
#: count from the next refresh on).
CACHE_SECONDS = 2.0
#: `last_used` is written at most this often per key, not on every request.
LAST_USED_EVERY = 60.0


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """What may be shown about a key: everything but its secret and hash."""

    id: str
    name: str
    read_only: bool
    created: float
    last_used: float | None
    expires: float | None = None
    revoked: float | None = None

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


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode()).hexdigest()


def _info(row: sa.Row[Any]) -> ApiKeyInfo:
    return ApiKeyInfo(
        row.id,
        row.name,
        bool(row.read_only),
        float(row.created),
        row.last_used,
        row.expires,
        row.revoked,
    )


def create_api_key(
    store: SqlStore, name: str, read_only: bool = False, expires_in: float | None = None
) -> tuple[ApiKeyInfo, str]:
    """Store a new key and return it with its plaintext, which exists only in this return value.

    `expires_in` seconds from now the key stops working (None: never). A name already in use,
    by a revoked key too, raises ValueError.
    """
    name = name.strip()
    if not name or len(name) > 255:
        raise ValueError("An API key needs a name of 1 to 255 characters.")
    if expires_in is not None and not expires_in > 0:
        raise ValueError("An API key's lifetime must be positive.")
    key_id = str(uuid.uuid4())
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    now = time.time()
    expires = now + expires_in if expires_in is not None else None
    info = ApiKeyInfo(key_id, name, read_only, now, None, expires)
    row = {
        "id": key_id,
        "name": name,
        "salt": salt,
        "key_hash": _hash(salt, secret),
        "read_only": read_only,
        "created": info.created,
        "last_used": None,
        "expires": expires,
    }
    with write_transaction(store) as conn:
        taken = conn.execute(sa.select(api_key).where(api_key.c.name == name)).first()
        if taken is not None:
            revoked = " (revoked; names stay taken)" if taken.revoked is not None else ""
            raise ValueError(f"An API key named {name!r} already exists{revoked}.")
        conn.execute(sa.insert(api_key).values(row))
    return info, f"{PREFIX}{key_id.replace('-', '')}_{secret}"


def list_api_keys(store: SqlStore) -> list[ApiKeyInfo]:
    query = sa.select(api_key).order_by(api_key.c.created)
    with read_connection(store) as conn:
        return [_info(r) for r in conn.execute(query)]


def revoke_api_key(store: SqlStore, id_or_name: str) -> tuple[ApiKeyInfo, bool]:
    """Revoke the key with this id (as listed, or the 32 hex digits in the key) or name.

    Returns the key and whether it was in force until now (False: revoked already). An
    unknown key raises LookupError.
    """
    wanted = id_or_name.strip()
    hex_id = wanted.replace("-", "").lower()
    as_id = _uuid(hex_id) if len(hex_id) == 32 and _is_hex(hex_id) else None
    match = api_key.c.name == wanted
    if as_id is not None:
        match = sa.or_(api_key.c.id == as_id, match)
    with write_transaction(store) as conn:
        rows = conn.execute(sa.select(api_key).where(match)).all()
        if not rows:
            raise LookupError(f"No API key with id or name {wanted!r}.")
        row = next((r for r in rows if r.id == as_id), rows[0])  # an id before a name
        if row.revoked is not None:
            return _info(row), False
        now = time.time()
        conn.execute(sa.update(api_key).where(api_key.c.id == row.id).values(revoked=now))
    return dataclasses.replace(_info(row), revoked=now), True


def _is_hex(text: str) -> bool:
    try:
        int(text, 16)
    except ValueError:
        return False
    return True


def _uuid(hex_id: str) -> str:
    h = hex_id.lower()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _key_id(token: str) -> tuple[str, str] | None:
    """(row id, secret) from a presented key, or None when it is not shaped like one."""
    if not token.startswith(PREFIX) or len(token) < len(PREFIX) + 34:
        return None
    hex_id, sep, secret = token[len(PREFIX) :].partition("_")
    if not sep or len(hex_id) != 32 or not secret or not _is_hex(hex_id):
        return None
    return _uuid(hex_id), secret


class KeyRing:
    """The server's cached view of the key table, refreshed every `CACHE_SECONDS`."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._rows: dict[str, sa.Row[Any]] = {}
        self._loaded = float("-inf")
        self._used: dict[str, float] = {}

    def _refresh(self) -> dict[str, sa.Row[Any]]:
        with self._lock:
            if time.monotonic() - self._loaded > CACHE_SECONDS:
                with read_connection(self.store) as conn:
                    self._rows = {r.id: r for r in conn.execute(sa.select(api_key))}
                self._loaded = time.monotonic()
            return self._rows

    def any(self) -> bool:
        return bool(self._refresh())

    def authenticate(self, token: str) -> ApiKeyInfo | None:
        """The key's info if `token` is a key of ours, else None (constant-time comparison).
        A revoked or expired key is returned too (see `ApiKeyInfo.refusal`), so the caller
        can say why it refuses it."""
        parsed = _key_id(token)
        if parsed is None:
            return None
        key_id, secret = parsed
        row = self._refresh().get(key_id)
        if row is None or not hmac.compare_digest(_hash(row.salt, secret), row.key_hash):
            return None
        info = _info(row)
        if info.refusal(time.time()) is None:
            self._touch(key_id)
        return info

    def _touch(self, key_id: str) -> None:
        now = time.time()
        if now - self._used.get(key_id, 0.0) < LAST_USED_EVERY:
            return
        self._used[key_id] = now
        update = sa.update(api_key).where(api_key.c.id == key_id).values(last_used=now)
        try:
            with write_transaction(self.store) as conn:
                conn.execute(update)
        except sa.exc.SQLAlchemyError as exc:  # bookkeeping only: never fail the request
            logger.warning("Could not record the use of API key %s: %s", key_id, type(exc))


_bearer = HTTPBearer(auto_error=False, description="An API key from `mainspring api-key create`")


def _refuse(status: int, detail: str) -> HTTPException:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return HTTPException(status_code=status, detail=detail, headers=headers)


def authorize(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKeyInfo | None:
    """FastAPI dependency of every protected route: 401 without a valid key, 403 for writes
    with a read-only key. Nothing is required on loopback while no key exists."""
    keyring: KeyRing = request.app.state.keyring
    exposed_without_keys = request.app.state.exposed and not request.app.state.insecure
    if not keyring.any() and not exposed_without_keys:
        return None
    if credentials is None:
        raise _refuse(401, "This server requires an API key: send 'Authorization: Bearer <key>'.")
    info = keyring.authenticate(credentials.credentials)
    if info is None:
        raise _refuse(401, "The API key is not valid.")
    refusal = info.refusal(time.time())
    if refusal is not None:
        raise _refuse(401, refusal)
    if info.read_only and request.method in WRITE_METHODS:
        raise _refuse(403, f"The API key {info.name!r} is read-only; it cannot {request.method}.")
    return info
