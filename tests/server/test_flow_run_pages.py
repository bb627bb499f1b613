"""`GET /api/flow_runs?after=...|before=...`: the runs list by cursor beside offsets, with the
same filters and sorts; bad cursors are a 422 that says why; ApiStore pages through it."""

from __future__ import annotations

import base64
import random

import pytest

from mainspring.model import FlowRunFilter, FlowRunSort, StateType
from mainspring.store.http import ApiStore

from .conftest import T0, flow_run, write_runs


def some_runs(store, count: int = 45) -> None:
    rng = random.Random(8)
    write_runs(
        store,
        *(
            flow_run(
                rng.choice(["etl", "report"]),
                StateType.COMPLETED,
                ts=T0 + rng.randrange(10),  # ties: the id breaks them
                name=f"run-{rng.randrange(9)}",
                tags=["odd"] if i % 2 else [],
            )
            for i in range(count)
        ),
    )


@pytest.mark.parametrize("sort", ["START_TIME_DESC", "NAME_ASC"])
def test_cursor_pages_walk_the_list_both_ways(client, store, sort) -> None:
    some_runs(store)
    for params in ({"sort": sort}, {"sort": sort, "tag": "odd", "name": "RUN-"}):
        whole = client.get("/api/flow_runs", params={**params, "limit": 1000}).json()
        listed = [r["id"] for r in whole["items"]]
        assert whole["next_cursor"] is None and whole["previous_cursor"] is None
        pages = [client.get("/api/flow_runs", params={**params, "limit": 10}).json()]
        while pages[-1]["next_cursor"]:
            after = {"after": pages[-1]["next_cursor"], "limit": 10}
            pages.append(client.get("/api/flow_runs", params={**params, **after}).json())
        assert [r["id"] for p in pages for r in p["items"]] == listed
        assert all(p["count"] == len(listed) for p in pages)
        back = {"before": pages[-1]["previous_cursor"], "limit": 10}
        previous = client.get("/api/flow_runs", params={**params, **back}).json()
        assert previous["items"] == pages[-2]["items"]
        # an offset page still answers as before, and gives cursors to go on from it
        by_offset = client.get("/api/flow_runs", params={**params, "limit": 5, "offset": 5})
        body = by_offset.json()
        assert [r["id"] for r in body["items"]] == listed[5:10] and body["offset"] == 5
        after = {"after": body["next_cursor"], "limit": 5}
        following = client.get("/api/flow_runs", params={**params, **after}).json()
        assert [r["id"] for r in following["items"]] == listed[10:15]


def test_bad_cursors_are_422_with_a_reason(client, store) -> None:
    some_runs(store, 12)
    first = client.get("/api/flow_runs", params={"limit": 5}).json()
    cursor = first["next_cursor"]
    cases = [
        ({"after": "nonsense"}, "not a cursor"),
        ({"before": "x" * 3000}, "at most"),
        ({"after": cursor, "sort": "NAME_ASC"}, "sorted by START_TIME_DESC"),
        ({"after": cursor, "before": cursor}, "not both"),
        ({"after": cursor, "offset": 5}, "no offset"),
    ]
    for params, reason in cases:
        answer = client.get("/api/flow_runs", params=params)
        assert answer.status_code == 422, params
        assert reason in answer.text, (params, answer.text)


def _forged(json_text: str) -> str:
    raw = json_text.encode("utf-8", "surrogatepass")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_forged_cursors_no_run_could_give_are_422_not_a_database_error(client, store) -> None:
    some_runs(store, 12)
    forged = {
        "START_TIME_DESC": [
            '["START_TIME_DESC", ' + "9" * 400 + ', "x"]',  # float() overflows
            '["START_TIME_DESC", NaN, "x"]',
            '["START_TIME_DESC", Infinity, "x"]',
            '["START_TIME_DESC", 1.0, "a\\u0000b"]',  # PostgreSQL refuses NUL
            '["START_TIME_DESC", 1.0, "\\ud800"]',  # a lone surrogate: no UTF-8
        ],
        "NAME_ASC": ['["NAME_ASC", "a\\u0000b", "x"]', '["NAME_ASC", "\\ud800", "x"]'],
    }
    for sort, texts in forged.items():
        for text in texts:
            for side in ("after", "before"):
                params = {"sort": sort, side: _forged(text), "limit": 5}
                answer = client.get("/api/flow_runs", params=params)
                assert answer.status_code == 422, (text, side, answer.text)
                assert "not a cursor" in answer.text


def test_api_store_pages_by_cursor(server) -> None:
    remote = ApiStore(server.url)
    try:
        some_runs(remote, 23)
        listed = [r.id for r in remote.read_flow_runs(FlowRunFilter(), limit=100)]
        page = remote.read_flow_run_page(None, FlowRunSort.START_TIME_DESC, 10)
        seen = [r.id for r in page.runs]
        while page.next is not None:
            page = remote.read_flow_run_page(None, FlowRunSort.START_TIME_DESC, 10, after=page.next)
            seen += [r.id for r in page.runs]
        assert seen == listed
        assert page.previous is not None
        back = remote.read_flow_run_page(
            None, FlowRunSort.START_TIME_DESC, 10, before=page.previous
        )
        assert [r.id for r in back.runs] == listed[10:20]
    finally:
        remote.close()
