"""Engine tests run real flows into the real embedded SQLite store of an isolated home.

`store` is that store; `support.py` has the small readers the tests share (the timeline of a
run, the one run of a flow). A top-level flow flushes the recorder before it returns, so
everything it did can be read back right after the call.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mainspring.engine.logging import configure_logging
from mainspring.store import Store, get_store


@pytest.fixture
def store() -> Store:
    return get_store()


@pytest.fixture
def logging_config() -> Iterator[None]:
    """Re-read the logging settings now, and again (back to defaults) after the test."""
    configure_logging(force=True)
    yield
    from mainspring.settings import reset_settings

    reset_settings()
    configure_logging(force=True)
