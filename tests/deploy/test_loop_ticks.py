"""serve()'s and an embedded worker's loop tick the scheduler again at once when a tick left
work (`TickFigures.more`), instead of waiting the loop's 5 s between ticks: with ticks bounded
by their time budget, a backlog would otherwise move only every 5 s."""

from __future__ import annotations

from mainspring.deploy.loop import RunLoop
from mainspring.deploy.scheduler import Scheduler
from mainspring.deploy.workers.process import Runner
from mainspring.model.deployments import Deployment, WorkPool
from mainspring.model.schedules import Interval
from mainspring.store.sql import SqlStore


def test_a_tick_that_left_work_is_followed_by_the_next_turn(store: SqlStore) -> None:
    store.create_work_pool(WorkPool("pool"))
    names = ["a", "b", "c"]
    for name in names:
        store.upsert_deployment(
            Deployment(
                flow_name="etl",
                name=name,
                entrypoint="flows/etl.py:etl",
                schedules=[Interval(60)],
                work_pool_name="pool",
            )
        )
    # one deployment planned a tick: three deployments need three ticks
    scheduler = Scheduler(store, plan_limit=1, budget=None)
    runner = Runner(store, warm=False, fork=False)  # starts no process: nothing is due yet
    loop = RunLoop(store, "pool", runner, scheduler=scheduler)
    try:
        for _ in names:
            loop.turn()
    finally:
        runner.stop(cancel=True, timeout=30)
    planned = {d.name: len(store.read_deployment_runs(d.id)) for d in store.read_deployments()}
    assert set(planned) == set(names)
    assert all(count > 0 for count in planned.values()), planned
