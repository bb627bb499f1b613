"""Run ids: version-7 UUIDs, ordered by the time they were minted, unique across processes."""

from __future__ import annotations

import multiprocessing
import time
import uuid

from mainspring.model import new_id


def test_an_id_is_a_version_7_uuid_holding_the_time_it_was_minted() -> None:
    before = time.time_ns() // 1_000_000
    value = new_id()
    after = time.time_ns() // 1_000_000
    parsed = uuid.UUID(value)
    assert str(parsed) == value  # canonical lower-case text, 36 characters
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert before <= parsed.int >> 80 <= after  # the first 48 bits: Unix milliseconds


def test_ids_sort_in_the_order_they_were_minted() -> None:
    ids = []
    for _ in range(50):
        ids.append(new_id())
        time.sleep(0.0002)  # past the 244 ns the sub-millisecond bits resolve
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_ids_minted_at_once_stay_unique() -> None:
    ids = [new_id() for _ in range(100_000)]  # many share a clock tick: the random bits differ
    assert len(set(ids)) == len(ids)
    assert len({uuid.UUID(i).int & ((1 << 62) - 1) for i in ids}) == len(ids)


def _mint(queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    queue.put([new_id() for _ in range(1_000)])


def test_forked_children_do_not_repeat_each_others_ids() -> None:
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    new_id()  # the parent's generator has state the children inherit
    children = [context.Process(target=_mint, args=(queue,)) for _ in range(2)]
    for child in children:
        child.start()
    first, second = queue.get(timeout=30), queue.get(timeout=30)
    for child in children:
        child.join(30)
    random_bits = [{uuid.UUID(i).int & ((1 << 62) - 1) for i in ids} for ids in (first, second)]
    assert not random_bits[0] & random_bits[1]
