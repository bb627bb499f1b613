"""Running the real `mainspring` CLI in a child process, and a flow file to deploy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

FLOW_FILE = textwrap.dedent(
    '''
    from mainspring import flow

    @flow(name="greet")
    def greet(n: int, who: str = "world") -> str:
        """Say hello n times."""
        return f"hello {who}" * n

    @flow(name="other-flow")
    def other() -> None:
        pass

    def not_a_flow() -> None:
        pass

    if __name__ == "__main__":
        raise SystemExit("the __main__ block must not run when deploying")
    '''
)


def write_flow_file(folder: Path) -> Path:
    path = folder / "greet_flows.py"
    path.write_text(FLOW_FILE)
    return path


def cli(
    *args: str, home: Path, cwd: Path | None = None, database_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`mainspring ARGS` in a child process on the store in `home` (or `database_url`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
    env["MAINSPRING_HOME"] = str(home)
    env["COLUMNS"] = "200"
    if database_url:
        env["MAINSPRING_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "mainspring.cli.main", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def cli_json(*args: str, home: Path, database_url: str | None = None) -> Any:
    done = cli(*args, "--json", home=home, database_url=database_url)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
