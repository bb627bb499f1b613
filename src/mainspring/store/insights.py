"""The RunInsights protocol: aggregates over the run history, for overviews.

Apart from `Store` (store/base.py) because only overviews need them (the web UI's dashboard,
runs and flows pages), never the engine. Each answers in one query bounded by an index, so a
page stays fast with a long history (benchmarks/ui_pages.py). `SqlStore` implements them
(store/sql/insights.py); `ApiStore` raises `NeedsDatabase` (the UI runs in the server, on
its database). Times are epoch seconds; a run's time is its start, or its creation while it
has not started (the `sort_time` the runs list sorts by).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from mainspring.model import FlowRun, FlowRunFilter, StateType
from mainspring.model.deployments import DeploymentRun
from mainspring.model.insights import FlowStats, RunPoint, StateBucket

__all__ = ["RunInsights"]


class RunInsights(ABC):
    @abstractmethod
    def count_flow_runs_by_state(
        self, since: float, until: float, buckets: int
    ) -> list[StateBucket]:
        """Flow runs whose time is in [since, until), counted by state type in `buckets`
        equal slices of that window (bucket 0 first); only non-zero counts are listed.
        ValueError unless since < until and 1 <= buckets <= 1000."""

    @abstractmethod
    def count_task_runs_by_state(self, since: float, until: float) -> dict[StateType, int]:
        """Task runs created in [since, until), by state type (only non-zero counts)."""

    @abstractmethod
    def count_task_runs_of(self, flow_run_ids: Sequence[str]) -> dict[str, dict[StateType, int]]:
        """For each of these flow runs that has task runs: how many, by state type."""

    @abstractmethod
    def read_flow_stats(
        self, since: float | None = None, flow_name: str | None = None
    ) -> list[FlowStats]:
        """Per flow with runs whose time is at or after `since` (all history when None): the
        runs counted by outcome, and the latest; by flow name. `flow_name`: that flow only
        (an empty list when it has no runs in the window)."""

    @abstractmethod
    def read_run_points(self, filter: FlowRunFilter | None, limit: int) -> list[RunPoint]:
        """The most recent (by time) `limit` started flow runs matching `filter`, as points
        for a duration chart; a run still going counts until its current state."""

    @abstractmethod
    def read_recent_failures(self, since: float, limit: int) -> list[FlowRun]:
        """The latest `limit` Failed or Crashed flow runs whose time is at or after `since`,
        newest first."""

    @abstractmethod
    def read_upcoming_runs(self, limit: int) -> list[DeploymentRun]:
        """The next `limit` Scheduled runs waiting for a worker, soonest first."""
