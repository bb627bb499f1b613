"""Edges of the run graph for values passed on, not futures: `x = a(); b(x)` shows a -> b.

The store's edges are what the UI's run graph draws; every test reads them back from a real
flow run (engine/produced_values.py keeps the map behind them).
"""

from __future__ import annotations

import asyncio
import gc
import weakref

from mainspring import flow, get_run_context, task, unmapped
from mainspring.engine.context import flow_run_context
from mainspring.engine.produced_values import ProducedValues, is_trackable

from .support import edges_by_name, only_flow_run


@task
def rows(n=3):
    return [{"id": i} for i in range(n)]


@task
def count(*values, **named):
    return len(values) + len(named)


def graph_of(store, flow_name):
    return edges_by_name(store, only_flow_run(store, flow_name).id)


def test_the_result_of_a_future_passed_on_is_a_data_edge(store):
    @flow
    def pipeline():
        fetched = rows.submit().result()
        return count(fetched)

    assert pipeline() == 1
    assert graph_of(store, "pipeline") == {("count-0", "rows-0", "data")}


def test_the_return_value_of_a_direct_call_passed_on_is_a_data_edge(store):
    @flow
    def pipeline():
        first, second = rows(), rows(2)
        count(first)
        count.submit(values=second).wait()  # by keyword, to a submitted run

    pipeline()
    assert graph_of(store, "pipeline") == {
        ("count-0", "rows-0", "data"),
        ("count-1", "rows-1", "data"),
    }


def test_values_inside_lists_tuples_and_dicts_are_edges(store):
    @flow
    def pipeline():
        a, b, c, d = rows(), rows(), rows(), rows()
        count([a, 7], (b,), {"nested": {"deeper": [c]}}, d=d)

    pipeline()
    assert graph_of(store, "pipeline") == {("count-0", f"rows-{i}", "data") for i in range(4)}


def test_mapped_results_gathered_into_a_list_are_edges_to_every_run(store):
    @task
    def square(x):
        return [x * x]  # a list: its identity names the run (a small int would not)

    @flow
    def pipeline():
        return count(*square.map(range(3)).result())

    assert pipeline() == 3
    assert graph_of(store, "pipeline") == {("count-0", f"square-{i}", "data") for i in range(3)}


def test_mapping_over_a_runs_result_is_an_edge_of_every_mapped_run(store):
    @task
    def ids():
        return [1, 2]  # small ints: the elements alone would name no run

    @task
    def echo(x, config):
        return x

    @flow
    def pipeline():
        over_future = echo.map(ids.submit(), unmapped(rows()))
        over_value = echo.map(ids(), unmapped("plain"))
        return over_future.result() + over_value.result()

    assert pipeline() == [1, 2, 1, 2]
    assert graph_of(store, "pipeline") == {
        ("echo-0", "ids-0", "data"),
        ("echo-1", "ids-0", "data"),
        ("echo-0", "rows-0", "data"),  # an unmapped value: passed whole to every run
        ("echo-1", "rows-0", "data"),
        ("echo-2", "ids-1", "data"),
        ("echo-3", "ids-1", "data"),
    }


def test_an_async_tasks_awaited_value_passed_on_is_an_edge(store):
    @task
    async def produce():
        return {"rows": [1, 2]}

    @task
    async def consume(value):
        return len(value["rows"])

    @flow
    async def pipeline():
        return await consume(await produce())

    assert asyncio.run(pipeline()) == 2
    assert graph_of(store, "pipeline") == {("consume-0", "produce-0", "data")}


def test_a_value_and_its_future_both_passed_make_one_edge(store):
    @flow
    def pipeline():
        future = rows.submit()
        count(future, future.result(), [future.result()])

    pipeline()
    run = only_flow_run(store, "pipeline")
    assert [e.kind for e in store.read_edges(run.id)] == ["data"]


def test_shared_singletons_and_interned_strings_make_no_edge(store):
    returned = [None, True, False, 7, -5, 256, "", "x", "ok", "status_done", (), b"", b"z"]

    @task
    def give(i):
        return returned[i]

    @flow
    def pipeline():
        values = [give(i) for i in range(len(returned))]
        # the flow's own literals are the very same objects the tasks returned
        count(*values)
        count(None, True, 7, "ok", "status_done", ())

    pipeline()
    assert graph_of(store, "pipeline") == set()


