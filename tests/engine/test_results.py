"""Persisted results: written to real result storage (a local folder here; S3 through moto's
server when it is installed), read back lazily, in the serializer asked for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from mainspring import flow, task
from mainspring.exceptions import SerializationError
from mainspring.model import StateType
from mainspring.settings import get_settings
from mainspring.store.results.storage import ResultRef, ResultStorage, decode_record, storage_for
from moto_s3 import moto_server

from .support import only_flow_run, subprocess_env, task_runs_by_name


def results_root() -> Path:
    return get_settings().home / "results"


def test_a_flow_that_persists_writes_each_task_result_and_its_own(store):
    @task
    def double(x: int) -> int:
        return 2 * x

    @flow(name="persisting", persist_result=True)
    def persisting() -> int:
        return double(1) + double(2)

    assert persisting() == 6
    run = only_flow_run(store, "persisting")
    root = results_root() / "flow-runs" / run.id
    assert sorted(p.name for p in (root / "tasks").iterdir()) == ["double-0", "double-1"]
    for name, value in (("double-0", 2), ("double-1", 4)):
        assert ResultRef(str(results_root()), f"flow-runs/{run.id}/tasks/{name}").load_result() == (
            value
        )
    assert ResultRef(str(results_root()), f"flow-runs/{run.id}/result").load_result() == 6


def test_without_persistence_nothing_is_written_nor_imported(tmp_path):
    """The default path: no result storage I/O, no caching or fsspec imports."""
    script = tmp_path / "plain.py"
    script.write_text(
        "import sys\n"
        "from mainspring import flow, task\n"
        "@task\ndef one(x): return x\n"
        "@flow\ndef plain(): return one(1)\n"
        "plain()\n"
        "print(sorted(m for m in ('fsspec', 'cloudpickle', 'mainspring.engine.results.caching', "
        "'mainspring.engine.results.storage', 'mainspring.engine.results.persistence') if m in "
        "sys.modules))\n"
    )
    home = tmp_path / "home"
    done = subprocess.run(
        [sys.executable, str(script)], env=subprocess_env(home), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert not (home / "results").exists()  # not even a run manifest: it completed


def test_a_task_can_opt_out_of_its_flows_persistence(store):
    @task(persist_result=False)
    def secret() -> str:
        return "not on disk"

    @flow(name="opt-out", persist_result=True)
    def opt_out() -> None:
        secret()

    opt_out()
    run = only_flow_run(store, "opt-out")
    assert not (results_root() / "flow-runs" / run.id / "tasks").exists()


def test_result_storage_path_and_serializers(tmp_path, store):
    @task(result_storage=str(tmp_path / "json-results"), result_serializer="json")
    def as_json() -> tuple:
        return (1, "two")

    @task(result_storage=tmp_path / "pickled", persist_result=True)
    def as_pickle() -> tuple:
        return (1, "two")

    @flow(name="serializers")
    def serializers() -> tuple:
        return as_json(), as_pickle()

    assert serializers() == ((1, "two"), (1, "two"))
    run = only_flow_run(store, "serializers")
    blob = (tmp_path / "json-results" / "flow-runs" / run.id / "tasks" / "as_json-0").read_bytes()
    header, payload = decode_record(blob)
    assert header["serializer"] == "json"
    assert json.loads(payload) == [1, "two"]  # JSON has no tuples: read back as a list
    storage = str(tmp_path / "json-results")
    assert ResultRef(storage, f"flow-runs/{run.id}/tasks/as_json-0").load_result() == [1, "two"]
    storage = str(tmp_path / "pickled")
    assert ResultRef(storage, f"flow-runs/{run.id}/tasks/as_pickle-0").load_result() == (1, "two")


def test_an_unserializable_result_fails_the_run_naming_task_and_type(store):
    @task(persist_result=True)
    def make_lock():
        return threading.Lock()

    @task(result_serializer="json")
    def make_object():
        return object()

    states = []

    @flow(name="unserializable")
    def unserializable():
        states.extend([make_lock(return_state=True), make_object(return_state=True)])

    unserializable()
    lock_state, object_state = states
    assert lock_state.type is StateType.FAILED
    assert "Task 'make_lock' returned a value of type _thread.lock" in lock_state.message
    assert "cloudpickle serializer" in lock_state.message
    assert object_state.type is StateType.FAILED
    assert "Task 'make_object' returned a value of type object" in object_state.message
    assert "json serializer" in object_state.message
    with pytest.raises(SerializationError, match="make_lock"):
        lock_state.result()
    tasks = task_runs_by_name(store, only_flow_run(store, "unserializable").id)
    assert tasks["make_lock-0"].state.message == lock_state.message


def test_an_unserializable_flow_result_fails_the_flow(store):
    @flow(name="bad-flow-result", persist_result=True)
    def bad_flow_result():
        return threading.Lock()

    state = bad_flow_result(return_state=True)
    assert state.type is StateType.FAILED
    assert "Flow 'bad-flow-result' returned a value of type _thread.lock" in state.message


def test_a_result_ref_loads_lazily_in_another_process(tmp_path):
    storage = storage_for(tmp_path / "store")
    from mainspring.engine.results.storage import persist_value
    from mainspring.store.results.serializers import PickleSerializer

    persist_value(storage, [("some/key", None)], PickleSerializer(), {"a": (1, 2)}, "test")
    ref = ResultRef(storage.url, "some/key")
    code = (
        "import pickle, sys; ref = pickle.loads(sys.stdin.buffer.read()); print(ref.load_result())"
    )
    import pickle

    done = subprocess.run(
        [sys.executable, "-c", code],
        input=pickle.dumps(ref),
        capture_output=True,
        env={
            **subprocess_env(tmp_path / "home"),
            "MAINSPRING_RESULT_TRUSTED_LOCATIONS": str(tmp_path / "store"),
        },
    )
    assert done.stdout.decode().strip() == "{'a': (1, 2)}", done.stderr.decode()


# -- S3, against moto's server on loopback (a real S3 endpoint, not a mocked client) ----------
@pytest.fixture
def s3_url(monkeypatch):
    pytest.importorskip("s3fs")
    with moto_server() as endpoint:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ENDPOINT_URL_S3": endpoint,
        }.items():
            monkeypatch.setenv(name, value)
        import s3fs

        s3fs.S3FileSystem.clear_instance_cache()
        fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": endpoint})
        fs.mkdir("results-bucket")
        yield "s3://results-bucket/prefix"


def test_results_and_cache_records_in_s3(s3_url, store):
    from mainspring.cache_policies import INPUTS

    calls: list[int] = []

    @task(cache_policy=INPUTS, result_storage=s3_url)
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    states = []

    @flow(name="s3-flow", persist_result=True, result_storage=s3_url)
    def s3_flow() -> list:
        states.extend([square(3, return_state=True), square(3, return_state=True)])
        return [s.result() for s in states]

    assert s3_flow() == [9, 9]
    first, second = states
    assert (first.name, second.name) == ("Completed", "Cached")
    assert calls == [3]
    assert second.result() == 9
    run = only_flow_run(store, "s3-flow")
    storage = storage_for(s3_url)
    assert isinstance(storage, ResultStorage) and storage.local is None
    assert ResultRef(s3_url, f"flow-runs/{run.id}/result").load_result() == [9, 9]
    assert ResultRef(s3_url, f"flow-runs/{run.id}/tasks/square-0").load_result() == 9
    # the lock of a SERIALIZABLE key on an object store lives in the local home
    with storage.lock("cache/x"):
        assert any((get_settings().home / "locks").iterdir())
    assert os.environ["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
