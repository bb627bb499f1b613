"""The states `Flow("name").run()` returns, readable the Prefect 1 way and the Prefect 3 way.

Prefect 1 code reads a finished DAG run with attributes:

    state = f.run()
    state.is_successful()               # Prefect 1's name for is_completed()
    state.result[task]                  # that task's State (a dict keyed by the task)
    state.result[task].result           # its value, or for a failed task its exception
    state.result[mapped].map_states     # a mapped task: one State per element

Prefect 3 code calls `result()`. Both spellings work on the same objects:
- `state.result` is a `TaskStates`: a real dict (node -> `TaskState`) that is also callable;
  `state.result()` is that same mapping, or raises the flow's error when the run failed,
  exactly as `State.result()` does for a failed `@flow` run.
- `state.result[task].result` is a `ResultValue`: a transparent stand-in for the value that
  prints, compares, hashes, indexes, iterates, does arithmetic and has the attributes of the
  value (and passes `isinstance` checks for its type); calling it, `.result()`, gives the
  value itself, or raises the task's exception, as Prefect 3's `State.result()` does.

Where the stand-in shows (the price of one name meaning both an attribute and a method):
`x.result is None` is never true (use `x.result == None`, `not x.result` or `x.result()`),
`type(x.result)` is `ResultValue`, a failed task's `.result` cannot be `raise`d (call it),
and C code that wants the exact type (`json.dumps`, numpy) needs `x.result()`. A task that
returns a function: `x.result()` is the function, so call it as `x.result()(...)`.

Only DAG runs return these: `@flow` runs keep the plain `State`, whose `result()` is a method.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from mainspring.model import State

if TYPE_CHECKING:
    from mainspring.engine.dag.graph import Node


class Prefect1Checks:
    """Prefect 1's names for state checks, shared by DAG flow and task states."""

    __slots__ = ()

    def is_successful(self: Any) -> bool:
        """Prefect 1's `is_successful()`: the run completed (Cached counts)."""
        return self.is_completed()

    def is_finished(self: Any) -> bool:
        """Prefect 1's `is_finished()`: the run is in a final state, however it ended."""
        return self.is_final()


class TaskState(Prefect1Checks, State):
    """One node's final state in a DAG run: `.result` is the value as an attribute (Prefect 1)
    and a call (Prefect 3), see `ResultValue`; a mapped node has `map_states`."""

    __slots__ = ("map_states",)

    def __init__(self, *args: Any, map_states: list[State] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.map_states = map_states

    @classmethod
    def of(cls, state: State, map_states: list[State] | None = None) -> TaskState:
        """The same state (type, name, message, data, time) with both spellings of result."""
        states: list[State] | None = None
        if map_states is not None:
            states = [cls.of(s) for s in map_states]
        return cls(state.type, state.name, state.message, state.data, state.ts, map_states=states)

    @property  # type: ignore[override]
    def result(self) -> ResultValue:
        return ResultValue(self)

    def is_mapped(self) -> bool:
        return self.map_states is not None

    def copy(self, **changes: Any) -> TaskState:
        fields = {k: getattr(self, k) for k in State.__slots__}
        fields.update(changes)
        return TaskState(**fields, map_states=self.map_states)


class TaskStates(dict):
    """A DAG run's result: each node's final `TaskState`, looked up by node, or by the task
    definition or the node's name when that names exactly one node.

    It is also callable, so code written for Prefect 3 (`state.result()`) works: the mapping
    itself, or the flow's error when it failed.
    """

    def __init__(self, states: Mapping[Node, State]) -> None:
        super().__init__(states)
        self.flow_state: State | None = None

    def __call__(self, raise_on_failure: bool = True) -> Any:
        if self.flow_state is not None and not self.flow_state.is_completed():
            return State.result(self.flow_state, raise_on_failure=raise_on_failure)
        return self

    def __missing__(self, key: Any) -> State:
        matches = [n for n in self if n.task is key or n.name == key]
        if len(matches) == 1:
            return self[matches[0]]
        if matches:
            raise KeyError(f"{key!r} is {len(matches)} nodes of this flow: use the node")
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        try:
            self[key]
        except (KeyError, TypeError):
            return False
        return True

    def get(self, key: Any, default: Any = None) -> Any:
        try:
            return self[key]
        except (KeyError, TypeError):
            return default


class DagState(Prefect1Checks, State):
    """The final state `Flow("name").run()` returns: `state.result[node]` is that node's
    `TaskState`, as in Prefect 1; `state.result()` also works, as in Prefect 3."""

    __slots__ = ()

    @property  # type: ignore[override]
    def result(self) -> TaskStates:
        data = self.data
        loader = getattr(data, "load_result", None)
        if loader is not None:  # persisted (persist_result=True): a ResultRef holding it
            data = loader()
        states = data if isinstance(data, TaskStates) else TaskStates({})
        states.flow_state = self
        return states


# -- the value behind `task_state.result` --------------------------------------------------------
class ResultValue:
    """A task state's value that is also callable: see this module's docstring.

    Every operation but a call goes to the value (`repr`, `==`, `<`, `+`, `[...]`, `len`,
    `iter`, attributes); a call is `State.result(raise_on_failure=True)`. The class made for
    each value type defines only the operations that type has, so `isinstance(x.result,
    Iterable)` or `os.PathLike` answers as it would for the value. Pickling or copying it
    gives the value.
    """

    __slots__ = ("_state", "_value")

    def __new__(cls, state: State) -> ResultValue:
        value = _value_of(state)
        value_type: type = type(value)
        proxy = object.__new__(_proxy_class(value_type))
        object.__setattr__(proxy, "_state", state)
        object.__setattr__(proxy, "_value", value)
        return proxy

    def __call__(self, raise_on_failure: bool = True) -> Any:
        """Prefect 3's `state.result()`: the value itself; a failed task's exception raised."""
        return State.result(self._state, raise_on_failure=raise_on_failure)

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # isinstance(x.result, int) is True for an int value
        return type(self._value)

    def __getattr__(self, name: str) -> Any:
        if name in ResultValue.__slots__:  # not set yet: no recursion through self._value
            raise AttributeError(name)
        return getattr(self._value, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._value, name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self._value, name)

    def __dir__(self) -> list[str]:
        return dir(self._value)

    def __repr__(self) -> str:
        return repr(self._value)

    def __str__(self) -> str:
        return str(self._value)

    def __format__(self, spec: str) -> str:
        return format(self._value, spec)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, tuple[Any]]:
        return _identity, (self._value,)


