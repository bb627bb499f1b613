"""`task.map()`: turn iterable arguments into one call per element."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from mainspring.engine.futures import MainspringFuture
from mainspring.engine.parameters import Parameters
from mainspring.engine.tasks import unmapped
from mainspring.exceptions import ParameterBindError

if TYPE_CHECKING:
    from mainspring.engine.produced_values import ProducedValues


def _is_mapped(value: Any) -> bool:
    if isinstance(value, unmapped | str | bytes | bytearray | Mapping):
        return False
    try:
        iter(value)
    except TypeError:
        return False
    return True


def _static(value: Any) -> Any:
    return value.value if isinstance(value, unmapped) else value


def expand_map_calls(
    task_name: str,
    signature: Parameters,
    args: tuple,
    kwargs: dict,
    sources: list[str],
    produced: ProducedValues | None,
) -> Iterator[tuple[tuple, dict]]:
    """Yield (args, kwargs) for each mapped call; errors name the task and the arguments.

    `sources` receives the ids of the task runs whose results are mapped over (a future's, or
    a value one of them returned, found in `produced`): an edge of every mapped run, since
    the elements they get do not name them.
    """
    try:
        bound = signature.signature.bind_partial(*args, **kwargs)
    except TypeError as exc:
        raise ParameterBindError(f"Task {task_name!r}.map(): {exc}") from None
    parameters = dict(bound.arguments)
    # a future passed to map is the list to map over: wait for it and use its result
    for name, value in parameters.items():
        if isinstance(value, MainspringFuture):
            sources.append(value.task_run.id)
            parameters[name] = value.result()
        elif produced and _is_mapped(value):
            producer = produced.producer(value)
            if producer is not None:
                sources.append(producer)
    mapped = {name: list(v) for name, v in parameters.items() if _is_mapped(v)}
    if not mapped:
        raise TypeError(
            f"Task {task_name!r}.map() got no iterable argument to map over; "
            "wrap arguments meant for every call in unmapped(...) and pass at least one iterable"
        )
    lengths = {name: len(values) for name, values in mapped.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{name}={n}" for name, n in lengths.items())
        raise ValueError(f"Task {task_name!r}.map() got iterables of different lengths: {shown}")
    count = next(iter(lengths.values()))
    static = {name: _static(v) for name, v in parameters.items() if name not in mapped}
    for index in range(count):
        call = {**static, **{name: values[index] for name, values in mapped.items()}}
        positional, keywords = signature.call_args(call)
        yield tuple(positional), keywords
