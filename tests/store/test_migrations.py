"""Migrations: applied on first use, equal to the schema module, cheap when already at head."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from mainspring.exceptions import StoreError
from mainspring.store.sql import SqlStore, schema
from mainspring.store.sql.migrations import alembic_config, current_revision
from mainspring.store.sql.schema import SCHEMA_HEAD


def test_schema_head_is_alembics_head() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    assert scripts.get_heads() == [SCHEMA_HEAD]


def test_migrates_when_installed_under_a_path_with_a_percent_sign(tmp_path) -> None:
    # alembic reads its options through ConfigParser, where "%" starts an interpolation: the
    # scripts are found through the package, never by writing their file path into an option.
    import mainspring

    installed = tmp_path / "100% python" / "site-packages"
    shutil.copytree(Path(mainspring.__file__).parent, installed / "mainspring")
    code = (
        "from mainspring.store.sql import SqlStore\n"
        f"store = SqlStore('sqlite:///{tmp_path / 'db.sqlite'}')\n"
        "print(store.read_flows())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(installed)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_first_use_migrates_to_head(store: SqlStore) -> None:
    assert store.read_flows() == []  # first use
    with store.engine().connect() as conn:
        assert current_revision(conn) == SCHEMA_HEAD
        tables = set(sa.inspect(conn).get_table_names())
    sqlite_only = schema.SQLITE_ONLY_TABLES if conn.dialect.name == "sqlite" else set()
    assert tables == set(schema.metadata.tables) | {"alembic_version"} | sqlite_only


def _portable(obj: object, name: str | None, kind: str, reflected: bool, other: object) -> bool:
    return not (
        (kind == "index" and name in schema.POSTGRES_ONLY_INDEXES)
        or (kind == "table" and name in schema.SQLITE_ONLY_TABLES)
    )


def test_migration_produces_the_schema_module(store: SqlStore) -> None:
    with store.engine().connect() as conn:
        opts = {"compare_type": True, "include_object": _portable}
        context = MigrationContext.configure(conn, opts=opts)
        diff = compare_metadata(context, schema.metadata)
    assert diff == []


def test_migrated_indexes(store: SqlStore) -> None:
    with store.engine().connect() as conn:
        inspector = sa.inspect(conn)
        flow_run_indexes = {tuple(i["column_names"]) for i in inspector.get_indexes("flow_run")}
    assert {("flow_name", "sort_time"), ("sort_time", "id"), ("state_type",), ("created",)} <= (
        flow_run_indexes
    )


def test_database_from_a_newer_version_is_refused(store_url: str) -> None:
    first = SqlStore(store_url)
    first.read_flows()
    version = sa.table("alembic_version", sa.column("version_num"))
    with first.engine().begin() as conn:
        conn.execute(version.update().values(version_num="9999"))
    first.close()
    with pytest.raises(StoreError, match=r"revision '9999'.*newer Mainspring"):
        SqlStore(store_url).read_flows()


def test_at_head_the_check_does_not_import_alembic(store_url: str) -> None:
    SqlStore(store_url).read_flows()  # migrate in this process
    code = (
        "import sys\n"
        "from mainspring.store.sql import SqlStore\n"
        f"SqlStore({store_url!r}).read_flows()\n"
        "print('alembic' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"
