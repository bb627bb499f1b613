"""What ApiStore does not offer of `RunChangeFeed`: it is the web UI's live run page's, which
runs in the server over its database; a client asking gets `NeedsDatabase`."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

from mainspring.model.run_changes import RunChanges, TaskRunMark
from mainspring.store.run_changes import SCAN, RunChangeFeed


class ApiRunChangeFeed(RunChangeFeed):
    if TYPE_CHECKING:

        def _needs_database(self, what: str) -> NoReturn: ...  # ServerOnly's

    def change_cursor(self) -> int:
        self._needs_database("Following a flow run's changes (the web UI's)")

    def read_task_run_marks(self, flow_run_id: str) -> list[TaskRunMark]:
        self._needs_database("Tallying a flow run's task runs (the web UI's)")

    def read_run_changes(self, flow_run_id: str, after: int, limit: int = SCAN) -> RunChanges:
        self._needs_database("Following a flow run's changes (the web UI's)")
