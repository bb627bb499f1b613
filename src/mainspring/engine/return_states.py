"""A flow's final state from what its function returned, by Prefect's rules."""

from __future__ import annotations

from typing import Any

from mainspring.engine.futures import MainspringFuture, resolve_value
from mainspring.model import State
from mainspring.model.states import Completed, Failed


class ReturnedFailure(Exception):
    """A flow returned a failed state: treated like a raised exception for retries."""


def state_from_return(value: Any) -> State:
    """Prefect's rules: a returned State (or future) is the flow's state; a collection of them
    fails the flow if any failed; any other value completes it, futures in it resolved."""
    if isinstance(value, State):
        return value
    if isinstance(value, MainspringFuture):
        return value.final_state()
    if (
        isinstance(value, list | tuple | set)
        and value
        and all(isinstance(v, State | MainspringFuture) for v in value)
    ):
        states = [v if isinstance(v, State) else v.final_state() for v in value]
        bad = [s for s in states if not s.is_completed()]
        if bad:
            return Failed(message=f"{len(bad)}/{len(states)} states failed.")
        return Completed(data=type(value)(s.result() for s in states))
    try:
        return Completed(data=resolve_value(value, []))
    except Exception as exc:  # a future in the return value failed
        return Failed(message=f"Flow returned a failed result: {exc}", data=exc)
