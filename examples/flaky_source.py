"""A flaky source healed by retries: the task fails twice, then succeeds; the run completes.

What it shows:
- `retries=3` with `retry_delay_seconds=[0.1, 0.2, 0.4]`: one delay per retry, so the waits
  grow (a number means the same delay every time);
- the log lines each failed attempt and each scheduled retry leave, on the console and in the
  run history (`mainspring flow-run logs <id>`);
- `return_state=True` to look at the final state instead of raising on failure.

The failure is deterministic (an attempt counter), so the output is the same on every run.
Usage: `python examples/flaky_source.py`.
"""

from __future__ import annotations

import sys

from mainspring import flow, get_run_logger, task

FAILING_ATTEMPTS = 2
attempts = 0  # counts calls in this process; a real source would be a service that recovers


@task(retries=3, retry_delay_seconds=[0.1, 0.2, 0.4])
def read_flaky_source() -> list[int]:
    """Fail the first two attempts the way a service that is still starting up would."""
    global attempts
    attempts += 1
    logger = get_run_logger()
    if attempts <= FAILING_ATTEMPTS:
        logger.warning("Attempt %d: source not ready yet", attempts)
        raise ConnectionError(f"source unavailable (attempt {attempts})")
    logger.info("Attempt %d: source answered", attempts)
    return [3, 1, 4, 1, 5, 9, 2, 6]


@task
def total(values: list[int]) -> int:
    return sum(values)


@flow
def flaky_pipeline() -> int:
    """Read from the flaky source (retried until it answers), then sum what it returned."""
    return total(read_flaky_source())


if __name__ == "__main__":
    state = flaky_pipeline(return_state=True)
    print(f"Final state: {state.name}")
    print(f"Attempts: {attempts}")
    print(f"Result: {state.result(raise_on_failure=False)}")
    sys.exit(0 if state.is_completed() else 1)
