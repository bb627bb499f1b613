"""Run hostile cases through the Python API in a child process, and check what was stored.

A case is a flow name, a parameter value and a log text. The child decorates a flow with the
name, calls it with the value and logs the text from the flow and from a task, timing each call;
it reports, per case, the decoration error (if any), the call's duration, the final state and
the flow run id. A stalled recorder cannot stall the test: the child has a deadline.
"""

from __future__ import annotations

import json
import pickle
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mainspring.store import Store

from .hostile import DEEP, deep, reads_back, storable, text_reads_back, too_long, visibly_replaced
from .support import spawn

CHILD = textwrap.dedent(
    """
    import json, pickle, sys, time
    from mainspring import flow, get_run_context, get_run_logger, task

    DEEP_MARK = "__deep__"

    @task
    def echo(i: int, text: str) -> int:
        get_run_logger().warning("task-%d %s", i, text)
        return i

    cases = pickle.loads(open(sys.argv[1], "rb").read())
    for i, case in enumerate(cases):
        value = case["value"]
        if isinstance(value, tuple) and value[:1] == (DEEP_MARK,):
            levels, value = value[1], []
            for _ in range(levels - 1):
                value = [value]
        entry = {"index": i}
        ids = []
        try:
            @flow(name=case["name"])
            def hostile(i, x, text):
                ids.append(get_run_context().flow_run.id)
                get_run_logger().info("case-%d %s", i, text)
                return echo(i, text)
        except Exception as exc:
            entry["decoration_error"] = f"{type(exc).__name__}: {exc}"
            print(json.dumps(entry), flush=True)
            continue
        started = time.monotonic()
        try:
            state = hostile(i, value, case["text"], return_state=True)
            entry["state"] = state.name
        except BaseException as exc:
            entry["call_error"] = f"{type(exc).__name__}: {exc}"
        entry["seconds"] = time.monotonic() - started
        entry["flow_run_id"] = ids[0] if ids else None
        print(json.dumps(entry), flush=True)
    """
)
DEEP_MARK = "__deep__"


@dataclass
class Case:
    name: str
    value: Any
    text: str

    def payload(self) -> dict[str, Any]:
        value = (DEEP_MARK, DEEP) if self.value == "deep" else self.value
        return {"name": self.name, "value": value, "text": self.text}

    def original_value(self) -> Any:
        return deep() if self.value == "deep" else self.value


def run_cases(
    folder: Path, env: dict[str, str], cases: list[Case], timeout: float
) -> tuple[list[dict], str]:
    """Run `cases` in a child with the environment `env` (where it records); its report per
    case (cases it did not get to in `timeout` seconds are missing: the caller says so), and
    the end of its stderr."""
    folder.mkdir(parents=True, exist_ok=True)
    script, data = folder / "hostile_child.py", folder / "cases.pickle"
    script.write_text(CHILD)
    data.write_bytes(pickle.dumps([c.payload() for c in cases]))
    env = {**env, "MAINSPRING_LOGGING_CONSOLE": "false"}
    proc = spawn([sys.executable, str(script), str(data)], env)
    try:
        out, err = proc.communicate(timeout=timeout)
    except Exception:  # TimeoutExpired: what it reported so far still counts
        proc.kill()
        out, err = proc.communicate()
    reports = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return reports, err[-2000:]


def problems(store: Store, cases: list[Case], reports: list[dict]) -> list[str]:
    """Every way the stored history falls short of issue 10's expectations, one line each."""
    found: list[str] = []
    for index, case in enumerate(cases):
        label = f"case {index} (name {case.name[:40]!r}, value {str(case.value)[:40]!r})"
        report = next((r for r in reports if r["index"] == index), None)
        if report is None:
            found.append(f"{label}: the child did not finish it in time (stalled?)")
            break  # the later ones were not reached either
        error = report.get("decoration_error")
        if too_long(case.name):
            if error is None or "name" not in error.lower():
                found.append(f"{label}: a too-long name is no clear error at decoration: {error}")
            continue
        if error is not None:
            if storable(case.name) or "name" not in error.lower():
                found.append(f"{label}: decorating failed: {error}")
            continue
        found += _check_run(store, label, case, index, report)
    return found


def _check_run(store: Store, label: str, case: Case, index: int, report: dict) -> list[str]:
    if report.get("call_error"):
        return [f"{label}: the flow call raised {report['call_error']}"]
    found = []
    if report["seconds"] >= 20:
        found.append(f"{label}: the flow call took {report['seconds']:.1f} s")
    if report.get("state") != "Completed":
        found.append(f"{label}: the flow ended {report.get('state')}")
    try:
        run = store.read_flow_run(report["flow_run_id"])
    except Exception as exc:
        return [*found, f"{label}: its run cannot be read back: {type(exc).__name__}: {exc}"]
    if not text_reads_back(case.name, run.flow_name):
        found.append(f"{label}: flow name stored as {run.flow_name!r}")
    if not reads_back(case.original_value(), run.parameters.get("x")):
        found.append(f"{label}: parameter read back as {str(run.parameters.get('x'))[:80]!r}")
    if not text_reads_back(case.text, run.parameters.get("text")):
        found.append(f"{label}: text parameter read back as {run.parameters.get('text')!r}")
    messages = [log.message for log in store.read_logs(run.id)]
    for prefix in (f"case-{index} ", f"task-{index} "):
        lines = [m[len(prefix) :] for m in messages if m.startswith(prefix)]
        if not lines:
            found.append(f"{label}: the log line {prefix!r} was not stored")
        elif not storable(case.text) and not visibly_replaced(lines[0]):
            found.append(f"{label}: log text stored as {lines[0]!r}")
        elif storable(case.text) and lines[0] != case.text:
            found.append(f"{label}: log text {case.text!r} stored as {lines[0]!r}")
    return found
