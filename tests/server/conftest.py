"""Server tests: the app in-process over a real store (SQLite and PostgreSQL), and a real
`mainspring server start` process for end-to-end checks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from mainspring.model import FlowRun, State, StateType, TaskRun, new_id
from mainspring.store.base import Batch
from mainspring.store.http import ApiStore
from mainspring.store.sql import SqlStore
from mainspring.testing import free_port

# schemathesis's tests (test_fuzz.py) built in the worker that runs them, not in every one
from .lazy_schemathesis import pytest_pycollect_makeitem, pytest_runtest_protocol  # noqa: F401

with warnings.catch_warnings():  # starlette prefers httpx2 for its TestClient; httpx works
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

T0 = 1_700_000_000.0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'mainspring.db'}"
    return request.getfixturevalue("postgres_database")


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    s = SqlStore(store_url)
    yield s
    s.close()


def make_client(store: SqlStore, **options: Any) -> TestClient:
    from mainspring.server.app import create_app

    options.setdefault("services", False)  # API tests: no crash detector acting on old runs
    return TestClient(create_app(store, **options))


@pytest.fixture
def client(store: SqlStore) -> Iterator[TestClient]:
    with make_client(store) as c:
        yield c


def flow_run(flow: str = "etl", state: StateType = StateType.RUNNING, **fields: Any) -> FlowRun:
    ts = fields.pop("ts", T0)
    fields.setdefault("id", new_id())
    fields.setdefault("name", f"run-{fields['id'][:8]}")
    fields.setdefault("created", ts)
    if state is not StateType.SCHEDULED and state is not StateType.PENDING:
        fields.setdefault("start_time", ts)
    return FlowRun(flow_name=flow, state=State(state, ts=ts), **fields)


def task_run(flow_run_id: str, key: str, state: StateType = StateType.COMPLETED) -> TaskRun:
    return TaskRun(new_id(), key, key.split("-")[0], key, State(state), flow_run_id=flow_run_id)


def write_runs(store: SqlStore, *runs: FlowRun) -> None:
    store.write(Batch(flow_runs={r.id: r for r in runs}))


# -- a real server process -------------------------------------------------------------------
def server_env(home: Path, database_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
    env["MAINSPRING_HOME"] = str(home)
    if database_url:
        env["MAINSPRING_DATABASE_URL"] = database_url
    return env


def cli(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mainspring.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@dataclass
class Server:
    url: str  # http://127.0.0.1:PORT/api
    env: dict[str, str]
    process: subprocess.Popen

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def start_server(env: dict[str, str], *args: str, port: int | None = None) -> Server:
    """`mainspring server start` on `port` (default: a free one); returns once /api/health
    answers."""
    port = port or free_port()
    command = [sys.executable, "-m", "mainspring.cli.main", "server", "start"]
    process = subprocess.Popen(
        [*command, "--port", str(port), *args, "--log-level", "warning"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stdout.read()}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return Server(url, env, process)
        except httpx.TransportError:
            time.sleep(0.05)
    stop_server(process)
    raise RuntimeError("server did not answer /api/health within 30 s")


def stop_server(process: subprocess.Popen) -> str:
    """Stop the server; return what it printed."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is None or process.stdout.closed:
        return ""
    with process.stdout:
        return process.stdout.read()


@pytest.fixture
def server_home(tmp_path: Path) -> Path:
    home = tmp_path / "server-home"
    home.mkdir()
    return home


@pytest.fixture
def server(server_home: Path) -> Iterator[Server]:
    """A real server on the SQLite file of an isolated MAINSPRING_HOME."""
    running = start_server(server_env(server_home))
    try:
        yield running
    finally:
        stop_server(running.process)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A real server process on SQLite, and again on PostgreSQL: for the store contracts run
    through ApiStore."""
    home = tmp_path / "home"
    home.mkdir()
    url = None if request.param == "sqlite" else request.getfixturevalue("postgres_database")
    running = start_server(server_env(home, url))
    try:
        yield running
    finally:
        stop_server(running.process)


@pytest.fixture
def api_store(database_server: Server) -> Iterator[ApiStore]:
    """An ApiStore of `database_server`, without an API key."""
    store = ApiStore(database_server.url, api_key="")
    yield store
    store.close()
