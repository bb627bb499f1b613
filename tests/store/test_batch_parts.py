"""Splitting a batch for the wire keeps every record once, in order, with derived ids."""

from __future__ import annotations

from mainspring.model import FlowRecord, FlowRun, LogRecord, State, StateRecord, StateType, new_id
from mainspring.store.base import Batch
from mainspring.store.batch_parts import chunks, halves


def records(batch: Batch) -> list:
    return [
        *batch.flows.values(),
        *batch.flow_runs.values(),
        *batch.task_runs.values(),
        *batch.states,
        *batch.logs,
        *batch.edges,
    ]


def sample() -> Batch:
    run = FlowRun(new_id(), "r", "f", State(StateType.RUNNING, ts=1.0))
    return Batch(
        flows={"f": FlowRecord("f"), "g": FlowRecord("g")},
        flow_runs={run.id: run},
        states=[StateRecord(run.id, False, StateType.RUNNING, "Running", None, 1.0)],
        logs=[LogRecord(run.id, None, 20, "l", f"line {i}", float(i)) for i in range(6)],
        id="b" * 32,
    )


def test_chunks_keep_every_record_once_in_order() -> None:
    batch = sample()
    assert list(chunks(batch, 100)) == [batch]  # small enough: itself, id unchanged
    parts = list(chunks(batch, 4))
    assert [p.size() for p in parts] == [4, 4, 2]
    assert [p.id for p in parts] == [f"{'b' * 32}:{i}" for i in range(3)]
    assert [r for p in parts for r in records(p)] == records(batch)


def test_halves_split_down_to_single_records_with_distinct_ids() -> None:
    batch = sample()
    first, second = halves(batch)
    assert (first.size(), second.size()) == (5, 5)
    assert (first.id, second.id) == ("b" * 32 + ".a", "b" * 32 + ".b")
    assert records(first) + records(second) == records(batch)
    left, right = halves(second)
    assert (left.id, right.id) == ("b" * 32 + ".ba", "b" * 32 + ".bb")
    seen, pending = [], [batch]
    while pending:  # halving to the end: every record alone, each id new and within 64 chars
        part = pending.pop(0)
        if part.size() == 1:
            seen.append(part)
        else:
            pending.extend(halves(part))
    assert sorted(map(str, (r for p in seen for r in records(p)))) == sorted(
        map(str, records(batch))
    )
    assert len({p.id for p in seen}) == len(seen) and all(len(p.id) <= 64 for p in seen)
