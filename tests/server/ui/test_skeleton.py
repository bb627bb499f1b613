"""The UI's frame: routes, navigation, static files, escaping, CSRF, the guard, sign-in."""

from __future__ import annotations

import re

import pytest

from mainspring.server.auth import create_api_key
from mainspring.server.ui import nav
from mainspring.server.ui.pages import ROUTERS

from .conftest import ui_client, ui_url


def test_root_opens_the_dashboard(client) -> None:
    answer = client.get("/", follow_redirects=False)
    assert answer.status_code == 307
    assert answer.headers["location"] == "/dashboard"
    page = client.get("/")
    assert page.status_code == 200
    assert "<title>Dashboard · Mainspring</title>" in page.text


def test_every_menu_entry_leads_to_a_page(client) -> None:
    """No dead links: each registered entry answers 200 and marks itself current."""
    assert nav.entries(), "no page registered"
    for entry in nav.entries():
        page = client.get(entry.path)
        assert page.status_code == 200, entry.path
        assert f'<a href="{entry.path}" aria-current="page">' in page.text, entry.path


def test_the_footer_shows_the_version(client) -> None:
    from mainspring._version import __version__

    assert f"Mainspring {__version__}" in client.get("/settings").text


def test_static_files_are_served_with_their_licences(client) -> None:
    for path in (
        "app.css",
        "app.js",
        "vendor/htmx/htmx.min.js",
        "vendor/htmx/LICENSE",
        "vendor/htmx-ext-sse/sse.min.js",
        "vendor/htmx-ext-sse/LICENSE",
        "vendor/uplot/uPlot.iife.min.js",
        "vendor/uplot/LICENSE",
    ):
        assert client.get(f"/static/{path}").status_code == 200, path
    assert client.get("/static/nothing.js").status_code == 404


def test_hostile_names_are_escaped(client) -> None:
    page = client.get("/dashboard").text
    assert "<script>alert(" not in page
    assert "&lt;script&gt;alert(" in page
    assert "<img src=x" not in page


def test_an_unknown_page_is_a_404(client) -> None:
    assert client.get("/no-such-page").status_code == 404


def _csrf(client) -> str:
    client.get("/settings")
    token = client.cookies.get("ms_csrf")
    assert token
    return token


def test_a_post_without_the_csrf_token_is_refused(client) -> None:
    for path in ("/settings/sign-in", "/settings/sign-out"):
        refused = client.post(path, data={"api_key": "x"}, follow_redirects=False)
        assert refused.status_code == 403, path
        assert "CSRF" in refused.text
    token = _csrf(client)
    wrong = client.post("/settings/sign-out", data={"csrf_token": token + "x"})
    assert wrong.status_code == 403
    # A token of its own making (not signed by this server) is refused even when the
    # attacker also plants it as the cookie.
    client.cookies.set("ms_csrf", "made.up")
    assert client.post("/settings/sign-out", data={"csrf_token": "made.up"}).status_code == 403


def test_every_ui_post_route_checks_csrf(client) -> None:
    """Whatever POST a page adds, a form without the token gets 403 (not a 415 or a 2xx)."""
    posts = [r.path for router in ROUTERS for r in router.routes if "POST" in r.methods]
    assert posts
    for path in posts:
        concrete = re.sub(r"\{[^}]+\}", "0190b3a6-0000-7000-8000-000000000000", path)
        assert client.post(concrete, data={}).status_code == 403, path


def test_the_host_guard_covers_the_ui(client) -> None:
    refused = client.get("/dashboard", headers={"Host": "evil.example"})
    assert refused.status_code == 400
    token = _csrf(client)
    cross_site = client.post(
        "/settings/sign-out", data={"csrf_token": token}, headers={"Origin": "http://evil.example"}
    )
    assert cross_site.status_code == 403


def test_the_api_still_takes_only_json(client) -> None:
    form = client.post("/api/batches", data={"a": "b"})
    assert form.status_code == 415


