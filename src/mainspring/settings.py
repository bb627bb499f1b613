"""Settings: environment variables `MAINSPRING_*`, then a profile file, then defaults.

The profile file is `$MAINSPRING_HOME/profiles.toml`; `MAINSPRING_PROFILE` names the table
used (default `default`):

    [default]
    logging_level = "DEBUG"

    [remote]
    api_url = "http://127.0.0.1:4200/api"

`get_settings()` reads once per process and caches; `reset_settings()` forgets the cache
(tests and `mainspring config` use it after changing the environment).

Read by a small typed reader rather than pydantic-settings: every CLI command reads settings
first, and importing pydantic with pydantic-settings cost ~90 ms of a ~0.5 s `mainspring
deployment run` (issue 12's start-up target). Each setting is a `Setting` below: its parser,
bounds and description in one place; errors name the setting, never its value.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from mainspring.settings_values import (
    Secret,
    SettingsError,
    flag,
    integer,
    level,
    number,
    optional,
    path,
    secret,
    text,
    text_list,
)

__all__ = ["ENV_PREFIX", "Secret", "Settings", "SettingsError", "get_settings", "redact_url"]

ENV_PREFIX = "MAINSPRING_"
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def default_home() -> Path:
    return Path(os.environ.get("MAINSPRING_HOME") or Path.home() / ".mainspring").expanduser()


class Setting:
    """One setting's contract: how a text (environment) or TOML value becomes its value, its
    bounds, its default and what it is for. Read on the class (`Settings.home`) it is this
    spec; on an instance, the instance's value shadows it."""

    def __init__(
        self,
        parse: Callable[[Any], Any],
        default: Any = None,
        doc: str = "",
        *,
        factory: Callable[[], Any] | None = None,
        gt: float | None = None,
        ge: float | None = None,
        le: float | None = None,
    ) -> None:
        self.parse, self.default, self.factory, self.doc = parse, default, factory, doc
        self.gt, self.ge, self.le = gt, ge, le
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        return self  # only on the class: instances hold their values in __dict__

    def value_of(self, raw: Any) -> Any:
        """The parsed value; ValueError says what is wrong without repeating the value.
        An empty value of a setting with a computed default is that default, as
        `default_home()` reads an empty MAINSPRING_HOME (else `home` would be the working
        directory while the profile is read from ~/.mainspring)."""
        if raw == "" and self.factory is not None:
            return self.factory()
        value = self.parse(raw)
        if isinstance(value, int | float) and not isinstance(value, bool):
            if self.gt is not None and not value > self.gt:
                raise ValueError(f"must be greater than {self.gt:g}")
            if self.ge is not None and not value >= self.ge:
                raise ValueError(f"must be at least {self.ge:g}")
            if self.le is not None and not value <= self.le:
                raise ValueError(f"must be at most {self.le:g}")
        return value

    def default_value(self) -> Any:
        return self.factory() if self.factory is not None else self.default


def setting(parse: Callable[[Any], Any], default: Any = None, doc: str = "", **rules: Any) -> Any:
    """A `Setting`, typed `Any` so that `home: Path = setting(...)` type-checks as the value."""
    return Setting(parse, default, doc, **rules)


