"""Filesystem blocks as `result_storage=`: real flows persist their results into a saved
block loaded by name (the block object, and the "block:slug/name" string), on a local folder,
fsspec's memory filesystem, and S3 (moto's server on loopback, credentials and endpoint only
in the block's secret settings)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mainspring import flow, task
from mainspring.blocks.system import LocalFileSystem, RemoteFileSystem
from mainspring.exceptions import ObjectNotFound
from mainspring.model import FlowRunFilter
from mainspring.store import get_store
from moto_s3 import moto_server


def _run_of(flow_name: str):  # the one run of a flow, read back from the store
    (run,) = get_store().read_flow_runs(FlowRunFilter(flow_names=[flow_name]), limit=10)
    return run


def test_a_saved_local_file_system_block_stores_a_flows_results(tmp_path: Path) -> None:
    LocalFileSystem(basepath=str(tmp_path / "results")).save("team-results")

    @task
    def double(x: int) -> int:
        return 2 * x

    @flow(name="to-block", persist_result=True, result_storage=LocalFileSystem.load("team-results"))
    def to_block() -> int:
        return double(21)

    assert to_block() == 42
    run = _run_of("to-block")
    root = tmp_path / "results" / "flow-runs" / run.id
    assert (root / "result").is_file() and (root / "tasks" / "double-0").is_file()
    assert get_store().read_flow_run(run.id).state.result() == 42  # read back from the block


def test_the_block_string_form_names_a_saved_block(tmp_path: Path) -> None:
    LocalFileSystem(basepath=str(tmp_path / "by-name")).save("by-name")

    @task(persist_result=True, result_storage="block:local-file-system/by-name")
    def word() -> str:
        return "hello"

    @flow(name="by-string")
    def by_string() -> str:
        return word()

    assert by_string() == "hello"
    run = _run_of("by-string")
    assert (tmp_path / "by-name" / "flow-runs" / run.id / "tasks" / "word-0").is_file()
    with pytest.raises(ObjectNotFound, match="local-file-system/missing"):

        @task(persist_result=True, result_storage="block:local-file-system/missing")
        def never() -> None: ...


def test_a_remote_file_system_block_on_fsspec_memory() -> None:
    RemoteFileSystem(basepath="memory://results-mem/prefix").save("mem")

    @flow(name="in-memory", persist_result=True, result_storage="block:remote-file-system/mem")
    def in_memory() -> dict:
        return {"rows": 3}

    assert in_memory() == {"rows": 3}
    run = _run_of("in-memory")
    import fsspec

    fs = fsspec.filesystem("memory")
    assert fs.exists(f"/results-mem/prefix/flow-runs/{run.id}/result")
    assert get_store().read_flow_run(run.id).state.result() == {"rows": 3}


@pytest.fixture
def moto_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    pytest.importorskip("s3fs")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)  # the block's settings alone must do
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with moto_server() as endpoint:
        yield endpoint


def test_a_remote_file_system_block_on_s3_with_secret_settings(moto_endpoint: str) -> None:
    import s3fs

    settings = {
        "key": "AKIA-TESTING",
        "secret": "moto-secret-value",
        "endpoint_url": moto_endpoint,
    }
    s3fs.S3FileSystem.clear_instance_cache()
    s3fs.S3FileSystem(**settings).mkdir("block-results")
    RemoteFileSystem(basepath="s3://block-results/runs", settings=settings).save("s3-results")
    stored = get_store().read_block_document("remote-file-system", "s3-results")
    assert "moto-secret-value" not in repr(stored)  # masked when read without secrets

    @task
    def total(xs: list[int]) -> int:
        return sum(xs)

    @flow(name="to-s3", persist_result=True, result_storage="block:remote-file-system/s3-results")
    def to_s3() -> int:
        return total([1, 2, 3])

    assert to_s3() == 6
    run = _run_of("to-s3")
    fs = s3fs.S3FileSystem(**settings)
    assert fs.exists(f"block-results/runs/flow-runs/{run.id}/result")
    assert fs.exists(f"block-results/runs/flow-runs/{run.id}/tasks/total-0")
    assert get_store().read_flow_run(run.id).state.result() == 6


def _triple(x: int) -> int:  # module level: a process pool's worker imports it
    return 3 * x


def test_s3_block_storage_in_process_pool_workers(moto_endpoint: str) -> None:
    """A task run in another process gets the storage with the block's settings (pickled
    with it), and writes its result to S3 itself."""
    import s3fs

    from mainspring import ProcessPoolTaskRunner

    settings = {"key": "AKIA-TESTING", "secret": "moto-secret-value", "endpoint_url": moto_endpoint}
    s3fs.S3FileSystem.clear_instance_cache()
    s3fs.S3FileSystem(**settings).mkdir("pool-results")
    RemoteFileSystem(basepath="s3://pool-results/runs", settings=settings).save("pool")
    triple = task(_triple, name="triple")

    @flow(
        name="pool-to-s3",
        persist_result=True,
        result_storage="block:remote-file-system/pool",
        task_runner=ProcessPoolTaskRunner(max_workers=1),
    )
    def pool_to_s3() -> list[int]:
        return [f.result() for f in triple.map([1, 2])]

    assert pool_to_s3() == [3, 6]
    run = _run_of("pool-to-s3")
    fs = s3fs.S3FileSystem(**settings)
    assert sorted(fs.ls(f"pool-results/runs/flow-runs/{run.id}/tasks")) == [
        f"pool-results/runs/flow-runs/{run.id}/tasks/triple-0",
        f"pool-results/runs/flow-runs/{run.id}/tasks/triple-1",
    ]
