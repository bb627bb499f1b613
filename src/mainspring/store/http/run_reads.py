"""ApiRunReads: the run history's reads of the Store protocol over the server's REST API
(flows, flow runs, task runs, states, logs, edges), mixed into ApiStore.

An id the server could not hold reads as nothing without a request; long lists are read in
pages of the server's list endpoints.
"""

from __future__ import annotations

from typing import Any

from mainspring.exceptions import ObjectNotFound
from mainspring.model import (
    FlowRecord,
    FlowRun,
    FlowRunFilter,
    FlowRunSort,
    LogRecord,
    StateRecord,
    TaskRun,
    TaskRunEdge,
)
from mainspring.store.base import check_page
from mainspring.store.http import wire
from mainspring.store.http.queries import filter_params, is_run_id
from mainspring.store.http.queries import path_segment as _q
from mainspring.store.http.server_calls import ServerCalls

#: Page sizes of the server's list endpoints.
RUNS_PAGE = 1000
LOGS_PAGE = 10_000
#: Ids the server accepts in a path; anything else cannot name a stored object.
_ID = is_run_id


class ApiRunReads(ServerCalls):
    """The history-reading half of ApiStore; needs its `_json`."""

    def read_flows(self) -> list[FlowRecord]:
        return [wire.flow_from_json(d) for d in self._json("/flows")]

    def read_flow_run(self, flow_run_id: str) -> FlowRun:
        found = _ID(flow_run_id) and self._json(f"/flow_runs/{_q(flow_run_id)}", missing=None)
        if not found:
            raise ObjectNotFound(f"No flow run with id {flow_run_id!r}")
        return wire.flow_run_from_json(found)

    def read_flow_runs(
        self,
        filter: FlowRunFilter | None = None,
        sort: FlowRunSort = FlowRunSort.START_TIME_DESC,
        limit: int = 100,
        offset: int = 0,
    ) -> list[FlowRun]:
        check_page(limit, offset)
        params = filter_params(filter)
        if params is None:
            return []
        params.append(("sort", FlowRunSort(sort).value))
        runs: list[FlowRun] = []
        while len(runs) < limit:
            size = min(RUNS_PAGE, limit - len(runs))
            page = self._json(
                "/flow_runs", [*params, ("limit", size), ("offset", offset + len(runs))]
            )
            runs.extend(wire.flow_run_from_json(d) for d in page["items"])
            if len(page["items"]) < size:
                break
        return runs

    def count_flow_runs(self, filter: FlowRunFilter | None = None) -> int:
        params = filter_params(filter)
        if params is None:
            return 0
        return int(self._json("/flow_runs", [*params, ("limit", 0)])["count"])

    def read_task_run(self, task_run_id: str) -> TaskRun:
        found = _ID(task_run_id) and self._json(f"/task_runs/{_q(task_run_id)}", missing=None)
        if not found:
            raise ObjectNotFound(f"No task run with id {task_run_id!r}")
        return wire.task_run_from_json(found)

    def read_task_runs(self, flow_run_id: str) -> list[TaskRun]:
        if not _ID(flow_run_id):
            return []
        found = self._json(f"/flow_runs/{_q(flow_run_id)}/task_runs", missing=[])
        return [wire.task_run_from_json(d) for d in found]

    def read_states(self, run_id: str) -> list[StateRecord]:
        if not _ID(run_id):
            return []
        found = self._json(f"/flow_runs/{_q(run_id)}/states", missing=None)
        if found is None:  # not a flow run: a task run, or nothing
            found = self._json(f"/task_runs/{_q(run_id)}/states", missing=[])
        return [wire.timeline_entry_from_json(d) for d in found]

    def read_logs(
        self,
        flow_run_id: str,
        task_run_id: str | None = None,
        min_level: int = 0,
        limit: int = 10_000,
        offset: int = 0,
    ) -> list[LogRecord]:
        check_page(limit, offset)
        if not _ID(flow_run_id) or (task_run_id is not None and not _ID(task_run_id)):
            return []
        params: list[tuple[str, Any]] = [("min_level", max(0, min(int(min_level), 100)))]
        if task_run_id is not None:
            params.append(("task_run_id", task_run_id))
        path = f"/flow_runs/{_q(flow_run_id)}/logs"
        logs: list[LogRecord] = []
        while len(logs) < limit:
            size = min(LOGS_PAGE, limit - len(logs))
            page = self._json(
                path, [*params, ("limit", size), ("offset", offset + len(logs))], missing=[]
            )
            logs.extend(wire.log_from_json(d) for d in page)
            if len(page) < size:
                break
        return logs

    def read_edges(self, flow_run_id: str) -> list[TaskRunEdge]:
        if not _ID(flow_run_id):
            return []
        graph = self._json(f"/flow_runs/{_q(flow_run_id)}/graph", missing={"edges": []})
        return [wire.edge_from_graph_json(flow_run_id, d) for d in graph["edges"]]
