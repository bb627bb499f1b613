"""Where `mainspring deployment run NAME` spends its time before the run exists (issue 12).

    python benchmarks/cli_startup.py [--repeat 7] [--no-server] [--imports 12] [--src PATH]

A fresh MAINSPRING_HOME with a deployment (no worker: the run is only created). Each command
runs `--repeat` times as a process of its own, alternating, and each figure is the median:

- the same-run baselines: `python -c pass` and `mainspring --help`;
- `mainspring deployment run hello/bench` on the embedded SQLite store, and again through a
  `mainspring server start` process on the same database (MAINSPRING_API_URL);

with, for each, the wall time to the run's creation (`created` as the store recorded it, minus
the moment the process was started), the wall time to the process's exit, and the process's
CPU time (user + system, from wait4: less inflated than wall time on a busy machine).
Then `-X importtime` of each `deployment run`: the modules it imports, their time summed by
package (self time, so nothing is counted twice), and the total.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

#: The Mainspring measured: this checkout's, or another's given with `--src` (a before/after).
SRC = Path(__file__).resolve().parents[1] / "src"
if "--src" in sys.argv[:-1]:
    SRC = Path(sys.argv[sys.argv.index("--src") + 1]).resolve()
sys.path.insert(0, str(SRC))
CLI = [sys.executable, "-m", "mainspring.cli.main"]

FLOW = """
from mainspring import flow

@flow
def hello(x: int = 1) -> None:
    print(x)
"""


@dataclass
class Timings:
    """One command's measurements over the repeats (seconds)."""

    created: list[float] = field(default_factory=list)
    exited: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def timed_process(command: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """(start time, wall seconds to exit, CPU seconds) of one run of `command`."""
    with tempfile.TemporaryFile() as errors:
        started_at = time.time()
        started = time.perf_counter()
        process = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            said = errors.read().decode(errors="replace")[-3000:]
            raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{said}")
    return started_at, wall, usage.ru_utime + usage.ru_stime


def import_breakdown(
    command: list[str], env: dict[str, str], runs: int
) -> tuple[dict[str, float], int]:
    """Self import time by package (seconds) of `command`, and how many modules it imports.

    Each module's time is its least over `runs` runs: on a busy machine a single run's figure
    for a module now and then includes a time slice given to another process.
    """
    least: dict[str, float] = {}
    for _ in range(runs):
        out = subprocess.run(
            [command[0], "-X", "importtime", *command[1:]],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        for line in out.stderr.splitlines():
            found = re.match(r"import time:\s+(\d+) \|\s+\d+ \| *(\S+)", line)
            if found:
                seconds = int(found.group(1)) / 1e6
                least[found.group(2)] = min(seconds, least.get(found.group(2), seconds))
    by_package: dict[str, float] = defaultdict(float)
    for module, seconds in least.items():
        by_package[package_of(module)] += seconds
    return by_package, len(least)


def package_of(module: str) -> str:
    """What a module's import time is counted under: ours by sub-package, others by top name."""
    parts = module.split(".")
    if parts[0] == "mainspring":
        return ".".join(parts[:3] if len(parts) > 3 else parts[:2])
    if parts[0] in sys.stdlib_module_names or parts[0].startswith("_"):
        return "(stdlib)"
    return parts[0]


@contextmanager
def server(env: dict[str, str]) -> Iterator[str]:
    """`mainspring server start` on a free port over the home in `env`; yields its API URL."""
    process = subprocess.Popen(
        [*CLI, "server", "start", "--port", "0", "--log-level", "warning"],
        env=env,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    url = None
    for line in process.stderr:
        found = re.search(r"Mainspring server on (http://\S+/api)", line)
        if found:
            url = found.group(1)
            break
    if url is None:
        raise SystemExit("the server did not start")
    try:
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:7.1f}" if values else "      -"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-server", action="store_true", help="the embedded store only")
    parser.add_argument("--imports", type=int, default=12, help="packages listed per command")
    parser.add_argument("--import-runs", type=int, default=5, help="-X importtime runs each")
    parser.add_argument("--src", help="the src/ folder of the Mainspring to measure")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="mainspring-cli-startup-"))
    (folder / "hello.py").write_text(textwrap.dedent(FLOW))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
    env.update(MAINSPRING_HOME=str(folder / "home"), PYTHONPATH=str(SRC))
    # Compiled once, as in an installed package (not compiled again by every process when
    # PYTHONDONTWRITEBYTECODE is set), and kept out of the source tree.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
    os.environ.update(MAINSPRING_HOME=str(folder / "home"))
    from mainspring.model.deployments import Deployment
    from mainspring.settings import get_settings
    from mainspring.store.sql import SqlStore

    store = SqlStore(get_settings().effective_database_url)
    deployment = store.upsert_deployment(
        Deployment(flow_name="hello", name="bench", entrypoint=f"{folder / 'hello.py'}:hello")
    )
    run_command = [*CLI, "deployment", "run", "hello/bench"]

    def created_at() -> float:
        return store.read_deployment_runs(deployment.id)[-1].run.created or 0.0

    with server(env) if not args.no_server else nullcontext_url() as url:
        commands: dict[str, tuple[list[str], dict[str, str], bool]] = {
            "python -c pass": ([sys.executable, "-c", "pass"], env, False),
            "mainspring --help": ([*CLI, "--help"], env, False),
            "deployment run (SQLite)": (run_command, env, True),
        }
        if url:
            commands["deployment run (server)"] = (
                run_command,
                dict(env, MAINSPRING_API_URL=url),
                True,
            )
        for command, command_env, _ in commands.values():  # warm the file cache, migrate
            timed_process(command, command_env)
        results = {name: Timings() for name in commands}
        load = os.getloadavg()[0]
        for _ in range(args.repeat):
            for name, (command, command_env, creates) in commands.items():
                started_at, wall, cpu = timed_process(command, command_env)
                results[name].exited.append(wall)
                results[name].cpu.append(cpu)
                if creates:
                    results[name].created.append(created_at() - started_at)
        breakdowns = {
            name: import_breakdown(command, command_env, args.import_runs)
            for name, (command, command_env, creates) in commands.items()
            if creates or name == "mainspring --help"
        }
    store.close()
    load = max(load, os.getloadavg()[0])
    print(f"{SRC}: medians of {args.repeat} runs (ms), load {load:.1f} on {os.cpu_count()} CPUs")
    print(f"{'command':26} {'to created':>10} {'to exit':>8} {'CPU':>7}")
    for name, timings in results.items():
        print(f"{name:26} {ms(timings.created):>10} {ms(timings.exited):>8} {ms(timings.cpu):>7}")
    for name, (by_package, modules) in breakdowns.items():
        total = sum(by_package.values())
        print(
            f"\n`-X importtime` of {name}: {modules} modules, {total * 1000:.1f} ms "
            f"(self time, each module's least of {args.import_runs} runs)"
        )
        ranked = sorted(by_package.items(), key=lambda item: -item[1])
        for package, seconds in ranked[: args.imports]:
            print(f"  {package:34} {seconds * 1000:6.1f} ms")
        rest = sum(seconds for _, seconds in ranked[args.imports :])
        if rest:
            print(f"  {'(the rest)':34} {rest * 1000:6.1f} ms")
    return 0


@contextmanager
def nullcontext_url() -> Iterator[str | None]:
    yield None


if __name__ == "__main__":
    sys.exit(main())
