"""ETL in the explicit-DAG style of Prefect 1: `with Flow("name") as f:`, then `f.run()`.

The same job as `etl_http_to_sqlite.py` (same stand-in API, same `users.db` table), written
the way many Prefect 1 tutorials teach it:
- inside the `with` block, calling a task records a node of the graph instead of running it,
  and passing one task's output to another records an edge;
- `Parameter`s are the flow's inputs, given to `f.run(parameters=...)`;
- `upstream_tasks=[...]` orders two tasks that share no data (create the table, then load);
- `.map()` with `unmapped()` fetches the remaining pages, one task run per page;
- `f.run()` runs the graph as a recorded flow run (independent branches in parallel) and
  returns its final state: `state.result[node]` is each node's state;
- `f.visualize()` draws the graph (with Graphviz if installed, else an SVG of its own).

Usage: `python examples/etl_dag_style.py [OUT_DIR]`.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from demo_api import serve_demo_api

from mainspring import Flow, Parameter, get_run_logger, task, unmapped

DEFAULT_OUT_DIR = Path(tempfile.gettempdir()) / "mainspring-examples"

Row = tuple[int, str, str, str, bool]


@task(retries=2, retry_delay_seconds=0.2)
def fetch_page(base_url: str, page: int) -> dict[str, Any]:
    """One page of users; a timeout or 5xx here is retried instead of failing the run."""
    with urllib.request.urlopen(f"{base_url}/users?page={page}", timeout=10) as response:
        body = json.load(response)
    get_run_logger().info("Fetched page %d: %d users", page, len(body["users"]))
    return body


@task
def remaining_pages(first: dict[str, Any]) -> list[int]:
    """The page numbers after the first: how many there are is only known at run time."""
    return list(range(2, first["total_pages"] + 1))


@task
def all_users(first: dict[str, Any], rest: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return first["users"] + [user for page in rest for user in page["users"]]


@task
def to_row(user: dict[str, Any]) -> Row:
    """Reshape one API record into the target table's columns (flatten, normalise email)."""
    return (
        user["id"],
        user["name"],
        user["email"].lower(),
        user["address"]["city"],
        bool(user["active"]),
    )


@task
def create_table(out_dir: str) -> Path:
    """Create the database and its table (independent of the API, so it runs in parallel)."""
    db_path = Path(out_dir) / "users.db"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(db_path) as db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS users ("
            " id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL,"
            " city TEXT NOT NULL, active INTEGER NOT NULL)"
        )
    return db_path


@task
def load_rows(rows: list[Row], db_path: Path) -> int:
    """Upsert the rows, so running the flow twice leaves the same table."""
    with sqlite3.connect(db_path) as db:
        db.executemany("INSERT OR REPLACE INTO users VALUES (?, ?, ?, ?, ?)", rows)
    get_run_logger().info("Loaded %d users into %s", len(rows), db_path)
    return len(rows)


with Flow("etl-users-dag") as etl_users:
    base_url = Parameter("base_url")
    out_dir = Parameter("out_dir", default=str(DEFAULT_OUT_DIR))

    first = fetch_page(base_url, 1)
    rest = fetch_page.map(unmapped(base_url), remaining_pages(first))
    rows = to_row.map(all_users(first, rest))
    db_path = create_table(out_dir)
    loaded = load_rows(rows, db_path)


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else str(DEFAULT_OUT_DIR)
    with serve_demo_api() as api_url:
        state = etl_users.run(parameters={"base_url": api_url, "out_dir": target})
    print(f"Flow run finished in state {state.name}: {state.result[loaded].result()} users loaded")
    drawing = etl_users.visualize(filename=Path(target) / "etl-users-dag", format="svg")[0]
    print(f"Graph of the flow: {drawing}")
    sys.exit(0 if state.is_successful() else 1)
