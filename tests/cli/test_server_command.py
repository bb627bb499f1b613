"""`mainspring server start` prepares its own process for serving."""

from __future__ import annotations

import gc

from mainspring.cli.server import freeze_startup_heap


def test_the_startup_heap_is_left_out_of_later_collections() -> None:
    kept: list[object] = [["built at startup"]]  # lists are always tracked by the collector
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() > 0
        assert not any(o is kept for o in gc.get_objects())  # frozen: no collection walks it
        later: list[object] = [["made per request"]]
        assert any(o is later for o in gc.get_objects())  # what comes later is collected
    finally:
        gc.unfreeze()  # this is a test process, not a server
