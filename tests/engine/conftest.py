"""Engine tests run real flows into the real embedded SQLite store of an isolated home.

`store` is that store; `support.py` has the small readers the tests share (the timeline of a
run, the one run of a flow). A top-level flow flushes the recorder before it returns, so
everything it did can be read back right after the call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from mainspring.engine.logging import configure_logging
from mainspring.settings import reset_settings
from mainspring.store import Store, get_store


@pytest.fixture
def store() -> Store:
    return get_store()


@pytest.fixture
def set_logging_level(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Set MAINSPRING_LOGGING_LEVEL and re-read the logging settings; defaults come back after."""

    def set_level(level: str) -> None:
        monkeypatch.setenv("MAINSPRING_LOGGING_LEVEL", level)
        reset_settings()
        configure_logging(force=True)

    yield set_level
    monkeypatch.delenv("MAINSPRING_LOGGING_LEVEL", raising=False)
    reset_settings()
    configure_logging(force=True)
