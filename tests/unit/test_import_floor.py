"""The floor of the layering: what importing a low layer loads, checked in a fresh interpreter.

`import mainspring` exports its names lazily, so the model and the store (read by the server,
the CLI and tools) never load the engine, and `exceptions` loads nothing of ours.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def loaded_after(code: str) -> list[str]:
    """The `mainspring` modules in sys.modules after running `code` in a new interpreter."""
    probe = (
        f"{code}\nimport json, sys\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'mainspring')))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def engine_modules(modules: list[str]) -> list[str]:
    return [m for m in modules if m == "mainspring.engine" or m.startswith("mainspring.engine.")]


@pytest.mark.parametrize(
    "code",
    [
        "import mainspring.model",
        "import mainspring.store",
        "import mainspring.model, mainspring.store",
        "from mainspring.model import State, StateType, FlowRun",
        "from mainspring.store import Store, get_store",
        "import mainspring.model.orchestration",
        "import mainspring",
        "from mainspring import __version__",
    ],
)
def test_the_model_and_the_store_load_no_engine_module(code: str) -> None:
    modules = loaded_after(code)
    assert modules, "the probe saw no mainspring module at all"
    assert engine_modules(modules) == []


def test_the_engine_loads_when_a_public_name_is_first_used() -> None:
    modules = loaded_after("import mainspring\nassert callable(mainspring.flow)")
    assert "mainspring.engine.flows" in modules


def test_exceptions_and_version_import_nothing_of_ours() -> None:
    floor = ["mainspring", "mainspring._version"]  # the package itself, lazy
    assert loaded_after("import mainspring.exceptions") == [*floor, "mainspring.exceptions"]
    assert loaded_after("import mainspring._version") == floor


@pytest.mark.parametrize(
    "module", ["mainspring.tasks", "mainspring.cache_policies", "mainspring.serializers"]
)
def test_prefect_compatible_modules_export_what_they_list(module: str) -> None:
    code = (
        f"import {module} as m\n"
        "missing = [n for n in m.__all__ if getattr(m, n, None) is None]\n"
        "assert m.__all__ and not missing, missing"
    )
    assert module in loaded_after(code)


def test_prefect_style_imports_resolve_in_a_fresh_interpreter() -> None:
    code = (
        "from mainspring import flow, task, Flow, Task, State, get_run_logger, unmapped\n"
        "from mainspring.tasks import task_input_hash\n"
        "from mainspring.cache_policies import INPUTS, TASK_SOURCE\n"
        "from mainspring.serializers import JSONSerializer\n"
        "from mainspring.testing import free_port\n"
        "import mainspring\n"
        "assert mainspring.task is task and mainspring.Flow is Flow\n"
        "@flow\n"
        "def double(x: int) -> int:\n"
        "    return x * 2\n"
    )
    assert "mainspring.engine.flows" in loaded_after(code)


def test_a_flow_run_loads_no_http_client_when_recording_into_the_embedded_store(
    tmp_path,
) -> None:
    """The recorder encodes set-aside records with the wire codec; importing that codec must
    not load ApiStore and httpx (the `store.http` package exports ApiStore lazily)."""
    probe = (
        "from mainspring import flow, task\n"
        "@task\ndef one(): return 1\n"
        "@flow\ndef f(): return one()\n"
        "f()\n"
        "import sys\n"
        "print(sorted(m for m in ('httpx', 'mainspring.store.http.store') if m in sys.modules))"
    )
    env = {"PATH": "/usr/bin:/bin", "MAINSPRING_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.splitlines()[-1] == "[]"


def test_a_flow_run_loads_no_json_schema_validator_nor_cron_reader(tmp_path) -> None:
    """jsonschema checks the parameters of a deployment run asked for by hand, croniter reads
    cron schedules; a plain flow run, which opens the SQL store that can do both, loads
    neither (issue 12: a large part of a short process's start)."""
    probe = (
        "from mainspring import flow\n"
        "@flow\ndef f(): return 1\n"
        "f()\n"
        "import sys\n"
        "print(sorted(m for m in ('jsonschema', 'referencing', 'croniter') if m in sys.modules))"
    )
    env = {"PATH": "/usr/bin:/bin", "MAINSPRING_HOME": str(tmp_path)}
    if "PYTHONPATH" in os.environ:  # the checkout under test, not the installed one
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.splitlines()[-1] == "[]"
