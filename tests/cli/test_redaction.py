"""Passwords in a database URL, in its credentials or in a `?password=` query parameter, are
never printed by the real CLI: not by `config view`, not by `version`, not in errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mainspring.settings import redact_url

SECRET = "hunter2"


def run(home: Path, database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
    env.update(MAINSPRING_HOME=str(home), MAINSPRING_DATABASE_URL=database_url, COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "mainspring.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://me@127.0.0.1:1/ms?password={SECRET}",
        f"postgresql://me:{SECRET}@127.0.0.1:1/ms?sslmode=disable&sslpassword={SECRET}",
    ],
)
def test_database_passwords_are_never_printed(tmp_path: Path, url: str) -> None:
    shown = run(tmp_path, url, "config", "view")
    assert shown.returncode == 0, shown.stderr
    assert SECRET not in shown.stdout and "127.0.0.1:1/ms" in shown.stdout
    version = run(tmp_path, url, "version")
    assert version.returncode == 0 and SECRET not in version.stdout and "***" in version.stdout
    failed = run(tmp_path, url, "flow-run", "ls")  # nothing listens on port 1
    assert failed.returncode == 1 and failed.stderr.startswith("Error: ")
    assert SECRET not in failed.stderr and "Traceback" not in failed.stderr
    unsupported = run(tmp_path, url.replace("postgresql", "mysql"), "flow-run", "ls")
    assert "Unsupported database URL" in unsupported.stderr and SECRET not in unsupported.stderr


def test_a_malformed_database_url_is_one_line_without_its_password(tmp_path: Path) -> None:
    failed = run(tmp_path, f"postgresql://me:{SECRET}@db:notaport/ms", "flow-run", "ls")
    assert failed.returncode == 1 and failed.stderr.startswith("Error: Invalid database URL")
    assert SECRET not in failed.stderr and "Traceback" not in failed.stderr


def test_redact_url_masks_credentials_and_secret_parameters() -> None:
    assert (
        redact_url(f"postgresql://u:{SECRET}@h/db?password={SECRET}&application_name=x")
        == "postgresql://u:***@h/db?password=***&application_name=x"
    )
    assert redact_url(f"postgresql:///db?host=/tmp&PASSWORD={SECRET}#x") == (
        "postgresql:///db?host=/tmp&PASSWORD=***#x"
    )
    assert redact_url(f"https://h/api?token={SECRET}") == "https://h/api?token=***"
    assert (
        redact_url("postgresql://u@h/db?sslmode=require") == "postgresql://u@h/db?sslmode=require"
    )
