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

import hashlib
import hmac
import logging
import secrets
import threading
import time
import uuid
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mainspring.exceptions import StoreError
from mainspring.model.api_keys import ApiKey, id_from_hex
from mainspring.store.base import Store

logger = logging.getLogger("mainspring.server.auth")

PREFIX = "ms_"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: How long the server trusts its copy of the key table (keys made by the CLI meanwhile
#: count from the next refresh on).
CACHE_SECONDS = 2.0
#: `last_used` is written at most this often per key, not on every request.
LAST_USED_EVERY = 60.0


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode()).hexdigest()


def create_api_key(
    store: Store, name: str, read_only: bool = False, expires_in: float | None = None
) -> tuple[ApiKey, str]:
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
    key = ApiKey(key_id, name, read_only, now, None, expires, None, salt, _hash(salt, secret))
    store.create_api_key(key)
    return key, f"{PREFIX}{key_id.replace('-', '')}_{secret}"


def _key_id(token: str) -> tuple[str, str] | None:
    """(row id, secret) from a presented key, or None when it is not shaped like one."""
    if not token.startswith(PREFIX) or len(token) < len(PREFIX) + 34:
        return None
    hex_id, sep, secret = token[len(PREFIX) :].partition("_")
    key_id = id_from_hex(hex_id) if len(hex_id) == 32 else None
    if not sep or key_id is None or not secret:
        return None
    return key_id, secret


class KeyRing:
    """The server's cached view of the key table, refreshed every `CACHE_SECONDS`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._keys: dict[str, ApiKey] = {}
        self._loaded = float("-inf")
        self._used: dict[str, float] = {}

    def _refresh(self) -> dict[str, ApiKey]:
        with self._lock:
            if time.monotonic() - self._loaded > CACHE_SECONDS:
                self._keys = {k.id: k for k in self.store.read_api_keys()}
                self._loaded = time.monotonic()
            return self._keys

    def any(self) -> bool:
        return bool(self._refresh())

    def authenticate(self, token: str) -> ApiKey | None:
        """The key if `token` is a key of ours, else None (constant-time comparison).
        A revoked or expired key is returned too (see `ApiKey.refusal`), so the caller
        can say why it refuses it."""
        parsed = _key_id(token)
        if parsed is None:
            return None
        key_id, secret = parsed
        key = self._refresh().get(key_id)
        if key is None or not hmac.compare_digest(_hash(key.salt, secret), key.key_hash):
            return None
        if key.refusal(time.time()) is None:
            self._touch(key_id)
        return key

    def _touch(self, key_id: str) -> None:
        now = time.time()
        if now - self._used.get(key_id, 0.0) < LAST_USED_EVERY:
            return
        self._used[key_id] = now
        try:
            self.store.record_api_key_use(key_id, now)
        except StoreError as exc:  # bookkeeping only: never fail the request
            logger.warning("Could not record the use of API key %s: %s", key_id, type(exc))


_bearer = HTTPBearer(auto_error=False, description="An API key from `mainspring api-key create`")


def _refuse(status: int, detail: str) -> HTTPException:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return HTTPException(status_code=status, detail=detail, headers=headers)


def authorize(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKey | None:
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
