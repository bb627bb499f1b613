"""Task runners: where submitted task runs execute.

The engine hands a runner a zero-argument callable that drives one task run from Pending to a
final state and returns it; the runner returns a `concurrent.futures.Future` of that state.
A runner may also supply `invoke`, which replaces the direct call of the task's function: the
process pool and the cluster runners (remote.py: the base of the Dask and Ray runners in
mainspring.integrations) use it so that only the user's function crosses the process boundary,
while the run's lifecycle (states, retries, hooks, logs) stays in the flow's process.
"""

from mainspring.engine.runners.base import TaskRunner
from mainspring.engine.runners.process import ProcessPoolTaskRunner
from mainspring.engine.runners.thread import ThreadPoolTaskRunner

__all__ = ["ProcessPoolTaskRunner", "TaskRunner", "ThreadPoolTaskRunner"]
