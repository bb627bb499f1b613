"""What Prefect 2 material has people type: `deploy` with a bare flow name, the two-step
`deployment build` / `deployment apply` with its deployment.yaml, and an agent on a queue."""

from __future__ import annotations

import textwrap
from pathlib import Path

import yaml

from .deploy_cli import cli, cli_json

TUTORIAL = textwrap.dedent(
    """
    from mainspring import flow

    @flow(log_prints=True)
    def pipeline_diario(n: int = 2) -> int:
        print("hola", n)
        return n

    if __name__ == "__main__":
        raise SystemExit("the __main__ block must not run when deploying")
    """
)


def _project(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "etl.py").write_text(TUTORIAL)
    (folder / "notes.py").write_text("print('a script with side effects')\n")
    (folder / "broken.py").write_text("def oops(:\n")  # not ours to judge: skipped
    return folder


def test_deploy_finds_a_bare_flow_name_among_the_folders_files(home, tmp_path):
    project = _project(tmp_path / "project")
    done = cli("deploy", "--cron", "0 0 * * *", "pipeline_diario", home=home, cwd=project)
    assert done.returncode == 0, done.stderr
    assert "a script with side effects" not in done.stdout + done.stderr
    shown = cli_json("deployment", "inspect", "pipeline-diario/pipeline_diario", home=home)
    assert shown["entrypoint"] == f"{(project / 'etl.py').resolve()}:pipeline_diario"
    assert shown["schedules"][0]["cron"] == "0 0 * * *"


def test_a_bare_name_also_matches_the_flows_given_name(home, tmp_path):
    (tmp_path / "named.py").write_text(
        "from mainspring import flow\n\n@flow(name='nightly-load')\ndef load():\n    pass\n"
    )
    done = cli("deploy", "nightly-load", "--name", "n", home=home, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert cli_json("deployment", "inspect", "nightly-load/n", home=home)["entrypoint"].endswith(
        "named.py:load"
    )


def test_an_unknown_or_ambiguous_bare_name_lists_the_candidates_and_registers_nothing(
    home, tmp_path
):
    project = _project(tmp_path)
    (project / "etl_copy.py").write_text(TUTORIAL)
    ambiguous = cli("deploy", "pipeline_diario", home=home, cwd=project)
    assert ambiguous.returncode == 1
    assert "several flows are called 'pipeline_diario'" in ambiguous.stderr
    assert "etl_copy.py:pipeline_diario" in ambiguous.stderr
    assert "etl.py:pipeline_diario" in ambiguous.stderr
    assert "Traceback" not in ambiguous.stderr

    unknown = cli("deploy", "pipeline_semanal", home=home, cwd=project)
    assert unknown.returncode == 1
    assert "no flow called 'pipeline_semanal'" in unknown.stderr
    assert "etl.py:pipeline_diario" in unknown.stderr  # the candidates, to pick from

    empty = tmp_path / "empty"
    empty.mkdir()
    none = cli("deploy", "pipeline_diario", home=home, cwd=empty)
    assert none.returncode == 1
    assert "defines a @flow" in none.stderr
    assert cli_json("deployment", "ls", home=home) == []


def test_build_writes_prefect2_layout_without_registering_and_apply_registers(home, tmp_path):
    project = _project(tmp_path)
    built = cli(
        "deployment",
        "build",
        "etl.py:pipeline_diario",
        "-n",
        "nightly",
        "-q",
        "etl-queue",
        "--cron",
        "30 2 * * *",
        "--timezone",
        "Europe/Madrid",
        "--param",
        "n=5",
        "--tag",
        "etl",
        home=home,
        cwd=project,
    )
    assert built.returncode == 0, built.stderr
    written = project / "pipeline_diario-deployment.yaml"
    document = yaml.safe_load(written.read_text())
    assert document["name"] == "nightly"
    assert document["flow_name"] == "pipeline-diario"
    assert document["work_queue_name"] == "etl-queue"
    assert document["entrypoint"] == "etl.py:pipeline_diario"
    assert document["path"] == str(project.resolve())
    assert document["parameters"] == {"n": 5}
    assert document["tags"] == ["etl"]
    assert document["schedule"]["cron"] == "30 2 * * *"
    assert document["schedule"]["timezone"] == "Europe/Madrid"
    assert document["infrastructure"]["type"] == "process"
    assert document["parameter_openapi_schema"]["properties"]["n"]["default"] == 2
    assert "DO NOT EDIT BELOW THIS LINE" in written.read_text()
    assert cli_json("deployment", "ls", home=home) == []  # build registers nothing

    # People edit the upper part, then apply; applying again updates in place.
    document["parameters"] = {"n": 7}
    written.write_text(yaml.safe_dump(document))
    for _ in range(2):
        applied = cli("deployment", "apply", str(written), home=home, cwd=tmp_path / "..")
        assert applied.returncode == 0, applied.stderr
    (shown,) = cli_json("deployment", "ls", home=home)
    assert shown["full_name"] == "pipeline-diario/nightly"
    assert shown["parameters"] == {"n": 7}
    assert shown["work_pool_name"] == "default-agent-pool"
    assert shown["work_queue_name"] == "etl-queue"
    assert shown["entrypoint"] == f"{(project / 'etl.py').resolve()}:pipeline_diario"
    pool = cli_json("work-pool", "inspect", "default-agent-pool", home=home)
    assert "etl-queue" in {q["name"] for q in pool["work_queues"]}


def test_build_with_apply_does_both(home, tmp_path):
    project = _project(tmp_path)
    done = cli(
        "deployment", "build", "pipeline_diario", "-n", "now", "--apply", home=home, cwd=project
    )
    assert done.returncode == 0, done.stderr
    assert (project / "pipeline_diario-deployment.yaml").is_file()
    assert [d["full_name"] for d in cli_json("deployment", "ls", home=home)] == [
        "pipeline-diario/now"
    ]


def test_apply_refuses_what_it_cannot_run_with_one_line(home, tmp_path):
    project = _project(tmp_path)
    assert cli("deployment", "build", "etl.py:pipeline_diario", "-n", "x", home=home, cwd=project)
    written = project / "pipeline_diario-deployment.yaml"
    document = yaml.safe_load(written.read_text())

    cases = {
        "docker": ({"infrastructure": {"type": "docker-container"}}, "infrastructure type"),
        "no entrypoint": ({"entrypoint": None}, "entrypoint must be"),
        "bad schedule": ({"schedule": {"cron": "61 * * * *"}}, "cron"),
        "bad parameter": ({"parameters": {"n": "many"}}, "n"),
    }
    for label, (change, message) in cases.items():
        bad = project / f"{label.replace(' ', '_')}.yaml"
        bad.write_text(yaml.safe_dump({**document, **change}))
        done = cli("deployment", "apply", str(bad), home=home)
        assert done.returncode == 1, label
        assert message in done.stderr, (label, done.stderr)
        assert "Traceback" not in done.stderr
    (project / "junk.yaml").write_text("name: [unclosed\n")
    junk = cli("deployment", "apply", str(project / "junk.yaml"), home=home)
    assert junk.returncode == 1 and "not valid YAML" in junk.stderr
    missing = cli("deployment", "apply", str(project / "nope.yaml"), home=home)
    assert missing.returncode == 1 and "cannot read" in missing.stderr
    assert cli_json("deployment", "ls", home=home) == []
