"""ETL in the explicit-DAG style of Prefect 1: `with Flow("name") as f:`, then `f.run()`.

The same job as `etl_http_to_sqlite.py` (same stand-in API, same `users.db` table), written
the way many Prefect 1 tutorials teach it, and with the same tasks: a `@task` is a plain
definition that either style can use, so the tasks that fetch, reshape and load are imported
from that example, and only the glue the graph needs is defined here.
- inside the `with` block, calling a task records a node of the graph instead of running it,
  and passing one task's output to another records an edge;
- `Parameter`s are the flow's inputs, given to `f.run(parameters=...)`;
- `.map()` with `unmapped()` fetches the remaining pages, one task run per page, and
  reshapes every user, one task run per user;
- `f.run()` runs the graph as a recorded flow run (independent branches in parallel) and
  returns its final state: `state.result[node]` is each node's state and
  `state.result[node].result` its value, as in Prefect 1 (`.result()` works too);
- `f.visualize()` draws the graph (with Graphviz if installed, else an SVG of its own).

Usage: `python examples/etl_dag_style.py [OUT_DIR]`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from demo_api import serve_demo_api
from etl_http_to_sqlite import DEFAULT_OUT_DIR, fetch_page, load_rows, to_row

from mainspring import Flow, Parameter, get_run_logger, task, unmapped


@task
def remaining_pages(first: dict[str, Any]) -> list[int]:
    """The page numbers after the first: how many there are is only known at run time."""
    return list(range(2, first["total_pages"] + 1))


@task
def all_users(first: dict[str, Any], rest: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return first["users"] + [user for page in rest for user in page["users"]]


@task
def database_path(out_dir: str) -> Path:
    """Where the table lives (a branch of its own, so it runs alongside the first fetch)."""
    return Path(out_dir) / "users.db"


@task
def report(count: int, db_path: Path) -> None:
    get_run_logger().info("Loaded %d users into %s", count, db_path)


with Flow("etl-users-dag") as etl_users:
    base_url = Parameter("base_url")
    out_dir = Parameter("out_dir", default=str(DEFAULT_OUT_DIR))

    first = fetch_page(base_url, 1)
    rest = fetch_page.map(unmapped(base_url), remaining_pages(first))
    rows = to_row.map(all_users(first, rest))
    db_path = database_path(out_dir)
    loaded = load_rows(rows, db_path)
    report(loaded, db_path)


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else str(DEFAULT_OUT_DIR)
    with serve_demo_api() as api_url:
        state = etl_users.run(parameters={"base_url": api_url, "out_dir": target})
    print(f"Flow run finished in state {state.name}: {state.result[loaded].result} users loaded")
    drawing = etl_users.visualize(filename=Path(target) / "etl-users-dag", format="svg")[0]
    print(f"Graph of the flow: {drawing}")
    sys.exit(0 if state.is_successful() else 1)
