"""Loading a flow from `path/to/file.py:function`: what `mainspring deploy` and
`flow.from_source` do with an entrypoint before registering it.

The file is imported as a module named like a retry loads a script (RESUME_MODULE), so its
`if __name__ == "__main__":` block does not run; its folder goes on sys.path first, as
`python file.py` has it, so its siblings import.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mainspring.engine.entrypoints import RESUME_MODULE, entrypoint_text

if TYPE_CHECKING:
    from mainspring.engine.flows import Flow

__all__ = ["FlowFileError", "load_flow_file"]


class FlowFileError(ValueError):
    """The entrypoint names no loadable flow; the message is one line naming why."""


def load_flow_file(entrypoint: str, base: Path | None = None) -> tuple[Flow, str]:
    """The flow `path/to/file.py:function` names (a relative path from `base`, default the
    current folder), and its entrypoint as runs store it (the absolute path)."""
    place, sep, qualname = entrypoint.rpartition(":")
    if not sep or not place or not qualname:
        raise FlowFileError(
            f"entrypoint {entrypoint!r} is not of the form path/to/file.py:flow_function"
        )
    path = Path(place).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    path = path.resolve()
    if not path.is_file():
        raise FlowFileError(f"no file {place!r} (entrypoint {entrypoint!r})")
    spec = importlib.util.spec_from_file_location(RESUME_MODULE, path)
    if spec is None or spec.loader is None:
        raise FlowFileError(f"{place!r} cannot be imported as Python (entrypoint {entrypoint!r})")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # as `python file.py` has it: its siblings import
    previous = sys.modules.get(RESUME_MODULE)
    sys.modules[RESUME_MODULE] = module
    try:
        spec.loader.exec_module(module)
        flow = _flow_named(module, qualname, place)
        # computed now, while sys.modules names this file (it is cached per function): once
        # an earlier module is put back, the flow's module name would point there instead
        entrypoint_text(flow)
    except FlowFileError:
        raise
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        detail = " ".join(str(exc).split()) or "no message"
        raise FlowFileError(f"importing {place!r} failed: {type(exc).__name__}: {detail}") from None
    finally:
        if previous is not None:
            sys.modules[RESUME_MODULE] = previous
    return flow, f"{path}:{qualname}"


def _flow_named(module: Any, qualname: str, place: str) -> Flow:
    from mainspring.engine.flows import Flow  # cycle: flows -> deploy (to_deployment)

    target: Any = module
    for part in qualname.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise FlowFileError(f"{place!r} has no flow function {qualname!r}")
    if not isinstance(target, Flow):
        raise FlowFileError(f"{qualname!r} in {place!r} is not a flow (decorate it with @flow)")
    return target
