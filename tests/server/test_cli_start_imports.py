"""`mainspring deployment run` through a server loads what it needs to ask the server, and no
more: no SQLAlchemy, no SQL store, no engine, no rich, no httpx command-line client (each
of them a large part of a short command's start-up, issue 12)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .conftest import Server, cli, server_env

pytestmark = pytest.mark.slow

FLOW = textwrap.dedent(
    """
    from mainspring import flow

    @flow
    def hello(x: int = 1) -> None:
        print(x)
    """
)
#: Module name prefixes a `deployment run` through a server must not import.
NOT_NEEDED = (
    "sqlalchemy",
    "alembic",
    "mainspring.store.sql",
    "mainspring.engine",
    "mainspring.server",
    "rich",
    "httpx._main",
    "pygments",
)


def test_deployment_run_through_a_server_imports_no_sql_store(
    server: Server, tmp_path: Path
) -> None:
    env = server_env(tmp_path / "client-home")
    env["MAINSPRING_API_URL"] = server.url
    (tmp_path / "hello.py").write_text(FLOW)
    deployed = cli(env, "deploy", f"{tmp_path / 'hello.py'}:hello", "--name", "imports")
    assert deployed.returncode == 0, deployed.stderr
    code = (
        "import sys\n"
        "from mainspring.cli.main import app\n"
        "try:\n"
        "    app(['deployment', 'run', 'hello/imports', '--param', 'x=2'])\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        "loaded = sorted(name for name, module in sys.modules.items() if module is not None)\n"
        "print('\\n'.join(loaded), file=sys.stderr)\n"
    )

    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    assert "Created flow run" in done.stdout
    loaded = [m for m in done.stderr.split() if m.startswith(NOT_NEEDED)]
    assert loaded == []
    run_id = done.stdout.split("(", 1)[1].split(")", 1)[0]
    inspected = cli(env, "flow-run", "inspect", run_id, "--json")
    assert inspected.returncode == 0, inspected.stderr
    assert json.loads(inspected.stdout)["parameters"] == {"x": 2}
