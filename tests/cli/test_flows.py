"""`mainspring flow ls`."""

from __future__ import annotations

from .history import invoke


def test_flow_ls_lists_flows_with_ids_and_run_counts(history, store):
    result = invoke("flow", "ls")

    assert result.exit_code == 0, result.output
    flows = {f.name: f for f in store.read_flows()}
    lines = result.stdout.splitlines()
    etl = next(line for line in lines if flows["etl"].id in line)
    report = next(line for line in lines if flows["report"].id in line)
    assert etl.split()[:3] == ["etl", flows["etl"].id, "3"]
    assert "Extract, transform, load" in etl
    assert report.split()[:3] == ["report", flows["report"].id, "1"]
    assert lines.index(etl) < lines.index(report)  # sorted by name


def test_flow_ls_on_an_empty_store_says_so(store):
    result = invoke("flow", "ls")

    assert result.exit_code == 0
    assert "No flows yet" in result.stdout


def test_an_unusable_database_url_is_one_line_and_exit_1(home, monkeypatch):
    monkeypatch.setenv("MAINSPRING_DATABASE_URL", "nonsense://app:hunter2@db/x")

    result = invoke("flow", "ls")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert "hunter2" not in result.output
    assert "Traceback" not in result.output


def test_flow_ls_json_gives_every_flow_with_stable_fields(history, store, home):
    from .deploy_cli import cli_json

    flows = cli_json("flow", "ls", home=home)

    by_name = {f["name"]: f for f in flows}
    assert [f["name"] for f in flows] == ["etl", "report"]
    assert set(by_name["etl"]) == {"id", "name", "description", "created", "run_count"}
    assert by_name["etl"]["run_count"] == 3
    assert by_name["etl"]["description"] == "Extract, transform, load"
    assert by_name["etl"]["id"] == {f.name: f.id for f in store.read_flows()}["etl"]
    assert by_name["etl"]["created"].endswith("+00:00")  # ISO 8601, UTC


def test_flow_ls_json_on_an_empty_store_is_an_empty_list(store, home):
    from .deploy_cli import cli_json

    assert cli_json("flow", "ls", home=home) == []
