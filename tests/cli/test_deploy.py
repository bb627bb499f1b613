"""`mainspring deploy`: a flow file (or mainspring.yaml) registered as a deployment, checked
first, so that a mistake is one line, exit code 1, and nothing registered."""

from __future__ import annotations

import textwrap

import pytest

from .deploy_cli import cli, cli_json, write_flow_file


@pytest.fixture
def flow_file(home, tmp_path):
    return write_flow_file(tmp_path)


def test_deploy_registers_the_flow_with_its_schedule_parameters_and_schema(home, flow_file):
    done = cli(
        "deploy",
        f"{flow_file}:greet",
        "--name",
        "nightly",
        "--cron",
        "30 1 * * *",
        "--timezone",
        "America/New_York",
        "--param",
        "n=3",
        "--param",
        "who=007",  # a str parameter: text, not the JSON number 7
        "--tag",
        "etl",
        "--pool",
        "local",
        "--queue",
        "fast",
        "--concurrency-limit",
        "2",
        home=home,
    )
    assert done.returncode == 0, done.stderr
    assert "the __main__ block" not in done.stdout + done.stderr
    assert "'greet/nightly' registered" in done.stdout

    shown = cli_json("deployment", "inspect", "greet/nightly", home=home)
    assert shown["full_name"] == "greet/nightly"
    assert shown["entrypoint"] == f"{flow_file.resolve()}:greet"
    assert shown["parameters"] == {"n": 3, "who": "007"}
    assert shown["tags"] == ["etl"]
    assert shown["work_pool_name"] == "local"
    assert shown["work_queue_name"] == "fast"
    assert shown["concurrency_limit"] == 2
    assert shown["description"] == "Say hello n times."
    assert shown["paused"] is False
    (schedule,) = shown["schedules"]
    assert schedule["kind"] == "cron"
    assert schedule["cron"] == "30 1 * * *"
    assert schedule["timezone"] == "America/New_York"
    assert schedule["description"] == "At 01:30 every day (America/New_York)"
    schema = shown["parameter_openapi_schema"]
    assert schema["required"] == ["n"]
    assert schema["properties"]["n"]["type"] == "integer"
    assert schema["properties"]["who"]["default"] == "world"
    assert shown["created"].endswith("+00:00")


def test_deploying_again_updates_the_deployment_in_place(home, flow_file):
    first = cli("deploy", f"{flow_file}:greet", "-n", "d", "--interval", "60", home=home)
    assert first.returncode == 0, first.stderr
    before = cli_json("deployment", "inspect", "greet/d", home=home)

    again = cli(
        "deploy", f"{flow_file}:greet", "-n", "d", "--rrule", "FREQ=HOURLY", "--paused", home=home
    )
    assert again.returncode == 0, again.stderr
    after = cli_json("deployment", "inspect", "greet/d", home=home)
    assert after["id"] == before["id"]
    assert after["paused"] is True
    assert [s["kind"] for s in after["schedules"]] == ["rrule"]
    assert len(cli_json("deployment", "ls", home=home)) == 1


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--cron", "61 * * * *"], "malformed cron '61 * * * *'"),
        (["--cron", "0 3 * *"], "has 4 fields"),
        (["--rrule", "FREQ=SOMETIMES"], "malformed rrule"),
        (["--interval", "soon"], "interval 'soon' is not a number of seconds"),
        (["--interval", "-5"], "interval must be a positive number of seconds"),
        (["--cron", "0 3 * * *", "--timezone", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
        (["--param", "n=lots"], "parameter 'n' expects int"),
        (["--param", "colour=red"], "unexpected keyword argument 'colour'"),
        (["--param", "oops"], "--param 'oops' is not of the form name=value"),
        (["--cron", "0 3 * * *", "--interval", "60"], "at most one of --cron, --interval"),
    ],
)
def test_a_bad_schedule_or_parameter_is_one_line_exit_1_and_registers_nothing(
    home, flow_file, args, names
):
    done = cli("deploy", f"{flow_file}:greet", "--name", "bad", *args, home=home)

    assert done.returncode == 1, done.stdout + done.stderr
    assert names in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr
    assert cli_json("deployment", "ls", home=home) == []


@pytest.mark.parametrize(
    ("entrypoint", "names"),
    [
        ("missing.py:greet", "no file 'missing.py'"),
        ("{file}:nope", "has no flow function 'nope'"),
        ("{file}:not_a_flow", "'not_a_flow' in"),
        ("{file}", "not of the form path/to/file.py:flow_function"),
    ],
)
def test_an_unknown_file_or_flow_function_is_one_line_and_registers_nothing(
    home, flow_file, entrypoint, names
):
    done = cli("deploy", entrypoint.format(file=flow_file), "--name", "bad", home=home)

    assert done.returncode == 1, done.stdout + done.stderr
    assert names in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert cli_json("deployment", "ls", home=home) == []


