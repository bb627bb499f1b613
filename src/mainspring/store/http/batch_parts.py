"""A batch in parts, for a store that sends it over the network (ApiStore).

A large batch goes in several requests (`chunks`), and a batch the server refuses as invalid
is halved until the refused records are alone (`halves`), so one bad record (a 300-character
task name, a result key that leaves its storage) costs itself, not the thousands of changes
sent with it. Each part keeps the records' order (runs before the states, logs and edges that
refer to them) and gets an idempotency key derived from its batch's, so retrying a batch whose
parts were partly stored stores each part once.
"""

from __future__ import annotations

from collections.abc import Iterator

from mainspring.store.base import Batch

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
