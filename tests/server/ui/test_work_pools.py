"""The work pools pages as HTML (httpx against the app) over the real history: type, limit,
paused, queues, workers online or not by their last heartbeat, queued and running runs."""

from __future__ import annotations

import re
import time
from urllib.parse import quote

from mainspring.model import FlowRun, State, StateType, new_id
from mainspring.model.deployments import Deployment, WorkPool, WorkQueue
from mainspring.store.base import Batch
from mainspring.store.sql import SqlStore

from .conftest import ui_client
from .history import HOSTILE, POOL
from .test_pages import text_of


def test_the_pools_and_one_pool_with_its_workers_queues_and_runs(own_store: SqlStore) -> None:
    own_store.worker_heartbeat(POOL, "worker-1")  # online
    own_store.worker_heartbeat(POOL, "worker-old", now=time.time() - 3600)  # offline
    own_store.create_work_queue(WorkQueue(POOL, "urgent", priority=0, concurrency_limit=2))
    own_store.create_work_pool(WorkPool("gpu", concurrency_limit=4, paused=True))
    nightly = own_store.find_deployment("weather", "nightly")
    running = FlowRun(
        new_id(), "busy-bee", "weather", State(StateType.RUNNING), deployment_id=nightly.id,
        start_time=time.time(),
    )  # fmt: skip
    own_store.write(Batch(flow_runs={running.id: running}))
    (queued,) = own_store.read_deployment_runs(nightly.id, states=["Scheduled"])
    with ui_client(own_store) as client:
        listing = client.get("/work-pools")
        assert listing.status_code == 200
        assert '<a href="/work-pools" aria-current="page">' in listing.text
        rows = {
            text_of(r).split()[0]: text_of(r)
            for r in re.findall(r"<tr>.*?</tr>", listing.text, flags=re.S)[1:]
        }
        assert set(rows) == {"gpu", POOL}
        assert re.search(r"process ● ready 1 of 2 1 1 none 1", rows[POOL]), rows[POOL]
        assert re.search(r"process ‖ Paused 0 of 0 0 0 4 0", rows["gpu"]), rows["gpu"]

        page = client.get(f"/work-pools/work-pool/{POOL}")
        assert page.status_code == 200
        assert f"<title>{POOL} · Work pool · Mainspring</title>" in page.text
        text = text_of(page.text)
        assert "1 of 2 online" in text
        assert re.search(r"● online worker-1 · last heartbeat", text)
        assert re.search(r"○ offline worker-old · last heartbeat", text)
        assert "urgent 0 2" in text and "default 1 none" in text  # queues by priority
        running_part, queued_part = page.text.split("<h2>Running</h2>")[1].split("<h2>Queued</h2>")
        assert "busy-bee" in running_part and queued.run.name not in running_part
        assert queued.run.name in queued_part and "busy-bee" not in queued_part
        assert "Runs on this machine" in text  # its description
        assert 'href="/deployments/deployment/' in page.text  # its deployment, linked

        gpu = text_of(client.get("/work-pools/work-pool/gpu").text)
        assert "paused: no run is handed to a worker" in gpu and "4 runs at once" in gpu
        assert "mainspring worker start --pool gpu" in gpu  # no worker yet: how to start one
        assert "none names this pool" in gpu and "Nothing is running" in gpu

        missing = client.get("/work-pools/work-pool/nope")
        assert missing.status_code == 404 and "No work pool" in missing.text


def test_hostile_pool_and_worker_names_are_text(own_store: SqlStore) -> None:
    name = "<img src=x onerror=alert(1)>"
    own_store.create_work_pool(WorkPool(name, description=HOSTILE))
    own_store.worker_heartbeat(name, HOSTILE)
    own_store.upsert_deployment(Deployment("weather", "hostile-pool", work_pool_name=name))
    with ui_client(own_store) as client:
        for path in ("/work-pools", "/work-pools/work-pool/" + quote(name, safe="")):
            page = client.get(path)
            assert page.status_code == 200, path
            assert "<img src=x" not in page.text and "<script>alert" not in page.text, path
            assert "&lt;img src=x onerror=alert(1)&gt;" in page.text, path


def test_no_pools_says_how_to_make_one(tmp_path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with ui_client(store) as client:
            text = text_of(client.get("/work-pools").text)
            assert "No work pools yet" in text
            assert "mainspring work-pool create NAME --type process" in text
    finally:
        store.close()
