"""What ApiStore does not offer of `RunInsights`: the overviews' aggregates are the web UI's,
which runs in the server over its database; a client asking gets `NeedsDatabase`."""

from __future__ import annotations

from collections.abc import Sequence

from mainspring.model import FlowRun, FlowRunFilter, StateType
from mainspring.model.deployments import DeploymentRun
from mainspring.model.insights import FlowStats, RunPoint, StateBucket
from mainspring.store.http.server_calls import ServerCalls
from mainspring.store.insights import RunInsights


class ApiInsights(RunInsights, ServerCalls):
    def count_flow_runs_by_state(
        self, since: float, until: float, buckets: int
    ) -> list[StateBucket]:
        self._needs_database("Counting flow runs by state (the web UI's)")

    def count_task_runs_by_state(self, since: float, until: float) -> dict[StateType, int]:
        self._needs_database("Counting task runs by state (the web UI's)")

    def count_task_runs_of(self, flow_run_ids: Sequence[str]) -> dict[str, dict[StateType, int]]:
        self._needs_database("Counting task runs by flow run (the web UI's)")

    def read_flow_stats(
        self, since: float | None = None, flow_name: str | None = None
    ) -> list[FlowStats]:
        self._needs_database("Reading flow statistics (the web UI's)")

    def read_run_points(self, filter: FlowRunFilter | None, limit: int) -> list[RunPoint]:
        self._needs_database("Reading run durations (the web UI's)")

    def read_recent_failures(self, since: float, limit: int) -> list[FlowRun]:
        self._needs_database("Reading recent failures (the web UI's)")

    def read_upcoming_runs(self, limit: int) -> list[DeploymentRun]:
        self._needs_database("Reading upcoming runs (the web UI's)")
