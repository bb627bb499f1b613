"""What writing run log lines at once on a terminal costs, against the burst writer used when
stderr is a pipe (issue 16: an honest console).

Each measurement is a fresh process running a flow of N sequential trivial tasks (the engine
logs two lines per task run at the default INFO level) with its stderr on a pseudo-terminal,
then on a pipe, both drained by this process as a terminal would be. It prints the flow body's
time per task in each case and their difference, the cost of the interactive path.

    .venv/bin/python benchmarks/console_tty.py [--tasks 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import pty
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

CHILD = """
import sys, time
from mainspring import flow, task

@task
def one(i):
    return i

@flow(name="console-bench")
def body(n):
    start = time.perf_counter()
    for i in range(n):
        one(i)
    return time.perf_counter() - start

body(10)  # warm-up
seconds = body(int(sys.argv[1]))
print(f"BODY {seconds!r}", file=sys.__stdout__, flush=True)
"""


def _drain(fd: int, sink: list[bytes]) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return
        if not chunk:
            return
        sink.append(chunk)


def measure(tasks: int, on_terminal: bool, home: Path) -> float:
    """Seconds of the flow body per task, with stderr on a pty or on a pipe."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
    env["MAINSPRING_HOME"] = str(home)
    home.mkdir(parents=True, exist_ok=True)
    script = home / "child.py"
    script.write_text(CHILD)
    if on_terminal:
        master, slave = pty.openpty()
        errors: list[bytes] = []
        reader = threading.Thread(target=_drain, args=(master, errors), daemon=True)
        reader.start()
        done = subprocess.run(
            [sys.executable, str(script), str(tasks)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=slave,
            text=True,
            check=True,
        )
        os.close(slave)
        reader.join(5)
        os.close(master)
    else:
        done = subprocess.run(
            [sys.executable, str(script), str(tasks)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    return float(done.stdout.split("BODY")[1]) / tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    terminal, piped = [], []
    with tempfile.TemporaryDirectory() as folder:
        for i in range(args.repeat):  # alternate, so machine noise hits both alike
            terminal.append(measure(args.tasks, True, Path(folder) / f"t{i}"))
            piped.append(measure(args.tasks, False, Path(folder) / f"p{i}"))
    t, p = statistics.median(terminal) * 1e6, statistics.median(piped) * 1e6
    print(f"{args.tasks} sequential tasks, 2 log lines each, median of {args.repeat}:")
    print(f"  stderr on a terminal (each line at once): {t:7.1f} us/task body")
    print(f"  stderr on a pipe (burst writer):          {p:7.1f} us/task body")
    print(f"  cost of the interactive path:             {t - p:7.1f} us/task ({t / p:.2f}x)")


if __name__ == "__main__":
    main()
