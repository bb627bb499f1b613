"""Hostile names, parameters and log text through the Python API (`@flow`, a flow call,
`get_run_logger()`), recorded into the embedded store by a child process; afterwards the CLI
and the API still list and show everything.

Expected (issue 10, defects 1 and 2): text is stored with a visible replacement, a too-long
name is a clear error at decoration, parameters read back, no flow call waits, and
`mainspring flow-run ls` and `GET /api/flow_runs` never fail on what was stored.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from cli.history import invoke  # tests/cli: a sibling package
from mainspring.settings import get_settings, reset_settings
from mainspring.store import Store, get_store, reset_store
from server.conftest import make_client

from .hostile import HUGE, hostile_text, hostile_values
from .hostile_runs import Case, problems, run_cases
from .support import mainspring_command, spawn, subprocess_env

pytestmark = pytest.mark.slow

NAMED_CASES = {
    "benign": Case("benign", {"a": [1, 2.5, "b"]}, "hello"),  # the checks' own control
    "surrogate-log": Case("hostile", 1, "file x\udcff.csv"),
    "nul-log": Case("hostile", 1, "before\x00after"),
    "surrogate-name": Case("bad-\udcff-name", 1, "fine"),
    "nul-name": Case("nul\x00name", 1, "fine"),
    "too-long-name": Case("n" * 300, 1, "fine"),
    "huge-int": Case("hostile", HUGE, "fine"),
    "nested-huge-int": Case("hostile", {"n": [-HUGE]}, "fine"),
    "nan": Case("hostile", float("nan"), "fine"),
    "inf": Case("hostile", float("-inf"), "fine"),
    "deep-nesting": Case("hostile", "deep", "fine"),
}


#: PostgreSQL differs where text (NUL, length) and JSON (numbers) are stored: these run on both.
ON_POSTGRES = ["surrogate-log", "nul-log", "nul-name", "too-long-name", "huge-int", "nan"]
WHERE = [
    *((name, "sqlite") for name in NAMED_CASES),
    *((name, "postgres") for name in ON_POSTGRES),
]


@pytest.fixture
def recording(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, str], Store]:
    """Where the children record, as their environment, and this process's store on it: the
    embedded SQLite file of this test's home, or a PostgreSQL database."""
    env = subprocess_env(get_settings().home)
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_database")
        env["MAINSPRING_DATABASE_URL"] = url
        monkeypatch.setenv("MAINSPRING_DATABASE_URL", url)
        reset_settings()
        reset_store()
    return env, get_store()


def listing_problems(env: dict[str, str]) -> list[str]:
    """What fails when listing and showing the stored runs: the real CLI and the API."""
    found = []
    proc = spawn(mainspring_command("flow-run", "ls", "--limit", "100"), env)
    out, err = proc.communicate(timeout=60)
    if proc.returncode != 0 or "Traceback" in out + err:
        found.append(f"`mainspring flow-run ls` failed ({proc.returncode}): {err[-1500:]}")
    try:
        runs = get_store().read_flow_runs(limit=100)
    except Exception as exc:
        return [*found, f"Store.read_flow_runs failed: {type(exc).__name__}: {exc}"[:300]]
    for run in runs:
        for command in ("inspect", "logs"):
            result = invoke("flow-run", command, run.id)
            if result.exit_code != 0:
                found.append(f"`flow-run {command} {run.id}` failed: {result.exception!r}")
    with make_client(get_store()) as http:
        answer = http.get("/api/flow_runs", params={"limit": 100})
        if answer.status_code != 200:
            found.append(f"GET /api/flow_runs answered {answer.status_code}")
        for run in runs:
            for path in (f"/api/flow_runs/{run.id}", f"/api/flow_runs/{run.id}/logs"):
                status = http.get(path).status_code
                if status != 200:
                    found.append(f"GET {path} answered {status}")
    return found


@pytest.mark.parametrize(
    ("name", "recording"),
    [
        pytest.param(name, where, marks=[pytest.mark.postgres] if where == "postgres" else [])
        for name, where in WHERE
    ],
    indirect=["recording"],
    ids=[f"{where}-{name}" for name, where in WHERE],
)
def test_a_hostile_input_is_stored_and_read_back(tmp_path, recording, name):
    case = NAMED_CASES[name]
    env, store = recording
    reports, stderr = run_cases(tmp_path / "child", env, [case], timeout=30)
    found = problems(store, [case], reports) + listing_problems(env)
    assert not found, "\n".join(found) + "\nThe child's stderr:\n" + stderr


cases = st.builds(
    Case,
    name=st.one_of(st.just("hostile"), hostile_text.filter(bool), st.text(min_size=250)),
    value=hostile_values,
    text=hostile_text,
)


@settings(
    max_examples=4,
    deadline=None,
    phases=[Phase.generate],  # no shrinking: each example is a child process
    suppress_health_check=list(HealthCheck),
    database=None,
)
@given(st.lists(cases, min_size=1, max_size=6))
def test_generated_hostile_inputs_are_stored_and_read_back(tmp_path_factory, drawn):
    folder = tmp_path_factory.mktemp("hostile")
    env = subprocess_env(get_settings().home)
    reports, stderr = run_cases(folder, env, drawn, timeout=30)
    found = problems(get_store(), drawn, reports) + listing_problems(env)
    assert not found, "\n".join(found) + "\nThe child's stderr:\n" + stderr
