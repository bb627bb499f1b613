"""Settings: environment over profile over defaults; secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from mainspring.settings import Settings, redact_url


def test_environment_overrides_profile_which_overrides_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAINSPRING_HOME", str(tmp_path))
    (tmp_path / "profiles.toml").write_text(
        '[default]\nlogging_level = "debug"\n\n[fast]\nrecorder_flush_interval = 0.5\n'
    )
    assert Settings().logging_level == "DEBUG"
    monkeypatch.setenv("MAINSPRING_PROFILE", "fast")
    settings = Settings()
    assert settings.recorder_flush_interval == 0.5
    assert settings.logging_level == "INFO"
    monkeypatch.setenv("MAINSPRING_RECORDER_FLUSH_INTERVAL", "0.2")
    assert Settings().recorder_flush_interval == 0.2


def test_default_database_is_sqlite_in_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MAINSPRING_HOME", str(tmp_path))
    assert Settings().effective_database_url == f"sqlite:///{tmp_path / 'mainspring.db'}"


def test_a_broken_profile_file_is_named_in_the_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MAINSPRING_HOME", str(tmp_path))
    (tmp_path / "profiles.toml").write_text("[default\n")
    with pytest.raises(ValueError, match=r"profiles\.toml"):
        Settings()


def test_redacted_hides_passwords_and_keys(monkeypatch) -> None:
    monkeypatch.setenv("MAINSPRING_DATABASE_URL", "postgresql://me:s3cret@db/ms")
    monkeypatch.setenv("MAINSPRING_API_URL", "https://me:t0ken@example.test/api")
    monkeypatch.setenv("MAINSPRING_API_KEY", "key-123")
    shown = str(Settings().redacted())
    for secret in ("s3cret", "t0ken", "key-123"):
        assert secret not in shown
    assert "postgresql://me:***@db/ms" in shown


def test_bad_values_are_rejected_with_the_setting_named(monkeypatch) -> None:
    monkeypatch.setenv("MAINSPRING_LOGGING_LEVEL", "LOUD")
    with pytest.raises(ValueError, match="logging_level"):
        Settings()


def test_redact_url_leaves_urls_without_credentials_alone() -> None:
    assert redact_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    assert redact_url("postgresql://me@db/ms") == "postgresql://me@db/ms"


def test_each_kind_of_value_is_read_from_text_as_from_toml(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MAINSPRING_HOME", str(tmp_path))
    (tmp_path / "profiles.toml").write_text(
        "[default]\nserver_cors_origins = ['https://a.example', 'https://b.example']\n"
        "automation_max_attempts = 3\nlogging_console = false\n"
    )
    from_profile = Settings()
    assert from_profile.server_cors_origins == ["https://a.example", "https://b.example"]
    assert from_profile.automation_max_attempts == 3
    assert from_profile.logging_console is False

    monkeypatch.setenv("MAINSPRING_SERVER_CORS_ORIGINS", " https://c.example ,, https://d.example")
    monkeypatch.setenv("MAINSPRING_AUTOMATION_MAX_ATTEMPTS", "7")
    monkeypatch.setenv("mainspring_logging_console", "Yes")  # names are case-insensitive
    from_env = Settings()
    assert from_env.server_cors_origins == ["https://c.example", "https://d.example"]
    assert from_env.automation_max_attempts == 7
    assert from_env.logging_console is True
    assert Settings(automation_max_attempts=9).automation_max_attempts == 9  # code wins


def test_every_bad_setting_is_named_at_once_without_its_value(monkeypatch) -> None:
    from mainspring.settings import SettingsError

    monkeypatch.setenv("MAINSPRING_RUNNER_FORK", "perhaps-s3cret")
    monkeypatch.setenv("MAINSPRING_AUTOMATION_MAX_ATTEMPTS", "2.5")
    monkeypatch.setenv("MAINSPRING_WORKER_PREFETCH_SECONDS", "61")
    with pytest.raises(SettingsError) as caught:
        Settings()
    assert {name for name, _ in caught.value.problems} == {
        "runner_fork",
        "automation_max_attempts",
        "worker_prefetch_seconds",
    }
    assert "must be at most 60" in str(caught.value)
    assert "perhaps-s3cret" not in str(caught.value)


def test_secrets_are_masked_wherever_settings_are_printed(monkeypatch) -> None:
    monkeypatch.setenv("MAINSPRING_API_KEY", "key-XYZ-123")
    settings = Settings()
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == "key-XYZ-123"
    assert "key-XYZ-123" not in repr(settings) + str(settings.api_key)


def test_replaced_validates_and_leaves_the_original_alone(monkeypatch) -> None:
    from mainspring.settings import SettingsError

    settings = Settings()
    copy = settings.replaced(server_allowed_hosts=["box:4200"])
    assert copy.server_allowed_hosts == ["box:4200"] and settings.server_allowed_hosts == []
    with pytest.raises(SettingsError, match="server_max_request_bytes"):
        settings.replaced(server_max_request_bytes=0)
    with pytest.raises(TypeError, match="unknown"):
        Settings(no_such_setting=1)


def test_a_whole_number_from_text_is_read_exactly(monkeypatch) -> None:
    # through a float, a number past 2**53 would silently change
    monkeypatch.setenv("MAINSPRING_SERVER_MAX_REQUEST_BYTES", "9007199254740993")
    monkeypatch.setenv("MAINSPRING_AUTOMATION_MAX_ATTEMPTS", " 7.0 ")
    settings = Settings()
    assert settings.server_max_request_bytes == 9007199254740993
    assert settings.automation_max_attempts == 7


def test_an_empty_home_is_the_default_home_the_profile_is_read_from(monkeypatch) -> None:
    from mainspring.settings import default_home

    monkeypatch.setenv("MAINSPRING_HOME", "")
    assert Settings().home == default_home() != Path(".")
    assert Settings().home.is_absolute()


def test_a_home_of_an_unknown_user_is_a_settings_error() -> None:
    from mainspring.settings import SettingsError

    with pytest.raises(SettingsError, match="home: starts with ~"):  # not a RuntimeError
        Settings(home="~no-such-user-4c1d/ms")


def test_the_readme_lists_every_setting() -> None:
    from mainspring.settings import SETTINGS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert [name for name in SETTINGS if f"`MAINSPRING_{name.upper()}`" not in readme] == []
