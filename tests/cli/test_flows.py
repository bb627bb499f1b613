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
