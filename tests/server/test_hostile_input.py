"""Hostile input through a real server (uvicorn, `mainspring server start`) and the real CLI:
values JSON cannot carry read back, bad bodies are 4xx naming the field (never a 500), error
answers keep the keep-alive connection usable, bodies over the size cap are a 413, and 422s
do not echo their input back."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from mainspring.model import LogRecord, new_id
from mainspring.store import json_values
from mainspring.store.base import Batch
from mainspring.store.http.store import PARAMETERS_NOT_SENT, ApiStore
from mainspring.store.http.wire import MAX_TEXT
from mainspring.store.sql import SqlStore

from .conftest import T0, Server, cli, flow_run, server_env, start_server, stop_server

pytestmark = pytest.mark.slow

FLOW = textwrap.dedent(
    """
    import math, sys
    from mainspring import flow

    @flow(name="awkward")
    def awkward(n: int, x: float, nested: dict) -> int:
        return 1

    if __name__ == "__main__":
        awkward(10**400, math.nan, {"inf": -math.inf, "big": [2**70 + 1]})
    """
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, server_home: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{server_home / 'mainspring.db'}"
    return request.getfixturevalue("postgres_database")


@pytest.fixture
def served(server_home: Path, database_url: str) -> Iterator[Server]:
    running = start_server(server_env(server_home, database_url))
    try:
        yield running
    finally:
        stop_server(running.process)


def _run_flow(env: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "awkward_flow.py"
    script.write_text(FLOW)
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def _unwrapped(text: str) -> str:
    """A table's text without the line breaks and padding rich puts into a long value."""
    return "".join(text.split())


def test_huge_ints_and_nan_parameters_read_back_everywhere(
    served: Server, database_url: str, tmp_path: Path
) -> None:
    """f(10**400, nan) recorded embedded and through the server: `flow-run ls` and `inspect`
    (on the database and through the API) and GET /api/flow_runs show the values."""
    embedded = server_env(tmp_path / "embedded-home", database_url)
    remote = server_env(tmp_path / "client-home")
    remote["MAINSPRING_API_URL"] = served.url
    for env in (embedded, remote):
        env["COLUMNS"] = "250"
        _run_flow(env, tmp_path)

    with served.client() as http:
        answer = http.get("/flow_runs", params={"flow_name": "awkward"})
    assert answer.status_code == 200, answer.text
    runs = answer.json()["items"]
    assert len(runs) == 2
    for run in runs:
        assert run["parameters"]["n"] == {"__mainspring__": "int", "value": "1" + "0" * 400}
        assert run["parameters"]["x"] == {"__mainspring__": "float", "value": "nan"}
        parameters = json_values.decode(run["parameters"])
        assert parameters["nested"] == {"inf": float("-inf"), "big": [2**70 + 1]}

    for env in (embedded, remote):
        listed = cli(env, "flow-run", "ls")
        assert listed.returncode == 0, listed.stderr
        assert all(run["id"] in listed.stdout for run in runs)
        for run in runs:
            inspected = cli(env, "flow-run", "inspect", run["id"])
            assert inspected.returncode == 0, inspected.stderr
            assert "1" + "0" * 400 in _unwrapped(inspected.stdout)
            assert "NaN" in inspected.stdout and "-Infinity" in inspected.stdout


def test_a_row_planted_by_older_code_does_not_break_listing(
    served: Server, database_url: str, tmp_path: Path
) -> None:
    """A bare 10**400 in the parameters' JSON text (what older versions wrote, and what any
    writer to the database can leave) is read, not a 500 or a traceback."""
    store = SqlStore(database_url)
    run = flow_run("planted")
    store.write(Batch(flow_runs={run.id: run}))
    engine = store.engine()
    value = "CAST(:p AS jsonb)" if engine.dialect.name == "postgresql" else ":p"
    with engine.begin() as conn:
        conn.execute(
            sa.text(f"UPDATE flow_run SET parameters = {value} WHERE id = :id"),
            {"p": '{"n": 1' + "0" * 400 + "}", "id": run.id},
        )
    store.close()

    with served.client() as http:
        answer = http.get("/flow_runs")
        assert answer.status_code == 200, answer.text
        (item,) = answer.json()["items"]
        assert json_values.decode(item["parameters"]) == {"n": 10**400}
        assert http.get(f"/flow_runs/{run.id}").status_code == 200
    remote = server_env(tmp_path / "client-home")
    remote["MAINSPRING_API_URL"] = served.url
    for env in (server_env(tmp_path / "local-home", database_url), remote):
        listed = cli(env, "flow-run", "ls")
        assert listed.returncode == 0 and run.id in listed.stdout, listed.stderr
        inspected = cli(env, "flow-run", "inspect", run.id)
        assert inspected.returncode == 0, inspected.stderr
        assert "1" + "0" * 400 in _unwrapped(inspected.stdout)


