"""Flows the run pages' tests run for real: `python run_flows.py mapped N` (a map of N task
runs), `python run_flows.py ticking SECONDS` (a run that logs a line every 0.1 s until
SECONDS pass or it is cancelled) and `python run_flows.py gated DIR` (tasks and a subflow
that each wait for a file in DIR the test creates: `first`, `each-0`..`each-2`, `child`,
`last`, so a live page can be watched step by step). Records into the store its environment
names; prints the flow run's id on its first line of output.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from mainspring import flow, get_run_logger, task
from mainspring.engine.context import get_run_context


@task
def square(x: int) -> int:
    return x * x


@task
def total(values: list[int]) -> int:
    return sum(values)


@flow
def mapped(n: int) -> int:
    print(get_run_context().flow_run.id, flush=True)
    return total(square.map(range(n)).result())


@flow
def ticking(seconds: float) -> int:
    print(get_run_context().flow_run.id, flush=True)
    logger = get_run_logger()
    ticks = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ticks += 1
        logger.info("tick %d", ticks)
        time.sleep(0.1)
    return ticks


def _wait_for(path: Path) -> str:
    while not path.exists():
        time.sleep(0.05)
    return path.name


@task
def gate_first(directory: str) -> str:
    return _wait_for(Path(directory, "first"))


@task
def gate_each(directory: str, i: int) -> str:
    return _wait_for(Path(directory, f"each-{i}"))


@task
def gate_child(directory: str) -> str:
    return _wait_for(Path(directory, "child"))


@task
def gate_last(directory: str) -> str:
    return _wait_for(Path(directory, "last"))


@flow
def gated_child(directory: str) -> str:
    return gate_child(directory)


@flow
def gated(directory: str) -> str:
    print(get_run_context().flow_run.id, flush=True)
    gate_first(directory)
    gate_each.map(directory, range(3)).result()
    gated_child(directory)
    return gate_last(directory)


if __name__ == "__main__":
    kind, amount = sys.argv[1], sys.argv[2]
    if kind == "mapped":
        mapped(int(amount))
    elif kind == "gated":
        gated(amount)
    else:
        ticking(float(amount))
