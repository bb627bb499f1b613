"""Parameters that JSON has no type for are stored as their natural JSON form, not lost."""

from __future__ import annotations

import enum
from pathlib import Path

from mainspring.model import FlowRun, new_id
from mainspring.model.states import Completed
from mainspring.store import Batch
from mainspring.store.sql import SqlStore


class Color(enum.Enum):
    RED = "red"


def test_paths_enums_and_unknown_objects_survive_a_round_trip(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'h.db'}")
    params = {"out": Path("/data/out"), "color": Color.RED, "blob": object(), "big": 2**70}
    run = FlowRun(new_id(), "r", "f", Completed(), parameters=params)
    run.created = run.state.ts
    store.write(Batch(flow_runs={run.id: run}))
    stored = store.read_flow_run(run.id).parameters
    assert stored["out"] == "/data/out"
    assert stored["color"] == "red"
    assert stored["blob"].startswith("<object object at")
    assert stored["big"] == 2**70
    store.close()
