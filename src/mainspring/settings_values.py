"""How each kind of setting is read from an environment variable (text) or a profile (TOML):
the parsers `Settings` uses, the `Secret` wrapper and the error naming every bad setting.

A parser takes the raw value and returns the setting's value, or raises ValueError with a
message that does not repeat the value: a rejected value may be a password.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


class SettingsError(ValueError):
    """Settings that cannot be used, each (name, what is wrong), all reported at once."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{name}: {message}" for name, message in problems))


class Secret:
    """A secret setting: shown as asterisks in repr/str (logs, tracebacks, `config view`);
    `get_secret_value()` is the one way to the text, as with pydantic's SecretStr."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __str__(self) -> str:
        return "**********" if self._value else ""

    def __repr__(self) -> str:
        return f"Secret({str(self)!r})"


def text(raw: Any) -> str:
    if not isinstance(raw, str):
        raise ValueError("must be text")
    return raw


def path(raw: Any) -> Path:
    if not isinstance(raw, str | Path):
        raise ValueError("must be a path")
    try:
        return Path(raw).expanduser()
    except RuntimeError:  # ~name of no known user, or no home to expand ~ to
        raise ValueError("starts with ~ but that home directory cannot be found") from None


def secret(raw: Any) -> Secret:
    if isinstance(raw, Secret):
        return raw
    return Secret(text(raw))


def flag(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    word = raw.strip().lower() if isinstance(raw, str) else None
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError("must be true or false (also 1/0, yes/no, on/off)")


def number(raw: Any) -> float:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    if isinstance(raw, str):
        try:
            return float(raw.strip())
        except ValueError:
            pass
    raise ValueError("must be a number")


def integer(raw: Any) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        try:
            return int(raw.strip())  # exact: a float would round past 2**53
        except ValueError:
            pass
    if isinstance(raw, float | str):
        try:
            value = float(raw.strip()) if isinstance(raw, str) else raw
            if value.is_integer():
                return int(value)
        except ValueError:
            pass
    raise ValueError("must be a whole number")


def level(raw: Any) -> str:
    name = raw.strip().upper() if isinstance(raw, str) else None
    if name not in LEVELS:
        raise ValueError(f"must be one of {', '.join(LEVELS)}")
    return name


def text_list(raw: Any) -> list[str]:
    """Comma-separated text (an environment variable) or a list of texts (TOML)."""
    if isinstance(raw, str):
        return [part.strip() for part in raw.split(",") if part.strip()]
    if isinstance(raw, list | tuple) and all(isinstance(item, str) for item in raw):
        return list(raw)
    raise ValueError("must be a list of texts (comma-separated in the environment)")


def optional(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`parse`, with None or an empty value meaning unset."""

    def parse_optional(raw: Any) -> Any:
        return None if raw is None or raw == "" else parse(raw)

    return parse_optional
