"""Field types shared by request bodies: validated before anything reaches the database.

The store holds times as epoch seconds (UTC floats); the API speaks ISO-8601 with a UTC offset,
which is what people and other languages expect to read. Input is validated here, before it can
reach the database, so a bad value is a 422 naming its field rather than a driver error: text
must be storable by both databases (no NUL character, valid UTF-8), lengths and integers fit
their columns, ids look like ids, state names belong to their state type.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from mainspring.store.wire import (  # the limits, shared with the fast batch decoder
    ID_PATTERN,
    INT32,
    MAX_NAME,
    MAX_TAGS,
    MAX_TEXT,
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
Json = Annotated[dict[str, Any], AfterValidator(clean_json)]
Time = Annotated[datetime, BeforeValidator(_iso_only), AfterValidator(_utc)]
Count = Annotated[int, Field(ge=0, le=INT32)]


def epoch(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")
