"""End-to-end: every example runs as a real `python examples/NAME.py` process, offline.

Each test isolates the process (its own MAINSPRING_HOME and TMPDIR, no inherited
MAINSPRING_* settings), checks what the example really produced (rows, files, stdout) and then
checks that the embedded store recorded the runs. The examples are the newcomer's first
contact with Mainspring, so they must keep working exactly as documented.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow  # each test starts real processes: skip with -m "not slow"

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(tmp_path: Path, name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run an example the way a user does; fail with its output when it exits non-zero."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
    (tmp_path / "tmp").mkdir(exist_ok=True)
    env.update(MAINSPRING_HOME=str(tmp_path / "home"), TMPDIR=str(tmp_path / "tmp"))
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, f"{name} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


@contextmanager
def recorded(tmp_path: Path) -> Iterator[Any]:
    """The example's run history, read back through the store the engine wrote it with."""
    sql = pytest.importorskip("mainspring.store.sql.store")
    db = tmp_path / "home" / "mainspring.db"
    assert db.is_file(), f"no run history at {db}"
    store = sql.SqlStore(f"sqlite:///{db}")
    try:
        yield store
    finally:
        store.close()


def only_run(store: Any, flow_name: str) -> Any:
    runs = [run for run in store.read_flow_runs() if run.flow_name == flow_name]
    assert len(runs) == 1, [(r.flow_name, r.state_name) for r in store.read_flow_runs()]
    return runs[0]


