"""A real flow, run in its own process, then inspected and read back through the CLI."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest

from .history import invoke

try:
    from mainspring import flow, get_run_logger, task  # noqa: F401 - only checks availability
except ImportError:  # pragma: no cover - until the engine is exported
    pytest.skip("the engine (mainspring.flow) is not available yet", allow_module_level=True)

FLOW_SCRIPT = textwrap.dedent(
    """
    from mainspring import flow, get_run_logger, task

    @task
    def double(x: int) -> int:
        get_run_logger().info("doubling %s", x)
        return 2 * x

    @task
    def explode() -> None:
        raise ValueError("kaboom")

    @flow(name="e2e-pipeline")
    def pipeline(n: int = 2) -> int:
        get_run_logger().warning("starting with n=%s", n)
        total = sum(double(i) for i in range(n))
        explode(return_state=True)
        return total

    if __name__ == "__main__":
        print(pipeline(n=3))
    """
)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.mark.slow
def test_a_real_flow_run_can_be_listed_inspected_and_its_logs_read(home, tmp_path):
    script = tmp_path / "pipeline.py"
    script.write_text(FLOW_SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
    env["MAINSPRING_HOME"] = str(home)
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "6"

    flows = invoke("flow", "ls")
    assert "e2e-pipeline" in flows.stdout

    listed = invoke("flow-run", "ls", "--flow", "e2e-pipeline")
    assert listed.exit_code == 0, listed.output
    run_ids = UUID.findall(listed.stdout)
    assert len(run_ids) == 1
    assert "Completed" in listed.stdout
    run_id = run_ids[0]

    inspected = invoke("flow-run", "inspect", run_id)
    assert inspected.exit_code == 0, inspected.output
    out = inspected.stdout
    assert "e2e-pipeline" in out
    assert re.search(r"^n\s+3\s*$", out, re.MULTILINE)
    assert "Task runs (4)" in out
    task_lines = [line for line in out.splitlines() if "double" in line or "explode" in line]
    assert sum("Completed" in line for line in task_lines if "double" in line) == 3
    assert any("Failed" in line for line in task_lines if "explode" in line)
    timeline = out[out.index("State timeline") : out.index("Task runs")]
    assert "Running" in timeline
    assert "Completed" in timeline

    logs = invoke("flow-run", "logs", run_id)
    assert logs.exit_code == 0, logs.output
    for message in ("starting with n=3", "doubling 0", "doubling 1", "doubling 2"):
        assert message in logs.stdout
    assert logs.stdout.index("starting with n=3") < logs.stdout.index("doubling 0")

    warnings = invoke("flow-run", "logs", run_id, "--level", "WARNING")
    assert "starting with n=3" in warnings.stdout
    assert "doubling" not in warnings.stdout
