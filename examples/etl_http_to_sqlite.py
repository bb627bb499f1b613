"""ETL: pull paged JSON from an HTTP API, reshape it, load it into a SQLite database.

What it shows:
- a task with `retries` around a network call (the classic place things fail);
- `.map()` with `unmapped()` to fetch the remaining pages concurrently;
- `.submit()` to reshape every record concurrently; the list of futures goes straight into the
  load task, which waits for all of them and receives their results;
- flow parameters validated from type hints (`out_dir` arrives as text, the flow gets a Path);
- `log_prints=True`, so `print()` inside the flow becomes a recorded log line.

The API is a local stand-in (`demo_api.py`) started for the duration of the run, so the
example works offline. Usage: `python examples/etl_http_to_sqlite.py [OUT_DIR]`.
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

from mainspring import flow, get_run_logger, task, unmapped

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
def load_rows(rows: list[Row], db_path: Path) -> int:
    """Upsert the rows, so running the flow twice leaves the same table."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(db_path) as db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS users ("
            " id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL,"
            " city TEXT NOT NULL, active INTEGER NOT NULL)"
        )
        db.executemany("INSERT OR REPLACE INTO users VALUES (?, ?, ?, ?, ?)", rows)
    return len(rows)


@flow(log_prints=True)
def etl_users(base_url: str, out_dir: Path = DEFAULT_OUT_DIR) -> int:
    """Extract every page, transform each user, load them all into `out_dir/users.db`."""
    first = fetch_page(base_url, 1)
    rest = fetch_page.map(unmapped(base_url), range(2, first["total_pages"] + 1))
    users = first["users"] + [user for page in rest.result() for user in page["users"]]
    rows = [to_row.submit(user) for user in users]
    db_path = out_dir / "users.db"
    count = load_rows(rows, db_path)
    print(f"Loaded {count} users into {db_path}")
    return count


if __name__ == "__main__":
    out_dir = sys.argv[1] if len(sys.argv) > 1 else str(DEFAULT_OUT_DIR)
    with serve_demo_api() as api_url:
        etl_users(base_url=api_url, out_dir=out_dir)
