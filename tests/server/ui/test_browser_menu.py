"""The main menu in a real browser: a row of links at 1280x800, a disclosure ("Menu") on a
phone-sized window that opens without JavaScript and by keyboard, every entry reachable and
no sideways scrolling."""

from __future__ import annotations

from typing import Any

import pytest

from mainspring.server.ui import nav

from .conftest import ui_url

pytestmark = pytest.mark.slow

PHONE = {"width": 390, "height": 844}


def _labels() -> list[str]:
    import mainspring.server.ui.pages  # noqa: F401  (registers the entries)

    return [entry.label for entry in nav.entries()]


def _phone(browser: Any, javascript: bool = True) -> Any:
    context = browser.new_context(viewport=PHONE, java_script_enabled=javascript)
    context.set_default_timeout(15_000)
    return context


def test_wide_screens_show_every_entry_in_one_row(live_server, page) -> None:
    page.goto(ui_url(live_server) + "/runs")
    assert not page.locator("details.menu > summary").is_visible()
    menu = page.get_by_role("navigation", name="Main")
    links = menu.get_by_role("link")
    assert links.all_inner_texts() == _labels()
    tops = {round(link.bounding_box()["y"]) for link in links.all()}
    assert len(tops) == 1, "the entries wrap onto several lines at 1280 px"
    assert page.locator("header.top").bounding_box()["height"] < 60
    current = menu.locator('[aria-current="page"]')
    assert current.inner_text() == "Runs"


def test_a_phone_opens_the_menu_by_keyboard(live_server, browser) -> None:
    context = _phone(browser)
    try:
        page = context.new_page()
        page.goto(ui_url(live_server) + "/flows")
        summary = page.locator("details.menu > summary")
        assert summary.is_visible() and "Flows" in summary.inner_text()  # where you are
        assert not page.get_by_role("link", name="Dashboard").is_visible()
        summary.focus()
        page.keyboard.press("Enter")
        links = page.get_by_role("navigation", name="Main").get_by_role("link")
        assert links.all_inner_texts() == _labels()
        for link in links.all():
            box = link.bounding_box()
            assert link.is_visible() and box["x"] >= 0 and box["x"] + box["width"] <= 390
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.keyboard.press("Tab")  # the first entry, then on through all of them
        assert page.evaluate("document.activeElement.textContent") == _labels()[0]
        page.get_by_role("link", name="Settings").click()
        page.wait_for_url("**/settings")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()


def test_the_phone_menu_needs_no_javascript(live_server, browser) -> None:
    context = _phone(browser, javascript=False)
    try:
        page = context.new_page()
        page.goto(ui_url(live_server) + "/dashboard")
        page.locator("details.menu > summary").click()
        runs = page.get_by_role("navigation", name="Main").get_by_role("link", name="Runs")
        assert runs.is_visible()
        runs.click()
        page.wait_for_url("**/runs")
    finally:
        context.close()
