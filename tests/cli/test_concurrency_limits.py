"""`mainspring concurrency-limit` and `global-concurrency-limit`: the real CLI in subprocesses,
on SQLite and PostgreSQL, round trip through the store (what code and task runs then use)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mainspring.store.sql import SqlStore
from server.conftest import cli, server_env

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    url = None if request.param == "sqlite" else request.getfixturevalue("postgres_database")
    environment = server_env(tmp_path, url)
    environment["COLUMNS"] = "200"
    return environment


def ok(env: dict[str, str], *args: str) -> str:
    done = cli(env, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def error(env: dict[str, str], *args: str) -> str:
    done = cli(env, *args)
    assert done.returncode != 0, done.stdout
    return done.stderr


def test_tag_limits_round_trip(env: dict[str, str]) -> None:
    assert "No tag concurrency limits" in ok(env, "concurrency-limit", "ls")
    assert "created: at most 2" in ok(env, "concurrency-limit", "create", "db", "2")
    assert "updated: at most 3" in ok(env, "concurrency-limit", "create", "db", "3")
    listed = json.loads(ok(env, "concurrency-limit", "ls", "--json"))
    assert [(x["tag"], x["name"], x["limit"], x["active_slots"]) for x in listed] == [
        ("db", "tag:db", 3, 0)
    ]
    store = SqlStore(
        env.get("MAINSPRING_DATABASE_URL") or f"sqlite:///{env['MAINSPRING_HOME']}/mainspring.db"
    )
    try:
        held = store.acquire_concurrency_slots(["tag:db"], 1, "task run x", lease_seconds=60)
        shown = json.loads(ok(env, "concurrency-limit", "inspect", "db", "--json"))
        assert (shown["active_slots"], shown["holders"]) == (1, ["task run x"])
        assert shown["created"].endswith("+00:00")
        assert "task run x" in ok(env, "concurrency-limit", "inspect", "db")
        assert "every slot is free" in ok(env, "concurrency-limit", "reset", "db")
        assert store.renew_concurrency_leases([held.lease_id], 60) == []
        assert "deleted" in ok(env, "concurrency-limit", "delete", "db")
        assert store.read_concurrency_limits() == []
    finally:
        store.close()
    for command in ("inspect", "reset", "delete"):
        assert "no concurrency limit for tag 'db'" in error(env, "concurrency-limit", command, "db")
    assert "limit" in error(env, "concurrency-limit", "create", "db", "-1")


def test_global_limits_round_trip(env: dict[str, str]) -> None:
    assert "No global concurrency limits" in ok(env, "global-concurrency-limit", "ls")
    ok(
        env,
        "global-concurrency-limit",
        "create",
        "api",
        "--limit",
        "5",
        "--slot-decay-per-second",
        "0.5",
    )
    ok(env, "concurrency-limit", "create", "db", "1")  # a tag limit: not listed here
    assert "exists already" in error(
        env, "global-concurrency-limit", "create", "api", "--limit", "1"
    )
    listed = json.loads(ok(env, "global-concurrency-limit", "ls", "--json"))
    assert [(x["name"], x["limit"], x["slot_decay_per_second"], x["active"]) for x in listed] == [
        ("api", 5, 0.5, True)
    ]
    ok(env, "global-concurrency-limit", "update", "api", "--limit", "7", "--disable")
    shown = json.loads(ok(env, "global-concurrency-limit", "inspect", "api", "--json"))
    assert (shown["limit"], shown["active"], shown["tag"]) == (7, False, None)
    assert "no (limits nothing)" in ok(env, "global-concurrency-limit", "inspect", "api")
    assert "nothing to update" in error(env, "global-concurrency-limit", "update", "api")
    ok(env, "global-concurrency-limit", "delete", "api")
    for args in (("inspect", "api"), ("delete", "api"), ("update", "api", "--limit", "1")):
        assert "no global concurrency limit 'api'" in error(env, "global-concurrency-limit", *args)
    assert "names no tag" in error(
        env, "global-concurrency-limit", "create", "tag:", "--limit", "1"
    )
