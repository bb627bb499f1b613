"""What ApiStore does not offer of `TaskRunSummaries`: they are the web UI's run pages',
which run in the server over its database; a client asking gets `NeedsDatabase`."""

from __future__ import annotations

from mainspring.model import TaskRun, TaskRunEdge
from mainspring.model.task_groups import TaskGroup, TaskLink
from mainspring.store.http.server_calls import ServerCalls
from mainspring.store.task_run_summaries import TaskRunSummaries


class ApiTaskRunSummaries(TaskRunSummaries, ServerCalls):
    def read_task_groups(self, flow_run_id: str) -> list[TaskGroup]:
        self._needs_database("Grouping a flow run's task runs (the web UI's)")

    def read_task_runs_page(
        self, flow_run_id: str, task_name: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[TaskRun]:
        self._needs_database("Reading a page of task runs (the web UI's)")

    def read_task_links(self, flow_run_id: str) -> list[TaskLink]:
        self._needs_database("Counting a flow run's edges by task (the web UI's)")

    def read_task_run_edges(self, task_run_id: str, limit: int = 100) -> list[TaskRunEdge]:
        self._needs_database("Reading a task run's edges (the web UI's)")
