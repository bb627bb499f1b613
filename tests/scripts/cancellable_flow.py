"""A flow to cancel from outside, run as a child process by the cancellation tests.

    python cancellable_flow.py SIDE_EFFECTS_FILE [sync|async]

Every step appends a line to the side-effects file, so a test can tell which code ran: the
flow prints READY once a submitted task is running in a worker thread and an inline task is
blocked in `time.sleep(60)` (or `asyncio.sleep(60)`), and ends by noting its final state.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from mainspring import flow, task

SIDE = Path(sys.argv[1])


def note(what: str) -> None:
    with SIDE.open("a") as f:
        f.write(what + "\n")


def noted() -> list[str]:
    return SIDE.read_text().split() if SIDE.exists() else []


@task
def step(name: str) -> None:
    note(name)


@task
def in_worker() -> None:
    note("worker-started")
    for _ in range(600):  # Python code between short sleeps: an async exception lands here
        time.sleep(0.1)
    note("worker-finished")


@task
def blocking() -> None:
    while "worker-started" not in noted():
        time.sleep(0.01)
    print("READY", flush=True)
    time.sleep(60)  # in the main thread: only a signal gets it out early
    note("blocking-finished")


@task
async def blocking_async() -> None:
    print("READY", flush=True)
    await asyncio.sleep(60)
    note("blocking-finished")


def on_cancellation(flow: object, run: object, state: object) -> None:
    note(f"hook:{state.name}")  # type: ignore[attr-defined]


@flow(name="cancellable", on_cancellation=[on_cancellation])
def cancellable() -> None:
    step("first")
    background = in_worker.submit()
    blocking()
    step("after")
    background.result()


@flow(name="cancellable-async", on_cancellation=[on_cancellation])
async def cancellable_async() -> None:
    step("first")
    await blocking_async()
    step("after")


if __name__ == "__main__":
    if sys.argv[2:] == ["async"]:
        state = asyncio.run(cancellable_async(return_state=True))
    else:
        state = cancellable(return_state=True)
    note(f"final:{state.name}")
