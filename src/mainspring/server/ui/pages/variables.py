"""`/variables`: every variable with its JSON value; set one (a name and a JSON value, the
same rules as `mainspring variable set` and the API) and delete one.

The value must be JSON (text in double quotes), so a typo in an object is said, never kept
as a string by mistake. Setting a name that is set needs "Replace" ticked (the Edit link of
a row fills the form so), as `Variable.set(..., overwrite=True)` does.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from mainspring.exceptions import ObjectAlreadyExists
from mainspring.model.blocks import check_variable_name
from mainspring.server.ui import nav
from mainspring.server.ui.csrf import require_csrf
from mainspring.server.ui.pages.blocks import block_store
from mainspring.server.ui.pages.deployments import form_data
from mainspring.server.ui.reading import not_found
from mainspring.server.ui.templating import redirect, render
from mainspring.server.ui.viewer import Viewer, action_viewer, page_viewer
from mainspring.store import json_values

router = APIRouter(include_in_schema=False)
nav.register(nav.NavEntry("Variables", "/variables"))


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _render(
    request: Request,
    form: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    variables = block_store(request).read_variables()
    rows = [{"variable": v, "json": _json_text(v.value)} for v in variables]
    context = {
        "rows": rows,
        "form": form,
        "errors": errors or {},
        "error": "The variable was not set (see the form below)." if errors else None,
    }
    return render(request, "variables.html", context, status=status)


@router.get("/variables", response_class=HTMLResponse, name="variables")
def variables_page(
    request: Request,
    _viewer: Annotated[Viewer, Depends(page_viewer)],
    edit: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    form = {"name": "", "value": "", "overwrite": ""}
    if edit:
        found = block_store(request).read_variable(edit)
        if found is None:
            raise not_found("variable of this name")
        form = {"name": found.name, "value": _json_text(found.value), "overwrite": "on"}
    return _render(request, form)


@router.post("/variables", dependencies=[Depends(require_csrf)], response_model=None)
def set_variable(
    request: Request,
    _viewer: Annotated[Viewer, Depends(action_viewer)],
    form: Annotated[dict[str, str], Depends(form_data)],
) -> HTMLResponse | RedirectResponse:
    sent = {k: form.get(k, "") for k in ("name", "value", "overwrite")}
    name, text = sent["name"].strip(), sent["value"]
    errors: dict[str, str] = {}
    try:
        check_variable_name(name)
    except ValueError as exc:
        errors["name"] = str(exc)
    value: Any = None
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        errors["value"] = f'Not valid JSON ({exc}); text goes in double quotes: "like this".'
    else:
        try:
            value = json_values.decode(value, strict=True, where="value")
        except ValueError as exc:  # nested too deep, or a malformed tagged value
            errors["value"] = str(exc)
    if not errors:
        try:
            block_store(request).set_variable(name, value, overwrite=sent["overwrite"] == "on")
        except ObjectAlreadyExists:
            errors["name"] = f"{name!r} is set already: tick Replace to change its value."
        except ValueError as exc:  # a value nested too deep
            errors["value"] = str(exc)
    if errors:
        return _render(request, sent, errors, 400)
    return redirect("/variables", f"Variable {name!r} set.")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


@router.post("/variables/variable/{name}/delete", dependencies=[Depends(require_csrf)])
def delete_variable(
    request: Request, name: str, _viewer: Annotated[Viewer, Depends(action_viewer)]
) -> RedirectResponse:
    if not block_store(request).delete_variable(name):
        raise not_found("variable of this name")
    return redirect("/variables", f"Variable {name!r} deleted.")