# -- one keep-alive connection ------------------------------------------------------------------
class Connection:
    """One HTTP/1.1 connection to the server, kept alive across requests: `exchange` fails if
    the server closed it after the previous answer."""

    def __init__(self, server: Server) -> None:
        url = urlsplit(server.url)
        self.prefix = url.path
        self.http = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        self.socket: Any = None

    def exchange(
        self, method: str, path: str, body: bytes | Iterable[bytes] | None = None
    ) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"}
        chunked = body is not None and not isinstance(body, bytes)
        self.http.request(
            method, self.prefix + path, body=body, headers=headers, encode_chunked=chunked
        )
        response = self.http.getresponse()
        content = response.read()
        if self.socket is None:
            self.socket = self.http.sock
        assert self.http.sock is self.socket, "the server closed the keep-alive connection"
        assert response.getheader("connection") != "close"
        return response.status, content

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def connection(server: Server) -> Iterator[Connection]:
    c = Connection(server)
    yield c
    c.close()


def _run_body(**fields: Any) -> str:
    run = {"id": new_id(), "name": "r", "flow_name": "f", "state": {"type": "RUNNING"}}
    return json.dumps({"flow_runs": [{**run, **fields}]})


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


#: Bodies of POST /api/batches and the field each 422 must name.
HOSTILE = {
    "parameters nested 5,000 deep": (
        _run_body().replace('"state"', '"parameters": {"x": ' + _nested(5000) + '}, "state"'),
        ["body", "flow_runs", 0, "parameters", "x"],
    ),
    "parameters nested 300 deep": (
        _run_body().replace('"state"', '"parameters": {"x": ' + _nested(300) + '}, "state"'),
        ["body", "flow_runs", 0, "parameters", "x"],
    ),
    "parameters nested 150 deep": (  # (which msgspec and pydantic parse)
        _run_body().replace('"state"', '"parameters": {"x": ' + _nested(150) + '}, "state"'),
        ["body", "flow_runs", 0, "parameters"],
    ),
    "a NaN parameter": (
        _run_body().replace('"state"', '"parameters": {"x": NaN}, "state"'),
        ["body", "flow_runs", 0, "parameters"],
    ),
    "a 1e400 parameter": (
        _run_body().replace('"state"', '"parameters": {"x": [1e400]}, "state"'),
        ["body", "flow_runs", 0, "parameters"],
    ),
    "a malformed tag": (
        _run_body(parameters={"x": {"__mainspring__": "int", "value": "ten"}}),
        ["body", "flow_runs", 0, "parameters"],
    ),
    "an integer of 5,000 digits": (
        _run_body().replace('"state"', '"parameters": {"x": ' + "1" * 5000 + '}, "state"'),
        ["body", "flow_runs", 0, "parameters", "x"],
    ),
    "a NaN state timestamp": (
        _run_body().replace('"RUNNING"}', '"RUNNING", "timestamp": NaN}'),
        ["body", "flow_runs", 0, "state", "RUNNING", "timestamp"],
    ),
    "a 1e400 state timestamp": (
        _run_body().replace('"RUNNING"}', '"RUNNING", "timestamp": 1e400}'),
        ["body", "flow_runs", 0, "state", "RUNNING", "timestamp"],
    ),
}


