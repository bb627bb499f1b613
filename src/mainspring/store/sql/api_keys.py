"""The API-key queries of `Store` on SQL (`create_api_key`, `read_api_keys`, ...).

Each function runs in the caller's connection: `SqlStore` opens it (a write transaction for
the writes, so that the name check and the insert, or the lookup and the revocation, cannot
interleave with another writer's).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa

from mainspring.model.api_keys import ApiKey, id_from_hex
from mainspring.store.sql.schema import api_key

__all__ = ["create", "find", "read_all", "record_use", "revoke"]


def create(conn: sa.Connection, key: ApiKey) -> None:
    taken = conn.execute(sa.select(api_key.c.revoked).where(api_key.c.name == key.name)).first()
    if taken is not None:
        revoked = " (revoked; names stay taken)" if taken.revoked is not None else ""
        raise ValueError(f"An API key named {key.name!r} already exists{revoked}.")
    conn.execute(sa.insert(api_key).values(dataclasses.asdict(key)))


def read_all(conn: sa.Connection) -> list[ApiKey]:
    return [_key(r) for r in conn.execute(sa.select(api_key).order_by(api_key.c.created))]


def find(conn: sa.Connection, id_or_name: str) -> ApiKey | None:
    """The key with this id or, failing that, this name (see `Store.find_api_key`)."""
    wanted = id_or_name.strip()
    as_id = id_from_hex(wanted)
    match = api_key.c.name == wanted
    if as_id is not None:
        match = sa.or_(api_key.c.id == as_id, match)
    rows = conn.execute(sa.select(api_key).where(match)).all()
    if not rows:
        return None
    return _key(next((r for r in rows if r.id == as_id), rows[0]))  # an id before a name


def revoke(conn: sa.Connection, id_or_name: str, now: float) -> tuple[ApiKey, bool]:
    key = find(conn, id_or_name)
    if key is None:
        raise LookupError(f"No API key with id or name {id_or_name.strip()!r}.")
    if key.revoked is not None:
        return key, False
    conn.execute(sa.update(api_key).where(api_key.c.id == key.id).values(revoked=now))
    return dataclasses.replace(key, revoked=now), True


def record_use(conn: sa.Connection, key_id: str, when: float) -> None:
    conn.execute(sa.update(api_key).where(api_key.c.id == key_id).values(last_used=when))


def _key(row: sa.Row[Any]) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        read_only=bool(row.read_only),
        created=float(row.created),
        last_used=row.last_used,
        expires=row.expires,
        revoked=row.revoked,
        salt=row.salt,
        key_hash=row.key_hash,
    )
