"""Artifacts created by real runs: attached to the flow run and task run they were made in,
readable at once, through the embedded store, a real server and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mainspring import flow, task
from mainspring.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)

from .support import only_flow_run, subprocess_env, task_runs_by_name


def test_a_flow_and_its_tasks_create_each_kind(store):
    @task
    def load(rows: int) -> int:
        progress = create_progress_artifact(0, key="load-progress", description="loading")
        for done in (50, 100):
            update_progress_artifact(progress, done)
        create_table_artifact([{"row": i, "value": i * i} for i in range(rows)], key="loaded")
        return rows

    @flow(name="reporting")
    def reporting() -> int:
        rows = load(3)
        create_markdown_artifact(f"# Loaded\n\n{rows} rows", key="daily-report")
        create_link_artifact("https://example.com/dash", link_text="dashboard")
        return rows

    assert reporting() == 3
    run = only_flow_run(store, "reporting")
    (load_run,) = task_runs_by_name(store, run.id).values()
    made = {a.type: a for a in store.read_artifacts(flow_run_id=run.id)}
    assert set(made) == {"markdown", "table", "link", "progress"}
    assert made["progress"].data == 100.0 and made["progress"].task_run_id == load_run.id
    assert made["table"].data[2] == {"row": 2, "value": 4}
    assert made["table"].task_run_id == load_run.id
    assert made["markdown"].task_run_id is None  # made by the flow itself
    assert made["markdown"].data == "# Loaded\n\n3 rows"
    assert made["link"].data == {"link": "https://example.com/dash", "text": "dashboard"}


def test_a_second_run_adds_a_version_of_the_key(store):
    @flow(name="versioned")
    def versioned(n: int) -> None:
        create_markdown_artifact(f"run {n}", key="nightly-summary")

    versioned(1)
    versioned(2)
    versions = store.read_artifacts(key="nightly-summary")
    assert [a.data for a in versions] == ["run 2", "run 1"]
    assert len({a.flow_run_id for a in versions}) == 2


def test_bad_artifacts_fail_the_call_clearly_and_store_nothing(store):
    @flow(name="bad-artifacts")
    def bad() -> list[str]:
        errors = []
        for call in (
            lambda: create_markdown_artifact("x", key="Not Valid"),
            lambda: create_progress_artifact(150),
            lambda: create_table_artifact("not a table"),  # type: ignore[arg-type]
        ):
            try:
                call()
            except (TypeError, ValueError) as exc:
                errors.append(str(exc))
        return errors

    errors = bad()
    assert len(errors) == 3
    assert "lowercase letters" in errors[0] and "0 to 100" in errors[1]
    assert store.read_artifacts() == []


SCRIPT = textwrap.dedent(
    """
    from mainspring import flow, task
    from mainspring.artifacts import create_markdown_artifact, create_table_artifact

    @task
    def work():
        create_table_artifact({"city": ["Oslo", "Lima"], "temp": [3.5, float("nan")]},
                              key="weather-table")

    @flow(name="remote-artifacts")
    def main():
        work()
        create_markdown_artifact("**done** <script>x</script>", key="remote-report")

    main()
    """
)


@pytest.mark.slow
def test_through_a_server_and_the_cli(tmp_path: Path):
    from mainspring.store.http import ApiStore
    from server.conftest import server_env, start_server, stop_server

    server_home = tmp_path / "server-home"
    server_home.mkdir()
    server = start_server(server_env(server_home))
    try:
        script = tmp_path / "remote.py"
        script.write_text(SCRIPT)
        env = subprocess_env(tmp_path / "client-home")
        env["MAINSPRING_API_URL"] = server.url
        done = subprocess.run(
            [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        api = ApiStore(server.url)
        (table,) = api.read_artifacts(key="weather-table")
        assert table.data == [{"city": "Oslo", "temp": 3.5}, {"city": "Lima", "temp": None}]
        assert table.task_run_id is not None and table.flow_run_id is not None
        api.close()

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "mainspring.cli.main", *args],
                env={**env, "COLUMNS": "200"},
                capture_output=True,
                text=True,
                timeout=60,
            )

        listed = json.loads(cli("artifact", "ls", "--json").stdout)
        assert {a["key"] for a in listed} == {"weather-table", "remote-report"}
        shown = cli("artifact", "inspect", "weather-table")
        assert shown.returncode == 0 and "Oslo" in shown.stdout and "Lima" in shown.stdout
        report = cli("artifact", "inspect", "remote-report")
        assert "<script>x</script>" in report.stdout  # shown as text, never run
        table_line = cli("artifact", "ls")
        assert "2 rows" in table_line.stdout
        missing = cli("artifact", "inspect", "no-such-key")
        assert missing.returncode == 1 and "no artifact" in missing.stderr
        gone = cli("artifact", "delete", table.id)
        assert gone.returncode == 0
        assert cli("artifact", "delete", table.id).returncode == 1
    finally:
        stop_server(server.process)
