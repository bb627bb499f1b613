"""How ApiStore sends a batch: in one request, or a large one in pipelined, ordered parts.

A flow's history reaches the server after the flow ends when the flow is short (~6 records a
task, all queued within one recorder interval), and the flow returns only once it is stored,
so the client's encoding, the server's decoding and its database write add up. Sent in parts
of `CHUNK` records, they overlap instead: part N+1 is encoded while part N travels, and goes
out while the server still writes part N, so the server decodes N+1 meanwhile (its SQL driver
releases the GIL while it writes).

Order and exactly-once are kept: each part has its own id derived from the batch's (the
server stores an id once), and names the previous part as `after`; the server stores a part
only once that one is stored, so the parts land in order (runs before the states that refer
to them) however the requests overtake each other. A part whose predecessor never arrives
(the server restarted in between) is answered 409 without being stored; the recorder then
retries the whole batch, every part again and in order, each stored once.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator

import httpx

from mainspring.store import wire
from mainspring.store.base import Batch

#: Most records sent in one request (the server takes up to 100,000 per list). Small enough
#: that a 1,000-task flow's final history (~6,000 records) goes in several parts.
CHUNK = 2_000
#: Parts of one batch in flight at once: one being written, the next being decoded.
IN_FLIGHT = 2


def send(
    post: Callable[[bytes], httpx.Response],
    stored: Callable[[httpx.Response], bool],
    batch: Batch,
) -> bool:
    """Send `batch` (its id set) with `post`; `stored` reads an answer (False for a duplicate)
    and raises for a failure. True when any part was stored."""
    if batch.size() <= CHUNK:
        return stored(post(_body(batch)))
    done, sending, previous = False, deque[_Send](), None
    for part in _chunks(batch, CHUNK):
        part.after, previous = previous, part.id
        sending.append(_Send(post, _body(part)))  # encoded while the previous part travels
        if len(sending) >= IN_FLIGHT:
            done = stored(sending.popleft().answer()) or done
    while sending:
        done = stored(sending.popleft().answer()) or done
    # On an error, parts still in flight are left to finish: the retry sends every part again,
    # and each is stored once, whichever attempt the server takes first.
    return done


class _Send:
    """One `POST /batches` on a thread of its own, so the caller encodes the next part meanwhile.

    A plain daemon thread, not an executor: the recorder flushes from an `atexit` hook, after
    `concurrent.futures` has stopped taking work.
    """

    def __init__(self, post: Callable[[bytes], httpx.Response], body: bytes) -> None:
        self._post, self._body = post, body
        self._response: httpx.Response | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="mainspring-send", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._response = self._post(self._body)
        except BaseException as exc:  # handed to the caller by answer()
            self._error = exc

    def answer(self) -> httpx.Response:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._response is not None
        return self._response


def _body(batch: Batch) -> bytes:
    return wire.dumps(wire.batch_body(batch))


def _chunks(batch: Batch, size: int) -> Iterator[Batch]:
    """`batch` in parts of at most `size` records, in order (runs before the states, logs and
    edges that refer to them), each with an id derived from the batch's. Flows go in the first
    part. One part, with the batch's own id, when it is small enough."""
    if batch.size() <= size:
        yield batch
        return
    part, count, index = Batch(flows=dict(batch.flows)), len(batch.flows), 0

    def full() -> Iterator[Batch]:
        nonlocal part, count, index
        if count >= size:
            part.id = f"{batch.id}:{index}"
            yield part
            part, count, index = Batch(), 0, index + 1

    for name in ("flow_runs", "task_runs"):
        for key, record in getattr(batch, name).items():
            getattr(part, name)[key] = record
            count += 1
            yield from full()
    for name in ("states", "logs", "edges"):
        for record in getattr(batch, name):
            getattr(part, name).append(record)
            count += 1
            yield from full()
    if part:
        part.id = f"{batch.id}:{index}"
        yield part
