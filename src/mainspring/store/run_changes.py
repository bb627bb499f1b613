"""The RunChangeFeed protocol: what changed in a flow run since a cursor, for its live page.

Apart from `Store` because only the web UI's run page needs it. The cursor is the id of the
newest state row (`state_history.id`): every state a task run or flow run takes is an
appended row, so "the runs whose state rows came after the cursor" is what changed, read by
the primary key from where the page stopped, whatever the size of the run or the history.
`SqlStore` implements it (store/sql/run_changes.py); `ApiStore` raises `NeedsDatabase`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from mainspring.model.run_changes import RunChanges, TaskRunMark

__all__ = ["SCAN", "RunChangeFeed"]

#: State rows looked at in one read at most (a burst is read over several).
SCAN = 5000


class RunChangeFeed(ABC):
    @abstractmethod
    def change_cursor(self) -> int:
        """The cursor of now: changes made after this call are read from it."""

    @abstractmethod
    def read_task_run_marks(self, flow_run_id: str) -> list[TaskRunMark]:
        """Every task run of the flow run, as few columns as a live page counts them by."""

    @abstractmethod
    def read_run_changes(self, flow_run_id: str, after: int, limit: int = SCAN) -> RunChanges:
        """The flow run's task runs and subflow runs whose state changed after the cursor
        `after` (each as it is now, in creation order), looking at `limit` state rows at
        most.

        On PostgreSQL, a row can become visible after a later one (transactions commit out
        of order), so a change may be missed until the run's next one; a page reads the run
        whole once it has finished."""
