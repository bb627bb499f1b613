"""Settings: environment variables `MAINSPRING_*`, then a profile file, then defaults.

The profile file is `$MAINSPRING_HOME/profiles.toml`; `MAINSPRING_PROFILE` names the table
used (default `default`):

    [default]
    logging_level = "DEBUG"

    [remote]
    api_url = "http://127.0.0.1:4200/api"

`get_settings()` reads once per process and caches; `reset_settings()` forgets the cache
(tests and `mainspring config` use it after changing the environment).
"""

from __future__ import annotations

import os
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

ENV_PREFIX = "MAINSPRING_"
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def default_home() -> Path:
    return Path(os.environ.get("MAINSPRING_HOME") or Path.home() / ".mainspring").expanduser()


class ProfileSource(PydanticBaseSettingsSource):
    """Values from the selected table of `$MAINSPRING_HOME/profiles.toml`, if the file exists."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ returns the whole table

    def __call__(self) -> dict[str, Any]:
        path = default_home() / "profiles.toml"
        if not path.is_file():
            return {}
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"Cannot read profile file {path}: {exc}") from exc
        profile = os.environ.get("MAINSPRING_PROFILE", "default")
        table = data.get(profile, {})
        if not isinstance(table, dict):
            raise ValueError(f"Profile {profile!r} in {path} is not a table")
        known = set(self.settings_cls.model_fields)
        return {k: v for k, v in table.items() if k in known}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    home: Path = Field(default_factory=default_home, description="Where Mainspring keeps state.")
    profile: str = Field("default", description="Which table of profiles.toml is used.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the store; default: SQLite in `home`."
    )
    api_url: str | None = Field(None, description="A Mainspring server's API; selects ApiStore.")
    api_key: SecretStr | None = Field(None, description="API key sent to the server.")
    encryption_key: SecretStr | None = Field(
        None,
        description="Fernet key encrypting block secrets at rest; default: a key file "
        "(`mainspring.key`, 0600) beside the SQLite store, or in `home`, created on first use.",
    )
    logging_level: LogLevel = Field("INFO", description="Console and stored log level.")
    logging_console: bool = Field(True, description="Print run logs to the console (stderr).")
    recorder_flush_interval: float = Field(
        0.05, gt=0, description="Seconds between background writes of states and logs."
    )
    task_runner_max_workers: int | None = Field(
        None, gt=0, description="Threads of the default task runner (default: 4 x CPUs, <= 64)."
    )
    result_storage: str | None = Field(
        None,
        description="Where persisted results, cache records and run manifests go: a path or an "
        "fsspec URL (s3://bucket/prefix); default: the `results` folder of `home`.",
    )
    result_trusted_locations: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="More places results may be loaded from (comma-separated paths or URL "
        "prefixes), besides `result_storage` and the storages of the flows and tasks defined "
        "in the process: loading a result may run code.",
    )
    sqlite_busy_timeout: float = Field(
        60.0, gt=0, description="Seconds a writer waits for another process's SQLite lock."
    )
    heartbeat_interval: float = Field(
        5.0,
        gt=0,
        description="Seconds between heartbeats of running flow runs; also how long a cancel "
        "may take to reach the process running the flow.",
    )
    concurrency_lease_seconds: float = Field(
        30.0,
        gt=0,
        le=86_400,
        description="Seconds a concurrency slot stays held without renewal (renewed every "
        "third of it while held): how long a killed holder blocks its limit.",
    )
    runner_fork: bool = Field(
        True,
        description="Start deployment runs by forking them from a fork server with "
        "Mainspring loaded (POSIX); false: a new interpreter per run.",
    )
    worker_prefetch_seconds: float = Field(
        1.5,
        ge=0,
        le=60,
        description="Seconds before its time a worker or serve() may claim a run and start its "
        "process, which waits for the scheduled time before the flow starts.",
    )
    server_crash_timeout: float = Field(
        30.0,
        gt=0,
        description="Seconds without a heartbeat after which the server marks a running flow "
        "run Crashed; must be longer than heartbeat_interval.",
    )
    server_crash_check_interval: float = Field(
        5.0, gt=0, description="Seconds between the crash detector's scans for silent runs."
    )
    server_crash_detector: bool = Field(
        True, description="Run the crash detector in `mainspring server start`."
    )
    server_scheduler: bool = Field(
        True,
        description="Run the scheduler in `mainspring server start`: it creates deployments' "
        "runs ahead of time, marks runs not started on time Late, and returns stale claims.",
    )
    server_scheduler_interval: float = Field(
        5.0, gt=0, description="Seconds between the server's scheduler ticks."
    )
    server_automations: bool = Field(
        True, description="Run the automations service in `mainspring server start`."
    )
    server_automations_interval: float = Field(
        1.0, gt=0, description="Seconds between the automations service's looks at new events."
    )
    automation_retry_seconds: float = Field(
        2.0,
        gt=0,
        description="Seconds before an automation's failed action (a receiver down) is tried "
        "again; doubled after each failure, up to 10 minutes.",
    )
    automation_max_attempts: int = Field(
        12, gt=0, description="Attempts of an automation's action before it is given up."
    )
    server_ui_url: str | None = Field(
        None,
        description="The server's address as people reach it, for links in notifications "
        "(default: http://127.0.0.1:4200).",
    )
    event_retention_seconds: float = Field(
        7 * 86400.0,
        gt=0,
        description="Stored events (not run states, which are the run history) older than "
        "this are deleted by the server's retention service, with finished automation firings.",
    )
    server_retention_interval: float = Field(
        3600.0, gt=0, description="Seconds between the retention service's prunings."
    )
    # Comma-separated in the environment (NoDecode: not JSON), lists in profiles.toml.
    server_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Host names the server answers to besides loopback and the address it is "
        "bound to (`name` or `name:port`, `*` for any), e.g. its DNS name behind a proxy.",
    )
    server_cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Web origins (https://app.example.com) whose pages may call the API from "
        "a browser (CORS); none by default.",
    )
    server_max_request_bytes: int = Field(
        16 * 2**20,
        gt=0,
        description="Largest request body the server takes (413 above it); clients split "
        "their batches below it.",
    )

    @field_validator(
        "server_allowed_hosts", "server_cors_origins", "result_trusted_locations", mode="before"
    )
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("logging_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("server_crash_timeout")
    @classmethod
    def _timeout_beyond_heartbeats(cls, timeout: float, info: ValidationInfo) -> float:
        # A field validator, not a model one: its error then names the setting to change.
        heartbeat = info.data.get("heartbeat_interval")  # absent when itself invalid
        if heartbeat is not None and timeout <= heartbeat:
            raise ValueError(
                f"server_crash_timeout ({timeout:g} s) must be longer than heartbeat_interval "
                f"(MAINSPRING_HEARTBEAT_INTERVAL, {heartbeat:g} s), or every run would look "
                "crashed between two heartbeats"
            )
        return timeout

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, ProfileSource(settings_cls))

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'mainspring.db'}"

    def redacted(self) -> dict[str, Any]:
        """Every setting with its effective value, secrets masked, for `mainspring config view`."""
        shown = self.model_dump(mode="json")
        shown["database_url"] = redact_url(self.effective_database_url)
        if self.api_url:
            shown["api_url"] = redact_url(self.api_url)
        if self.api_key is not None:
            shown["api_key"] = "********"
        if self.encryption_key is not None:
            shown["encryption_key"] = "********"
        return shown


#: A query parameter whose value may be a secret: `?password=`, `sslpassword`, `api_key`, ...
_SECRET_PARAM = re.compile(r"([?&;][^=&#;]*(?:pass|pwd|secret|token|key)[^=&#;]*=)[^&#;]*", re.I)


def redact_url(url: str) -> str:
    """`url` with its secrets masked, for anything shown or logged: the password of the
    credentials (`postgresql://u:secret@h/db` -> `u:***@h`) and the value of each query
    parameter whose name says it holds one (`?password=secret` -> `?password=***`).

    The one redaction of URLs: every message, log line and command showing a URL uses it.
    """
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest:  # the last "@": a raw password may hold "@", "/" or "?"
        creds, _, host = rest.rpartition("@")
        user, colon, _password = creds.partition(":")
        url = f"{scheme}://{user}{':***' if colon else ''}@{host}"
    return _SECRET_PARAM.sub(r"\1***", url)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    get_settings.cache_clear()
