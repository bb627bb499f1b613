"""Field types shared by request bodies: validated before anything reaches the database.

The store holds times as epoch seconds (UTC floats); the API shows ISO-8601 with a UTC offset,
which is what people and other languages expect to read, and takes either in request bodies.
Input is validated here, before it can reach the database, so a bad value is a 422 naming its
field rather than a driver error: text must be storable by both databases (no NUL character,
valid UTF-8), lengths and integers fit their columns, ids look like ids, state names belong to
their state type.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)

from mainspring.store import json_values
from mainspring.store.http.wire import (  # the limits, shared with the fast batch decoder
    ID_PATTERN,
    INT32,
    MAX_NAME,
    MAX_TAGS,
    MAX_TEXT,
    MAX_TIME,
    MIN_TIME,
    clean_json,
)


def check_text(value: str) -> str:
    """Text both databases store: PostgreSQL refuses NUL; neither takes lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain the NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogates)") from None
    return value


_ISO_DATETIME = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d")


def _iso_only(value: Any) -> Any:
    """Times are ISO-8601 date-times, as documented: pydantic would also take epoch numbers
    and bare dates, which the OpenAPI `date-time` format does not allow."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATETIME.match(value):
        return value
    raise ValueError("must be an ISO-8601 date-time, e.g. 2024-05-01T12:00:00Z")


def _utc(value: datetime) -> datetime:
    """Naive times are taken as UTC; others are converted to it."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None


#: In the OpenAPI document too, so clients (and the fuzzer) know NUL is refused.
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, Field(max_length=MAX_TEXT, pattern=NO_NUL), AfterValidator(check_text)]
Name = Annotated[
    str, Field(min_length=1, max_length=MAX_NAME, pattern=NO_NUL), AfterValidator(check_text)
]
Id = Annotated[str, Field(pattern=ID_PATTERN)]
Tags = Annotated[list[Name], Field(max_length=MAX_TAGS)]


def check_json_values(value: dict[str, Any]) -> dict[str, Any]:
    """Parameters as store/json_values.py reads them back: tagged values well formed, no NaN or
    infinity outside a tag (JSON has none; 1e400 parses as one), nesting within MAX_DEPTH.
    Kept in their tagged form (what the batch decoder takes); text made storable."""
    json_values.decode(value, strict=True, where="parameters")
    return clean_json(value)  # type: ignore[no-any-return]


Json = Annotated[
    dict[str, Any],
    AfterValidator(check_json_values),
    WithJsonSchema(
        {
            "type": "object",
            "description": "JSON values; an integer beyond 64 bits, NaN or an infinity as a "
            'tagged value, e.g. {"__mainspring__": "int", "value": "1000000000000000000000"} '
            'or {"__mainspring__": "float", "value": "nan"}; nesting at most '
            f"{json_values.MAX_DEPTH} levels.",
        }
    ),
]
Time = Annotated[datetime, BeforeValidator(_iso_only), AfterValidator(_utc)]


_parse_time = TypeAdapter(Time).validate_python


def _seconds(value: Any) -> Any:
    """A body's time as epoch seconds: numbers go on to the range check as they are, text must
    be an ISO-8601 date-time (read as `Time` reads it)."""
    if isinstance(value, float) and not math.isfinite(value):  # NaN, or 1e400 parsed as inf
        raise ValueError("must be a finite number of seconds or an ISO-8601 date-time")
    if not isinstance(value, str):
        return value
    try:
        return _parse_time(value).timestamp()
    except ValidationError as exc:
        raise ValueError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None


#: A time in a request body: epoch seconds, which Mainspring's own clients send (the very float
#: the store keeps, and no text to format and parse per record), or an ISO-8601 date-time;
#: validated into epoch seconds, so a body's canonical form carries numbers. The range is that
#: of the times the API can show: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
BodyTime = Annotated[
    float,
    BeforeValidator(_seconds),
    Field(strict=True, ge=MIN_TIME, le=MAX_TIME),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": MIN_TIME, "maximum": MAX_TIME},
                {"type": "string", "format": "date-time"},
            ],
            "description": "Seconds since 1970-01-01T00:00:00Z, or an ISO-8601 date-time.",
        }
    ),
]
Count = Annotated[int, Field(ge=0, le=INT32)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")
