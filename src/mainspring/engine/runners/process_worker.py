"""The function a remote worker runs: call the user's function inside its run context.

Shared by the process pool and the Dask and Ray runners. Kept free of heavy imports, because
every spawned worker imports it. The run's log lines are collected while the function runs and
travel back with its outcome (logging.captured_lines): the flow's process records them in its
own batches, so a worker opens no store and writes nothing per task.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mainspring.engine.stopping.interrupts import current_guard
from mainspring.engine.stopping.timeouts import timeout_after


def call(payload: bytes, finish: Callable[[Any], Any] | None = None) -> bytes:
    """Unpickle (fn, args, kwargs, info), run fn as part of the task run `info` describes, and
    return the pickled outcome: ("ok", value, lines) or ("error", exception, lines).

    `finish`, when given, turns the value into what is sent back (Dask computes collections).
    """
    import cloudpickle  # lazy: cloudpickle

    from mainspring.engine.logging import captured_lines

    # lazy: runners.remote_context is off the default path
    from mainspring.engine.runners.remote_context import remote_task_context

    fn, args, kwargs, info = cloudpickle.loads(payload)
    guard = current_guard()
    lines: list[tuple] = []
    token = captured_lines.set(lines)
    try:
        with (
            remote_task_context(info),
            timeout_after(info.get("timeout"), info["label"], info["task_run_id"]),
        ):
            guard.calling = True  # the timeout may interrupt the function, nothing else
            try:
                value = fn(*args, **kwargs)
                if hasattr(value, "__await__"):
                    import asyncio  # lazy: asyncio

                    value = asyncio.run(_await(value))
                if finish is not None:
                    value = finish(value)
            finally:
                guard.stop()
        outcome: tuple[str, Any, list[tuple]] = ("ok", value, lines)
    except Exception as exc:
        outcome = ("error", exc, lines)
    finally:
        captured_lines.reset(token)
    try:
        return cloudpickle.dumps(outcome)
    except Exception as exc:  # the value or exception itself cannot cross back
        error = TypeError(f"Result of task run {info['label']} cannot be pickled: {exc}")
        return cloudpickle.dumps(("error", error, lines))


def unpack(outcome: bytes, label: str) -> Any:
    """The function's value (or its exception, raised), once its log lines are recorded here."""
    import cloudpickle  # lazy: cloudpickle

    # lazy: the flow's process has loaded logging already; a worker never calls this
    from mainspring.engine.logging import replay_lines

    kind, value, lines = cloudpickle.loads(outcome)
    replay_lines(lines, label)
    if kind == "error":
        raise value
    return value


async def _await(awaitable: Any) -> Any:
    return await awaitable
