"""What a flow run started on other infrastructure (a container, a pod) needs in its
environment to record where this worker records."""

from __future__ import annotations

from mainspring.settings import get_settings

__all__ = ["store_environment"]


def store_environment() -> dict[str, str]:
    """This worker's store settings (`MAINSPRING_API_URL` and key, or the database URL), and
    unbuffered output. Nothing else of the worker's environment: the run is on another machine."""
    settings = get_settings()
    env: dict[str, str] = {}
    if settings.api_url:
        env["MAINSPRING_API_URL"] = settings.api_url
        if settings.api_key:
            env["MAINSPRING_API_KEY"] = settings.api_key.get_secret_value()
    else:
        env["MAINSPRING_DATABASE_URL"] = settings.effective_database_url
    env["PYTHONUNBUFFERED"] = "1"
    return env