def test_hostile_bodies_are_422s_naming_the_field_on_one_connection(
    connection: Connection, server: Server
) -> None:
    for label, (body, field) in HOSTILE.items():
        status, content = connection.exchange("POST", "/batches", body.encode())
        assert status == 422, (label, content[:500])
        locations = [error["loc"][: len(field)] for error in json.loads(content)["detail"]]
        assert field in locations, (label, content[:500])
        assert connection.exchange("GET", "/health")[0] == 200, label
    with server.client() as http:
        run_id = http.get("/flow_runs").json()["items"]
    assert run_id == []  # nothing of it stored
    # set_state takes a timestamp too; an unknown run is looked up only once the body is valid
    for timestamp in ("NaN", "1e400", "-Infinity"):
        body = '{"state": {"type": "RUNNING", "timestamp": ' + timestamp + "}}"
        status, content = connection.exchange(
            "POST", f"/flow_runs/{new_id()}/set_state", body.encode()
        )
        assert status == 422, content[:500]
        assert ["body", "state", "RUNNING", "timestamp"] in [
            e["loc"] for e in json.loads(content)["detail"]
        ]


def test_a_422_shows_a_preview_of_the_input_not_the_input(connection: Connection) -> None:
    """A refused 1 MB log message is not sent back."""
    log = {"level": 20, "logger": "l", "message": "m" * (MAX_TEXT + 1), "timestamp": T0}
    status, content = connection.exchange("POST", "/batches", json.dumps({"logs": [log]}).encode())
    assert status == 422
    assert len(content) < 2000, len(content)
    (error,) = json.loads(content)["detail"]
    assert error["loc"] == ["body", "logs", 0, "message"]
    assert error["input"].startswith("mmmm") and error["input"].endswith("more characters)")


def _known_run(connection: Connection) -> str:
    body = _run_body()
    assert connection.exchange("POST", "/batches", body.encode())[0] == 200
    return str(json.loads(body)["flow_runs"][0]["id"])


#: set_state bodies (raw JSON: lone surrogates and NUL escaped) and the field each 422 names.
SET_STATE = {
    "a NUL in the message": ('{"message": "a\\u0000b"}', "message"),
    "a lone surrogate in the message": ('{"message": "file x\\udcff.csv"}', "message"),
    "lone surrogates and a time past 9999": (
        '{"message": "\\ud8ad\\ud858", "timestamp": 2.925039449053749e+27}',
        "timestamp",
    ),
    "a time before year 1": ('{"timestamp": -1e20}', "timestamp"),
    "-Infinity": ('{"message": "\\udcff", "timestamp": -Infinity}', "timestamp"),
    "a lone surrogate as a key": ('{"\\udcff": 1}', "RUNNING"),  # (the state's object)
}


@pytest.mark.parametrize("label", list(SET_STATE))
def test_set_state_with_unstorable_text_or_an_impossible_time_is_a_422(
    connection: Connection, label: str
) -> None:
    """On the old code a lone surrogate anywhere in the body made the 422 itself fail to
    render (its preview of the input could not be encoded as UTF-8): a 500 (chaos suite)."""
    run_id = _known_run(connection)
    fields, field = SET_STATE[label]
    body = '{"state": {"type": "RUNNING", ' + fields[1:] + "}"
    status, content = connection.exchange("POST", f"/flow_runs/{run_id}/set_state", body.encode())
    assert status == 422, (label, content[:500])
    locations = [error["loc"] for error in json.loads(content)["detail"]]
    assert any(loc[-1] == field for loc in locations), (label, locations)
    content.decode("utf-8")  # the preview of the input is valid UTF-8 (U+FFFD where needed)
    assert connection.exchange("GET", "/health")[0] == 200


def test_the_server_still_answers_after_rounds_of_hostile_batches(served: Server) -> None:
    """The chaos helper's sequence (issue 10): parameters nested deep, then 1e400 as a state and
    a log timestamp, then a huge integer; the server once stopped answering even /health after
    a few such batches. Sent on one keep-alive connection and on fresh ones."""
    log = '{"level": 20, "logger": "l", "message": "m", "timestamp": 1e400}'
    sequence = [
        _run_body().replace('"state"', '"parameters": {"x": ' + _nested(1500) + '}, "state"'),
        _run_body().replace('"RUNNING"}', '"RUNNING", "timestamp": 1e400}'),
        '{"logs": [' + log + "]}",
        _run_body().replace('"state"', '"parameters": {"x": ' + str(10**400) + '}, "state"'),
    ]
    kept = Connection(served)
    try:
        for _ in range(5):
            for body in sequence:
                assert kept.exchange("POST", "/batches", body.encode())[0] in (200, 422)
                fresh = Connection(served)
                try:
                    assert fresh.exchange("POST", "/batches", body.encode())[0] in (200, 422)
                finally:
                    fresh.close()
        assert kept.exchange("GET", "/health")[0] == 200
    finally:
        kept.close()
    with served.client() as http:
        assert http.get("/health", timeout=10).status_code == 200
        assert http.get("/flow_runs").status_code == 200


