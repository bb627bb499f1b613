"""Flows the run pages' tests run for real: `python run_flows.py mapped N` (a map of N task
runs) and `python run_flows.py ticking SECONDS` (a run that logs a line every 0.1 s until
SECONDS pass or it is cancelled). Records into the store its environment names; prints the
flow run's id on its first line of output.
"""

from __future__ import annotations

import sys
import time

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


if __name__ == "__main__":
    kind, amount = sys.argv[1], sys.argv[2]
    if kind == "mapped":
        mapped(int(amount))
    else:
        ticking(float(amount))
