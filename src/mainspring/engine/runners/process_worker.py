"""The function a process-pool worker runs: call the user's function inside its run context.

Kept apart from process.py and free of heavy imports, because every spawned worker imports it.
"""

from __future__ import annotations

from typing import Any

from mainspring.engine.stopping.interrupts import current_guard
from mainspring.engine.stopping.timeouts import timeout_after


def call(payload: bytes) -> bytes:
    """Unpickle (fn, args, kwargs, info), run fn as part of the task run `info` describes, and
    return the pickled outcome: ("ok", value) or ("error", exception)."""
    import cloudpickle  # lazy: cloudpickle

    # lazy: runners.remote_context is off the default path
    from mainspring.engine.runners.remote_context import remote_task_context

    fn, args, kwargs, info = cloudpickle.loads(payload)
    guard = current_guard()
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
            finally:
                guard.stop()
        outcome: tuple[str, Any] = ("ok", value)
    except Exception as exc:
        outcome = ("error", exc)
    try:
        return cloudpickle.dumps(outcome)
    except Exception as exc:  # the value or exception itself cannot cross back
        return cloudpickle.dumps(
            ("error", TypeError(f"Result of task run {info['label']} cannot be pickled: {exc}"))
        )


def unpack(outcome: bytes) -> Any:
    import cloudpickle  # lazy: cloudpickle

    kind, value = cloudpickle.loads(outcome)
    if kind == "error":
        raise value
    return value


async def _await(awaitable: Any) -> Any:
    return await awaitable
