"""Run names: adjective-animal slugs for flow runs, `task-N` for task runs, or the user's own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mainspring.exceptions import MainspringError

RunNameSpec = str | Callable[[], str] | None


def random_run_name() -> str:
    """'purple-dogfish': memorable, and unique enough to tell today's runs apart."""
    from coolname import generate_slug  # imported on first run: it costs ~30 ms

    return generate_slug(2)


def render_run_name(spec: RunNameSpec, parameters: dict[str, Any], default: str) -> str:
    """Apply a `flow_run_name` / `task_run_name`: a format template over the parameters, or a
    callable taking no arguments (it may read `get_run_context()`)."""
    if spec is None:
        return default
    if callable(spec):
        name = spec()
        if not isinstance(name, str):
            raise MainspringError(
                f"Run name callable {spec!r} must return a str, got {type(name).__name__}"
            )
        return name
    try:
        return spec.format(**parameters)
    except (KeyError, IndexError) as exc:
        raise MainspringError(
            f"Run name template {spec!r} refers to {exc}, which is not a parameter; "
            f"parameters are: {', '.join(parameters) or '(none)'}"
        ) from None
    except (AttributeError, TypeError, ValueError) as exc:  # "{day:%A}" given a str, say
        raise MainspringError(
            f"Run name template {spec!r} cannot format the parameters: {exc}"
        ) from None