def _value_of(state: State) -> Any:
    """Prefect 1's `state.result`: the value, a failed run's exception, None if not final."""
    if not state.is_final():
        return None
    return State.result(state, raise_on_failure=False)


def _identity(value: Any) -> Any:
    return value


def _unwrap(value: Any) -> Any:
    return object.__getattribute__(value, "_value") if _is_proxy(value) else value


def _is_proxy(value: Any) -> bool:
    return ResultValue in type(value).__mro__


def _binary(op: Any, reflected: bool = False) -> Any:
    if reflected:
        return lambda self, other: op(_unwrap(other), self._value)
    return lambda self, other: op(self._value, _unwrap(other))


def _unary(op: Any) -> Any:
    return lambda self, *args: op(self._value, *map(_unwrap, args))


_COMPARISONS: dict[str, Callable[..., Any]] = {
    "__eq__": operator.eq,
    "__ne__": operator.ne,
    "__lt__": operator.lt,
    "__le__": operator.le,
    "__gt__": operator.gt,
    "__ge__": operator.ge,
}
_BINARY: dict[str, Callable[..., Any]] = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "matmul": operator.matmul,
    "truediv": operator.truediv,
    "floordiv": operator.floordiv,
    "mod": operator.mod,
    "pow": pow,
    "and": operator.and_,
    "or": operator.or_,
    "xor": operator.xor,
    "lshift": operator.lshift,
    "rshift": operator.rshift,
}
_UNARY: dict[str, Callable[..., Any]] = {
    "__len__": len,
    "__iter__": iter,
    "__reversed__": reversed,
    "__contains__": operator.contains,
    "__getitem__": operator.getitem,
    "__setitem__": operator.setitem,
    "__delitem__": operator.delitem,
    "__neg__": operator.neg,
    "__pos__": operator.pos,
    "__abs__": abs,
    "__invert__": operator.invert,
    "__int__": int,
    "__float__": float,
    "__complex__": complex,
    "__index__": operator.index,
    "__round__": round,
    "__bytes__": bytes,
    "__fspath__": lambda value: value.__fspath__(),
    "__enter__": lambda value: value.__enter__(),
    "__exit__": lambda value, *exc: value.__exit__(*exc),
}


@functools.lru_cache(maxsize=512)
def _proxy_class(value_type: type) -> type[ResultValue]:
    """The ResultValue class for one value type: the operations that type supports."""
    namespace: dict[str, Any] = {"__slots__": ()}
    for name, op in _COMPARISONS.items():
        namespace[name] = _binary(op)
    if getattr(value_type, "__hash__", None) is None:
        namespace["__hash__"] = None
    else:
        namespace["__hash__"] = lambda self: hash(self._value)
    for name, op in _BINARY.items():  # both sides: `"a" + x` needs x.__radd__ (str has none)
        if hasattr(value_type, f"__{name}__") or hasattr(value_type, f"__r{name}__"):
            namespace[f"__{name}__"] = _binary(op)
            namespace[f"__r{name}__"] = _binary(op, reflected=True)
    for name, op in _UNARY.items():
        if hasattr(value_type, name):
            namespace[name] = _unary(op)
    return type(f"ResultValue[{value_type.__name__}]", (ResultValue,), namespace)
