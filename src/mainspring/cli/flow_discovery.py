"""Find a flow by its bare name among the Python files of a folder, as tutorials write
`mainspring deploy --cron "0 0 * * *" pipeline_diario` (no `file.py:`).

The files are read, never imported: importing every script in a folder would run their
top-level code (a tutorial's file often ends by calling its flow). A flow is a function
decorated with `@flow`, `@flow(...)`, `@mainspring.flow` or `@prefect.flow` (any module
alias); it matches by its function name or by the `name=` its decorator gives.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FlowCandidate", "find_flow_entrypoint", "flows_in_folder"]


@dataclass(frozen=True)
class FlowCandidate:
    path: Path
    function: str
    flow_name: str | None  # the decorator's name=, when it gives one as a literal

    @property
    def entrypoint(self) -> str:
        return f"{self.path}:{self.function}"


def flows_in_folder(folder: Path) -> list[FlowCandidate]:
    """Every flow function of the folder's `*.py` files (not recursing), by file then line."""
    found: list[FlowCandidate] = []
    for path in sorted(folder.glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except (SyntaxError, UnicodeDecodeError, ValueError, OSError):
            continue  # not ours to judge here; naming it explicitly gives the real error
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for decorator in node.decorator_list:
                    if _is_flow_decorator(decorator):
                        found.append(FlowCandidate(path, node.name, _given_name(decorator)))
                        break
    return found


def find_flow_entrypoint(name: str, folder: Path) -> str:
    """The `path:function` of the one flow called `name` in `folder`; `LookupError` with a
    message listing the candidates when there is none or more than one."""
    candidates = flows_in_folder(folder)
    matches = [c for c in candidates if name in (c.function, c.flow_name)]
    if len(matches) == 1:
        return matches[0].entrypoint
    if matches:
        listed = ", ".join(f"{m.path.name}:{m.function}" for m in matches)
        raise LookupError(
            f"several flows are called {name!r} in {folder}: {listed}; "
            "give one as path/to/file.py:flow_function"
        )
    if not candidates:
        raise LookupError(
            f"no flow called {name!r}: no Python file in {folder} defines a @flow; "
            "give it as path/to/file.py:flow_function"
        )
    listed = ", ".join(
        f"{c.path.name}:{c.function}" + (f" ({c.flow_name!r})" if c.flow_name else "")
        for c in candidates
    )
    raise LookupError(f"no flow called {name!r} in {folder}; the flows there: {listed}")


def _is_flow_decorator(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Name):
        return target.id == "flow"
    return isinstance(target, ast.Attribute) and target.attr == "flow"


def _given_name(node: ast.expr) -> str | None:
    if not isinstance(node, ast.Call):
        return None
    for keyword in node.keywords:
        if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
            value = keyword.value.value
            return value if isinstance(value, str) else None
    return None
