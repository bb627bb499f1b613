"""The dashboard, runs, flows and settings pages as HTML (httpx against the app), over the
real history of history.py: what a person reads on each, filters, paging, hostile text."""

from __future__ import annotations

import re
from html import unescape

from mainspring.model import FlowRun, FlowRunFilter, State, StateType, new_id
from mainspring.server.ui.runs_query import PAGE_SIZE
from mainspring.store.base import Batch

from .conftest import ui_client
from .history import HOSTILE


def text_of(html: str) -> str:
    """The page's visible text, roughly: tags dropped, entities decoded."""
    html = re.sub(r"<script\b.*?</script>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def run_names(html: str) -> list[str]:
    """The runs listed in a runs table, in order (their names, linked to the flow-run page
    where it exists)."""
    return re.findall(r'<td class="run"><(?:span class="run-name"|a href="[^"]+")>([^<]+)<', html)


def test_dashboard_shows_failures_first_with_their_error(client, history_store) -> None:
    page = client.get("/dashboard")
    assert page.status_code == 200
    text = text_of(page.text)
    failed = history_store.read_flow_runs(FlowRunFilter(states=["FAILED"]))
    assert {r.flow_name for r in failed} == {"flaky-import", f"hostile {HOSTILE}"}
    flaky = next(r for r in failed if r.flow_name == "flaky-import")
    assert flaky.name in text
    assert "is unreachable" in text  # its error line
    assert "Failed and crashed" in text
    # the chart's numbers, as text and as data for the script
    assert 'data-kind="state-bars"' in page.text
    assert re.search(r"Completed\s+\d+", text)
    # work pools with their worker, and the upcoming run of the deployment
    assert "local-pool" in text and "worker-1" in text and "1 of 1 worker online" in text
    assert "weather / nightly" in text


def test_dashboard_windows(client) -> None:
    for key in ("1h", "24h", "7d", "30d"):
        page = client.get(f"/dashboard?window={key}")
        assert page.status_code == 200
        assert f'href="/dashboard?window={key}" aria-current="true"' in page.text
    bad = client.get("/dashboard?window=<b>x")
    assert bad.status_code == 400
    assert "Unknown time window" in bad.text and "<b>x" not in bad.text


def test_runs_list_shows_each_run_with_state_duration_and_tasks(client, history_store) -> None:
    page = client.get("/runs")
    assert page.status_code == 200
    assert "<title>Flow runs · Mainspring</title>" in page.text
    runs = history_store.read_flow_runs(limit=100)
    assert f"<strong>{len(runs)}</strong> flow runs" in page.text
    assert set(run_names(page.text)) >= {r.name for r in runs}
    weather = next(r for r in runs if r.flow_name == "weather" and r.state.name == "Completed")
    row = _row_of(page.text, weather.name)
    assert "state-completed" in row and "Completed" in row
    assert re.search(r'data-label="Took">[\d.]+ (ms|s)</td>', row)  # its duration
    tasks = len(history_store.read_task_runs(weather.id))
    assert f'data-label="Tasks">{tasks}</td>' in row
    child = next(r for r in runs if r.flow_name == "station-report")
    assert "subflow of" in _row_of(page.text, child.name)
    assert 'data-kind="duration-scatter"' in page.text


def _row_of(html: str, name: str) -> str:
    rows = re.findall(r"<tr>.*?</tr>", html, flags=re.S)
    return next(r for r in rows if f">{name}<" in r)


def test_runs_filters(client, history_store) -> None:
    failed = client.get("/runs?state=failed")
    assert 'value="FAILED" checked' in failed.text  # the form says what is filtered
    names = set(run_names(failed.text))
    expected = {r.name for r in history_store.read_flow_runs(FlowRunFilter(states=["FAILED"]))}
    assert names == expected and names
    weather = client.get("/runs?flow=weather")
    assert len(run_names(weather.text)) == 4  # 3 runs and the deployment's scheduled one
    one = history_store.read_flow_runs(FlowRunFilter(flow_names=["weather"]), limit=1)[0]
    found = client.get("/runs", params={"q": one.name[2:-2].upper()})
    assert run_names(found.text) == [one.name]
    deployment = history_store.find_deployment("weather", "nightly")
    of_deployment = client.get(f"/runs?deployment={deployment.id}")
    assert len(run_names(of_deployment.text)) == 1
    assert "No flow run matches" in client.get("/runs?tags=nope").text
    assert "No flow run matches" in client.get("/runs?from=2999-01-01").text
    assert len(run_names(client.get("/runs?to=2000-01-01").text)) == 0
    newest_first = run_names(client.get("/runs").text)
    oldest_first = run_names(client.get("/runs?sort=START_TIME_ASC").text)
    assert oldest_first == list(reversed(newest_first))


def test_runs_bad_filters_are_said_on_the_page(client) -> None:
    page = client.get("/runs?state=BOGUS&from=yesterday&sort=x&page=abc&window=9y")
    assert page.status_code == 400
    text = text_of(page.text)
    for said in ("Unknown state 'BOGUS'", "'yesterday' is not a date", "Unknown sort", "no page"):
        assert said in text
    assert "flow runs" in text  # the list is still shown


def test_runs_paging(own_store) -> None:
    more = [
        FlowRun(new_id(), f"extra-{i}", "extra", State(StateType.COMPLETED), start_time=1e9 + i)
        for i in range(PAGE_SIZE + 5)
    ]
    own_store.write(Batch(flow_runs={r.id: r for r in more}))
    with ui_client(own_store) as client:
        first = client.get("/runs")
        assert 'rel="next"' in first.text and "Page 1 of 2" in first.text
        second = client.get(
            first.text.split('rel="next"')[0]
            .rsplit('href="', 1)[1]
            .split('"')[0]
            .replace("&amp;", "&")
        )
        assert "Page 2 of 2" in second.text and 'rel="prev"' in second.text
        assert not set(run_names(first.text)) & set(run_names(second.text))
        total = len(run_names(first.text)) + len(run_names(second.text))
        assert total == own_store.count_flow_runs()


def test_flows_page_and_a_flows_page(client, history_store) -> None:
    page = client.get("/flows")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "weather" in text and "flaky-import" in text
    assert "100.0%" in text  # weather: every run completed
    flows = {f.name: f for f in history_store.read_flows()}
    weather = client.get(f"/flows/flow/{flows['weather'].id}")
    assert weather.status_code == 200
    assert "<title>weather · Flow · Mainspring</title>" in weather.text
    assert len(run_names(weather.text)) == 4
    assert "nightly" in text_of(weather.text)  # its deployment
    missing = client.get("/flows/flow/nope")
    assert missing.status_code == 404 and "No flow" in missing.text


def test_hostile_strings_are_escaped_everywhere(client, history_store) -> None:
    hostile = next(f for f in history_store.read_flows() if f.name.startswith("hostile"))
    paths = [
        "/dashboard",
        "/runs",
        "/runs?flow=" + hostile.name,
        "/runs?q=<script>",
        "/flows",
        f"/flows/flow/{hostile.id}",
    ]
    for path in paths:
        page = client.get(path)
        assert page.status_code in (200, 400), path
        assert "<script>alert" not in page.text, path
        assert "<img src=x" not in page.text, path
    page = client.get(f"/flows/flow/{hostile.id}").text
    assert "hostile &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page


def test_the_chart_data_cannot_close_its_script_element(client) -> None:
    from mainspring.server.ui.templating import to_json_script

    assert "</script>" not in to_json_script({"label": "</script><script>alert(1)//"})


def test_a_running_run_is_listed_as_going_on(own_store) -> None:
    """Not "0 ms": a run still going has no duration yet."""
    running = FlowRun(
        new_id(), "still-going", "long-haul", State(StateType.RUNNING), start_time=1e9
    )
    own_store.write(Batch(flow_runs={running.id: running}))
    with ui_client(own_store) as client:
        row = _row_of(client.get("/runs").text, "still-going")
    assert 'data-label="Took">going&nbsp;on</td>' in row
