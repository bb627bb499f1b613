"""`Flow.from_source(...)` with real git repositories (file:// URLs) and a real worker: a
deployment whose code lives only in a git repository runs, pulled by the worker, and a new
commit reaches the next run."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from mainspring import Flow, flow, run_deployment
from mainspring.deploy.sources import (
    SourceError,
    is_git_url,
    local_entrypoint,
    redact_credentials,
)
from mainspring.model.deployments import WorkPool
from mainspring.settings import get_settings
from mainspring.store import get_store

from .workers import start_worker, stop

HELLO = """
from pathlib import Path
from mainspring import flow

@flow
def hello(out: str, name: str = "world") -> str:
    text = "{version} " + name
    Path(out).write_text(text)
    return text
"""


def git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def commit_version(work: Path, version: str) -> None:
    (work / "flows").mkdir(exist_ok=True)
    (work / "flows" / "hello.py").write_text(textwrap.dedent(HELLO.format(version=version)))
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", version, cwd=work)


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """A bare repository holding flows/hello.py ('v1'); no working copy of it is left."""
    work = tmp_path / "work"
    work.mkdir()
    git("init", "-q", "-b", "main", cwd=work)
    commit_version(work, "v1")
    bare = tmp_path / "origin.git"
    git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp_path)
    shutil.rmtree(work)
    return bare


def push_version(origin: Path, tmp_path: Path, version: str) -> None:
    work = tmp_path / f"work-{version}"
    git("clone", "-q", str(origin), str(work), cwd=tmp_path)
    commit_version(work, version)
    git("push", "-q", "origin", "HEAD:main", cwd=work)


def test_a_worker_runs_a_deployment_whose_code_lives_only_in_git(
    origin: Path, tmp_path: Path
) -> None:
    url = f"file://{origin}"
    loaded = Flow.from_source(url, "flows/hello.py:hello")
    assert loaded.name == "hello"
    assert flow.from_source is Flow.from_source or callable(flow.from_source)  # type: ignore[attr-defined]
    store = get_store()
    store.create_work_pool(WorkPool("local"))  # type: ignore[attr-defined]
    deployment_id = loaded.deploy("from-git", work_pool_name="local", print_next_steps=False)
    stored = store.read_deployment(deployment_id)  # type: ignore[attr-defined]
    assert json.loads(stored.entrypoint) == {"entrypoint": "flows/hello.py:hello", "source": url}
    shutil.rmtree(get_settings().home / "sources")  # the worker must fetch it itself
    worker = start_worker("--pool", "local")
    try:
        out = tmp_path / "out.txt"
        run = run_deployment("hello/from-git", {"out": str(out), "name": "ada"}, timeout=90)
        assert run.state.is_completed(), run.state
        assert out.read_text() == "v1 ada"
        assert run.entrypoint is not None
        assert run.entrypoint.startswith(str(get_settings().home / "sources"))

        push_version(origin, tmp_path, "v2")  # the next run pulls again
        run = run_deployment("hello/from-git", {"out": str(out), "name": "bob"}, timeout=90)
        assert run.state.is_completed(), run.state
        assert out.read_text() == "v2 bob"
    finally:
        stop(worker)


def test_a_local_folder_is_read_in_place(tmp_path: Path) -> None:
    (tmp_path / "project" / "flows").mkdir(parents=True)
    path = tmp_path / "project" / "flows" / "hello.py"
    path.write_text(textwrap.dedent(HELLO.format(version="local")))
    loaded = Flow.from_source(str(tmp_path / "project"), "flows/hello.py:hello")
    assert loaded.source.url is None  # nothing to pull: its file is where it is
    get_store().create_work_pool(WorkPool("local"))  # type: ignore[attr-defined]
    made = loaded.deploy("here", work_pool_name="local", print_next_steps=False)
    entrypoint = get_store().read_deployment(made).entrypoint  # type: ignore[attr-defined]
    assert entrypoint == f"{path.resolve()}:hello"


def test_sources_that_cannot_be_read_are_named(tmp_path: Path, origin: Path) -> None:
    with pytest.raises(SourceError, match="neither a folder nor a git URL"):
        Flow.from_source(str(tmp_path / "missing"), "flows/hello.py:hello")
    with pytest.raises(SourceError, match=r"git fetch.*failed"):
        Flow.from_source(f"file://{tmp_path}/no-such.git", "flows/hello.py:hello")
    with pytest.raises(SourceError, match=r"no file 'flows/other\.py'"):
        Flow.from_source(f"file://{origin}", "flows/other.py:hello")
    with pytest.raises(SourceError, match=r"path/to/file\.py:flow_function"):
        Flow.from_source(f"file://{origin}", "flows/hello.py")
    assert is_git_url("https://github.com/o/r") and is_git_url("git@github.com:o/r.git")
    assert not is_git_url(str(tmp_path))


def test_stored_entrypoints_name_a_source_or_a_file() -> None:
    assert local_entrypoint("/srv/flows/etl.py:etl") == "/srv/flows/etl.py:etl"
    for broken in ('{"source": 1, "entrypoint": "a.py:f"}', '{"entrypoint": "a.py:f"}', "{"):
        with pytest.raises(SourceError, match="names no source"):
            local_entrypoint(broken)


def test_a_run_whose_source_cannot_be_fetched_says_what_git_said(
    origin: Path, tmp_path: Path
) -> None:
    loaded = Flow.from_source(f"file://{origin}", "flows/hello.py:hello")
    store = get_store()
    store.create_work_pool(WorkPool("local"))  # type: ignore[attr-defined]
    loaded.deploy("gone", work_pool_name="local", print_next_steps=False)
    shutil.rmtree(origin)  # the repository is gone: the worker's fetch fails
    shutil.rmtree(get_settings().home / "sources")
    worker = start_worker("--pool", "local")
    try:
        run = run_deployment("hello/gone", {"out": str(tmp_path / "out.txt")}, timeout=90)
    finally:
        stop(worker)

    assert run.state.is_crashed(), run.state
    message = run.state.message or ""
    assert "could not get its code: `git fetch` failed" in message
    assert "does not appear to be a git repository" in message  # git's own words
    assert "exited with code" not in message


def test_credentials_in_a_source_url_are_masked_in_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as raised:
        Flow.from_source("https://ada:s3cret@127.0.0.1:9/repo.git", "flows/hello.py:hello")

    assert "s3cret" not in str(raised.value)
    assert "`git fetch` failed" in str(raised.value)
    assert redact_credentials("fatal: 'https://ada:s3cret@h/r.git/' not found") == (
        "fatal: 'https://ada:***@h/r.git/' not found"
    )
    assert redact_credentials("see https://ghp_T0KEN@github.com/o/r") == (
        "see https://***@github.com/o/r"
    )
    assert redact_credentials("ssh://git@host/r.git and git@github.com:o/r") == (
        "ssh://git@host/r.git and git@github.com:o/r"
    )
