"""`mainspring config view`."""

from __future__ import annotations

from .history import invoke


def row(output: str, setting: str) -> str:
    return next(line for line in output.splitlines() if line.split()[:1] == [setting])


def test_config_view_redacts_secrets_and_names_sources(home, monkeypatch):
    monkeypatch.setenv("MAINSPRING_DATABASE_URL", "postgresql+psycopg://app:hunter2@db:5432/ms")
    monkeypatch.setenv("MAINSPRING_API_KEY", "sk-very-secret")
    (home / "profiles.toml").write_text('[default]\nlogging_level = "debug"\n')

    result = invoke("config", "view")

    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output
    assert "sk-very-secret" not in result.output
    database = row(result.stdout, "database_url")
    assert "postgresql+psycopg://app:***@db:5432/ms" in database
    assert "env MAINSPRING_DATABASE_URL" in database
    assert "********" in row(result.stdout, "api_key")
    level = row(result.stdout, "logging_level")
    assert "DEBUG" in level
    assert "profile [default]" in level
    assert "default" in row(result.stdout, "sqlite_busy_timeout")
    assert str(home / "profiles.toml") in result.stdout


def test_config_view_defaults_to_sqlite_in_home(home):
    result = invoke("config", "view")

    assert result.exit_code == 0, result.output
    database = row(result.stdout, "database_url")
    assert f"sqlite:///{home}/mainspring.db" in database
    assert "default (SQLite in home)" in database
    assert "(not found)" in result.stdout


def test_config_view_with_an_invalid_setting_is_one_line(home, monkeypatch):
    monkeypatch.setenv("MAINSPRING_SQLITE_BUSY_TIMEOUT", "-1")

    result = invoke("config", "view")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: invalid settings:")
    assert "Traceback" not in result.output


def test_a_rule_across_settings_names_the_variables(home, monkeypatch):
    monkeypatch.setenv("MAINSPRING_HEARTBEAT_INTERVAL", "5")
    monkeypatch.setenv("MAINSPRING_SERVER_CRASH_TIMEOUT", "3")

    result = invoke("config", "view")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: invalid settings: MAINSPRING_SERVER_CRASH_TIMEOUT: ")
    assert "MAINSPRING_HEARTBEAT_INTERVAL, 5 s" in result.stderr
    assert "MAINSPRING_:" not in result.stderr


def test_server_host_and_origin_lists_are_comma_separated(home, monkeypatch):
    monkeypatch.setenv("MAINSPRING_SERVER_ALLOWED_HOSTS", "ms.internal, proxy:8443")

    result = invoke("config", "view")

    assert result.exit_code == 0, result.output
    assert "ms.internal" in row(result.stdout, "server_allowed_hosts")
    assert "proxy:8443" in row(result.stdout, "server_allowed_hosts")


def test_urls_in_a_list_setting_are_redacted_too(home, monkeypatch):
    monkeypatch.setenv(
        "MAINSPRING_RESULT_TRUSTED_LOCATIONS", "/data/results, sftp://etl:pa55word@files/out"
    )

    result = invoke("config", "view")

    assert result.exit_code == 0, result.output
    assert "pa55word" not in result.output
    assert "sftp://etl:***@files/out" in row(result.stdout, "result_trusted_locations")


def test_a_profile_file_that_is_not_utf8_is_one_line(home):
    (home / "profiles.toml").write_bytes(b'[default]\nlogging_level = "\xff"\n')

    result = invoke("config", "view")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: invalid settings:")
    assert "profiles.toml" in result.stderr and "Traceback" not in result.output
