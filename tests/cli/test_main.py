"""`mainspring version`, the installed console script, and the cost of `--help`."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

import mainspring

from .history import RUN_OK, invoke

SCRIPT = Path(sys.executable).parent / "mainspring"


def test_version_shows_versions_and_store(home):
    result = invoke("version")

    assert result.exit_code == 0, result.output
    assert mainspring.__version__ in result.stdout
    assert platform.python_version() in result.stdout
    assert version("sqlalchemy") in result.stdout
    assert f"sqlite:///{home}/mainspring.db" in result.stdout


def test_version_redacts_the_database_password(home, monkeypatch):
    monkeypatch.setenv("MAINSPRING_DATABASE_URL", "postgresql://app:hunter2@db/ms")

    result = invoke("version")

    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output
    assert "postgresql://app:***@db/ms" in result.stdout


def test_no_arguments_shows_help(home):
    result = invoke()

    assert "flow-run" in result.output
    assert "config" in result.output


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
    env.pop("COLUMNS", None)
    env["MAINSPRING_HOME"] = str(home)
    return env


@pytest.mark.skipif(not SCRIPT.exists(), reason="console script not installed in this env")
def test_console_script_lists_and_inspects_runs_without_colour(history, home):
    env = _env(home)
    listed = subprocess.run(
        [str(SCRIPT), "flow-run", "ls"], env=env, capture_output=True, text=True, timeout=60
    )
    missing = subprocess.run(
        [str(SCRIPT), "flow-run", "inspect", "nope"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert listed.returncode == 0, listed.stderr
    assert RUN_OK in listed.stdout
    assert "\x1b[" not in listed.stdout  # piped: no colour codes
    assert missing.returncode == 1
    assert missing.stderr == "No flow run with id 'nope'.\n"


def test_help_does_not_import_sqlalchemy(home):
    code = (
        "import sys\n"
        "from mainspring.cli.main import app\n"
        "try:\n"
        "    app(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "assert 'sqlalchemy' not in sys.modules, 'sqlalchemy imported'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=_env(home), capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    assert "flow-run" in done.stdout