def test_computed_strings_and_numbers_are_edges(store):
    @task
    def give():
        return 10_000 + len(get_run_context().task_run.name), "hello " + "world"

    @flow
    def pipeline():
        number, text = give()
        count(number)
        count(text)

    pipeline()
    assert graph_of(store, "pipeline") == {
        ("count-0", "give-0", "data"),
        ("count-1", "give-0", "data"),
    }


def test_a_value_passed_through_a_task_names_the_last_run_that_returned_it(store):
    @task
    def same(value):
        return value

    @flow
    def pipeline():
        passed = same(rows())
        count(passed)

    pipeline()
    assert graph_of(store, "pipeline") == {
        ("same-0", "rows-0", "data"),
        ("count-0", "same-0", "data"),
    }


def test_a_value_made_by_the_flow_itself_is_no_edge(store):
    @flow
    def pipeline():
        rows()
        count([{"id": 0}], {"id": 1})

    pipeline()
    assert graph_of(store, "pipeline") == set()


def test_a_parent_flows_value_passed_to_a_subflows_task_is_no_edge_of_the_subflow(store):
    @flow
    def child(value):
        return count(value)

    @flow
    def parent():
        return child(rows())

    assert parent() == 1
    assert graph_of(store, "child") == set()


class Frame:
    """A result type that can be weakly referenced, like a data frame or an array."""


def test_weakly_referencable_results_are_not_kept_alive_by_the_map(store):
    seen: list[weakref.ref] = []

    @task
    def make():
        return Frame()

    @flow
    def pipeline():
        frame = make()
        seen.append(weakref.ref(frame))
        count(frame)
        del frame
        flow_run_context.get().recorder.flush(timeout=30)  # its queued record held it
        gc.collect()
        assert seen[0]() is None  # freed at once: the map holds it weakly
        return len(flow_run_context.get().produced)

    assert pipeline() == 0  # and its entry left with it
    assert graph_of(store, "pipeline") == {("count-0", "make-0", "data")}


def test_the_map_is_emptied_when_the_flow_run_ends(store):
    kept: list[ProducedValues] = []

    @flow
    def pipeline():
        kept.append(flow_run_context.get().produced)
        count(rows())
        return len(kept[0])  # rows' list and its 3 dicts (none can be weakly referenced)

    assert pipeline() == 4  # count's result, 1, is a cached small int: not kept
    assert len(kept[0]) == 0


def test_an_id_reused_by_a_new_object_is_not_mistaken_for_the_dead_one():
    values = ProducedValues()
    producer = "id-of-make-0"
    frame = Frame()
    values.add(frame, producer)
    assert values.producer(frame) == producer
    old_id = id(frame)
    del frame
    newcomers = [Frame() for _ in range(100)]  # CPython hands the freed memory out again
    assert any(id(n) == old_id for n in newcomers)
    assert all(values.producer(n) is None for n in newcomers)


def test_trackable_values():
    assert not any(map(is_trackable, [None, True, ..., 0, 256, -5, "", "a", "run_42", (), b""]))
    assert all(
        map(is_trackable, [257, -6, 1.5, "a b", "x" * 40, (1,), b"ab", [], {}, Frame(), "éé"])
    )


def test_held_results_are_let_go_once_the_flow_no_longer_refers_to_them(store):
    """A list cannot be weakly referenced: the map holds it, but not past its use, or a
    loop of `batch = extract(); load(batch)` would keep every batch until the flow ends."""
    seen: list[weakref.ref] = []

    @task
    def extract():
        marker = Frame()
        seen.append(weakref.ref(marker))
        return [marker, "x" * 40]

    @flow
    def pipeline():
        recorder = flow_run_context.get().recorder
        for _ in range(60):
            batch = extract()
            count(batch)
            del batch
            recorder.flush(timeout=30)  # its queued records held it
        gc.collect()
        return sum(ref() is not None for ref in seen)

    assert pipeline() <= 17  # those not swept yet: at most twice the live ones, or 8
    edges = graph_of(store, "pipeline")
    assert ("count-59", "extract-59", "data") in edges and len(edges) == 60
