"""Bridging sync and async: run a coroutine to completion from code that is not async."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Coroutine
from typing import Any


def in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def run_coro_sync(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run `coro` and return its result, from sync code, whether or not a loop runs here.

    With no loop in this thread, `asyncio.run` it. Inside a running loop (sync code called
    from async code), blocking that loop's thread on it would deadlock, so the coroutine gets
    a loop of its own in a helper thread, with the caller's context variables.
    """
    if not in_event_loop():
        return asyncio.run(coro)

    outcome: dict[str, Any] = {}
    context = contextvars.copy_context()

    def target() -> None:
        try:
            outcome["value"] = context.run(asyncio.run, coro)
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="mainspring-async-bridge", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
