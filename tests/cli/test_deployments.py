"""`mainspring deployment ...` and `mainspring work-pool ...` in real CLI subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime

import pytest

from .deploy_cli import cli, cli_json, write_flow_file


@pytest.fixture
def deployed(home, tmp_path):
    """greet/nightly: daily at 01:30 in New York, with n=3."""
    flow_file = write_flow_file(tmp_path)
    done = cli(
        "deploy",
        f"{flow_file}:greet",
        "-n",
        "nightly",
        "--cron",
        "30 1 * * *",
        "--timezone",
        "America/New_York",
        "-p",
        "n=3",
        home=home,
    )
    assert done.returncode == 0, done.stderr
    return "greet/nightly"


def test_ls_and_inspect_show_the_deployment(home, deployed):
    listed = cli("deployment", "ls", home=home)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if deployed in line)
    assert "At 01:30 every day (America/New_York)" in row

    inspected = cli("deployment", "inspect", deployed, home=home)
    assert inspected.returncode == 0, inspected.stderr
    assert "greet_flows.py:greet" in inspected.stdout
    assert '{"n": 3}' in inspected.stdout


def test_ls_with_no_deployments_says_so(home):
    done = cli("deployment", "ls", home=home)
    assert done.returncode == 0
    assert "No deployments yet" in done.stdout
    assert cli_json("deployment", "ls", home=home) == []


def test_schedule_ls_shows_the_next_runs_in_the_deployments_zone(home, deployed):
    shown = cli_json("deployment", "schedule", "ls", deployed, "--count", "3", home=home)
    runs = shown["next_runs"]
    assert len(runs) == 3
    for run in runs:
        local = datetime.fromisoformat(run["local_time"])
        assert (local.hour, local.minute) == (1, 30)
        assert run["timezone"] == "America/New_York"
        assert run["schedule"] == "At 01:30 every day (America/New_York)"
        assert datetime.fromisoformat(run["time"]) == local  # the same instant, in UTC
        assert run["time"].endswith("+00:00")
    times = [datetime.fromisoformat(r["time"]) for r in runs]
    assert times == sorted(times) and times[0].timestamp() > time.time()

    table = cli("deployment", "schedule", "ls", deployed, "-n", "2", home=home)
    assert table.returncode == 0, table.stderr
    assert sum(" 01:30:00 E" in line for line in table.stdout.splitlines()) == 2


def test_schedule_ls_of_a_deployment_without_schedule_says_it_runs_on_request(home, tmp_path):
    flow_file = write_flow_file(tmp_path)
    assert cli("deploy", f"{flow_file}:other", "-n", "adhoc", home=home).returncode == 0
    done = cli("deployment", "schedule", "ls", "other-flow/adhoc", home=home)
    assert done.returncode == 0
    assert "has no schedule" in done.stdout


def test_pause_resume_and_delete(home, deployed):
    paused = cli("deployment", "pause", deployed, home=home)
    assert paused.returncode == 0, paused.stderr
    assert cli_json("deployment", "inspect", deployed, home=home)["paused"] is True

    resumed = cli("deployment", "resume", deployed, home=home)
    assert resumed.returncode == 0, resumed.stderr
    assert cli_json("deployment", "inspect", deployed, home=home)["paused"] is False

    deleted = cli("deployment", "delete", deployed, home=home)
    assert deleted.returncode == 0, deleted.stderr
    assert cli_json("deployment", "ls", home=home) == []


@pytest.mark.parametrize(
    "command",
    [
        ["inspect"],
        ["pause"],
        ["resume"],
        ["delete"],
        ["run"],
        ["schedule", "ls"],
    ],
)
def test_an_unknown_deployment_is_one_line_and_exit_1(home, deployed, command):
    done = cli("deployment", *command, "greet/nope", home=home)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.strip() == "Error: no deployment 'greet/nope'"


def test_a_name_without_the_flow_is_refused_with_the_form_to_use(home, deployed):
    done = cli("deployment", "inspect", "nightly", home=home)
    assert done.returncode == 1
    assert "use 'flow-name/deployment-name'" in done.stderr


def test_run_watch_follows_the_run_until_it_ends(home, deployed):
    from mainspring.model import State, StateType
    from mainspring.store import get_store

    watcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mainspring.cli.main",
            "deployment",
            "run",
            deployed,
            "-p",
            "n=5",
            "--watch",
        ],
        env={**os.environ, "MAINSPRING_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        store = get_store()
        deadline = time.time() + 60
        runs: list = []
        while not runs and time.time() < deadline:
            runs = store.read_flow_runs()
            time.sleep(0.2)
        (run,) = runs
        assert run.parameters["n"] == 5
        for state_type in (StateType.PENDING, StateType.RUNNING, StateType.COMPLETED):
            store.set_state(run.id, State(state_type), force=True)
        out, err = watcher.communicate(timeout=60)
    finally:
        watcher.kill()
    assert watcher.returncode == 0, err
    assert "Completed" in out


# -- work pools -------------------------------------------------------------------------------
def test_work_pool_create_ls_and_inspect(home):
    created = cli(
        "work-pool", "create", "local", "--type", "process", "--concurrency-limit", "4", home=home
    )
    assert created.returncode == 0, created.stderr
    assert "Work pool 'local' (process) created." in created.stdout

    (pool,) = cli_json("work-pool", "ls", home=home)
    assert pool["name"] == "local"
    assert pool["type"] == "process"
    assert pool["concurrency_limit"] == 4
    assert pool["paused"] is False

    shown = cli_json("work-pool", "inspect", "local", home=home)
    assert [q["name"] for q in shown["work_queues"]] == ["default"]
    assert shown["workers"] == []
    table = cli("work-pool", "inspect", "local", home=home)
    assert table.returncode == 0 and "default" in table.stdout


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["create", "k", "--type", "bogus"], "unknown work pool type 'bogus'"),
        (["inspect", "nope"], "no work pool 'nope'"),
    ],
)
def test_work_pool_errors_are_one_line(home, args, names):
    done = cli("work-pool", *args, home=home)
    assert done.returncode == 1
    assert names in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert cli_json("work-pool", "ls", home=home) == []


def test_creating_a_work_pool_twice_is_refused(home):
    assert cli("work-pool", "create", "p", home=home).returncode == 0
    again = cli("work-pool", "create", "p", home=home)
    assert again.returncode == 1
    assert "'p'" in again.stderr
    assert len(cli_json("work-pool", "ls", home=home)) == 1


def test_deployments_and_pools_on_postgresql(postgres_database, home, tmp_path):
    url = postgres_database
    flow_file = write_flow_file(tmp_path)
    assert cli("work-pool", "create", "pg-pool", home=home, database_url=url).returncode == 0
    deployed = cli(
        "deploy",
        f"{flow_file}:greet",
        "-n",
        "pg",
        "--cron",
        "0 3 * * *",
        "--pool",
        "pg-pool",
        home=home,
        database_url=url,
    )
    assert deployed.returncode == 0, deployed.stderr
    assert cli("deployment", "pause", "greet/pg", home=home, database_url=url).returncode == 0
    shown = cli_json("deployment", "inspect", "greet/pg", home=home, database_url=url)
    assert shown["paused"] is True and shown["work_pool_name"] == "pg-pool"
    assert [p["name"] for p in cli_json("work-pool", "ls", home=home, database_url=url)] == [
        "pg-pool"
    ]
