"""The TaskRunSummaries protocol: a flow run's task runs summed up and a page at a time.

Apart from `Store` because only the web UI's run pages need them: reading every task run of
a run of 10,000 costs ~40 µs a row (0.4 s), where these are a GROUP BY and a page each, so
the page stays under 100 ms (benchmarks/ui_run_page.py). `SqlStore` implements them
(store/sql/task_run_summaries.py); `ApiStore` raises `NeedsDatabase` (the UI runs in the
server, on its database).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from mainspring.model import TaskRun, TaskRunEdge
from mainspring.model.task_groups import TaskGroup, TaskLink

__all__ = ["TaskRunSummaries"]


class TaskRunSummaries(ABC):
    @abstractmethod
    def read_task_groups(self, flow_run_id: str) -> list[TaskGroup]:
        """The flow run's task runs grouped by task name, each with its count by state
        type and its span; ordered by their first task run's creation."""

    @abstractmethod
    def read_task_runs_page(
        self, flow_run_id: str, task_name: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[TaskRun]:
        """A page of the flow run's task runs (of `task_name` only, when given), in the order
        `read_task_runs` gives them."""

    @abstractmethod
    def read_task_links(self, flow_run_id: str) -> list[TaskLink]:
        """The flow run's edges counted by (upstream task, downstream task, kind); edges
        between runs of one task are counted too."""

    @abstractmethod
    def read_task_run_edges(self, task_run_id: str, limit: int = 100) -> list[TaskRunEdge]:
        """The edges into and out of one task run (its inputs' sources and its users), at
        most `limit` of each."""
