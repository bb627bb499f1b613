"""The blocks and variables pages as HTML (httpx against the app over a real SQLite store):
blocks listed with the block types, a block's fields with its secrets masked, create and edit
with a form made from the type's schema (secrets never sent back, kept when left empty, errors
beside their field), delete; variables set, replaced and deleted; CSRF, read-only viewers,
404s and hostile strings."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from mainspring.model.blocks import BlockType
from mainspring.server.auth import create_api_key
from mainspring.store.sql import SqlStore

from .conftest import ui_client
from .test_pages import text_of

SECRET = "hunter2-very-secret"
NEW_SECRET = "s3cond-secret-value"
HOSTILE = "<script>alert('x')</script>&amp;\"'"

PARTNER = BlockType(
    slug="partner-api",
    name="PartnerApi",
    description=f"The partner API {HOSTILE}",
    fields_schema={
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "url": {"type": "string", "description": f"Where it is {HOSTILE}"},
            "retries": {"type": "integer", "default": 3, "minimum": 0},
            "token": {"type": "string", "format": "password", "writeOnly": True},
            "headers": {"type": "object", "additionalProperties": True},
        },
        "required": ["url", "token"],
    },
    secret_fields=("token", "headers"),
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    """A fresh store holding the PARTNER type, on SQLite and on PostgreSQL."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_database")
    else:
        url = f"sqlite:///{tmp_path / 'blocks.db'}"
    store = SqlStore(url, end_dead_runs=False)
    store.upsert_block_type(PARTNER)
    yield store
    store.close()


@pytest.fixture
def app(store: SqlStore) -> Iterator:
    with ui_client(store) as client:
        yield client


def token_of(client, path: str = "/blocks") -> str:
    client.get(path)
    token = client.cookies.get("ms_csrf")
    assert token
    return token


def field_errors(html: str) -> dict[str, str]:
    """{input name: its error} of a form page."""
    errors = {}
    for block in re.findall(r'<div class="field has-error">(.*?)</div>', html, flags=re.S):
        name = re.search(r'name="([^"]+)"', block)
        message = re.search(r'class="field-error"[^>]*>([^<]*)<', block)
        assert name and message
        errors[name.group(1)] = text_of(message.group(1)).strip()
    return errors


def save_partner(store: SqlStore, name: str = "prod") -> None:
    data = {"url": "https://api.example", "token": SECRET, "headers": {"X-Key": SECRET + "h"}}
    store.save_block_document("partner-api", name, data)


def test_blocks_empty_state_lists_the_built_in_types_to_start_from(app) -> None:
    page = app.get("/blocks")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "No blocks saved yet" in text and "Secret(value=" in text
    for slug in ("secret", "string", "json", "partner-api"):
        assert f'href="/blocks/catalog/{slug}/create"' in page.text
    assert '<a href="/blocks" aria-current="page">Blocks</a>' in page.text
    assert '<a href="/variables">Variables</a>' in page.text


def test_a_block_is_listed_and_shown_with_its_secrets_masked(app, store) -> None:
    save_partner(store)
    listing = app.get("/blocks")
    assert 'href="/blocks/block/partner-api/prod"' in listing.text
    page = app.get("/blocks/block/partner-api/prod")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "https://api.example" in text and "********" in text
    assert '{"X-Key": "********"}' in text  # a secret dict keeps its keys, never its values
    assert SECRET not in page.text
    assert "retries" in text and "not set" in text