def test_sign_in_when_keys_are_required(own_store) -> None:
    _, write_key = create_api_key(own_store, "ui-writer")
    _, read_key = create_api_key(own_store, "ui-reader", read_only=True)
    with ui_client(own_store) as client:
        away = client.get("/dashboard?window=7d", follow_redirects=False)
        assert away.status_code == 303
        assert away.headers["location"] == "/settings?next=%2Fdashboard%3Fwindow%3D7d"
        settings = client.get("/settings")
        assert "This server requires an API key" in settings.text
        assert "mainspring.db" not in settings.text  # the database is for those signed in
        token = client.cookies.get("ms_csrf")

        bad = client.post("/settings/sign-in", data={"api_key": "ms_nope", "csrf_token": token})
        assert bad.status_code == 400
        assert "not valid" in bad.text

        signed = client.post(
            "/settings/sign-in",
            data={"api_key": read_key, "csrf_token": token, "next": "/dashboard"},
            follow_redirects=False,
        )
        assert signed.status_code == 303
        assert signed.headers["location"] == "/dashboard"
        cookie = signed.headers["set-cookie"]
        assert "ms_api_key=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
        page = client.get("/dashboard")
        assert page.status_code == 200
        assert "ui-reader (read-only)" in page.text
        assert "Signed in with the API key" in page.text  # the flash, shown once
        assert "Signed in with the API key" not in client.get("/dashboard").text

        client.post("/settings/sign-out", data={"csrf_token": token})
        assert client.get("/dashboard", follow_redirects=False).status_code == 303
        signed = client.post(
            "/settings/sign-in",
            data={"api_key": write_key, "csrf_token": token, "next": "https://evil.example/"},
            follow_redirects=False,
        )
        assert signed.headers["location"] == "/dashboard"  # never off-site


def test_the_cookie_does_not_open_the_api(own_store) -> None:
    _, key = create_api_key(own_store, "ui-cookie")
    with ui_client(own_store) as client:
        client.cookies.set("ms_api_key", key)
        assert client.get("/dashboard").status_code == 200
        assert client.get("/api/flows").status_code == 401


@pytest.mark.slow
def test_a_browser_opens_the_dashboard_and_navigates(live_server, page) -> None:
    page.goto(ui_url(live_server) + "/")
    assert page.title() == "Dashboard · Mainspring"
    page.get_by_role("link", name="Settings").click()
    page.wait_for_url("**/settings")
    assert page.get_by_role("heading", name="Settings", exact=True).is_visible()
    # times are rewritten into the browser's zone, with UTC kept on hover
    page.goto(ui_url(live_server) + "/dashboard")
    first_time = page.locator("time[datetime]").first
    assert first_time.get_attribute("data-local") is not None
    assert first_time.get_attribute("title").endswith("UTC")


def test_actions_are_checked_on_the_server(own_store) -> None:
    """An action route (as the run and deployment pages add) with `action_viewer`: a
    read-only key is refused even if it posts the form by hand; a write key may act."""
    from fastapi import Depends
    from fastapi.responses import PlainTextResponse

    from mainspring.server.ui.csrf import require_csrf
    from mainspring.server.ui.viewer import action_viewer

    _, reader = create_api_key(own_store, "reader", read_only=True)
    _, writer = create_api_key(own_store, "writer")
    with ui_client(own_store) as client:

        @client.app.post("/test-action", dependencies=[Depends(require_csrf)])
        def act(_viewer=Depends(action_viewer)) -> PlainTextResponse:
            return PlainTextResponse("done")

        token = _csrf(client)
        assert client.post("/test-action", data={"csrf_token": token}).status_code == 401
        client.cookies.set("ms_api_key", reader)
        refused = client.post("/test-action", data={"csrf_token": token})
        assert refused.status_code == 403 and "read-only" in refused.text
        client.cookies.set("ms_api_key", writer)
        assert client.post("/test-action", data={"csrf_token": token}).text == "done"
        client.cookies.set("ms_api_key", writer)
        assert client.post("/test-action", data={}).status_code == 403  # still needs the token


def test_a_database_failure_is_a_page_for_a_person(own_store) -> None:
    with ui_client(own_store) as client:
        own_store.close()  # every read now fails with StoreError
        page = client.get("/runs")
        assert page.status_code == 503
        assert page.headers["content-type"].startswith("text/html")
        assert "The database could not complete the request" in page.text
        api = client.get("/api/flows")
        assert api.status_code == 503 and api.json()["detail"].startswith("The database")


@pytest.mark.slow
def test_the_server_says_where_its_ui_is(history_home) -> None:
    from ..conftest import server_env, start_server, stop_server

    server = start_server(server_env(history_home) | {"MAINSPRING_SERVER_CRASH_DETECTOR": "false"})
    output = stop_server(server.process)
    assert f"Web UI at {ui_url(server)}/" in output
