"""Import time of `mainspring` and the wall time of a whole hello-world process.

Each figure is a fresh interpreter, so nothing is cached in-process; a bare `python -c pass`
is measured alongside as the baseline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

HELLO = """
from mainspring import flow, task

@task
def say(name):
    return f"hello {name}"

@flow
def hello():
    return say("world")

hello()
"""

IMPORT = "import time; t = time.perf_counter(); import mainspring; print(time.perf_counter() - t)"


def timed(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "MAINSPRING_HOME": home}
        python = sys.executable
        timed([python, "-c", HELLO], env)  # first run creates the database: not measured
        out = subprocess.run([python, "-c", IMPORT], env=env, capture_output=True, text=True)
        result = {
            "scenario": "startup",
            "import_seconds": float(out.stdout.strip()),
            "python_bare_seconds": timed([python, "-c", "pass"], env),
            "hello_world_process_seconds": timed([python, "-c", HELLO], env),
        }
        print(json.dumps(result))


if __name__ == "__main__":
    main()
