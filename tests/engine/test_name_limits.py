"""Names no store can keep are refused where they are written: at `@flow` / `@task` (issue 10).

Before, a flow name of 300 characters was accepted, then PostgreSQL refused every batch of its
runs and the recorder stalled; SQLite kept it. Now the limits of model/text.py apply to what a
definition is given, with room for the call index that runs add to a name ("my-task-12").
"""

from __future__ import annotations

import pytest

from mainspring import flow, task
from mainspring.model.text import KEY_SUFFIX_ROOM, MAX_DEFINED_NAME, MAX_NAME
from mainspring.store import Store

from .support import only_flow_run


def _fn(x: int = 1) -> int:
    return x


@pytest.mark.parametrize("make", [flow, task], ids=["flow", "task"])
def test_a_name_too_long_is_an_error_at_decoration(make) -> None:
    with pytest.raises(
        ValueError, match=rf"name is 300 characters long; the most is {MAX_DEFINED_NAME}"
    ):
        make(name="n" * 300)(_fn)
    with pytest.raises(ValueError, match="call index"):  # 255 would leave no room for "-12"
        make(name="n" * MAX_NAME)(_fn)
    assert make(name="n" * MAX_DEFINED_NAME)(_fn).name == "n" * MAX_DEFINED_NAME
    assert MAX_DEFINED_NAME + KEY_SUFFIX_ROOM == MAX_NAME


@pytest.mark.parametrize("make", [flow, task], ids=["flow", "task"])
def test_tags_versions_and_run_name_templates_too_long_are_errors_too(make) -> None:
    with pytest.raises(ValueError, match=r"A tag of .* is 256 characters long; the most is 255"):
        make(tags=["ok", "t" * 256])(_fn)
    with pytest.raises(ValueError, match="version is 300 characters long"):
        make(version="v" * 300)(_fn)
    option = "flow_run_name" if make is flow else "task_run_name"
    with pytest.raises(ValueError, match=r"run name template .* 257 characters long before"):
        make(**{option: "r" * 256 + "-{x}"})(_fn)
    make(**{option: "{x}" * 200})(_fn)  # its fields may render short: checked when rendered


@pytest.mark.parametrize("make", [flow, task], ids=["flow", "task"])
def test_names_with_a_nul_or_a_lone_surrogate_are_errors(make) -> None:
    with pytest.raises(ValueError, match="NUL character or a lone surrogate"):
        make(name="a\x00b")(_fn)
    with pytest.raises(ValueError, match="NUL character or a lone surrogate"):
        make(tags=["x\udcff"])(_fn)
    with pytest.raises(ValueError, match="must not be empty"):
        make(tags=[""])(_fn)


def test_with_options_checks_the_new_name() -> None:
    f = flow(_fn)
    with pytest.raises(ValueError, match="The flow name is 300 characters long"):
        f.with_options(name="n" * 300)
    t = task(_fn)
    with pytest.raises(ValueError, match="The task name is 300 characters long"):
        t.with_options(name="n" * 300)
    with pytest.raises(ValueError, match="task_key is 300 characters long"):
        t.with_options(task_key="k" * 300)


def test_the_longest_names_allowed_are_recorded(store: Store) -> None:
    """What decoration lets through, every store keeps: a flow and a task of the longest name,
    called often enough that their run keys carry a call index."""
    name = "n" * MAX_DEFINED_NAME
    inner = task(name=name, tags=["t" * MAX_NAME])(_fn)

    @flow(name=name, version="v" * MAX_NAME)
    def outer() -> int:
        return sum(inner(i) for i in range(12))

    assert outer() == sum(range(12))
    run = only_flow_run(store, name)
    assert run.flow_version == "v" * MAX_NAME
    keys = sorted(t.task_key for t in store.read_task_runs(run.id))
    assert len(keys) == 12 and max(map(len, keys)) <= MAX_NAME
