"""Serializers: how a persisted result becomes bytes in result storage and back.

Two, as in Prefect 3: cloudpickle (the default; any Python object, read back by the same code)
and JSON (readable by anything, for plain data: values come back as JSON types, so a tuple
returns as a list and a datetime as a string). Named by the string users pass as
`result_serializer` ("cloudpickle" / "pickle", "json") or given as an instance.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from mainspring.exceptions import SerializationError


@runtime_checkable
class Serializer(Protocol):
    """What result storage needs of a serializer; `type` is written with each record."""

    type: str

    def dumps(self, obj: Any) -> bytes: ...

    def loads(self, blob: bytes) -> Any: ...


class PickleSerializer:
    """cloudpickle: functions, classes and lambdas too, by value when not importable."""

    type = "cloudpickle"

    def dumps(self, obj: Any) -> bytes:
        import cloudpickle

        pickled: bytes = cloudpickle.dumps(obj)  # cloudpickle publishes no types
        return pickled

    def loads(self, blob: bytes) -> Any:
        import pickle

        return pickle.loads(blob)

    def __repr__(self) -> str:
        return "PickleSerializer()"


class JSONSerializer:
    """JSON through orjson: dataclasses, datetimes, UUIDs and pydantic models are written as
    JSON; reading gives plain JSON values back."""

    type = "json"

    def dumps(self, obj: Any) -> bytes:
        import orjson

        return orjson.dumps(obj, default=_json_default, option=orjson.OPT_SERIALIZE_NUMPY)

    def loads(self, blob: bytes) -> Any:
        import orjson

        return orjson.loads(blob)

    def __repr__(self) -> str:
        return "JSONSerializer()"


def _json_default(obj: Any) -> Any:
    dump = getattr(obj, "model_dump", None)  # pydantic models
    if callable(dump):
        return dump(mode="json")
    if isinstance(obj, set | frozenset):
        return list(obj)
    raise TypeError(f"Object of type {type(obj).__qualname__} is not JSON serializable")


_BY_NAME: dict[str, type[Serializer]] = {
    "cloudpickle": PickleSerializer,
    "pickle": PickleSerializer,
    "json": JSONSerializer,
}


def get_serializer(spec: str | Serializer | None) -> Serializer:
    """The serializer `spec` names (None: cloudpickle); an unknown name raises ValueError."""
    if spec is None:
        return PickleSerializer()
    if isinstance(spec, str):
        try:
            return _BY_NAME[spec.lower()]()
        except KeyError:
            raise ValueError(
                f"Unknown result_serializer {spec!r}; use one of {', '.join(_BY_NAME)}"
            ) from None
    if isinstance(spec, Serializer):
        return spec
    raise TypeError(f"result_serializer must be a name or a serializer, got {spec!r}")


def serialize(serializer: Serializer, value: Any, what: str) -> bytes:
    """`value` as bytes; an error names `what` produced it and the value's type."""
    try:
        return serializer.dumps(value)
    except Exception as exc:
        kind = type(value)
        name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}."
        if kind.__module__ != "builtins":
            name += kind.__qualname__
        raise SerializationError(
            f"{what} returned a value of type {name} that cannot be persisted with the "
            f"{serializer.type} serializer: {type(exc).__name__}: {exc}"
        ) from exc
