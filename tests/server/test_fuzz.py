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
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection

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


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_and_never_fails(case: schemathesis.Case) -> None:
    excluded = []
    if case.operation.query:
        # Unknown query parameters are ignored, as by most HTTP APIs; schemathesis counts a
        # request with made-up ones (`?=&x=null`) as schema-violating data to be refused.
        excluded.append(negative_data_rejection)
    case.call_and_validate(headers={"Authorization": f"Bearer {_key[0]}"}, excluded_checks=excluded)
