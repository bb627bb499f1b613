"""What a flow and a task definition share: the function, checked options, hooks, copies.

`Flow` (flows.py) and `Task` (tasks.py) take the same kinds of options (retries and their
delays, a timeout, tags, state hooks) and answer `with_options` and the hook decorators the
same way; this base holds that once, so a rule about an option cannot differ between them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import update_wrapper
from typing import Any, Generic, ParamSpec, Self, TypeVar

from mainspring.engine.hooks import Hook, add_hook, current_hooks, hooks_by_state
from mainspring.engine.parameters import Parameters
from mainspring.engine.retries import DelaySpec, RetryPolicy
from mainspring.model import StateType

P = ParamSpec("P")
R = TypeVar("R")


class Definition(Generic[P, R]):
    """The function plus how its runs behave; subclasses set `kind` ("flow" or "task")."""

    kind = "definition"
    name: str
    #: the options given, as `with_options` passes them on to a copy
    _options: dict[str, Any]

    def _set_function(self, fn: Callable[P, R], unknown: dict[str, Any]) -> None:
        if not callable(fn):
            raise TypeError(f"@{self.kind} needs a function, got {fn!r}")
        if unknown:
            raise TypeError(f"@{self.kind} got unexpected option(s): {', '.join(sorted(unknown))}")
        update_wrapper(self, fn)  # type: ignore[arg-type]  # it stands in for its function
        self.fn = fn
        self.is_async = inspect.iscoroutinefunction(fn)
        self._parameters: Parameters | None = None

    def _set_run_options(
        self,
        retries: int | None,
        retry_delay_seconds: DelaySpec,
        retry_jitter_factor: float | None,
        timeout_seconds: float | None,
        hooks: dict[str, Any],
    ) -> None:
        """Check and keep the options of how a run behaves; `hooks` are the `on_...` ones."""
        if timeout_seconds is not None and timeout_seconds <= 0:
            raise ValueError(f"timeout_seconds must be positive, got {timeout_seconds}")
        self.timeout_seconds = timeout_seconds
        self.retries = retries or 0
        self.retry_delay_seconds = retry_delay_seconds
        self.retry_policy = RetryPolicy.build(
            self.retries, retry_delay_seconds, retry_jitter_factor
        )
        self.hooks: dict[StateType, list[Hook]] = hooks_by_state(hooks)

    @property
    def parameters(self) -> Parameters:
        """The function's signature, able to bind, validate and describe (JSON schema) a call."""
        if self._parameters is None:
            self._parameters = Parameters(self.fn, f"{self.kind.capitalize()} {self.name!r}")
        return self._parameters

    def with_options(self, **changes: Any) -> Self:
        """A copy with some options changed (hooks added by decorator kept)."""
        options = {**self._options, **current_hooks(self.hooks), **changes}
        return type(self)(self.fn, **options)  # type: ignore[call-arg]

    # -- hooks as decorators, as in Prefect: `@my_flow.on_failure` -----------------------------
    def on_completion(self, fn: Hook) -> Hook:
        return add_hook(self.hooks, StateType.COMPLETED, fn)

    def on_failure(self, fn: Hook) -> Hook:
        return add_hook(self.hooks, StateType.FAILED, fn)


def hook_options(
    on_completion: Any, on_failure: Any, on_crashed: Any, on_cancellation: Any
) -> dict[str, Any]:
    """The `on_...` options of a definition by name, as `hooks_by_state` takes them."""
    return {
        "on_completion": on_completion,
        "on_failure": on_failure,
        "on_crashed": on_crashed,
        "on_cancellation": on_cancellation,
    }
