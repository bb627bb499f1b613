"""Where a flow is defined, as every flow run records it: what a retry imports again.

An entrypoint is `package.module:qualname` for a flow in an importable module (`python -m
package.module` included) and `/abs/path/to/script.py:qualname` for one in a script run as
`__main__`: Prefect's two forms of a deployment's entrypoint. It is computed once per flow
function and stored with each run (the `entrypoint` column), so `mainspring flow-run retry`
finds the code of any run, killed ones included, without a file written at run time.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mainspring.engine.flows import Flow

#: the name a retry loads a script under (its `if __name__ == "__main__":` block stays idle)
RESUME_MODULE = "__mainspring_resume__"

_texts: dict[Any, str | None] = {}  # flow function -> its entrypoint text


def entrypoint(flow: Flow) -> dict[str, Any]:
    """Where `flow` can be found again: an importable module, or a script's path."""
    fn = flow.fn
    module_name = getattr(fn, "__module__", None) or "__main__"
    module = sys.modules.get(module_name)
    found: dict[str, Any] = {"module": None, "path": None, "qualname": fn.__qualname__}
    if module_name == "__main__" or module_name == RESUME_MODULE:
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.name not in (None, "__main__", RESUME_MODULE):
            found["module"] = spec.name  # `python -m package.module`
    else:
        found["module"] = module_name
    path = getattr(module, "__file__", None)
    if path:
        found["path"] = os.path.abspath(path)
    return found


def entrypoint_text(flow: Flow) -> str | None:
    """`module:qualname` or `path:qualname` (see above); None for a flow defined where no
    file holds it (an interactive session), or at a path no database can store."""
    fn = flow.fn
    try:
        return _texts[fn]
    except (KeyError, TypeError):  # not seen yet (or an unhashable callable)
        pass
    where = entrypoint(flow)
    place = where["module"] or where["path"]
    text = f"{place}:{where['qualname']}" if place else None
    if text is not None and ("\x00" in text or _unencodable(text)):
        text = None  # a non-UTF-8 file name (os.fsdecode's surrogates): it could not be stored
    with contextlib.suppress(TypeError):
        _texts[fn] = text
    return text


def from_text(text: str, flow_name: str) -> dict[str, Any]:
    """A stored entrypoint as a run manifest's fields (what `resume.load_flow` reads): a
    module is imported with the current directory on the path, a script loaded from its file
    with its own folder on the path (as `python script.py` has it)."""
    place, _, qualname = text.rpartition(":")
    is_path = place.endswith(".py") or os.sep in place or "/" in place
    folder = os.path.dirname(place) if is_path else os.getcwd()
    return {
        "flow_name": flow_name,
        "entrypoint": {
            "module": None if is_path else place,
            "path": place if is_path else None,
            "qualname": qualname,
        },
        "cwd": folder,
        "sys_path": [folder],
    }


def _unencodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