class Settings:
    """Every setting, read at construction: keyword arguments, then the environment, then the
    profile, then defaults. Invalid values raise SettingsError naming each bad setting."""

    home: Path = setting(path, doc="Where Mainspring keeps state.", factory=default_home)
    profile: str = setting(text, "default", "Which table of profiles.toml is used.")
    database_url: str | None = setting(
        optional(text), None, "SQLAlchemy URL of the store; default: SQLite in `home`."
    )
    api_url: str | None = setting(
        optional(text), None, "A Mainspring server's API; selects ApiStore."
    )
    api_key: Secret | None = setting(optional(secret), None, "API key sent to the server.")
    encryption_key: Secret | None = setting(
        optional(secret),
        None,
        "Fernet key encrypting block secrets at rest; default: a key file "
        "(`mainspring.key`, 0600) beside the SQLite store, or in `home`, created on first use.",
    )
    logging_level: LogLevel = setting(level, "INFO", "Console and stored log level.")
    logging_console: bool = setting(flag, True, "Print run logs to the console (stderr).")
    recorder_flush_interval: float = setting(
        number, 0.05, "Seconds between background writes of states and logs.", gt=0
    )
    task_runner_max_workers: int | None = setting(
        optional(integer),
        None,
        "Threads of the default task runner (default: 4 x CPUs, <= 64).",
        gt=0,
    )
    result_storage: str | None = setting(
        optional(text),
        None,
        "Where persisted results, cache records and run manifests go: a path or an "
        "fsspec URL (s3://bucket/prefix); default: the `results` folder of `home`.",
    )
    result_trusted_locations: list[str] = setting(
        text_list,
        doc="More places results may be loaded from (comma-separated paths or URL "
        "prefixes), besides `result_storage` and the storages of the flows and tasks defined "
        "in the process: loading a result may run code.",
        factory=list,
    )
    sqlite_busy_timeout: float = setting(
        number, 60.0, "Seconds a writer waits for another process's SQLite lock.", gt=0
    )
    heartbeat_interval: float = setting(
        number,
        5.0,
        "Seconds between heartbeats of running flow runs; also how long a cancel "
        "may take to reach the process running the flow.",
        gt=0,
    )
    concurrency_lease_seconds: float = setting(
        number,
        30.0,
        "Seconds a concurrency slot stays held without renewal (renewed every "
        "third of it while held): how long a killed holder blocks its limit.",
        gt=0,
        le=86_400,
    )
    runner_fork: bool = setting(
        flag,
        True,
        "Start deployment runs by forking them from a fork server with "
        "Mainspring loaded (POSIX); false: a new interpreter per run.",
    )
    worker_prefetch_seconds: float = setting(
        number,
        1.5,
        "Seconds before its time a worker or serve() may claim a run and start its "
        "process, which waits for the scheduled time before the flow starts.",
        ge=0,
        le=60,
    )
    server_crash_timeout: float = setting(
        number,
        30.0,
        "Seconds without a heartbeat after which the server marks a running flow "
        "run Crashed; must be longer than heartbeat_interval.",
        gt=0,
    )
    server_crash_check_interval: float = setting(
        number, 5.0, "Seconds between the crash detector's scans for silent runs.", gt=0
    )
    server_crash_detector: bool = setting(
        flag, True, "Run the crash detector in `mainspring server start`."
    )
    server_scheduler: bool = setting(
        flag,
        True,
        "Run the scheduler in `mainspring server start`: it creates deployments' "
        "runs ahead of time, marks runs not started on time Late, and returns stale claims.",
    )
    server_scheduler_interval: float = setting(
        number, 5.0, "Seconds between the server's scheduler ticks.", gt=0
    )
    server_automations: bool = setting(
        flag, True, "Run the automations service in `mainspring server start`."
    )
    server_automations_interval: float = setting(
        number, 1.0, "Seconds between the automations service's looks at new events.", gt=0
    )
    automation_retry_seconds: float = setting(
        number,
        2.0,
        "Seconds before an automation's failed action (a receiver down) is tried "
        "again; doubled after each failure, up to 10 minutes.",
        gt=0,
    )
    automation_max_attempts: int = setting(
        integer, 12, "Attempts of an automation's action before it is given up.", gt=0
    )
    server_ui_url: str | None = setting(
        optional(text),
        None,
        "The server's address as people reach it, for links in notifications "
        "(default: http://127.0.0.1:4200).",
    )
    event_retention_seconds: float = setting(
        number,
        7 * 86400.0,
        "Stored events (not run states, which are the run history) older than "
        "this are deleted by the server's retention service, with finished automation firings.",
        gt=0,
    )
    server_retention_interval: float = setting(
        number, 3600.0, "Seconds between the retention service's prunings.", gt=0
    )
    # Comma-separated in the environment, lists in profiles.toml.
    server_allowed_hosts: list[str] = setting(
        text_list,
        doc="Host names the server answers to besides loopback and the address it is "
        "bound to (`name` or `name:port`, `*` for any), e.g. its DNS name behind a proxy.",
        factory=list,
    )
    server_cors_origins: list[str] = setting(
        text_list,
        doc="Web origins (https://app.example.com) whose pages may call the API from "
        "a browser (CORS); none by default.",
        factory=list,
    )
    server_max_request_bytes: int = setting(
        integer,
        16 * 2**20,
        "Largest request body the server takes (413 above it); clients split "
        "their batches below it.",
        gt=0,
    )

    def __init__(self, **values: Any) -> None:
        values = _known(values)
        raw = {**profile_values(), **environment_values(), **values}
        problems: list[tuple[str, str]] = []
        self.__dict__.update(_parsed(raw, SETTINGS, problems))
        problems.extend(self._rules_across_settings())
        if problems:
            raise SettingsError(problems)

    def _rules_across_settings(self) -> list[tuple[str, str]]:
        heartbeat = self.__dict__.get("heartbeat_interval")  # absent when itself invalid
        timeout = self.__dict__.get("server_crash_timeout")
        if heartbeat is not None and timeout is not None and timeout <= heartbeat:
            message = (
                f"server_crash_timeout ({timeout:g} s) must be longer than heartbeat_interval "
                f"(MAINSPRING_HEARTBEAT_INTERVAL, {heartbeat:g} s), or every run would look "
                "crashed between two heartbeats"
            )
            return [("server_crash_timeout", message)]
        return []

    def replaced(self, **changes: Any) -> Settings:
        """A copy with `changes` (validated as the environment's values are)."""
        copy = object.__new__(Settings)
        copy.__dict__.update(self.__dict__)
        problems: list[tuple[str, str]] = []
        copy.__dict__.update(_parsed(_known(changes), changes, problems))
        if problems:
            raise SettingsError(problems)
        return copy

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in SETTINGS)
        return f"Settings({shown})"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'mainspring.db'}"

    def redacted(self) -> dict[str, Any]:
        """Every setting with its effective value, secrets masked, for `mainspring config view`."""
        shown: dict[str, Any] = {}
        for name in SETTINGS:
            value = getattr(self, name)
            shown[name] = str(value) if isinstance(value, Path) else value
        shown["database_url"] = redact_url(self.effective_database_url)
        if self.api_url:
            shown["api_url"] = redact_url(self.api_url)
        for name in ("api_key", "encryption_key"):
            if shown[name] is not None:
                shown[name] = "********"
        return shown


