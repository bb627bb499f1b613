"""@task: decorator forms, calls inside and outside flows, options, run names, validation."""

from __future__ import annotations

import asyncio

import pytest

from mainspring import (
    MainspringError,
    ParameterBindError,
    ParameterTypeError,
    Task,
    flow,
    get_run_context,
    task,
)
from mainspring.model import StateType

from .support import log_messages, only_flow_run, task_runs_by_name, timeline


def test_task_called_in_a_flow_returns_its_value_and_is_recorded(store):
    @task
    def double(x):
        return 2 * x

    @flow
    def pipeline():
        return double(21)

    assert isinstance(double, Task)
    assert pipeline() == 42
    run = only_flow_run(store, "pipeline")
    (task_run,) = store.read_task_runs(run.id)
    assert task_run.name == "double-0" and task_run.task_name == "double"
    assert task_run.task_key == "double-0"
    assert task_run.flow_run_id == run.id
    assert task_run.state.type is StateType.COMPLETED and task_run.run_count == 1
    assert timeline(store, task_run.id) == ["Pending", "Running", "Completed"]
    assert "Created task run 'double-0' for task 'double'" in log_messages(store, run.id)
    assert log_messages(store, run.id, task_run.id) == ["Finished in state Completed()"]


def test_repeated_calls_get_numbered_keys(store):
    @task
    def step(i):
        return i

    @flow
    def repeat():
        return [step(i) for i in range(3)]

    assert repeat() == [0, 1, 2]
    run = only_flow_run(store, "repeat")
    assert sorted(task_runs_by_name(store, run.id)) == ["step-0", "step-1", "step-2"]


def test_decorator_with_options(store):
    @task(name="Fetch", description="gets", tags=["io"], version="3")
    def fetch():
        return get_run_context().task_run.tags

    @flow
    def tagged():
        return fetch()

    assert fetch.name == "Fetch" and fetch.description == "gets" and fetch.version == "3"
    assert tagged() == ["io"]
    (task_run,) = store.read_task_runs(only_flow_run(store, "tagged").id)
    assert task_run.task_name == "Fetch" and task_run.tags == ["io"]


def test_fn_is_the_plain_function(store):
    @task
    def inc(x):
        return x + 1

    assert inc.fn(1) == 2
    assert store.read_flow_runs() == []


def test_with_options_copies_with_changes(store):
    @task(retries=1, tags=["a"])
    def base():
        return get_run_context().task.name

    other = base.with_options(name="other", retries=3)
    assert other.retries == 3 and other.tags == ["a"] and base.retries == 1

    @flow
    def uses():
        return other(), base()

    assert uses() == ("other", "base")
    names = task_runs_by_name(store, only_flow_run(store, "uses").id)
    assert set(names) == {"other-0", "base-0"}


def test_task_run_name_template_over_parameters(store):
    @task(task_run_name="fetch-{city}-{days}")
    def forecast(city, days=3):
        return get_run_context().task_run.name

    @flow
    def weather():
        return forecast("oslo")

    assert weather() == "fetch-oslo-3"
    (task_run,) = store.read_task_runs(only_flow_run(store, "weather").id)
    assert task_run.name == "fetch-oslo-3" and task_run.task_key == "forecast-0"


def test_task_run_name_template_renders_the_result_of_a_future_argument(store):
    @task
    def city():
        return "oslo"

    @task(task_run_name="forecast-{place}")
    def forecast(place):
        return get_run_context().task_run.name

    @flow
    def weather():
        return forecast.submit(city.submit()).result()

    assert weather() == "forecast-oslo"
    names = task_runs_by_name(store, only_flow_run(store, "weather").id)
    assert set(names) == {"city-0", "forecast-oslo"}


def test_task_run_name_from_a_callable(store):
    @task(task_run_name=lambda: "called")
    def named():
        return get_run_context().task_run.name

    @flow
    def wrapper():
        return named()

    assert wrapper() == "called"


