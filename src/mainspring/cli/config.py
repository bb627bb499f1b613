"""`mainspring config ...`: what settings are in effect and where each one came from."""

from __future__ import annotations

import os
from typing import Any

import typer

app = typer.Typer(help="Settings: see what is in effect.", no_args_is_help=True)


def _source(name: str, profile: dict[str, Any], profile_name: str) -> str:
    """Where a setting's value comes from, in the order the settings sources are consulted."""
    from mainspring.settings import ENV_PREFIX

    env_name = ENV_PREFIX + name.upper()
    if any(key.upper() == env_name for key in os.environ):  # env names are case-insensitive
        return f"env {env_name}"
    if name in profile:
        return f"profile [{profile_name}]"
    return "default"


def _show(value: Any) -> str:
    from mainspring.settings import redact_url

    if value is None:
        return "-"
    if isinstance(value, str) and "://" in value:
        return redact_url(value)  # any URL may carry a password, not only the database's
    if isinstance(value, list):  # the URLs of a list too (result_trusted_locations)
        return str([redact_url(v) if isinstance(v, str) and "://" in v else v for v in value])
    return str(value)


@app.command("view")
def view() -> None:
    """Show every setting's effective value and its source; secrets are redacted."""
    from rich.text import Text

    from mainspring.cli.output import console, fail, new_table, settings
    from mainspring.settings import default_home, profile_values

    current = settings()
    profile_name = os.environ.get("MAINSPRING_PROFILE", "default")
    try:
        profile = profile_values()
    except ValueError as exc:
        fail(f"Error: {exc}")

    table = new_table("Settings")
    table.add_column("Setting", style="bold", no_wrap=True)
    table.add_column("Value", overflow="fold")
    table.add_column("Source", overflow="fold")
    for name, value in current.redacted().items():
        source = _source(name, profile, profile_name)
        if name == "database_url" and current.database_url is None:
            source = "default (SQLite in home)"
        table.add_row(name, Text(_show(value)), Text(source))  # Text: no markup in values
    out = console()
    out.print(table)
    profile_file = default_home() / "profiles.toml"
    found = "" if profile_file.is_file() else " (not found)"
    out.print(f"Profile file: {profile_file}{found}", markup=False)