def test_etl_http_to_sqlite_loads_every_user(tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    run_example(tmp_path, "etl_http_to_sqlite.py", str(out_dir))

    with sqlite3.connect(out_dir / "users.db") as db:
        rows = db.execute("SELECT id, name, email, city, active FROM users ORDER BY id").fetchall()
    assert [r[0] for r in rows] == list(range(1, 24))
    assert rows[3] == (4, "User 04", "user.04@example.com", "Tallinn", 0)
    assert rows[22] == (23, "User 23", "user.23@example.com", "Quito", 1)

    with recorded(tmp_path) as store:
        run = only_run(store, "etl-users")
        assert run.state_name == "Completed"
        # The CLI argument was text; the flow got a Path (validated from the type hint).
        assert str(out_dir) in str(run.parameters["out_dir"])
        names = [t.task_name for t in store.read_task_runs(run.id)]
        assert (names.count("fetch_page"), names.count("to_row"), names.count("load_rows")) == (
            3,
            23,
            1,
        )
        assert any(f"Loaded 23 users into {out_dir}" in line.message for line in logs(store, run))


def test_etl_is_idempotent(tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    run_example(tmp_path, "etl_http_to_sqlite.py", str(out_dir))
    run_example(tmp_path, "etl_http_to_sqlite.py", str(out_dir))
    with sqlite3.connect(out_dir / "users.db") as db:
        assert db.execute("SELECT count(*) FROM users").fetchone() == (23,)


def test_etl_dag_style_loads_every_user_and_draws_its_graph(tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    proc = run_example(tmp_path, "etl_dag_style.py", str(out_dir))

    with sqlite3.connect(out_dir / "users.db") as db:
        rows = db.execute("SELECT id, name, email, city, active FROM users ORDER BY id").fetchall()
    assert [r[0] for r in rows] == list(range(1, 24))
    assert rows[3] == (4, "User 04", "user.04@example.com", "Tallinn", 0)
    assert "Flow run finished in state Completed: 23 users loaded" in proc.stdout
    drawing = out_dir / "etl-users-dag.svg"
    assert "to_row (mapped)" in drawing.read_text()
    assert "->" in drawing.with_suffix(".dot").read_text()

    with recorded(tmp_path) as store:
        run = only_run(store, "etl-users-dag")
        assert run.state_name == "Completed"
        assert str(out_dir) in str(run.parameters["out_dir"])
        names = [t.task_name for t in store.read_task_runs(run.id)]
        assert (names.count("fetch_page"), names.count("to_row"), names.count("load_rows")) == (
            3,
            23,
            1,
        )
        edges = store.read_edges(run.id)
        assert edges and {e.kind for e in edges} == {"data"}
        assert any("Loaded 23 users" in line.message for line in logs(store, run))


def test_csv_pipeline_writes_the_report(tmp_path: Path) -> None:
    output = tmp_path / "out" / "report.csv"
    proc = run_example(tmp_path, "csv_pipeline.py", str(output))

    expected = (
        "region,orders,units,revenue\n"
        "east,3,9,800.75\n"
        "north,2,9,86.97\n"
        "south,1,1,249.00\n"
        "west,2,7,680.00\n"
    )
    assert output.read_text().replace("\r\n", "\n") == expected
    assert proc.stdout.replace("\r\n", "\n") == expected

    with recorded(tmp_path) as store:
        run = only_run(store, "csv-pipeline")
        assert run.state_name == "Completed"
        assert {t.state_name for t in store.read_task_runs(run.id)} == {"Completed"}
        warnings = [line for line in logs(store, run) if line.level == 30]
        assert [w.message for w in warnings] == ["Skipping order 1007: bad quantity or price"]


def test_subflows_record_children_under_the_parent(tmp_path: Path) -> None:
    proc = run_example(tmp_path, "subflows.py")

    assert proc.stdout.splitlines() == [
        "  lima: mean 20.50  max 22.00",
        " perth: mean  8.50  max 10.00",
        "  oslo: mean  6.50  max  8.00",
    ]

    with recorded(tmp_path) as store:
        parent = only_run(store, "weather-summary")
        children = [r for r in store.read_flow_runs() if r is not parent and r.id != parent.id]
        assert sorted(r.flow_name for r in children) == ["format-summary"] + ["station-report"] * 3
        assert {r.parent_flow_run_id for r in children} == {parent.id}
        assert {r.state_name for r in [parent, *children]} == {"Completed"}
        assert sorted(r.parameters["station"] for r in children if "station" in r.parameters) == [
            "lima",
            "oslo",
            "perth",
        ]


def test_flaky_source_is_healed_by_retries(tmp_path: Path) -> None:
    proc = run_example(tmp_path, "flaky_source.py")

    assert proc.stdout.splitlines() == ["Final state: Completed", "Attempts: 3", "Result: 31"]
    assert "Attempt 1: source not ready yet" in proc.stderr
    assert "Attempt 2: source not ready yet" in proc.stderr

    with recorded(tmp_path) as store:
        run = only_run(store, "flaky-pipeline")
        assert run.state_name == "Completed"
        flaky = [t for t in store.read_task_runs(run.id) if t.task_name == "read_flaky_source"]
        assert len(flaky) == 1
        assert flaky[0].state_name == "Completed"
        assert flaky[0].run_count == 3
        timeline = [s.name for s in store.read_states(flaky[0].id)]
        assert timeline.count("Completed") == 1 and timeline[-1] == "Completed"
        assert sum(name in {"AwaitingRetry", "Retrying"} for name in timeline) >= 2
        messages = [line.message for line in logs(store, run)]
        assert any("Attempt 3: source answered" in m for m in messages)


def test_served_flow_runs_on_its_interval_and_stops_by_itself(tmp_path: Path) -> None:
    proc = run_example(tmp_path, "served_flow.py", "--runs", "3")

    assert "Serving deployment 'weather-report/every-second'" in proc.stderr
    assert "Stopped." in proc.stderr
    with recorded(tmp_path) as store:
        deployment = store.find_deployment("weather-report", "every-second")
        done = store.read_deployment_runs(deployment.id, states=["Completed"])
        assert len(done) >= 2  # about 3; a slow start may cost one
        assert all(r.run.parameters == {"city": "Porto"} for r in done)
        times = [r.expected_start_time for r in store.read_deployment_runs(deployment.id)]
        assert len(times) == len(set(times))


def test_run_all_runs_everything_and_points_at_the_history(tmp_path: Path) -> None:
    proc = run_example(tmp_path, "run_all.py")

    assert "6/6 examples succeeded." in proc.stdout
    assert str(tmp_path / "home" / "mainspring.db") in proc.stdout
    assert "flow-run ls" in proc.stdout
    with recorded(tmp_path) as store:
        names = {r.flow_name for r in store.read_flow_runs(limit=1000)}
    expected = {
        "etl-users",
        "etl-users-dag",
        "csv-pipeline",
        "weather-summary",
        "flaky-pipeline",
        "weather-report",
    }
    assert expected <= names


def logs(store: Any, run: Any) -> list[Any]:
    return store.read_logs(run.id)


def test_make_runs_server_serves_a_flow_alongside_until_ctrl_c(tmp_path: Path) -> None:
    """What `make run` ends with (examples/serve_with_server.py): the server, and
    served_flow.py serving through it; runs keep completing; Ctrl-C (SIGINT) stops both
    cleanly, the demo deployment paused so a later server does not schedule it."""
    import contextlib
    import signal
    import time

    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
    env.update(MAINSPRING_HOME=str(tmp_path / "home"))
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "serve_with_server.py"), "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    db = tmp_path / "home" / "mainspring.db"
    try:
        deadline = time.time() + 120
        completed = 0
        while completed < 2 and time.time() < deadline and proc.poll() is None:
            time.sleep(1)
            if db.is_file():
                with sqlite3.connect(db) as conn, contextlib.suppress(sqlite3.OperationalError):
                    completed = conn.execute(  # no table yet while the server migrates
                        "SELECT count(*) FROM flow_run WHERE flow_name = 'weather-report' "
                        "AND state_name = 'Completed'"
                    ).fetchone()[0]
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert completed >= 2, out
    assert proc.returncode == 0, out
    assert "Serving examples/served_flow.py through http://127.0.0.1:" in out
    assert "Paused deployment 'weather-report/every-second'" in out
    assert "Finished server process" in out  # uvicorn's clean shutdown, after the served flow
    with recorded(tmp_path) as store:
        deployment = store.find_deployment("weather-report", "every-second")
        assert deployment.paused
        runs = store.read_deployment_runs(deployment.id, states=["Completed"])
        assert all(r.run.parameters == {"city": "Porto"} for r in runs)
