"""A batch in parts, for a store that sends it over the network (ApiStore).

A large batch goes in several requests (`chunks`), and a batch the server refuses as invalid
is halved until the refused records are alone (`halves`), so one bad record (a 300-character
task name, a result key that leaves its storage) costs itself, not the thousands of changes
sent with it. Each part keeps the records' order (runs before the states, logs and edges that
refer to them) and gets an idempotency key derived from its batch's, so retrying a batch whose
parts were partly stored stores each part once. SqlStore isolates the records its database
refuses for good the same way (`write_isolating`), one transaction per part.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from mainspring.model.runs import new_id
from mainspring.store.base import Batch

#: Records a write isolates by halving before it gives up the rest of a refused part whole: a
#: store refusing everything (a schema that does not fit) costs a few parts, not one per record.
MAX_REFUSED = 16

_KINDS = ("flows", "flow_runs", "task_runs", "states", "logs", "edges")  # in this order


def chunks(batch: Batch, size: int) -> Iterator[Batch]:
    """`batch` in parts of at most `size` records, ids `<id>:0`, `<id>:1`, ...; the batch
    itself, id unchanged, when it is small enough."""
    if batch.size() <= size:
        yield batch
        return
    for index, part in enumerate(_parts(batch, size)):
        part.id = f"{batch.id}:{index}"
        yield part


def halves(batch: Batch) -> tuple[Batch, Batch]:
    """`batch` (of two records at least) in two, ids `<id>.a` and `<id>.b` (or one more letter
    after an earlier halving's): a refused batch is halved until its bad records stand alone."""
    first, second = _parts(batch, (batch.size() + 1) // 2)
    separator = "" if "." in (batch.id or "") else "."
    first.id, second.id = f"{batch.id}{separator}a", f"{batch.id}{separator}b"
    return first, second


def _parts(batch: Batch, size: int) -> list[Batch]:
    parts, count = [Batch()], 0
    for name in _KINDS:
        records = getattr(batch, name)
        for key_or_record in records:
            if count >= size:
                parts.append(Batch())
                count = 0
            into = getattr(parts[-1], name)
            if isinstance(records, dict):
                into[key_or_record] = records[key_or_record]
            else:
                into.append(key_or_record)
            count += 1
    return parts


class PartRefused(Exception):
    """A store refused a part of a batch for good: writing it again would fail again."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def write_isolating(
    batch: Batch,
    write_part: Callable[[Batch], bool],
    refused: list[tuple[Batch, str]],
    max_refused: int = MAX_REFUSED,
) -> bool:
    """Write `batch` with `write_part` (True: stored, False: it had been; `PartRefused`:
    refused for good); a refused part is halved until its bad records stand alone, and those
    are added to `refused` with the reason. True if anything was stored by this call.

    Other errors propagate: the caller retries the whole batch later, and the parts stored
    meanwhile are skipped then by their ids. `batch` gets an id first if it has none, so that
    the parts have ids derived from it (the same on every attempt).
    """
    try:
        return write_part(batch)
    except PartRefused as exc:
        if batch.size() > 1 and sum(part.size() for part, _ in refused) < max_refused:
            if batch.id is None:  # kept on the batch: a retry derives the same part ids
                batch.id = new_id().replace("-", "")
            first, second = halves(batch)
            stored = write_isolating(first, write_part, refused, max_refused)
            return write_isolating(second, write_part, refused, max_refused) or stored
        refused.append((batch, exc.reason))
        return False
