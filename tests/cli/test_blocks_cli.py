"""`mainspring block ...` and `mainspring variable ...` in real CLI subprocesses, on the store
of `home`: secrets never printed, --json for scripts, one-line errors with exit status 1."""

from __future__ import annotations

import json

from mainspring.blocks.system import JSON, Secret
from mainspring.model.blocks import SECRET_MASK

from .deploy_cli import cli, cli_json

SECRET = "cli-S3CRET-value"


def test_block_ls_inspect_delete(home, store) -> None:
    Secret(value=SECRET).save("db-password")
    JSON(value={"region": "eu"}).save("settings")
    listed = cli("block", "ls", home=home)
    assert listed.returncode == 0, listed.stderr
    assert "secret/db-password" in listed.stdout and "json/settings" in listed.stdout
    as_json = cli_json("block", "ls", home=home)
    assert [b["block_type_slug"] + "/" + b["name"] for b in as_json] == [
        "json/settings",
        "secret/db-password",
    ]
    shown = cli("block", "inspect", "secret/db-password", home=home)
    assert shown.returncode == 0 and SECRET_MASK in shown.stdout
    inspected = cli_json("block", "inspect", "secret/db-password", home=home)
    assert inspected["data"] == {"value": SECRET_MASK}
    for done in (listed, shown, cli("block", "inspect", "secret/db-password", "--json", home=home)):
        assert SECRET not in done.stdout + done.stderr
    deleted = cli("block", "delete", "secret/db-password", home=home)
    assert deleted.returncode == 0, deleted.stderr
    again = cli("block", "delete", "secret/db-password", home=home)
    assert again.returncode == 1 and "No block secret/db-password" in again.stderr
    missing = cli("block", "inspect", "json/ghost", home=home)
    assert missing.returncode == 1 and "json/ghost" in missing.stderr
    malformed = cli("block", "inspect", "no-slash", home=home)
    assert malformed.returncode == 1 and "type-slug/name" in malformed.stderr


def test_block_types_lists_builtins_and_registered_types(home, store) -> None:
    kinds = {t["slug"]: t for t in cli_json("block", "types", home=home)}
    assert {"secret", "string", "json", "local-file-system", "remote-file-system"} <= set(kinds)
    assert kinds["secret"]["secret_fields"] == ["value"]
    assert kinds["remote-file-system"]["secret_fields"] == ["settings"]
    table = cli("block", "types", home=home)
    assert table.returncode == 0 and "local-file-system" in table.stdout


def test_variable_set_get_ls_unset(home, store) -> None:
    assert cli("variable", "set", "batch_size", '{"rows": 3}', home=home).returncode == 0
    assert cli("variable", "set", "region", "eu-west-1", home=home).returncode == 0
    assert cli("variable", "get", "batch_size", home=home).stdout.strip() == '{"rows": 3}'
    assert cli("variable", "get", "region", home=home).stdout.strip() == "eu-west-1"
    taken = cli("variable", "set", "region", "us", home=home)
    assert taken.returncode == 1 and "--overwrite" in taken.stderr
    assert cli("variable", "set", "region", "us", "--overwrite", home=home).returncode == 0
    listed = cli_json("variable", "ls", home=home)
    assert [(v["name"], v["value"]) for v in listed] == [
        ("batch_size", {"rows": 3}),
        ("region", "us"),
    ]
    assert cli_json("variable", "get", "batch_size", home=home)["value"] == {"rows": 3}
    from mainspring.variables import Variable

    assert Variable.get("batch_size") == {"rows": 3}  # the same store as Python's
    assert cli("variable", "unset", "region", home=home).returncode == 0
    gone = cli("variable", "get", "region", home=home)
    assert gone.returncode == 1 and "region" in gone.stderr
    bad = cli("variable", "set", "Bad Name", "1", home=home)
    assert bad.returncode == 1 and "variable name" in bad.stderr
    assert json.loads(cli("variable", "ls", "--json", home=home).stdout)[0]["name"] == "batch_size"
