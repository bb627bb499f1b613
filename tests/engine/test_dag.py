"""The explicit-DAG style of Prefect 1: `with Flow("name") as f:`, Parameters, `f.run()`.

Every run here is real and recorded in the embedded store: the tests read back the flow run,
its task runs, their states and the edges of the run graph.
"""

from __future__ import annotations

import threading

import pytest

from mainspring import Flow, Parameter, ParameterBindError, State, flow, task, unmapped
from mainspring.engine.dag.graph import DagError, Node

from .dag_tasks import add, numbers, total
from .support import log_messages, only_flow_run, task_runs_by_name, timeline


@task
def fail(x=None):
    raise RuntimeError("source is down")


def edges_by_name(store, flow_run_id):
    """{(downstream name, upstream name, kind)} of a flow run's graph."""
    names = {t.id: t.name for t in store.read_task_runs(flow_run_id)}
    return {
        (names[e.task_run_id], names[e.upstream_id], e.kind) for e in store.read_edges(flow_run_id)
    }


def test_task_calls_in_the_block_record_nodes_and_edges_without_running():
    ran = []

    @task
    def extract():
        ran.append("extract")
        return [1, 2]

    with Flow("build only") as f:
        raw = extract()
        result = total(raw)

    assert ran == []
    assert isinstance(raw, Node) and isinstance(result, Node)
    assert f.tasks == {raw, result}
    assert {(e.upstream, e.downstream, e.key) for e in f.edges} == {(raw, result, "values")}
    assert f.root_tasks() == {raw} and f.terminal_tasks() == {result}
    assert f.name == "build only" and isinstance(f, Flow)


def test_run_executes_the_dag_as_a_recorded_flow_run(store):
    with Flow("my etl flow") as f:
        n = Parameter("n", default=3)
        raw = numbers(n)
        summed = total(raw)
        plus = add(summed, 10)

    state = f.run(parameters={"n": 5})

    assert state.is_completed() and state.is_successful()
    assert state.result[summed].result() == 10
    assert state.result[plus].result() == 20
    assert state.result[n].result() == 5
    assert state.result[add].result() == 20  # the task definition, when it is one node
    assert isinstance(state.result[raw], State)
    assert state.result()[plus].result() == 20  # Prefect 3's result() works too

    run = only_flow_run(store, "my etl flow")
    assert run.state_name == "Completed"
    assert run.parameters == {"n": 5}
    assert timeline(store, run.id) == ["Pending", "Running", "Completed"]
    runs = task_runs_by_name(store, run.id)
    assert set(runs) == {"numbers-0", "total-0", "add-0"}
    assert all(r.state_name == "Completed" for r in runs.values())
    assert edges_by_name(store, run.id) == {
        ("total-0", "numbers-0", "data"),
        ("add-0", "total-0", "data"),
    }
    assert "Beginning flow run" in log_messages(store, run.id)[0]


def test_independent_branches_run_in_parallel(store):
    # each branch's task waits at the barrier for the other: only concurrent runs get past
    barrier = threading.Barrier(2, timeout=20)

    @task
    def branch(name):
        barrier.wait()
        return name

    with Flow("two branches") as f:
        left = branch("left")
        right = branch("right")
        both = add(left, right)

    state = f.run()
    assert state.is_completed(), state
    assert state.result[both].result() in ("leftright", "rightleft")
    run = only_flow_run(store, "two branches")
    assert {r.state_name for r in task_runs_by_name(store, run.id).values()} == {"Completed"}


def test_a_long_chain_does_not_hold_a_thread_per_waiting_task(store):
    from mainspring import ThreadPoolTaskRunner

    with Flow("chain", task_runner=ThreadPoolTaskRunner(max_workers=2)) as f:
        value = add(0, 1)
        for _ in range(30):
            value = add(value, 1)

    state = f.run()
    assert state.result[value].result() == 31


def test_a_failed_node_fails_its_downstream_and_the_flow(store):
    ran = []

    @task
    def downstream(x):
        ran.append(x)

    @task
    def independent():
        return "fine"

    with Flow("failing") as f:
        bad = fail()
        via_data = downstream(bad)
        after = downstream(1, upstream_tasks=[via_data])
        ok = independent()

    state = f.run()

    assert state.is_failed()
    assert state.message == "1 task run(s) failed: 'fail-0'; 2 downstream did not run"
    assert ran == []
    assert state.result[bad].is_failed()
    assert state.result[via_data].is_failed() and state.result[after].is_failed()
    assert state.result[ok].result() == "fine"
    with pytest.raises(RuntimeError, match="source is down"):
        state.result[bad].result()

    run = only_flow_run(store, "failing")
    assert run.state_name == "Failed"
    runs = task_runs_by_name(store, run.id)
    assert runs["fail-0"].state_name == "Failed"
    assert runs["downstream-0"].state_name == "Failed"
    assert runs["downstream-1"].state_name == "Failed"
    assert runs["independent-0"].state_name == "Completed"
    assert ("downstream-1", "downstream-0", "wait") in edges_by_name(store, run.id)


