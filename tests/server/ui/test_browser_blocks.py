"""Making a block through its form in a real browser (Debian's chromium through Playwright)
against a real server: a missing secret is said beside its field, the saved block's page
shows the secret masked, and the store holds it in the clear for `Block.load`. Skipped where
Playwright or chromium is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from mainspring.store.sql import SqlStore

from ..conftest import server_env, start_server, stop_server
from .conftest import ui_url

pytestmark = pytest.mark.slow

SECRET = "browser-typed-secret-42"


def test_create_a_secret_block_through_the_form(tmp_path: Path, page) -> None:
    env = server_env(tmp_path) | {"MAINSPRING_SERVER_CRASH_DETECTOR": "false"}
    server = start_server(env)
    try:
        page.goto(ui_url(server) + "/blocks")
        assert "No blocks saved yet" in page.locator("main").inner_text()
        page.get_by_role("link", name="New secret block").click()
        page.wait_for_url("**/blocks/catalog/secret/create")
        assert page.title() == "New secret block · Blocks · Mainspring"

        page.get_by_label("Name").fill("db-password")
        page.get_by_role("button", name="Save").click()  # the secret left empty
        error = page.locator(".field.has-error .field-error")
        assert "Required" in error.inner_text()
        assert page.locator('input[name="param.value"]').get_attribute("type") == "password"

        page.locator('input[name="param.value"]').fill(SECRET)
        page.get_by_role("button", name="Save").click()
        page.wait_for_url("**/blocks/block/secret/db-password")
        assert "Block secret/db-password saved." in page.get_by_role("status").inner_text()
        fields = page.locator("dl.block-fields").inner_text()
        assert "********" in fields
        assert SECRET not in page.content()

        page.get_by_role("link", name="Edit").click()
        assert page.locator('input[name="param.value"]').input_value() == ""
        assert SECRET not in page.content()
    finally:
        stop_server(server.process)
    store = SqlStore(f"sqlite:///{tmp_path / 'mainspring.db'}")
    try:
        saved = store.read_block_document("secret", "db-password", include_secrets=True)
    finally:
        store.close()
    assert saved.data == {"value": SECRET}
