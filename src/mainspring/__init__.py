"""Mainspring: a Python-first workflow orchestrator.

    from mainspring import flow, task

Everything a flow author needs is importable from here; the names match Prefect 3's, so a
Prefect program runs with only its import line changed.

The names are loaded lazily (PEP 562): `import mainspring` itself loads no engine module, so
`import mainspring.model` or `import mainspring.store` (the server, the CLI, tools reading the
store) do not pay for the engine; the first use of a name imports the module that defines it.
"""

import typing as _typing
from importlib import import_module as _import_module

from mainspring._version import __version__

if _typing.TYPE_CHECKING:  # what the lazy names are, for type checkers and IDEs
    from mainspring.deploy.run_deployment import run_deployment
    from mainspring.deploy.serve import serve
    from mainspring.deploy.spec import RunnerDeployment
    from mainspring.engine.context import get_run_context
    from mainspring.engine.dag.graph import Parameter
    from mainspring.engine.flows import Flow, flow
    from mainspring.engine.futures import FutureList, MainspringFuture, as_completed, wait
    from mainspring.engine.logging import get_run_logger
    from mainspring.engine.results.retry import resume_flow_run
    from mainspring.engine.retries import exponential_backoff
    from mainspring.engine.runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner
    from mainspring.engine.tasks import Task, task, unmapped
    from mainspring.exceptions import (
        CancelledRun,
        CrashedRun,
        FailedRun,
        MainspringError,
        ParameterBindError,
        ParameterTypeError,
    )
    from mainspring.model.states import (
        Cancelled,
        Completed,
        Crashed,
        Failed,
        Pending,
        Running,
        State,
        StateType,
    )

#: public name -> the module that defines it
_LAZY: dict[str, str] = {
    "run_deployment": "mainspring.deploy.run_deployment",
    "serve": "mainspring.deploy.serve",
    "RunnerDeployment": "mainspring.deploy.spec",
    "get_run_context": "mainspring.engine.context",
    "Parameter": "mainspring.engine.dag.graph",
    "Flow": "mainspring.engine.flows",
    "flow": "mainspring.engine.flows",
    "FutureList": "mainspring.engine.futures",
    "MainspringFuture": "mainspring.engine.futures",
    "as_completed": "mainspring.engine.futures",
    "wait": "mainspring.engine.futures",
    "get_run_logger": "mainspring.engine.logging",
    "resume_flow_run": "mainspring.engine.results.retry",
    "exponential_backoff": "mainspring.engine.retries",
    "ProcessPoolTaskRunner": "mainspring.engine.runners",
    "ThreadPoolTaskRunner": "mainspring.engine.runners",
    "Task": "mainspring.engine.tasks",
    "task": "mainspring.engine.tasks",
    "unmapped": "mainspring.engine.tasks",
    "CancelledRun": "mainspring.exceptions",
    "CrashedRun": "mainspring.exceptions",
    "FailedRun": "mainspring.exceptions",
    "MainspringError": "mainspring.exceptions",
    "ParameterBindError": "mainspring.exceptions",
    "ParameterTypeError": "mainspring.exceptions",
    "Cancelled": "mainspring.model.states",
    "Completed": "mainspring.model.states",
    "Crashed": "mainspring.model.states",
    "Failed": "mainspring.model.states",
    "Pending": "mainspring.model.states",
    "Running": "mainspring.model.states",
    "State": "mainspring.model.states",
    "StateType": "mainspring.model.states",
}

__all__ = [
    "Cancelled",
    "CancelledRun",
    "Completed",
    "Crashed",
    "CrashedRun",
    "Failed",
    "FailedRun",
    "Flow",
    "FutureList",
    "MainspringError",
    "MainspringFuture",
    "Parameter",
    "ParameterBindError",
    "ParameterTypeError",
    "Pending",
    "ProcessPoolTaskRunner",
    "RunnerDeployment",
    "Running",
    "State",
    "StateType",
    "Task",
    "ThreadPoolTaskRunner",
    "__version__",
    "as_completed",
    "exponential_backoff",
    "flow",
    "get_run_context",
    "get_run_logger",
    "resume_flow_run",
    "run_deployment",
    "serve",
    "task",
    "unmapped",
    "wait",
]


def __getattr__(name: str) -> _typing.Any:
    """Import a public name's module on first use and keep the name here for the next one."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_import_module(module), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    """The public names, whether or not they are loaded yet, and the module's own dunders."""
    return sorted({*__all__, *(n for n in globals() if n.startswith("__"))})
