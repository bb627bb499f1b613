"""The runs list's Older/Newer links page by cursor (after=, before=) beside page numbers:
every run once, forwards and back, with filters; a broken link is said and shows page 1."""

from __future__ import annotations

import base64
from html import unescape

from mainspring.model import FlowRun, FlowRunFilter, State, StateType, new_id
from mainspring.server.ui.runs_query import PAGE_SIZE
from mainspring.store.base import Batch

from .conftest import ui_client
from .test_pages import run_names, text_of


def link(html: str, rel: str) -> str | None:
    """The href of the pager's link `rel` ("next", "prev"), or None."""
    marker = f'rel="{rel}"'
    if marker not in html:
        return None
    return unescape(html.split(marker)[0].rsplit('href="', 1)[1].split('"')[0])


def add_runs(store, count: int) -> None:
    runs = [
        FlowRun(
            new_id(),
            f"paged-{i}",
            "paged",
            State(StateType.COMPLETED),
            start_time=1e9 + i // 3,  # ties: three runs a second
            tags=["even"] if i % 2 == 0 else [],
        )
        for i in range(count)
    ]
    store.write(Batch(flow_runs={r.id: r for r in runs}))


def test_older_and_newer_links_walk_every_run_once(own_store) -> None:
    add_runs(own_store, 2 * PAGE_SIZE + 7)
    total = own_store.count_flow_runs()
    with ui_client(own_store) as client:
        for start in ("/runs", "/runs?flow=paged&tags=even", "/runs?q=AGED-&sort=NAME_ASC"):
            page = client.get(start)
            pages, seen = [page.text], list(run_names(page.text))
            while (older := link(pages[-1], "next")) is not None:
                assert "after=" in older and "offset" not in older
                page = client.get(older)
                assert page.status_code == 200, page.text
                pages.append(page.text)
                seen += run_names(page.text)
            assert len(seen) == len(set(seen))
            count = int(text_of(pages[0]).split(" flow run")[0].split()[-1].replace(",", ""))
            assert len(seen) == count
            assert len(pages) >= 2, start
            assert f"Page {len(pages)} of {len(pages)}" in text_of(pages[-1])
            assert link(pages[1], "prev") == start  # the first page: its plain link
            back = [pages[-1]]
            while (newer := link(back[-1], "prev")) is not None:
                back.append(client.get(newer).text)
            assert [run_names(p) for p in reversed(back)] == [run_names(p) for p in pages]
    assert total == own_store.count_flow_runs(FlowRunFilter())


def test_a_page_number_still_opens_by_offset_and_goes_on_by_cursor(own_store) -> None:
    add_runs(own_store, 3 * PAGE_SIZE)
    with ui_client(own_store) as client:
        second = client.get("/runs?page=2")
        third_by_number = client.get("/runs?page=3")
        third = client.get(link(second.text, "next"))
        assert "Page 3 of" in text_of(third.text)
        assert run_names(third.text) == run_names(third_by_number.text)


def test_a_broken_page_link_is_said_and_shows_the_first_page(own_store) -> None:
    add_runs(own_store, PAGE_SIZE + 5)
    with ui_client(own_store) as client:
        first = client.get("/runs")
        older = link(first.text, "next")
        # a forged cursor no run gives: a time beyond a float (was a 500 from float())
        huge = base64.urlsafe_b64encode(b'["START_TIME_DESC",' + b"9" * 400 + b',"x"]').decode()
        for broken in (
            "/runs?page=2&after=nonsense",
            older.replace("after=", "before=x"),
            f"/runs?page=2&after={huge}",
        ):
            page = client.get(broken)
            assert page.status_code == 400
            assert "out of date or broken" in text_of(page.text)
            assert run_names(page.text) == run_names(first.text)
        other_sort = client.get(older + "&sort=NAME_ASC")  # a cursor of another list
        assert other_sort.status_code == 400
        both = client.get(older + "&before=" + older.split("after=")[1])
        assert both.status_code == 400 and "not both" in text_of(both.text)
