"""`POST /api/batches`: store a batch of changes in one transaction, as `Store.write` does.

This is the write path of a remote store: a client gathers state changes, logs and run
snapshots like the embedded recorder does and sends them here, all stored or none. A batch
with an `id` is stored at most once, so a client whose answer was lost retries it safely.
"""

from __future__ import annotations

from fastapi import APIRouter

from mainspring.model import FlowRecord
from mainspring.server.api.deps import StoreDep
from mainspring.server.schemas import BatchIn, BatchOut
from mainspring.server.schemas.batches import server_id
from mainspring.store.base import Batch

router = APIRouter(tags=["batches"])


@router.post("/batches", response_model=BatchOut)
def write_batch(store: StoreDep, body: BatchIn) -> BatchOut:
    flows = {f.name: f.to_record() for f in body.flows}
    for run in body.flow_runs:  # the flow of each run exists, with an id made here
        if run.flow_name not in flows:
            flows[run.flow_name] = FlowRecord(name=run.flow_name, id=server_id())
    batch = Batch(
        flows=flows,
        flow_runs={r.id: r.to_record() for r in body.flow_runs},
        task_runs={t.id: t.to_record() for t in body.task_runs},
        states=[s.to_record() for s in body.states],
        logs=[r.to_record() for r in body.logs],
        edges=[e.to_record() for e in body.edges],
        id=body.id,
    )
    if not store.write(batch):
        return BatchOut(written=0, duplicate=True)
    return BatchOut(written=batch.size())
