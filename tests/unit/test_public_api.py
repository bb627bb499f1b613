"""The public API: `__all__` lists exactly what `mainspring` exports, sorted, all importable."""

from __future__ import annotations

import subprocess
import sys
from inspect import ismodule

import pytest

import mainspring


def test_all_is_sorted_and_complete() -> None:
    assert mainspring.__all__ == sorted(mainspring.__all__, key=str)
    listed = {n for n in dir(mainspring) if not n.startswith("_")}  # loaded or not yet
    assert listed == set(mainspring.__all__) - {"__version__"}
    assert set(mainspring._LAZY) == listed  # every exported name is loaded on demand
    for name in mainspring.__all__:
        assert getattr(mainspring, name) is not None
    public = {  # subpackages become attributes once imported; they are not the API
        n for n, v in vars(mainspring).items() if not n.startswith("_") and not ismodule(v)
    }
    assert public == listed  # every name, once used, is kept as a plain attribute


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'flows'"):
        mainspring.flows  # noqa: B018
    assert not hasattr(mainspring, "Flows")


def test_prefect_style_imports_work() -> None:
    from mainspring import (  # noqa: F401
        Completed,
        Failed,
        ThreadPoolTaskRunner,
        flow,
        get_run_logger,
        task,
        unmapped,
    )


def test_importing_mainspring_does_not_load_the_database_layer() -> None:
    code = (
        "import sys, mainspring; "
        "heavy = ('sqlalchemy', 'alembic', 'pydantic', 'typer', 'asyncio'); "
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
