"""Shared fixtures: an isolated MAINSPRING_HOME per test, and PostgreSQL when it is available;
the session's hooks (a Ctrl-C that reaches child processes, the chaos tests' figures)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from mainspring.settings import reset_settings
from mainspring.store import reset_store
from mainspring.store.recorder import reset_recorder
from mainspring.testing import PostgresUnavailable, throwaway_postgres


def pytest_configure(config: pytest.Config) -> None:
    """Let the Ctrl-C (SIGINT) the tests send their child processes reach them, as from a
    terminal. A suite started where SIGINT is ignored (a background job of a non-interactive
    shell, `nohup`) would hand that on to every child (an ignored signal stays ignored across
    exec, a caught one is reset to the default), so a flow process or `make run` signalled by a
    test would never see it and the test would wait out its timeout."""
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    if ignored and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # pytest-xdist's workers get COLUMNS=80 and LINES=24, which the CLI subprocesses the
        # tests start would inherit and honour (tables cut to 80 columns): a serial run's
        # children see a pipe without COLUMNS, and so must a worker's
        os.environ.pop("COLUMNS", None)
        os.environ.pop("LINES", None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Captured output holding a lone surrogate (tests of undecodable log lines print them)
    cannot be encoded as UTF-8, which pytest-xdist needs to send a worker's report: the worker
    would die and the tests after it go unrun. Such characters are escaped in the report."""
    report = yield
    report.sections = [(title, _encodable(text)) for title, text in report.sections]
    return report


def _encodable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


_FIGURES: list[tuple[str, str]] = []
_FIGURE = "chaos figure"  # the user_properties name chaos/conftest.py's `chaos_figures` uses


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Gather the lines of figures tests reported (chaos/conftest.py `chaos_figures`). Here,
    not beside the fixture: under pytest-xdist only this conftest is loaded where reports land."""
    if report.when == "call":  # every phase's report repeats the properties: take them once
        _FIGURES.extend((report.nodeid, v) for k, v in report.user_properties if k == _FIGURE)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _FIGURES:
        terminalreporter.section("chaos figures")
        for nodeid, line in _FIGURES:
            terminalreporter.write_line(f"{nodeid.rsplit('::', 1)[-1]}: {line}")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Each test gets its own MAINSPRING_HOME and no MAINSPRING_* settings from outside."""
    for name in list(os.environ):
        if name.startswith("MAINSPRING_") and not name.startswith("MAINSPRING_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MAINSPRING_HOME", str(tmp_path_factory.mktemp("home")))
    reset_settings()
    reset_recorder()
    reset_store()
    yield
    reset_recorder()  # flush this test's run history into this test's store, then forget it
    reset_store()
    reset_settings()
    # the logging handlers a flow of this test configured (from its settings, such as
    # MAINSPRING_LOGGING_CONSOLE=false) must not outlive it: with pytest-xdist, any test file
    # may follow any other in one process
    engine_logging = sys.modules.get("mainspring.engine.logging")
    if engine_logging is not None:
        engine_logging.reset_logging()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server URL (its `postgres` database): MAINSPRING_TEST_POSTGRES_URL if set,
    else a throwaway cluster started from the local binaries and stopped at session end."""
    url = os.environ.get("MAINSPRING_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    try:
        with throwaway_postgres() as url:
            yield url
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def postgres_database(postgres_url: str) -> Iterator[str]:
    """The URL of a fresh, empty database on the test server, dropped after the test."""
    server = sa.make_url(postgres_url)
    if server.drivername in ("postgres", "postgresql"):
        server = server.set(drivername="postgresql+psycopg")
    name = f"mainspring_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    quoted = admin.dialect.identifier_preparer.quote(name)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {quoted}")
        yield server.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
    finally:
        admin.dispose()
