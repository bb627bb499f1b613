"""The command groups are imported when invoked; `--help` lists them all from main.py's names
and help lines, which must stay those of the groups themselves."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mainspring.cli.main import COMMANDS

from .history import invoke

#: What a command module imports that `mainspring --help` must not.
NOT_FOR_HELP = ("mainspring.store", "mainspring.engine", "mainspring.server", "sqlalchemy")


def _first_paragraph(text: str | None) -> str:
    return " ".join((text or "").split("\n\n")[0].split())


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_each_listed_help_line_is_the_command_s_own(command):
    built = command.build()

    assert built.name == command.name
    assert command.help == _first_paragraph(built.short_help or built.help)


def test_help_lists_every_command_in_order(home):
    result = invoke("--help", env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    rows = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("│ ")]
    listed = [name for name in rows if not name.startswith("-")]
    assert listed == [c.name for c in COMMANDS]
    for command in COMMANDS:
        assert command.help in result.stdout


def test_a_group_s_help_and_commands_work_through_the_lazy_group(home):
    listed = invoke("deployment", "--help", env={"COLUMNS": "200"})
    ran = invoke("deployment", "ls")

    assert listed.exit_code == 0, listed.output
    for name in ("ls", "inspect", "run", "pause", "resume", "delete", "build", "apply"):
        assert f"│ {name} " in listed.stdout
    assert ran.exit_code == 0, ran.output
    assert "No deployments yet" in ran.stdout


def test_a_mistyped_command_is_told_the_names_it_may_mean(home):
    result = invoke("deploymen")

    assert result.exit_code == 2
    assert "Did you mean 'deployment', 'deploy'?" in result.output


def _modules_after(args: list[str], home) -> set[str]:
    """The modules a fresh interpreter has imported after running the CLI with `args`."""
    code = (
        "import sys\n"
        "from mainspring.cli.main import app\n"
        "try:\n"
        f"    app({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
    env["MAINSPRING_HOME"] = str(home)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return set(done.stderr.split())


def test_help_imports_no_command_module_and_no_store(home):
    modules = _modules_after(["--help"], home)

    command_modules = {c.target.partition(":")[0] for c in COMMANDS} - {"mainspring.cli.main"}
    assert not command_modules & modules
    assert not [m for m in modules if m.startswith(NOT_FOR_HELP)]


def test_a_command_imports_its_own_group_only(home):
    modules = _modules_after(["deployment", "ls"], home)

    assert "mainspring.cli.deployments" in modules
    others = {c.target.partition(":")[0] for c in COMMANDS} - {
        "mainspring.cli.main",
        "mainspring.cli.deployments",
    }
    assert not others & modules


def test_a_command_on_the_embedded_store_loads_no_pydantic_and_no_postgresql(home):
    """The CLI's start-up is most of `deployment run`'s 0.5 s (issue 12): pydantic (settings,
    typer >= 0.29) cost ~90 ms and PostgreSQL's dialect ~25 ms of it on a SQLite store."""
    _modules_after(["deployment", "ls"], home)  # creates the store: migrations load more
    modules = _modules_after(["deployment", "ls"], home)

    assert "sqlalchemy.dialects.sqlite" in modules  # the store was opened
    assert not [m for m in modules if m.split(".")[0] in ("pydantic", "pydantic_settings")]
    assert not [m for m in modules if m.startswith("sqlalchemy.dialects.postgresql")]


def test_start_up_runs_few_garbage_collections_and_leaves_collection_on(home):
    """cli/loading.py: the command group's and the store's imports ran ~120 collections (full
    ones included), ~20% of `deployment run`'s start-up; the loaded objects are frozen after."""
    code = (
        "import gc, sys\n"
        "runs = []\n"
        "gc.callbacks.append(lambda phase, info: phase == 'stop' and runs.append(info))\n"
        "sys.argv = ['mainspring', 'deployment', 'ls']\n"
        "from mainspring.cli.main import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(len(runs), gc.isenabled(), gc.get_freeze_count() > 10_000, file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
    env["MAINSPRING_HOME"] = str(home)
    for _ in range(2):  # the first creates the store (migrations)
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
        )
    assert done.returncode == 0, done.stderr
    collections, enabled, frozen = done.stderr.split()[-3:]
    assert int(collections) < 70 and enabled == "True" and frozen == "True"  # was ~135


def test_the_app_run_in_process_freezes_nothing_of_its_caller(home):
    """Freezing is for the `mainspring` process itself: a CliRunner's process keeps its garbage
    collectable (frozen garbage would never be finalized)."""
    import gc

    frozen = gc.get_freeze_count()
    result = invoke("deployment", "ls")
    assert result.exit_code == 0, result.output
    assert gc.isenabled() and gc.get_freeze_count() == frozen