# -- the request size cap -------------------------------------------------------------------------
CAP = 200_000


@pytest.fixture
def capped(server_home: Path, database_url: str) -> Iterator[Server]:
    env = server_env(server_home, database_url)
    env["MAINSPRING_SERVER_MAX_REQUEST_BYTES"] = str(CAP)
    running = start_server(env)
    try:
        yield running
    finally:
        stop_server(running.process)


def test_bodies_over_the_cap_are_413s_and_the_connection_survives(capped: Server) -> None:
    connection = Connection(capped)
    try:
        big = _run_body(parameters={"blob": "x" * CAP}).encode()
        status, content = connection.exchange("POST", "/batches", big)  # Content-Length
        assert status == 413 and b"MAINSPRING_SERVER_MAX_REQUEST_BYTES" in content
        assert connection.exchange("GET", "/health")[0] == 200
        chunks = (big[i : i + 10_000] for i in range(0, len(big), 10_000))
        status, content = connection.exchange("POST", "/batches", chunks)  # chunked, no length
        assert status == 413 and str(CAP).encode() in content
        assert connection.exchange("GET", "/health")[0] == 200
        small = _run_body(parameters={"blob": "x" * 1000}).encode()
        assert connection.exchange("POST", "/batches", small)[0] == 200
    finally:
        connection.close()


def test_the_client_splits_batches_below_the_servers_cap(capped: Server, database_url: str) -> None:
    """ApiStore, configured for a larger cap than the server's, halves a refused batch until its
    parts fit; a flow run too large alone is stored with a note instead of its parameters."""
    store = ApiStore(capped.url, max_request_bytes=16 * 2**20)
    run = flow_run("split")
    logs = [LogRecord(run.id, None, 20, "l", f"{i} " + "y" * 2000, T0 + i) for i in range(300)]
    store.write(Batch(flow_runs={run.id: run}, logs=logs))  # ~600 kB in all
    huge = flow_run("huge", parameters={"blob": "z" * CAP})
    store.write(Batch(flow_runs={huge.id: huge}))
    store.close()

    sql = SqlStore(database_url)
    try:
        assert len(sql.read_logs(run.id)) == 300
        assert sql.read_flow_run(run.id).flow_name == "split"
        note = sql.read_flow_run(huge.id).parameters
        assert list(note) == [PARAMETERS_NOT_SENT] and "bytes of JSON" in note[PARAMETERS_NOT_SENT]
    finally:
        sql.close()


# -- the last resort ------------------------------------------------------------------------------
@pytest.fixture
def failing_server(tmp_path: Path) -> Iterator[Server]:
    """The real app under uvicorn, with one route that fails as no route should."""
    import threading

    import uvicorn

    from mainspring.server.app import create_app
    from mainspring.testing import free_port

    store = SqlStore(f"sqlite:///{tmp_path / 'mainspring.db'}")
    app = create_app(store, services=False)

    @app.get("/api/broken")
    def broken() -> None:
        raise RuntimeError("a bug no handler expects")

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.05)
    try:
        yield Server(f"http://127.0.0.1:{port}/api", {}, None)  # type: ignore[arg-type]
    finally:
        server.should_exit = True
        thread.join(10)
        store.close()


def test_an_unexpected_error_is_a_json_500_and_the_connection_survives(
    failing_server: Server,
) -> None:
    connection = Connection(failing_server)
    try:
        status, content = connection.exchange("GET", "/broken")
        assert status == 500
        assert json.loads(content) == {"detail": "Internal server error."}  # no traceback
        assert connection.exchange("GET", "/health")[0] == 200
    finally:
        connection.close()
