"""A state as a client proposes it: one schema per state type, each listing its own names.

A discriminated union on `type` (rather than a free `name` checked afterwards) puts the rule
"a name belongs to its type" into the OpenAPI document itself: clients and fuzzers see that
`Cached` goes with COMPLETED and `Retrying` with RUNNING, and no request that fits the schema
is refused for it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, create_model

from mainspring.model import STATE_NAMES, State, StateType
from mainspring.server.schemas.common import Input, Text, Time, epoch


class StateInBase(Input):
    """Fields every proposed state has; `name` defaults to the type's (e.g. `Running`)."""

    type: Any
    name: Any = None
    message: Text | None = None
    timestamp: Time | None = Field(None, description="Default: when the server receives it.")

    def to_state(self) -> State:
        type_ = StateType(self.type)
        name = self.name or type_.value.capitalize()
        return State(type_, name, self.message, ts=epoch(self.timestamp))


def _model(type_: StateType) -> type[StateInBase]:
    names = tuple(n for n, t in STATE_NAMES.items() if t is type_)
    return create_model(  # type: ignore[call-overload, no-any-return]
        f"{type_.value.capitalize()}StateIn",
        __base__=StateInBase,
        __doc__=f"A {type_.value} state; its name is one of {', '.join(names)}.",
        type=(Literal[type_.value], ...),
        name=(Literal[names] | None, None),  # type: ignore[valid-type]
    )


STATE_MODELS = tuple(_model(t) for t in StateType)
StateIn = Annotated[Union[STATE_MODELS], Field(discriminator="type")]  # type: ignore[valid-type]  # noqa: UP007