def test_task_run_name_template_naming_a_missing_parameter_is_a_clear_error():
    @task(task_run_name="x-{missing}")
    def templated(a):
        return a

    @flow
    def wrapper():
        return templated(1)

    with pytest.raises(MainspringError, match=r"'missing'.*not a parameter.*a"):
        wrapper()


def test_standalone_task_call_is_recorded_without_a_flow_run(store):
    @task
    def lone(x):
        return get_run_context().task_run.id, x * 3

    task_run_id, value = lone(2)
    assert value == 6
    recorded = store.read_task_run(task_run_id)
    assert recorded.flow_run_id is None
    assert recorded.state.is_completed()
    assert timeline(store, task_run_id) == ["Pending", "Running", "Completed"]
    assert store.read_flow_runs() == []


def test_standalone_submit_works(store):
    @task
    def lone(x):
        return x + 1

    future = lone.submit(1)
    assert future.result(timeout=30) == 2
    assert future.state.is_completed()


def test_async_task_awaited_in_an_async_flow(store):
    @task
    async def slow_inc(x):
        await asyncio.sleep(0.01)
        return x + 1

    @flow
    async def pipeline():
        return await slow_inc(1)

    assert asyncio.run(pipeline()) == 2
    (task_run,) = store.read_task_runs(only_flow_run(store, "pipeline").id)
    assert task_run.state.is_completed()


def test_async_task_called_from_a_sync_flow_runs_to_completion(store):
    @task
    async def slow_inc(x):
        await asyncio.sleep(0.01)
        return x + 1

    @flow
    def pipeline():
        return slow_inc(1)

    assert pipeline() == 2


def test_tasks_do_not_validate_parameters_by_default(store):
    @task
    def raw(n: int):
        return n

    @flow
    def wrapper():
        return raw("21")

    assert wrapper() == "21"


def test_tasks_validate_parameters_when_asked(store):
    @task(validate_parameters=True)
    def strict(n: int):
        return n

    @flow
    def coerces():
        return strict("21")

    @flow
    def rejects():
        return strict("many")

    assert coerces() == 21
    with pytest.raises(ParameterTypeError, match=r"Task 'strict' parameter 'n' expects int"):
        rejects()


def test_task_called_with_wrong_arguments_raises_bind_error():
    @task(validate_parameters=True)
    def one(a):
        return a

    @flow
    def wrapper():
        return one(1, 2)

    with pytest.raises(ParameterBindError, match="too many"):
        wrapper()


def test_task_as_method_binds_self(store):
    class Greeter:
        greeting = "hi"

        @task
        def greet(self, who):
            return f"{self.greeting} {who}"

    @flow
    def wrapper():
        return Greeter().greet("bob")

    assert wrapper() == "hi bob"


def test_validation_applies_to_a_future_arguments_result(store):
    @task
    def produce(text):
        return text

    @task(validate_parameters=True)
    def strict(n: int):
        return n

    @flow
    def chained():
        good = strict.submit(produce.submit("21"))
        bad = strict.submit(produce.submit("many"))
        bad.wait()
        return good.result(), bad.state.type, bad.state.message

    value, bad_type, bad_message = chained()
    assert value == 21
    assert bad_type is StateType.FAILED
    assert "Task 'strict' parameter 'n' expects int, got 'many'" in bad_message


def test_task_run_name_callable_can_read_the_task_run_and_flow_run(store):
    def name_from_context():
        context = get_run_context()
        return f"{context.task_run.task_key}-of-{context.flow_run.parameters['day']}"

    @task(task_run_name=name_from_context, validate_parameters=True)
    def load(n: int):
        return get_run_context().task_run.name

    @task
    def two():
        return 2

    @flow
    def daily(day: str):
        return load("1"), load.submit(two.submit()).result()  # named when submitted

    assert daily("mon") == ("load-0-of-mon", "load-1-of-mon")
    names = set(task_runs_by_name(store, only_flow_run(store, "daily").id))
    assert names == {"load-0-of-mon", "load-1-of-mon", "two-0"}
