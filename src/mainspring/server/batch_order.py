"""Parts of a large batch stored in order, although their requests may overtake each other.

A client sends a large batch in parts, the next one going out while the server still writes
the previous (store/api_send.py), each naming that previous part as `after`. Requests run on
separate threads here, so part N+1 may reach the database first; it must not, since its
states refer to runs in part N (and readers must never see a state before its run). So a part
with `after` is decoded at once (the work that overlaps) but written only when that batch id
is among the applied ones: this process's writes wake the waiters at once; another server
process's (several share a database) are seen by polling. A predecessor that never comes (the
server restarted before it arrived) is given up after `AFTER_TIMEOUT` seconds: the part is
not stored and the client, told 409, sends every part again.
"""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa

from mainspring.server.db import read_connection
from mainspring.store.schema import applied_batch
from mainspring.store.sql import SqlStore

#: How long a part waits for the part it names as `after`.
AFTER_TIMEOUT = 10.0
#: How often a waiting part looks again when no write of this process woke it.
POLL = 0.02

_stored = threading.Condition()
_generation = 0  # bumped whenever this process stored a batch


def batch_stored() -> None:
    """Wake the parts waiting for a predecessor: a batch was just stored (or found stored)."""
    global _generation
    with _stored:
        _generation += 1
        _stored.notify_all()


def wait_for(store: SqlStore, batch_id: str, timeout: float = AFTER_TIMEOUT) -> bool:
    """Wait until the batch `batch_id` is stored; False if it is not within `timeout` s."""
    deadline = time.monotonic() + timeout
    query = sa.select(applied_batch.c.id).where(applied_batch.c.id == batch_id)
    while True:
        seen = _generation  # read before looking, so a store in between is not missed
        with read_connection(store) as conn:
            if conn.execute(query).first() is not None:
                return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        with _stored:
            if _generation == seen:
                _stored.wait(min(POLL, remaining))