def test_create_a_block_from_the_form(app, store) -> None:
    token = token_of(app)
    form = app.get("/blocks/catalog/partner-api/create")
    assert form.status_code == 200
    assert 'type="password"' in form.text  # the secret is a password input
    sent = {
        "csrf_token": token,
        "block_name": "staging",
        "param.url": "https://staging.example",
        "param.retries": "5",
        "param.token": SECRET,
        "param.headers": '{"X-Key": "abc"}',
    }
    done = app.post("/blocks/catalog/partner-api/create", data=sent, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == "/blocks/block/partner-api/staging"
    saved = store.read_block_document("partner-api", "staging", include_secrets=True).data
    assert saved == {
        "url": "https://staging.example",
        "retries": 5,
        "token": SECRET,
        "headers": {"X-Key": "abc"},
    }
    shown = app.get(done.headers["location"])
    assert "Block partner-api/staging saved." in text_of(shown.text)
    assert SECRET not in shown.text


def test_a_built_in_type_gets_registered_with_its_first_block(app, store) -> None:
    token = token_of(app)
    sent = {"csrf_token": token, "block_name": "db-password", "param.value": SECRET}
    done = app.post("/blocks/catalog/secret/create", data=sent, follow_redirects=False)
    assert done.status_code == 303
    assert store.read_block_type("secret").secret_fields == ("value",)
    assert store.read_block_document("secret", "db-password", include_secrets=True).data == {
        "value": SECRET
    }


def test_invalid_data_is_said_beside_its_field_with_400(app, store) -> None:
    token = token_of(app)
    cases = [
        ({"param.url": "u", "param.token": "t", "param.retries": "-1"}, "param.retries"),
        ({"param.url": "u", "param.token": "t", "param.retries": "many"}, "param.retries"),
        ({"param.url": "u"}, "param.token"),  # required, no default
        ({"param.url": "u", "param.token": "t", "param.headers": "[1"}, "param.headers"),
        ({"param.url": "u", "param.token": "t", "param.headers": "[1]"}, "param.headers"),
    ]
    for fields, marked in cases:
        sent = {"csrf_token": token, "block_name": "x"} | fields
        page = app.post("/blocks/catalog/partner-api/create", data=sent)
        assert page.status_code == 400, fields
        assert marked in field_errors(page.text), (fields, field_errors(page.text))
        assert 'value="t"' not in page.text  # a secret sent is not sent back either
    bad_name = {"csrf_token": token, "block_name": "Bad Name", "param.url": "u", "param.token": "t"}
    page = app.post("/blocks/catalog/partner-api/create", data=bad_name)
    assert page.status_code == 400 and "block_name" in field_errors(page.text)
    assert store.read_block_documents() == []


def test_a_name_taken_is_said_and_the_saved_block_is_kept(app, store) -> None:
    save_partner(store)
    token = token_of(app)
    sent = {"csrf_token": token, "block_name": "prod", "param.url": "u", "param.token": "t"}
    page = app.post("/blocks/catalog/partner-api/create", data=sent)
    assert page.status_code == 400
    assert "exists already" in field_errors(page.text)["block_name"]
    kept = store.read_block_document("partner-api", "prod", include_secrets=True).data
    assert kept["token"] == SECRET


def test_edit_keeps_secrets_left_empty_or_masked_and_never_shows_them(app, store) -> None:
    save_partner(store)
    token = token_of(app)
    form = app.get("/blocks/block/partner-api/prod/edit")
    assert form.status_code == 200
    assert SECRET not in form.text
    assert 'name="param.token" type="password" value=""' in form.text
    assert "https://api.example" in form.text  # plain fields are filled in
    sent = {
        "csrf_token": token,
        "param.url": "https://new.example",
        "param.retries": "7",
        "param.token": "",  # left empty: kept
        "param.headers": '{"X-Key": "********", "X-Other": "o"}',  # mask: kept; new key added
    }
    done = app.post("/blocks/block/partner-api/prod/edit", data=sent, follow_redirects=False)
    assert done.status_code == 303
    saved = store.read_block_document("partner-api", "prod", include_secrets=True).data
    assert saved == {
        "url": "https://new.example",
        "retries": 7,
        "token": SECRET,
        "headers": {"X-Key": SECRET + "h", "X-Other": "o"},
    }
    sent["param.token"] = NEW_SECRET
    assert app.post("/blocks/block/partner-api/prod/edit", data=sent).status_code == 200
    saved = store.read_block_document("partner-api", "prod", include_secrets=True).data
    assert saved["token"] == NEW_SECRET


def test_a_nested_block_s_secret_is_masked_in_its_json_and_kept(app, store) -> None:
    """The email block's `credentials` (a nested block) is a JSON field: its password reads
    `********` there, and sent back as such it keeps the saved one."""
    from mainspring.blocks.notifications import Email

    store.upsert_block_type(Email.block_type())
    credentials = {"smtp_server": "mail.example", "username": "me", "password": SECRET}
    store.save_block_document(
        "email", "alerts", {"credentials": credentials, "email_to": ["a@example.com"]}
    )
    token = token_of(app)
    form = app.get("/blocks/block/email/alerts/edit")
    assert SECRET not in form.text and "********" in form.text
    shown = re.search(r'<textarea[^>]*name="param.credentials"[^>]*>([^<]*)<', form.text)
    assert shown
    sent = {
        "csrf_token": token,
        "param.credentials": text_of(shown.group(1)).replace("mail.example", "smtp.example"),
        "param.email_to": '["b@example.com"]',
    }
    done = app.post("/blocks/block/email/alerts/edit", data=sent, follow_redirects=False)
    assert done.status_code == 303, field_errors(done.text)
    saved = store.read_block_document("email", "alerts", include_secrets=True).data
    assert saved["credentials"]["smtp_server"] == "smtp.example"
    assert saved["credentials"]["password"] == SECRET
    assert saved["email_to"] == ["b@example.com"]


def test_forms_ask_a_stranger_to_sign_in_when_keys_are_required(store) -> None:
    create_api_key(store, "admin")
    with ui_client(store) as client:
        for path in ("/blocks", "/blocks/catalog/secret/create", "/variables"):
            page = client.get(path, follow_redirects=False)
            assert page.status_code == 303, path
            assert page.headers["location"].startswith("/settings?next=")


def test_a_failed_edit_shows_no_secret_and_changes_nothing(app, store) -> None:
    save_partner(store)
    token = token_of(app)
    sent = {"csrf_token": token, "param.url": "u", "param.retries": "-3", "param.token": ""}
    page = app.post("/blocks/block/partner-api/prod/edit", data=sent)
    assert page.status_code == 400
    assert "param.retries" in field_errors(page.text)
    assert SECRET not in page.text
    assert store.read_block_document("partner-api", "prod").data["url"] == "https://api.example"
    # every page the UI has for blocks: not one holds a saved secret
    shown = ("/blocks", "/blocks/block/partner-api/prod", "/blocks/block/partner-api/prod/edit")
    for path in shown:
        assert SECRET not in app.get(path).text


def test_delete_a_block(app, store) -> None:
    save_partner(store)
    token = token_of(app)
    page = app.get("/blocks/block/partner-api/prod")
    assert 'action="/blocks/block/partner-api/prod/delete"' in page.text
    done = app.post(
        "/blocks/block/partner-api/prod/delete",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/blocks"
    assert store.read_block_documents() == []
    again = app.post("/blocks/block/partner-api/prod/delete", data={"csrf_token": token})
    assert again.status_code == 404


def test_unknown_blocks_types_and_variables_are_404(app, store) -> None:
    for path in (
        "/blocks/block/partner-api/nope",
        "/blocks/block/no-type/nope",
        "/blocks/block/partner-api/nope/edit",
        "/blocks/catalog/no-such-type/create",
        "/variables?edit=nope",
    ):
        page = app.get(path)
        assert page.status_code == 404, path
        assert "Not found" in page.text
    token = token_of(app)
    page = app.post("/variables/variable/nope/delete", data={"csrf_token": token})
    assert page.status_code == 404


def test_actions_without_the_csrf_token_are_refused(app, store) -> None:
    save_partner(store)
    store.set_variable("keep", 1)
    token_of(app)
    posts = [
        ("/blocks/block/partner-api/prod/delete", {}),
        ("/blocks/block/partner-api/prod/edit", {"param.url": "x", "param.token": "y"}),
        ("/blocks/catalog/partner-api/create", {"block_name": "n", "param.url": "x"}),
        ("/variables", {"name": "v", "value": "1"}),
        ("/variables/variable/keep/delete", {}),
    ]
    for path, data in posts:
        for token in (None, "forged.token"):
            sent = data | ({"csrf_token": token} if token else {})
            page = app.post(path, data=sent)
            assert page.status_code == 403, (path, token)
    assert store.read_block_document("partner-api", "prod").data["url"] == "https://api.example"
    assert [d.name for d in store.read_block_documents()] == ["prod"]
    assert [v.name for v in store.read_variables()] == ["keep"]


def test_a_read_only_viewer_sees_no_buttons_and_cannot_act(store) -> None:
    save_partner(store)
    store.set_variable("keep", 1)
    _, key = create_api_key(store, "viewer", read_only=True)
    with ui_client(store) as client:
        client.cookies.set("ms_api_key", key)
        for path in ("/blocks", "/blocks/block/partner-api/prod", "/variables"):
            page = client.get(path)
            assert page.status_code == 200, path
            main = page.text.split("<main", 1)[1]
            assert "<button" not in main and "/create" not in main and "/edit" not in main
        assert "read-only" in text_of(client.get("/variables").text)
        token = client.cookies.get("ms_csrf")
        for path in ("/blocks/catalog/secret/create", "/blocks/block/partner-api/prod/edit"):
            assert client.get(path).status_code == 403
        posts = [
            ("/blocks/block/partner-api/prod/delete", {}),
            ("/blocks/block/partner-api/prod/edit", {"param.url": "x", "param.token": "y"}),
            ("/blocks/catalog/secret/create", {"block_name": "n", "param.value": "x"}),
            ("/variables", {"name": "v", "value": "1"}),
            ("/variables/variable/keep/delete", {}),
        ]
        for path, data in posts:
            page = client.post(path, data=data | {"csrf_token": token})
            assert page.status_code == 403, path
            assert "read-only" in text_of(page.text)
    assert [d.name for d in store.read_block_documents()] == ["prod"]
    assert [v.name for v in store.read_variables()] == ["keep"]


def test_variables_set_replace_and_delete(app, store) -> None:
    empty = app.get("/variables")
    assert empty.status_code == 200 and "No variables yet" in text_of(empty.text)
    token = token_of(app, "/variables")
    sent = {"csrf_token": token, "name": "regions", "value": '["eu", "us"]'}
    done = app.post("/variables", data=sent, follow_redirects=False)
    assert done.status_code == 303
    assert store.read_variable("regions").value == ["eu", "us"]  # type: ignore[union-attr]
    page = app.get("/variables")
    assert '["eu", "us"]' in text_of(page.text)
    # set again without Replace: said beside the name, the value kept
    again = app.post("/variables", data=sent | {"value": "1"})
    assert again.status_code == 400 and "Replace" in field_errors(again.text)["name"]
    assert store.read_variable("regions").value == ["eu", "us"]  # type: ignore[union-attr]
    edit = app.get("/variables?edit=regions")
    assert "checked" in edit.text and "[&#34;eu&#34;, &#34;us&#34;]" in edit.text
    replaced = sent | {"value": '{"rows": 500}', "overwrite": "on"}
    assert app.post("/variables", data=replaced, follow_redirects=False).status_code == 303
    assert store.read_variable("regions").value == {"rows": 500}  # type: ignore[union-attr]
    gone = app.post(
        "/variables/variable/regions/delete", data={"csrf_token": token}, follow_redirects=False
    )
    assert gone.status_code == 303 and store.read_variable("regions") is None


def test_bad_variables_are_said_beside_their_field(app, store) -> None:
    token = token_of(app, "/variables")
    cases = [
        ({"name": "Bad Name", "value": "1"}, "name"),
        ({"name": "ok", "value": "hello"}, "value"),  # text must be quoted
        ({"name": "ok", "value": '{"a": 1'}, "value"),
        ({"name": "ok", "value": "NaN"}, "value"),
        ({"name": "ok", "value": "[" * 5000 + "]" * 5000}, "value"),
        ({"name": "ok", "value": ""}, "value"),
    ]
    for data, marked in cases:
        page = app.post("/variables", data=data | {"csrf_token": token})
        assert page.status_code == 400, data
        assert marked in field_errors(page.text), data
    assert store.read_variables() == []


def test_hostile_strings_are_shown_as_text(app, store) -> None:
    store.save_block_document("partner-api", "evil", {"url": HOSTILE, "token": "t"})
    store.set_variable("evil", {HOSTILE: HOSTILE})
    token = token_of(app)
    for path in (
        "/blocks",
        "/blocks/block/partner-api/evil",
        "/blocks/block/partner-api/evil/edit",
        "/blocks/catalog/partner-api/create",
        "/variables",
        "/variables?edit=evil",
    ):
        page = app.get(path)
        assert page.status_code == 200, path
        assert "<script>alert" not in page.text, path
    assert HOSTILE in text_of(app.get("/blocks/block/partner-api/evil").text)
    sent = {"csrf_token": token, "name": "x", "value": HOSTILE}
    page = app.post("/variables", data=sent)
    assert page.status_code == 400 and "<script>alert" not in page.text
