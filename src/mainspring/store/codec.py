"""JSON for values Python has and JSON has not: shared by every store (SQL rows, HTTP bodies).

Here rather than in the HTTP codec (store/http/wire.py) so the SQL path loads no HTTP code.
"""

from __future__ import annotations

from typing import Any


def json_default(value: Any) -> Any:
    """Values JSON has no type for, converted as pydantic would (a Path or an Enum becomes its
    value, a dataclass or model a dict); what even that cannot convert becomes its repr: a
    parameter the engine could not make JSON-safe must not cost a whole batch."""
    from pydantic_core import to_jsonable_python  # lazy: pydantic only when a value needs it

    try:
        return to_jsonable_python(value)
    except Exception:
        return repr(value)
