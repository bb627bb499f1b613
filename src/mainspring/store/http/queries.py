"""A flow-run filter as the query parameters of `GET /api/flow_runs`.

Apart from ApiStore's requests: the mapping of every filter field to its parameter, and the
checks that keep a filter the server cannot match from costing a request.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from mainspring.model import FlowRunFilter
from mainspring.store.http import wire

#: A run id the server could hold; anything else matches nothing, without a request.
is_run_id = re.compile(wire.ID_PATTERN.strip("^$")).fullmatch


def path_segment(text: str) -> str:
    """`text` (an id or a name) as one segment of a URL path: a `/` or `?` in it stays in it."""
    return quote(text, safe="")


def _query_time(value: datetime, field: str) -> str:
    if not isinstance(value, datetime):
        raise TypeError(f"{field} must be a datetime, got {type(value).__name__}")
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return aware.isoformat()


def filter_params(filter: FlowRunFilter | None) -> list[tuple[str, Any]] | None:
    """Query parameters for `filter`; None when it can match nothing the server holds."""
    params: list[tuple[str, Any]] = []
    if filter is None:
        return params
    filter.state_types_and_names()  # an unknown state word raises ValueError, as SqlStore does
    params += [("flow_name", n) for n in filter.flow_names]
    params += [("state", s) for s in filter.states]
    params += [("tag", t) for t in dict.fromkeys(filter.tags)]
    if filter.ids:
        ids = [i for i in filter.ids if is_run_id(i)]
        if not ids:
            return None
        params += [("id", i) for i in ids]
    if filter.parent_flow_run_id is not None:
        if not is_run_id(filter.parent_flow_run_id):
            return None
        params.append(("parent_flow_run_id", filter.parent_flow_run_id))
    if filter.deployment_ids:
        ids = [i for i in filter.deployment_ids if is_run_id(i)]
        if not ids:
            return None
        params += [("deployment_id", i) for i in ids]
    if filter.name_contains:
        params.append(("name", filter.name_contains))
    if filter.started_after is not None:
        params.append(("started_after", _query_time(filter.started_after, "started_after")))
    if filter.started_before is not None:
        params.append(("started_before", _query_time(filter.started_before, "started_before")))
    return params
