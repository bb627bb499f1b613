"""A state as a client proposes it: one schema per state type, each listing its own names.

A discriminated union on `type` (rather than a free `name` checked afterwards) puts the rule
"a name belongs to its type" into the OpenAPI document itself: clients and fuzzers see that
`Cached` goes with COMPLETED and `Retrying` with RUNNING, and no request that fits the schema
is refused for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, Field, create_model

from mainspring.model import STATE_NAMES, State, StateType
from mainspring.server.schemas.common import NO_NUL, BodyTime, Input, Name, Text, check_text
from mainspring.store.http import wire
from mainspring.store.http.wire import MAX_KEY, MAX_STORAGE, RESULT_KEY


class StateInBase(Input):
    """Fields every proposed state has; `name` defaults to the type's (e.g. `Running`)."""

    type: Any
    name: Any = None
    message: Text | None = None
    timestamp: BodyTime | None = Field(None, description="Default: when the server receives it.")

    def to_state(self) -> State:
        type_ = StateType(self.type)
        name = self.name or type_.value.capitalize()
        return State(type_, name, self.message, ts=self.timestamp)


def _model(type_: StateType) -> type[StateInBase]:
    names = tuple(n for n, t in STATE_NAMES.items() if t is type_)
    return create_model(  # type: ignore[call-overload, no-any-return]
        f"{type_.value.capitalize()}StateIn",
        __base__=StateInBase,
        __doc__=f"A {type_.value} state; its name is one of {', '.join(names)}.",
        # run-time Literals: mypy cannot check these (nor what create_model returns)
        type=(Literal[type_.value], ...),  # type: ignore[arg-type]
        name=(Literal[names] | None, None),  # type: ignore[valid-type, arg-type]
    )


class ResultRefIn(Input):
    """Where a state's persisted result lives (a key under a result storage URL): written by
    the engine that persisted it, loaded by `state.result()` on a state read back."""

    storage: Annotated[
        str, Field(min_length=1, max_length=MAX_STORAGE, pattern=NO_NUL), AfterValidator(check_text)
    ]
    key: Annotated[
        str,
        Field(min_length=1, max_length=MAX_KEY, pattern=RESULT_KEY),
        AfterValidator(check_text),
    ]
    serializer: Name | None = None


class ResultRefOut(BaseModel):
    storage: str
    key: str
    serializer: str | None

    @classmethod
    def of(cls, data: Any) -> ResultRefOut | None:
        """The address of a state's persisted result, or None when it holds none."""
        found = wire.result_json(data)
        return None if found is None else cls(**found)


STATE_MODELS = tuple(_model(t) for t in StateType)
if TYPE_CHECKING:  # built at run time; to a type checker, each is a StateInBase
    StateIn = StateInBase
else:
    StateIn = Annotated[Union[STATE_MODELS], Field(discriminator="type")]  # noqa: UP007
