"""Variables from Python, as Prefect users write them: set, get with a default, unset; JSON
values; the embedded store and a real server."""

from __future__ import annotations

import asyncio

import pytest

from mainspring.exceptions import ObjectAlreadyExists
from mainspring.variables import Variable


def test_set_get_unset() -> None:
    assert Variable.get("regions") is None
    assert Variable.get("regions", default=["eu"]) == ["eu"]
    made = Variable.set("regions", ["eu", "us"], tags=["ops"])
    assert (made.name, made.value, made.tags) == ("regions", ["eu", "us"], ["ops"])
    assert Variable.get("regions") == ["eu", "us"]
    with pytest.raises(ObjectAlreadyExists, match="regions"):
        Variable.set("regions", [])
    Variable.set("regions", {"eu": 1.5, "nested": [True, None]}, overwrite=True)
    assert Variable.get("regions") == {"eu": 1.5, "nested": [True, None]}
    assert Variable.unset("regions") is True
    assert Variable.unset("regions") is False
    assert Variable.get("regions", default="gone") == "gone"


def test_values_must_be_json_and_names_well_formed() -> None:
    with pytest.raises(ValueError, match="JSON"):
        Variable.set("not_json", object())
    with pytest.raises(ValueError, match="variable name"):
        Variable.get("Has Spaces")
    assert Variable.get("not_json") is None  # nothing half-written


def test_async_forms() -> None:
    async def main() -> object:
        await Variable.aset("n", 3)
        value = await Variable.aget("n")
        await Variable.aunset("n")
        return value

    assert asyncio.run(main()) == 3
    assert Variable.get("n") is None