def test_a_file_that_fails_to_import_is_one_line(home, tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("import no_such_module_here\n")
    done = cli("deploy", f"{broken}:f", "--name", "x", home=home)
    assert done.returncode == 1
    assert "importing" in done.stderr and "no_such_module_here" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


PROJECT = textwrap.dedent(
    """
    deployments:
      - name: hourly
        entrypoint: greet_flows.py:greet
        parameters: {n: 2}
        tags: [yaml]
        schedule: {cron: "0 * * * *", timezone: Europe/Paris}
        work_pool: {name: local, work_queue_name: default}
      - name: twice
        entrypoint: greet_flows.py:other
        schedules:
          - interval: 300
          - rrule: FREQ=DAILY;BYHOUR=9
    """
)


def test_deploy_all_registers_every_deployment_of_mainspring_yaml(home, tmp_path):
    write_flow_file(tmp_path)
    (tmp_path / "mainspring.yaml").write_text(PROJECT)

    done = cli("deploy", "--all", home=home, cwd=tmp_path)
    assert done.returncode == 0, done.stderr

    listed = {d["full_name"]: d for d in cli_json("deployment", "ls", home=home)}
    assert set(listed) == {"greet/hourly", "other-flow/twice"}
    hourly = listed["greet/hourly"]
    assert hourly["parameters"] == {"n": 2}
    assert hourly["tags"] == ["yaml"]
    assert hourly["work_pool_name"] == "local"
    assert hourly["schedules"][0]["timezone"] == "Europe/Paris"
    assert [s["kind"] for s in listed["other-flow/twice"]["schedules"]] == ["interval", "rrule"]


def test_deploy_name_picks_one_deployment_of_mainspring_yaml(home, tmp_path):
    write_flow_file(tmp_path)
    (tmp_path / "mainspring.yaml").write_text(PROJECT)

    done = cli("deploy", "--name", "twice", home=home, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [d["full_name"] for d in cli_json("deployment", "ls", home=home)] == ["other-flow/twice"]

    unknown = cli("deploy", "--name", "nope", home=home, cwd=tmp_path)
    assert unknown.returncode == 1
    assert "mainspring.yaml has no deployment named 'nope'" in unknown.stderr


def test_one_bad_entry_in_mainspring_yaml_registers_none_of_them(home, tmp_path):
    write_flow_file(tmp_path)
    bad = PROJECT.replace("FREQ=DAILY;BYHOUR=9", "FREQ=NEVER")
    (tmp_path / "mainspring.yaml").write_text(bad)

    done = cli("deploy", "--all", home=home, cwd=tmp_path)
    assert done.returncode == 1
    assert "'twice'" in done.stderr and "malformed rrule" in done.stderr
    assert cli_json("deployment", "ls", home=home) == []


def test_deploy_without_mainspring_yaml_says_so(home, tmp_path):
    done = cli("deploy", "--all", home=home, cwd=tmp_path)
    assert done.returncode == 1
    assert "no mainspring.yaml in" in done.stderr


def test_deploy_on_postgresql(postgres_database, home, flow_file):
    url = postgres_database
    done = cli(
        "deploy", f"{flow_file}:greet", "-n", "pg", "--interval", "90", database_url=url, home=home
    )
    assert done.returncode == 0, done.stderr
    bad = cli(
        "deploy", f"{flow_file}:greet", "-n", "bad", "--cron", "nope", database_url=url, home=home
    )
    assert bad.returncode == 1
    listed = cli_json("deployment", "ls", home=home, database_url=url)
    assert [d["full_name"] for d in listed] == ["greet/pg"]
    assert listed[0]["schedules"][0]["interval"] == 90.0


def test_a_deployment_with_an_image_keeps_its_entrypoint_relative_to_the_project(home, tmp_path):
    write_flow_file(tmp_path)
    assert cli("work-pool", "create", "boxes", "--type", "docker", home=home).returncode == 0
    done = cli(
        *("deploy", "greet_flows.py:greet", "--name", "boxed"),
        *("--image", "etl:1", "--pool", "boxes"),
        home=home,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    shown = cli_json("deployment", "inspect", "greet/boxed", home=home)
    assert shown["entrypoint"] == "greet_flows.py:greet"  # as in the image's /opt/project
    assert shown["job_variables"] == {"image": "etl:1"}


def test_job_variables_are_checked_against_the_pools_type_before_registering(home, tmp_path):
    flow_file = write_flow_file(tmp_path)
    assert cli("work-pool", "create", "boxes", "--type", "docker", home=home).returncode == 0
    typo = cli(
        "deploy",
        f"{flow_file}:greet",
        "--name",
        "x",
        "--pool",
        "boxes",
        "-j",
        "memory=1g",
        home=home,
    )
    assert typo.returncode == 1 and "'memory' not known to a docker work pool" in typo.stderr
    assert cli("work-pool", "create", "plain", home=home).returncode == 0
    image = cli(
        "deploy",
        f"{flow_file}:greet",
        "--name",
        "x",
        "--pool",
        "plain",
        "--image",
        "etl:1",
        home=home,
    )
    assert image.returncode == 1 and "'image' not known to a process work pool" in image.stderr
    assert cli_json("deployment", "ls", home=home) == []
