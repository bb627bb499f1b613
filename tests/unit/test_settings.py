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
