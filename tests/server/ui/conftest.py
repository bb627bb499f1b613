"""UI test fixtures: the app in-process (httpx, HTML assertions), a real server over a store
holding real flow runs, and a real browser (Debian's chromium driven by Playwright).

The browser fixtures skip, saying why, where Playwright or chromium is missing; they never
download a browser (`playwright install` is not needed: `.ci/run` installs Debian's).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mainspring.settings import reset_settings
from mainspring.store import get_store, reset_store
from mainspring.store.sql import SqlStore

from ..conftest import Server, server_env, start_server, stop_server

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

HISTORY_SCRIPT = Path(__file__).with_name("history.py")
CHROMIUM = os.environ.get("MAINSPRING_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def record_history(home: Path, database_url: str | None = None) -> None:
    """Run the real flows of history.py in a process of their own, recording into the store
    of `home` (or `database_url`)."""
    done = subprocess.run(
        [sys.executable, str(HISTORY_SCRIPT)],
        env=server_env(home, database_url) | {"MAINSPRING_LOGGING_CONSOLE": "false"},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def history_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A MAINSPRING_HOME whose SQLite store holds history.py's runs (made once per module)."""
    home = tmp_path_factory.mktemp("ui-history")
    record_history(home)
    return home


def history_url(home: Path) -> str:
    return f"sqlite:///{home / 'mainspring.db'}"


def ui_client(store: SqlStore, **options: Any) -> TestClient:
    """The app in-process over `store`, as a browser on 127.0.0.1 would reach it."""
    from mainspring.server.app import create_app

    options.setdefault("services", False)
    return TestClient(create_app(store, **options), base_url="http://127.0.0.1:4200")


@pytest.fixture
def history_store(history_home: Path) -> Iterator[SqlStore]:
    store = SqlStore(history_url(history_home), end_dead_runs=False)
    yield store
    store.close()


@pytest.fixture
def own_store(history_home: Path, tmp_path: Path) -> Iterator[SqlStore]:
    """A copy of the history's store, for tests that change it (API keys, which the other
    tests of the module must not see: keys, once made, are required; more runs)."""
    copy = tmp_path / "own.db"
    shutil.copyfile(history_home / "mainspring.db", copy)
    wal = history_home / "mainspring.db-wal"  # the last writes may still be in the log only
    if wal.exists():
        shutil.copyfile(wal, tmp_path / "own.db-wal")
    store = SqlStore(f"sqlite:///{copy}", end_dead_runs=False)
    yield store
    store.close()


@pytest.fixture
def client(history_store: SqlStore) -> Iterator[TestClient]:
    with ui_client(history_store) as c:
        yield c


@pytest.fixture(scope="module")
def live_server(history_home: Path) -> Iterator[Server]:
    """`mainspring server start` (uvicorn on a free port) over history.py's store."""
    env = server_env(history_home) | {"MAINSPRING_SERVER_CRASH_DETECTOR": "false"}
    server = start_server(env)
    try:
        yield server
    finally:
        stop_server(server.process)


def ui_url(server: Server) -> str:
    """The UI's base URL of a server (its API URL without /api)."""
    return server.url.removesuffix("/api")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian chromium, through Playwright's sync API; skipped when either is absent.

    One per test file, not per session: while Playwright's sync API is open, its event loop
    is the main thread's running loop, so `asyncio.run()` in any later test of the same
    process fails ("cannot be called from a running event loop"); with pytest-xdist a
    worker runs other files after this one."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed (pip install 'mainspring[dev]')")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"No chromium at {CHROMIUM} (apt install chromium; MAINSPRING_TEST_CHROMIUM)")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
        except Error as exc:
            pytest.skip(f"chromium at {CHROMIUM} did not start: {exc}")
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser page (own cookies) at 1280x800."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def flow_store(store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlStore]:
    """The store the real flows of this process record into (and the pages read), on SQLite
    and PostgreSQL (`store_url`)."""
    monkeypatch.setenv("MAINSPRING_DATABASE_URL", store_url)
    monkeypatch.setenv("MAINSPRING_LOGGING_CONSOLE", "false")
    reset_settings()
    reset_store()
    store = get_store()
    assert isinstance(store, SqlStore)
    yield store
    reset_store()
    reset_settings()
