"""@flow: decorator forms, sync and async, options, names, and what each run records."""

from __future__ import annotations

import asyncio
import re

import pytest

from mainspring import Flow, MainspringError, flow, get_run_context
from mainspring.model import StateType

from .support import flow_runs_of, log_messages, only_flow_run, timeline


def test_bare_decorator_runs_and_records_a_completed_run(store):
    @flow
    def hello(name):
        return f"hello {name}"

    assert isinstance(hello, Flow)
    assert hello.name == "hello"
    assert hello("you") == "hello you"
    run = only_flow_run(store, "hello")
    assert run.state.type is StateType.COMPLETED
    assert run.parameters == {"name": "you"}
    assert run.run_count == 1
    assert run.start_time is not None and run.end_time >= run.start_time
    assert timeline(store, run.id) == ["Pending", "Running", "Completed"]
    assert re.fullmatch(r"[a-z]+-[a-z]+", run.name), run.name


def test_decorator_with_options_sets_name_description_tags_version(store):
    @flow(name="my etl", description="Loads things", tags=["nightly", "etl"], version="1.2")
    def etl():
        """Docstring loses to an explicit description."""
        return 1

    assert etl.name == "my etl" and etl.description == "Loads things"
    etl()
    run = only_flow_run(store, "my etl")
    assert sorted(run.tags) == ["etl", "nightly"]
    assert run.flow_version == "1.2"
    assert "my etl" in [f.name for f in store.read_flows()]


def test_default_name_uses_dashes_and_description_the_docstring():
    @flow
    def load_daily_data():
        """Load the day's data."""

    assert load_daily_data.name == "load-daily-data"
    assert load_daily_data.description == "Load the day's data."


def test_fn_calls_the_plain_function_without_a_run(store):
    @flow
    def plain(x):
        return x + 1

    assert plain.fn(1) == 2
    assert flow_runs_of(store, "plain") == []


def test_with_options_copies_the_flow_with_changes(store):
    @flow(name="base", tags=["a"], retries=0)
    def base():
        return get_run_context().flow.name

    renamed = base.with_options(name="renamed", retries=2)
    assert renamed is not base and renamed.retries == 2 and renamed.tags == ["a"]
    assert base.name == "base" and base.retries == 0
    assert renamed() == "renamed"
    assert only_flow_run(store, "renamed").tags == ["a"]
    assert flow_runs_of(store, "base") == []


def test_flow_run_name_template_over_parameters(store):
    @flow(flow_run_name="etl-{day}-{limit}")
    def etl(day: str, limit: int = 10):
        return get_run_context().flow_run.name

    assert etl("monday") == "etl-monday-10"
    assert only_flow_run(store, "etl").name == "etl-monday-10"


def test_flow_run_name_from_a_callable(store):
    @flow(flow_run_name=lambda: "from-callable")
    def named():
        return get_run_context().flow_run.name

    assert named() == "from-callable"
    assert only_flow_run(store, "named").name == "from-callable"


def test_flow_run_name_template_naming_a_missing_parameter_is_a_clear_error(store):
    @flow(flow_run_name="run-{nope}")
    def templated(day):
        return day

    with pytest.raises(MainspringError, match=r"'nope'.*not a parameter.*day"):
        templated("x")


def test_async_flow_called_at_top_level_returns_a_coroutine_to_run(store):
    @flow
    async def fetch(n):
        await asyncio.sleep(0.01)
        return n * 2

    assert fetch.is_async
    assert asyncio.run(fetch(4)) == 8
    assert only_flow_run(store, "fetch").state.is_completed()


def test_async_flow_awaited_inside_an_event_loop(store):
    @flow
    async def fetch(n):
        await asyncio.sleep(0)
        return n + 1

    async def main():
        return await fetch(1)

    assert asyncio.run(main()) == 2
    assert only_flow_run(store, "fetch").state.is_completed()


def test_return_state_gives_the_final_state(store):
    @flow
    def answer():
        return 42

    state = answer(return_state=True)
    assert state.is_completed() and state.result() == 42


def test_each_call_is_a_new_run_with_its_own_name(store):
    @flow
    def again():
        return get_run_context().flow_run.id

    ids = {again() for _ in range(3)}
    runs = flow_runs_of(store, "again")
    assert {r.id for r in runs} == ids and len(ids) == 3


def test_beginning_and_finished_lines_are_stored_with_the_run(store):
    @flow
    def lines():
        return None

    lines()
    run = only_flow_run(store, "lines")
    messages = log_messages(store, run.id)
    assert messages[0] == f"Beginning flow run {run.name!r} for flow 'lines'"
    assert messages[-1] == "Finished in state Completed()"


def test_unknown_option_is_rejected():
    with pytest.raises(TypeError, match="unexpected option"):
        flow(bogus=1)(lambda: None)


def test_non_positive_timeout_is_rejected():
    with pytest.raises(ValueError, match="timeout_seconds"):
        flow(timeout_seconds=0)(lambda: None)


def test_flow_row_keeps_its_description_in_every_store(store):
    @flow(name="pipeline")  # a name many tests in this process use: still recorded here
    def described():
        """Moves the data."""

    described()
    flows = {f.name: f for f in store.read_flows()}
    assert flows["pipeline"].description == "Moves the data."


def test_flow_run_name_callable_can_read_the_runs_parameters(store):
    def name_from_parameters():
        run = get_run_context().flow_run
        return f"{run.flow_name}-for-{run.parameters['region']}"

    @flow(flow_run_name=name_from_parameters)
    def report(region: str):
        return get_run_context().flow_run.name

    @flow
    def parent():
        return report("emea")  # as a subflow, too, it sees its own run, not the parent's

    assert report("apac") == "report-for-apac"
    assert parent() == "report-for-emea"
    names = sorted(r.name for r in flow_runs_of(store, "report"))
    assert names == ["report-for-apac", "report-for-emea"]
