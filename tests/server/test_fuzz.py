"""Schemathesis fuzzes the API from its own OpenAPI document, in-process (ASGI).

Bounded so it stays CI-fast: a few dozen generated requests per operation. Every response must
be a non-5xx that conforms to the documented schema (status code, content type, body).

The schema is loaded at import (schemathesis parametrizes at collection time; its fixture-based
loader does not support pytest 9), over a store in a temporary folder removed at module end.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from mainspring.model import new_id
from mainspring.server.app import create_app
from mainspring.server.auth import create_api_key
from mainspring.store.sql import SqlStore

from .conftest import flow_run, write_runs

_folder = Path(tempfile.mkdtemp(prefix="mainspring-fuzz-"))
_store = SqlStore(f"sqlite:///{_folder / 'mainspring.db'}")  # opened on first request
# No background services: the crash detector's thread would open (and migrate) the store while
# collection goes on importing other test modules; importing alembic in two threads at once can
# meet a half-initialized module. The detector has its own tests.
schema = schemathesis.openapi.from_asgi("/api/openapi.json", create_app(_store, services=False))
#: With a key in the database the server requires one: the fuzzer checks that requests
#: without it, or with a made-up one, are refused, and sends this one otherwise.
_key: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def _history() -> Iterator[None]:
    write_runs(_store, flow_run("etl"), flow_run("report"))
    _key.append(create_api_key(_store, "fuzzer")[1])
    yield
    _store.close()
    shutil.rmtree(_folder, ignore_errors=True)


#: Bodies whose text the model reads (a cron expression, a time zone, an rrule, a JSON schema)
#: or checks against what is stored (a run's parameters against its flow's schema): a body
#: that fits the OpenAPI document may still be a (documented) 422 naming the field.
CHECKED_BEYOND_THE_SCHEMA = {
    ("POST", "/api/deployments"),
    ("POST", "/api/deployments/{deployment_id}/runs"),
    ("POST", "/api/automations"),  # a trigger's or action's fields depend on its type
    ("POST", "/api/events"),  # types starting "mainspring." are the server's own
    ("POST", "/api/artifacts"),  # what `data` must be depends on `type` (a link needs a URL)
    ("POST", "/api/work_pools"),  # a job template's variables are those of the pool's type
}


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_and_never_fails(case: schemathesis.Case) -> None:
    excluded = []
    if case.operation.query:
        # Unknown query parameters are ignored, as by most HTTP APIs; schemathesis counts a
        # request with made-up ones (`?=&x=null`) as schema-violating data to be refused.
        excluded.append(negative_data_rejection)
    if (case.operation.method.upper(), case.operation.path) in CHECKED_BEYOND_THE_SCHEMA:
        excluded.append(positive_data_acceptance)
    wait = case.body.get("wait") if isinstance(case.body, dict) else None
    if isinstance(wait, int | float) and not isinstance(wait, bool) and 0.2 < wait <= 30:
        # a claim's long poll may last its `wait` (up to 30 s): the fuzzer's timeout is 10 s
        case.body["wait"] = 0.2
    case.call_and_validate(headers={"Authorization": f"Bearer {_key[0]}"}, excluded_checks=excluded)


# -- hostile bodies the generator would not think of ---------------------------------------------
# Raw JSON text (bytes are sent as they are): NaN and 1e400 are not valid JSON, which the
# generator never writes, yet a client may send them; nesting past every parser's limit; numbers
# JSON text can spell but no double holds. Each must be a documented 4xx, never a 5xx.
def _batch(state: str = '{"type": "RUNNING"}', parameters: str = "{}") -> bytes:
    run = f'"id": "{new_id()}", "name": "r", "flow_name": "f", "state": {state}'
    return f'{{"flow_runs": [{{{run}, "parameters": {parameters}}}]}}'.encode()


_TAG = '{"__mainspring__": "int", "value": "x"}'
_leaves = st.sampled_from(
    ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" + "0" * 400, _TAG, '"t"', "null", "2"]
)
_values = st.recursive(
    _leaves,
    lambda inner: (
        st.lists(inner, max_size=3).map(lambda v: f"[{', '.join(v)}]")
        | st.dictionaries(st.sampled_from(["a", "__mainspring__", "value"]), inner, max_size=3).map(
            lambda d: "{" + ", ".join(f'"{k}": {v}' for k, v in d.items()) + "}"
        )
    ),
    max_leaves=8,
)


@given(
    value=_values,
    depth=st.sampled_from([0, 99, 100, 101, 260, 1100, 5000]),
    timestamp=st.sampled_from(["NaN", "1e400", "-1e400", "Infinity", "1700000000"]),
)
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_hostile_json_is_a_4xx_never_a_5xx(value: str, depth: int, timestamp: str) -> None:
    nested = "[" * depth + value + "]" * depth
    headers = {"Authorization": f"Bearer {_key[0]}"}
    bodies = [
        _batch(parameters=f'{{"x": {nested}}}'),
        _batch(state=f'{{"type": "RUNNING", "timestamp": {timestamp}}}'),
    ]
    for body in bodies:
        case = schema["/api/batches"]["POST"].Case(body=body, media_type="application/json")
        response = case.call_and_validate(headers=headers)
        assert response.status_code in (200, 422), response.text[:500]
    case = schema["/api/flow_runs/{flow_run_id}/set_state"]["POST"].Case(
        path_parameters={"flow_run_id": new_id()},
        body=f'{{"state": {{"type": "RUNNING", "timestamp": {timestamp}}}}}'.encode(),
        media_type="application/json",
    )
    response = case.call_and_validate(headers=headers)
    assert response.status_code in (404, 422), response.text[:500]
