"""State hooks: called as hook(definition, run, state) for the final state they are set for."""

from __future__ import annotations

import pytest

from mainspring import CancelledRun, Flow, Task, flow, task
from mainspring.model import FlowRun, TaskRun

from .support import log_messages, only_flow_run


class Calls(list):
    """Records hook calls as (label, definition name, run type, state name)."""

    def hook(self, label: str):
        def record(definition, run, state):
            self.append((label, definition.name, type(run).__name__, state.name))

        record.__name__ = f"hook_{label}"
        return record


def test_task_and_flow_completion_hooks(store):
    calls = Calls()

    @task(on_completion=calls.hook("task done"), on_failure=calls.hook("task failed"))
    def ok():
        return 1

    @flow(on_completion=[calls.hook("flow done")], on_failure=calls.hook("flow failed"))
    def pipeline():
        return ok()

    assert pipeline() == 1
    assert calls == [
        ("task done", "ok", "TaskRun", "Completed"),
        ("flow done", "pipeline", "FlowRun", "Completed"),
    ]
    messages = log_messages(store, only_flow_run(store, "pipeline").id)
    assert "Running hook 'hook_flow done' in response to entering state 'Completed'" in messages
    assert "Hook 'hook_flow done' finished running successfully" in messages


def test_failure_hooks_get_the_definition_the_run_and_the_state():
    got = {}

    def on_task_failure(definition, run, state):
        got["task"] = (definition, run, state)

    def on_flow_failure(definition, run, state):
        got["flow"] = (definition, run, state)

    @task(on_failure=on_task_failure)
    def bad():
        raise ValueError("v")

    @flow(on_failure=on_flow_failure)
    def pipeline():
        bad()

    with pytest.raises(ValueError):
        pipeline()
    definition, run, state = got["task"]
    assert isinstance(definition, Task) and isinstance(run, TaskRun) and state.is_failed()
    assert run.name == "bad-0" and isinstance(state.result(raise_on_failure=False), ValueError)
    definition, run, state = got["flow"]
    assert isinstance(definition, Flow) and isinstance(run, FlowRun) and state.is_failed()


def test_cancellation_hooks():
    calls = Calls()

    @task(on_cancellation=calls.hook("task"))
    def stop_task():
        raise CancelledRun("t")

    @flow(on_cancellation=calls.hook("flow"))
    def stop_flow():
        stop_task(return_state=True)
        raise CancelledRun("f")

    assert stop_flow(return_state=True).is_cancelled()
    assert calls == [
        ("task", "stop_task", "TaskRun", "Cancelled"),
        ("flow", "stop-flow", "FlowRun", "Cancelled"),
    ]


def test_crash_hooks_run_when_a_run_is_interrupted():
    calls = Calls()

    @task(on_crashed=calls.hook("task"))
    def interrupted():
        raise KeyboardInterrupt

    @flow(on_crashed=calls.hook("flow"))
    def pipeline():
        interrupted()

    with pytest.raises(KeyboardInterrupt):
        pipeline()
    assert calls == [
        ("task", "interrupted", "TaskRun", "Crashed"),
        ("flow", "pipeline", "FlowRun", "Crashed"),
    ]


def test_decorator_form_of_task_hooks():
    calls = Calls()

    @task
    def ok():
        return 1

    ok.on_completion(calls.hook("decorated"))

    @flow
    def pipeline():
        return ok()

    pipeline()
    assert calls == [("decorated", "ok", "TaskRun", "Completed")]


def test_only_the_hooks_of_the_final_state_run():
    calls = Calls()

    @task(retries=1, on_failure=calls.hook("failure"), on_completion=calls.hook("done"))
    def flaky_once(attempts=[]):  # noqa: B006 - counts attempts across the retry
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("once")
        return "ok"

    @flow
    def pipeline():
        return flaky_once()

    assert pipeline() == "ok"
    assert calls == [("done", "flaky_once", "TaskRun", "Completed")]


def test_raising_hook_is_logged_and_does_not_change_the_state(store):
    calls = Calls()

    def broken(definition, run, state):
        raise RuntimeError("hook broke")

    @task(on_completion=[broken, calls.hook("after")])
    def ok():
        return 1

    @flow(on_completion=broken)
    def pipeline():
        return ok(return_state=True).name

    assert pipeline() == "Completed"
    assert calls == [("after", "ok", "TaskRun", "Completed")]  # later hooks still run
    run = only_flow_run(store, "pipeline")
    assert run.state.is_completed()
    (task_run,) = store.read_task_runs(run.id)
    assert task_run.state.is_completed()
    errors = [log for log in store.read_logs(run.id) if log.level >= 40]
    assert len(errors) == 2
    for log in errors:
        assert log.message.startswith("An error was encountered while running hook 'broken'")
        assert "RuntimeError: hook broke" in log.message


def test_async_hook_is_awaited():
    seen = []

    async def on_done(definition, run, state):
        seen.append(state.name)

    @flow(on_completion=on_done)
    def pipeline():
        return 1

    pipeline()
    assert seen == ["Completed"]


def test_non_callable_hook_is_rejected():
    with pytest.raises(TypeError, match="on_completion hooks must be callables"):
        task(on_completion=[1])(lambda: None)


def test_flow_hooks_as_decorators_as_in_prefect(store):
    calls = Calls()

    @flow
    def failing():
        raise ValueError("oops")

    @failing.on_failure
    def notify(flow_def, flow_run, state):
        calls.append(("notify", flow_def.name, flow_run.name, state.name))

    failing.on_completion(calls.hook("never"))
    failing.on_crashed(calls.hook("never"))
    failing.on_cancellation(calls.hook("never"))

    assert failing(return_state=True).is_failed()
    run = only_flow_run(store, "failing")
    assert calls == [("notify", "failing", run.name, "Failed")]


def test_with_options_keeps_hooks_added_by_decorator():
    calls = Calls()

    @task
    def ok():
        return 1

    ok.on_completion(calls.hook("task"))

    @flow
    def pipeline():
        return ok.with_options(name="renamed")()

    pipeline.on_completion(calls.hook("flow"))
    pipeline.with_options(name="copy")()
    assert calls == [
        ("task", "renamed", "TaskRun", "Completed"),
        ("flow", "copy", "FlowRun", "Completed"),
    ]
    assert ok.on_completion_hooks and ok.on_completion_hooks[0].__name__ == "hook_task"


def test_hooks_run_inside_their_runs_context_and_can_log(store):
    from mainspring import get_run_logger

    def log_it(definition, run, state):
        get_run_logger().info(f"hook saw {run.name} {state.name}")

    @task(on_completion=log_it)
    def ok():
        return 1

    @flow(on_completion=log_it)
    def pipeline():
        return ok()

    pipeline()
    run = only_flow_run(store, "pipeline")
    (task_run,) = store.read_task_runs(run.id)
    assert "hook saw ok-0 Completed" in log_messages(store, run.id, task_run.id)
    flow_lines = [log for log in store.read_logs(run.id) if log.task_run_id is None]
    assert f"hook saw {run.name} Completed" in [log.message for log in flow_lines]
    assert not [log for log in store.read_logs(run.id) if log.level >= 40]
