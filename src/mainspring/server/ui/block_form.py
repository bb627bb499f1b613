"""The create and edit forms of a block: the Run form's fields (param_form.py) made from the
block type's `fields_schema`, with its secrets kept out of the browser.

A secret text field (`SecretStr`) is a password input that starts empty, always; left empty
on edit it keeps the saved secret. A secret dict (`SecretDict`: headers, fsspec settings) and
a nested block holding a secret are JSON fields shown from the masked read, so each secret in
them reads `********`; a `********` sent back keeps the saved value at that place. The saved
secrets are read (`include_secrets`) only on the server, to merge them into what was sent.
"""

from __future__ import annotations

from typing import Any

from mainspring.model.blocks import SECRET_MASK, BlockType
from mainspring.server.ui.param_form import ParamField, read_form, schema_fields

KEEP_HINT = "Left empty, the saved secret stays."


def block_fields(kind: BlockType, saved: dict[str, Any] | None = None) -> list[ParamField]:
    """The form's fields for a new block of `kind` (`saved` None) or for editing one whose
    masked data is `saved`."""
    fields = schema_fields(kind.fields_schema, saved or {})
    for field in fields:
        if field.name in kind.secret_fields and field.widget == "text":
            field.widget, field.type_label, field.text = "secret", "secret", ""
            if saved is not None and saved.get(field.name) is not None:
                field.required = False  # empty keeps the saved one
                field.description = " ".join(filter(None, [field.description, KEEP_HINT]))
    return fields


def read_block_form(
    kind: BlockType,
    fields: list[ParamField],
    form: dict[str, str],
    saved_secrets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The block data the submitted `form` gives (fields' errors set as `read_form` does);
    when editing, `saved_secrets` is the saved data in the clear, whose secrets fill in
    what the form left empty or masked."""
    data = read_form(fields, form, "Required: this block type has no default for it.")
    if saved_secrets is None:
        return data
    for field in fields:
        if field.widget == "secret" and field.name not in data and field.name in saved_secrets:
            data[field.name] = saved_secrets[field.name]
    for path in kind.secret_fields:
        _restore_masked(data, saved_secrets, path.split("."))
    return data


def _restore_masked(data: dict[str, Any], saved: dict[str, Any], path: list[str]) -> None:
    """Put the saved secret back where `data` holds the mask at `path` (in a secret dict:
    each key whose value is the mask)."""
    *parents, last = path
    for part in parents:
        data, saved = data.get(part), saved.get(part)  # type: ignore[assignment]
        if not isinstance(data, dict) or not isinstance(saved, dict):
            return
    if last not in data or last not in saved:
        return
    sent, kept = data[last], saved[last]
    if sent == SECRET_MASK:
        data[last] = kept
    elif isinstance(sent, dict) and isinstance(kept, dict):
        for key, value in sent.items():
            if value == SECRET_MASK and key in kept:
                sent[key] = kept[key]
