"""The deployments pages as HTML (httpx against the app) over the real history plus a few
deployments made here: schedules in words and their next runs in their zone, the Run form made
from the parameter schema (good values run, bad ones are said beside their field), Pause and
Resume, CSRF, read-only viewers, hostile names."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from mainspring.model.deployments import Deployment
from mainspring.model.schedules import Cron, Interval
from mainspring.server.auth import create_api_key
from mainspring.store.sql import SqlStore

from .conftest import ui_client
from .history import HOSTILE
from .test_pages import text_of

SCHEMA = {
    "type": "object",
    "properties": {
        "n": {"title": "n", "type": "integer"},
        "city": {"title": "city", "type": "string", "default": "Oslo"},
        "ratio": {"title": "ratio", "type": "number", "default": 0.5},
        "loud": {"title": "loud", "type": "boolean", "default": False},
        "cities": {"title": "cities", "type": "array", "items": {"type": "string"}},
        "mode": {"title": "mode", "enum": ["fast", "slow"], "type": "string", "default": "fast"},
        "limit": {"title": "limit", "anyOf": [{"type": "integer"}, {"type": "null"}]},
    },
    "required": ["n"],
}


def make_deployment(store: SqlStore, name: str = "by-hand", **fields) -> Deployment:
    fields.setdefault("parameter_openapi_schema", SCHEMA)
    fields.setdefault("work_pool_name", "local-pool")
    return store.upsert_deployment(Deployment("report", name, entrypoint="r.py:report", **fields))


@pytest.fixture
def deployment(own_store: SqlStore) -> Deployment:
    oslo = Cron("0 3 * * *", timezone="Europe/Oslo").to_dict()
    return make_deployment(own_store, schedules=[oslo], parameters={"cities": ["Bergen"]})


@pytest.fixture
def app(own_store: SqlStore) -> Iterator:
    with ui_client(own_store) as client:
        yield client


def csrf_token(client, path: str = "/deployments") -> str:
    client.get(path)
    token = client.cookies.get("ms_csrf")
    assert token
    return token


def page_of(d: Deployment) -> str:
    return f"/deployments/deployment/{d.id}"


def field_error(html: str, name: str) -> str:
    """The error shown beside the field of parameter `name` ('' when none)."""
    block = re.search(
        rf'<div class="field[^"]*">(?:(?!<div class="field).)*?name="param\.{re.escape(name)}"'
        r'(?:(?!<div class="field).)*',
        html,
        flags=re.S,
    )
    assert block, f"no field {name}"
    found = re.search(r'<span class="field-error"[^>]*>([^<]*)</span>', block.group(0))
    return text_of(found.group(1)).strip() if found else ""


def test_the_list_shows_each_deployment_with_its_schedule_pool_and_next_run(
    app, deployment
) -> None:
    page = app.get("/deployments")
    assert page.status_code == 200
    assert "<title>Deployments · Mainspring</title>" in page.text
    assert '<a href="/deployments" aria-current="page">' in page.text  # in the menu
    text = text_of(page.text)
    assert "by-hand" in text and "report" in text and "nightly" in text and "weather" in text
    assert "(Europe/Oslo)" in text  # the schedule in words
    assert "on request only" in text  # nightly has no schedule
    assert f'href="{page_of(deployment)}"' in page.text
    assert 'href="/work-pools/work-pool/local-pool"' in page.text
    assert re.search(r'<time datetime="[\d-]+T02:00:00.000Z"', page.text)  # 03:00 in Oslo


def test_a_deployments_page_shows_the_next_runs_in_the_schedules_zone(app, deployment) -> None:
    page = app.get(page_of(deployment))
    assert page.status_code == 200
    assert "<title>by-hand · report · Deployment · Mainspring</title>" in page.text
    text = text_of(page.text)
    times = re.findall(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (CET|CEST) Europe/Oslo", text)
    assert len(times) == 5
    for local, _ in times:
        assert datetime.fromisoformat(local).replace(tzinfo=ZoneInfo("Europe/Oslo")).hour == 3
    assert 'action="/deployments/deployment/' in page.text and ">Pause</button>" in page.text
    assert "local-pool" in text and "r.py:report" in text


def test_the_run_form_follows_the_parameter_schema(app, deployment) -> None:
    html = app.get(page_of(deployment)).text
    assert re.search(r'<input id="[^"]+" name="param\.n" value="" inputmode="numeric"', html)
    assert 'name="param.city" value="Oslo"' in html  # the schema's default
    assert 'name="param.ratio" value="0.5" inputmode="decimal"' in html
    assert re.search(r'name="param\.loud">.*?<option value="false" selected>', html, re.S)
    assert re.search(r'name="param\.mode">.*?<option value="fast" selected>fast', html, re.S)
    cities = re.search(r'<textarea[^>]*name="param\.cities"[^>]*>([^<]*)</textarea>', html)
    assert cities and text_of(cities.group(1)) == '["Bergen"]'  # the deployment's value, JSON
    assert 'name="param.limit" value="" inputmode="numeric"' in html  # Optional[int]
    assert "<strong>n</strong> *" in html  # required, no default


def test_running_with_good_values_creates_the_run_and_goes_to_it(
    app, own_store, deployment
) -> None:
    token = csrf_token(app)
    form = {
        "csrf_token": token,
        "param.n": "7",
        "param.city": "<b>Tromsø</b>",
        "param.ratio": "2.5",
        "param.loud": "true",
        "param.cities": '["Oslo", "Lima"]',
        "param.mode": "slow",
        "param.limit": "",
    }
    answer = app.post(f"{page_of(deployment)}/run", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    (made,) = own_store.read_deployment_runs(deployment.id)
    assert made.run.parameters == {
        "n": 7,
        "city": "<b>Tromsø</b>",
        "ratio": 2.5,
        "loud": True,
        "cities": ["Oslo", "Lima"],
        "mode": "slow",
    }
    assert made.run.state.name == "Scheduled" and made.work_pool_name == "local-pool"
    location = answer.headers["location"]
    # the run's own page where it exists (the flow-run page), else back to the deployment
    assert location in (f"/runs/flow-run/{made.run.id}", page_of(deployment))
    shown = app.get(location)
    assert made.run.name in text_of(shown.text)
    assert "<b>Tromsø</b>" not in shown.text


def test_bad_values_are_said_beside_their_field_and_nothing_is_run(
    app, own_store, deployment
) -> None:
    token = csrf_token(app)
    form = {
        "csrf_token": token,
        "param.n": "seven",
        "param.ratio": "1e999",
        "param.cities": "[Oslo",
        "param.mode": "sideways",
        "param.loud": "maybe",
    }
    answer = app.post(f"{page_of(deployment)}/run", data=form)
    assert answer.status_code == 400
    html = answer.text
    assert "'seven' is not a whole number." in field_error(html, "n")
    assert "not a number" in field_error(html, "ratio") or "finite" in field_error(html, "ratio")
    assert field_error(html, "cities").startswith("Not valid JSON")
    assert field_error(html, "mode") == "Choose one of: fast, slow."
    assert field_error(html, "loud") == "Choose true or false."
    assert field_error(html, "city") == ""
    assert 'name="param.n" value="seven"' in html  # what was typed stays
    assert "Some values need fixing" in html
    assert own_store.read_deployment_runs(deployment.id) == []


def test_a_missing_required_value_and_a_schema_mismatch_are_shown_inline(
    app, own_store, deployment
) -> None:
    token = csrf_token(app)
    missing = app.post(f"{page_of(deployment)}/run", data={"csrf_token": token, "param.n": " "})
    assert missing.status_code == 400
    assert field_error(missing.text, "n").startswith("Required")
    # valid JSON of the wrong type: the store's jsonschema check names the parameter
    wrong = app.post(
        f"{page_of(deployment)}/run",
        data={"csrf_token": token, "param.n": "1", "param.cities": '{"a": 1}'},
    )
    assert wrong.status_code == 400
    assert "parameter 'cities' expects array" in field_error(wrong.text, "cities")
    assert own_store.read_deployment_runs(deployment.id) == []


def test_an_unusable_schema_is_an_error_on_the_page_not_a_500(app, own_store) -> None:
    broken = make_deployment(
        own_store,
        "broken",
        parameter_openapi_schema={"type": "object", "properties": {"x": {"type": "nonsense"}}},
    )
    token = csrf_token(app)
    answer = app.post(f"{page_of(broken)}/run", data={"csrf_token": token, "param.x": "1"})
    assert answer.status_code == 400
    assert "parameter schema of flow 'report' is unusable" in text_of(answer.text)


def test_pause_and_resume(app, own_store, deployment) -> None:
    token = csrf_token(app)
    paused = app.post(f"{page_of(deployment)}/pause", data={"csrf_token": token})
    assert paused.status_code == 200  # followed to the deployment's page
    assert own_store.read_deployment(deployment.id).paused
    assert "paused: the runs its schedules planned are removed (runs asked for by hand stay)" in (
        text_of(paused.text)
    )
    assert ">Resume</button>" in paused.text and "(once resumed)" in paused.text
    assert "paused" in text_of(app.get("/deployments").text)
    resumed = app.post(f"{page_of(deployment)}/resume", data={"csrf_token": token})
    assert resumed.status_code == 200 and ">Pause</button>" in resumed.text
    assert not own_store.read_deployment(deployment.id).paused


def test_actions_without_the_csrf_token_are_refused(app, own_store, deployment) -> None:
    for action in ("run", "pause", "resume"):
        refused = app.post(f"{page_of(deployment)}/{action}", data={"param.n": "1"})
        assert refused.status_code == 403, action
        assert "CSRF" in refused.text
    assert not own_store.read_deployment(deployment.id).paused
    assert own_store.read_deployment_runs(deployment.id) == []


def test_a_read_only_viewer_sees_no_buttons_and_cannot_act(own_store, deployment) -> None:
    _, key = create_api_key(own_store, "viewer", read_only=True)
    with ui_client(own_store) as client:
        client.cookies.set("ms_api_key", key)
        page = client.get(page_of(deployment))
        assert page.status_code == 200
        assert "<button" not in page.text.split("<main", 1)[1]
        assert "read-only" in text_of(page.text)
        token = client.cookies.get("ms_csrf")
        for action in ("run", "pause", "resume"):
            refused = client.post(
                f"{page_of(deployment)}/{action}", data={"csrf_token": token, "param.n": "1"}
            )
            assert refused.status_code == 403, action
            assert "read-only" in refused.text
    assert not own_store.read_deployment(deployment.id).paused
    assert own_store.read_deployment_runs(deployment.id) == []


def test_unknown_deployments_are_404_pages(app) -> None:
    assert app.get("/deployments/deployment/nope").status_code == 404
    token = csrf_token(app)
    for action in ("run", "pause"):
        answer = app.post(f"/deployments/deployment/nope/{action}", data={"csrf_token": token})
        assert answer.status_code == 404 and "No deployment" in answer.text


def test_hostile_names_and_parameters_are_text(app, own_store) -> None:
    schema = {
        "type": "object",
        "properties": {
            HOSTILE: {"type": "string", "default": HOSTILE, "description": HOSTILE},
            "opts": {"type": "object", "default": {"k": "</textarea><script>alert(1)</script>"}},
        },
    }
    hostile = own_store.upsert_deployment(
        Deployment(
            HOSTILE,
            "<img src=x onerror=alert(1)>",
            entrypoint=HOSTILE,
            parameter_openapi_schema=schema,
            parameters={"note": HOSTILE},
            tags=[HOSTILE],
            description=HOSTILE,
            work_pool_name=HOSTILE,
            schedules=[Interval(3600, parameters={"x": HOSTILE}).to_dict()],
        )
    )
    for path in ("/deployments", page_of(hostile)):
        html = app.get(path).text
        assert "<script>alert" not in html and "<img src=x" not in html, path
        assert "</textarea><script>" not in html, path
    token = csrf_token(app)
    answer = app.post(
        f"{page_of(hostile)}/run",
        data={"csrf_token": token, f"param.{HOSTILE}": HOSTILE, "param.opts": "[" + HOSTILE},
    )
    assert answer.status_code == 400
    assert "<script>alert" not in answer.text
    assert own_store.read_deployment_runs(hostile.id) == []


def test_no_deployments_says_how_to_make_one(tmp_path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with ui_client(store) as client:
            text = text_of(client.get("/deployments").text)
            assert "No deployments yet" in text
            assert "mainspring deploy file.py:flow --name NAME" in text
    finally:
        store.close()


def test_many_deployments_come_in_pages(own_store) -> None:
    from mainspring.server.ui.pages.deployments import LIST_PAGE

    for i in range(LIST_PAGE + 3):
        make_deployment(own_store, f"d-{i:03d}", schedules=[Interval(60 + i).to_dict()])
    with ui_client(own_store) as client:
        first = client.get("/deployments")
        assert "Page 1 of 2" in first.text and 'href="/deployments?page=2"' in first.text
        second = client.get("/deployments?page=2")
        listed = re.findall(r'<td data-label="Deployment"><a [^>]+>([^<]+)</a>', first.text)
        more = re.findall(r'<td data-label="Deployment"><a [^>]+>([^<]+)</a>', second.text)
        assert len(listed) == LIST_PAGE and not set(listed) & set(more)
        assert len(listed) + len(more) == LIST_PAGE + 3 + 1  # and the history's nightly


def test_a_required_choice_starts_unchosen(app, own_store) -> None:
    schema = {
        "type": "object",
        "properties": {"flag": {"type": "boolean"}, "mode": {"enum": ["a", "b"]}},
        "required": ["flag", "mode"],
    }
    choosy = make_deployment(own_store, "choosy", parameter_openapi_schema=schema)
    html = app.get(page_of(choosy)).text
    for name in ("flag", "mode"):  # not silently the first option
        assert re.search(rf'name="param\.{name}">\s*<option value="" selected>\(choose\)', html)
    token = csrf_token(app)
    answer = app.post(f"{page_of(choosy)}/run", data={"csrf_token": token, "param.mode": "b"})
    assert answer.status_code == 400
    assert field_error(answer.text, "flag").startswith("Required")
    assert field_error(answer.text, "mode") == ""