def test_parameters_required_default_and_errors(store):
    with Flow("params") as f:
        base = Parameter("base")
        step = Parameter("step", default=2)
        out = add(base, step)

    assert f.run(parameters={"base": 1}).result[out].result() == 3
    assert f.run(base=1, step=5).result[out].result() == 6  # keywords, as in Prefect 1

    with pytest.raises(ParameterBindError, match=r"missing required parameter.*base"):
        f.run()
    with pytest.raises(ParameterBindError, match=r"unknown parameter.*nope.*base, step"):
        f.run(parameters={"base": 1, "nope": 2})
    assert [r.parameters for r in store.read_flow_runs() if r.flow_name == "params"] != []
    assert len([r for r in store.read_flow_runs() if r.flow_name == "params"]) == 2

    with pytest.raises(ValueError, match="identifier"):
        Parameter("not a name")


def test_upstream_tasks_and_set_dependencies_order_runs_without_data(store):
    order = []

    @task
    def step(name):
        order.append(name)
        return name

    with Flow("ordered") as f:
        first = step("first")
        second = step("second", upstream_tasks=[first])
        third = step("third")
        f.set_dependencies(task=third, upstream_tasks=[second])

    state = f.run()
    assert state.is_completed()
    assert order == ["first", "second", "third"]
    run = only_flow_run(store, "ordered")
    assert edges_by_name(store, run.id) == {
        ("step-1", "step-0", "wait"),
        ("step-2", "step-1", "wait"),
    }


def test_the_functional_api_without_a_with_block(store):
    @task
    def say(greeting, name):
        return f"{greeting}, {name}"

    @task
    def prepare():
        return None

    f = Flow("functional")
    name = Parameter("name", default="world")
    f.add_task(name)
    f.set_dependencies(task=say, keyword_tasks={"greeting": "hello", "name": name})
    f.add_edge(prepare, say)

    assert say in {n.task for n in f.tasks}
    state = f.run()
    assert state.result[say].result() == "hello, world"
    run = only_flow_run(store, "functional")
    assert edges_by_name(store, run.id) == {("say-0", "prepare-0", "wait")}
    assert run.parameters == {"name": "world"}


def test_map_inside_a_dag_runs_one_task_run_per_element(store):
    with Flow("mapped") as f:
        values = numbers(4)
        plus = add.map(values, unmapped(10))
        summed = total(plus)

    state = f.run()
    assert state.result[plus].result() == [10, 11, 12, 13]
    assert state.result[summed].result() == 46
    run = only_flow_run(store, "mapped")
    assert len([name for name in task_runs_by_name(store, run.id) if name.startswith("add")]) == 4


def test_operators_and_indexing_make_nodes(store):
    @task
    def record():
        return {"count": 4}

    with Flow("operators") as f:
        doubled = record()["count"] * 2

    assert f.run().result[doubled].result() == 8


def test_graph_errors_are_clear_before_anything_runs(store):
    with Flow("cyclic") as f:
        a = add(1, 2)
        b = add(a, 3)
    f.set_dependencies(task=a, upstream_tasks=[b])
    with pytest.raises(DagError, match="cycle"):
        f.run()

    with pytest.raises(ParameterBindError, match="add"), Flow("bad call"):
        add(1, 2, 3)

    with Flow("missing argument") as g:
        add(1)
    with pytest.raises(DagError, match="missing a required argument"):
        g.run()

    @flow
    def sub():
        return 1

    with pytest.raises(DagError, match="holds tasks only"), Flow("with subflow"):
        sub()
    assert store.read_flow_runs() == []


def test_a_dag_flow_inside_a_flow_is_a_subflow(store):
    with Flow("inner dag") as dag_flow:
        out = add(2, 3)

    @flow
    def outer():
        return dag_flow.run().result[out].result()

    assert outer() == 5
    inner = only_flow_run(store, "inner dag")
    assert inner.parent_flow_run_id == only_flow_run(store, "outer").id


def test_task_calls_outside_the_block_run_normally():
    with Flow("scoped"):
        pass
    assert add(1, 2) == 3


def test_a_dag_flow_that_persists_results_still_gives_each_nodes_state(store):
    @task
    def add(a: int, b: int) -> int:
        return a + b

    with Flow("persisting-dag", persist_result=True) as f:
        x = Parameter("x", default=1)
        y = add(x, 2)

    state = f.run()
    assert state.result[y].result() == 3
    run = only_flow_run(store, "persisting-dag")
    assert task_runs_by_name(store, run.id)["add-0"].state.result() == 3  # read back, loaded
