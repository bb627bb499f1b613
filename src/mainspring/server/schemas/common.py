"""Field types shared by request bodies: validated before anything reaches the database.

The store holds times as epoch seconds (UTC floats); the API speaks ISO-8601 with a UTC offset,
which is what people and other languages expect to read. Input is validated here, before it can
reach the database, so a bad value is a 422 naming its field rather than a driver error: text
must be storable by both databases (no NUL character, valid UTF-8), lengths and integers fit
their columns, ids look like ids, state names belong to their state type.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

#: What an id may look like: the engine mints UUIDs; anything longer cannot be stored.
ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,36}$"
INT32 = 2**31 - 1
MAX_TEXT = 1_000_000
MAX_ITEMS = 100_000


def check_text(value: str) -> str:
    """Text both databases store: PostgreSQL refuses NUL; neither takes lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain the NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogates)") from None
    return value


def _check_json(value: Any) -> Any:
    """Every string (key or value) inside a JSON document must be storable text."""
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(str(key))
            _check_json(item)
    elif isinstance(value, list):
        for item in value:
            _check_json(item)
    return value


def _utc(value: datetime) -> datetime:
    """Naive times are taken as UTC; others are converted to it."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None


Text = Annotated[str, Field(max_length=MAX_TEXT), AfterValidator(check_text)]
Name = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(check_text)]
Id = Annotated[str, Field(pattern=ID_PATTERN)]
Tags = Annotated[list[Name], Field(max_length=1000)]
Json = Annotated[dict[str, Any], AfterValidator(_check_json)]
Time = Annotated[datetime, AfterValidator(_utc)]
Count = Annotated[int, Field(ge=0, le=INT32)]


def epoch(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")
