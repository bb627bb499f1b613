"""Mainspring: a Python-first workflow orchestrator.

    from mainspring import flow, task

Everything a flow author needs is importable from here; the names match Prefect 3's, so a
Prefect program runs with only its import line changed.
"""

from mainspring.engine.context import get_run_context
from mainspring.engine.dag import Parameter
from mainspring.engine.flows import Flow, flow
from mainspring.engine.futures import FutureList, MainspringFuture, as_completed, wait
from mainspring.engine.logging import get_run_logger
from mainspring.engine.resume import resume_flow_run
from mainspring.engine.retries import exponential_backoff
from mainspring.engine.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner
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

__version__ = "0.1.0"

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
    "task",
    "unmapped",
    "wait",
]
