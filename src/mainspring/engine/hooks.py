"""State hooks: user callbacks fired when a run completes, fails, crashes or is cancelled.

A hook that raises is logged with its traceback and otherwise ignored: a broken notification
must not turn a Completed run into a Failed one.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from mainspring.model import State, StateType

Hook = Callable[[Any, Any, State], Any]

HOOK_KINDS = {
    StateType.COMPLETED: "on_completion",
    StateType.FAILED: "on_failure",
    StateType.CRASHED: "on_crashed",
    StateType.CANCELLED: "on_cancellation",
}


def as_hook_list(hooks: Hook | Iterable[Hook] | None, kind: str) -> list[Hook]:
    if hooks is None:
        return []
    items = [hooks] if callable(hooks) else list(hooks)
    for hook in items:
        if not callable(hook):
            raise TypeError(f"{kind} hooks must be callables, got {hook!r}")
    return items


def hooks_by_state(given: dict[str, Any]) -> dict[StateType, list[Hook]]:
    """The hooks options of a flow or task (`{"on_failure": fn, ...}`) keyed by state type;
    a state with no hooks has no entry, so the engine's lookup stays a single dict miss."""
    by_state: dict[StateType, list[Hook]] = {}
    for state_type, kind in HOOK_KINDS.items():
        hooks = as_hook_list(given.get(kind), kind)
        if hooks:
            by_state[state_type] = hooks
    return by_state


def add_hook(hooks: dict[StateType, list[Hook]], state_type: StateType, fn: Hook) -> Hook:
    """Register `fn` for `state_type` (the `@my_flow.on_failure` decorator form); return it."""
    as_hook_list(fn, HOOK_KINDS[state_type])
    hooks.setdefault(state_type, []).append(fn)
    return fn


def current_hooks(hooks: dict[StateType, list[Hook]]) -> dict[str, list[Hook]]:
    """The hooks of a definition as `on_...` options, for `with_options` copies to keep."""
    return {kind: list(hooks.get(state_type, [])) for state_type, kind in HOOK_KINDS.items()}


def run_hooks(hooks: list[Hook], definition: Any, run: Any, state: State, log: Callable) -> None:
    """Call each hook as `hook(definition, run, state)`; log and swallow what they raise."""
    for hook in hooks:
        name = getattr(hook, "__name__", repr(hook))
        log(logging.INFO, f"Running hook {name!r} in response to entering state {state.name!r}")
        try:
            result = hook(definition, run, state)
            if hasattr(result, "__await__"):
                from mainspring.engine.asyncutils import run_coro_sync  # lazy: asyncio

                run_coro_sync(_await(result))
        except Exception as exc:
            detail = "".join(traceback.format_exception(exc)).rstrip()
            log(logging.ERROR, f"An error was encountered while running hook {name!r}\n{detail}")
        else:
            log(logging.INFO, f"Hook {name!r} finished running successfully")


async def _await(awaitable: Any) -> Any:
    return await awaitable