#: Every setting by name, in the order they are declared (and shown).
SETTINGS: dict[str, Setting] = {
    name: spec for name, spec in vars(Settings).items() if isinstance(spec, Setting)
}


def _known(values: dict[str, Any]) -> dict[str, Any]:
    """`values`, or TypeError naming those that are no setting."""
    unknown = sorted(set(values) - set(SETTINGS))
    if unknown:
        raise TypeError(f"unknown settings: {', '.join(unknown)}")
    return values


def _parsed(
    raw: dict[str, Any], names: Iterable[str], problems: list[tuple[str, str]]
) -> dict[str, Any]:
    """The value of each of `names`: parsed from `raw`, else its default; a bad one is left
    out and appended to `problems` (every one is reported, not only the first)."""
    values = {}
    for name in names:
        spec = SETTINGS[name]
        try:
            values[name] = spec.value_of(raw[name]) if name in raw else spec.default_value()
        except ValueError as exc:
            problems.append((name, str(exc)))
    return values


def environment_values() -> dict[str, str]:
    """The `MAINSPRING_*` variables naming settings; names are case-insensitive."""
    prefix = len(ENV_PREFIX)
    found = {}
    for key, value in os.environ.items():
        if key[:prefix].upper() == ENV_PREFIX and key[prefix:].lower() in SETTINGS:
            found[key[prefix:].lower()] = value
    return found


def profile_values() -> dict[str, Any]:
    """The selected table of `$MAINSPRING_HOME/profiles.toml` (settings it names), if any."""
    path = default_home() / "profiles.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:  # bad TOML, not
        # UTF-8 (as TOML must be), unreadable: said in one line, as a bad value is
        raise SettingsError([(str(path), f"cannot read profile file: {exc}")]) from exc
    profile = os.environ.get("MAINSPRING_PROFILE", "default")
    table = data.get(profile, {})
    if not isinstance(table, dict):
        raise SettingsError([(str(path), f"profile {profile!r} is not a table")])
    return {k: v for k, v in table.items() if k in SETTINGS}


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
