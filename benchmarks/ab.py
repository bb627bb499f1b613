"""Compare two source trees of Mainspring on the same scenarios, alternating run by run.

    python benchmarks/ab.py --before /path/to/old/checkout/src [--after src] [--repeat 9]

This machine is shared and its speed drifts by 2x within minutes, so two `make bench` runs
taken apart say little about a change. Here every round runs each scenario once with the
`before` tree first on PYTHONPATH and once with the `after` tree, in fresh processes, so drift
hits both alike; the medians per tree and their ratio (after / before) are printed. The
scenarios are `scenario.py`'s (same figures, same meaning); `startup.py` is timed the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIOS = ["flow_one_task", "sequential_1000", "mapped_1000", "mapped_10000", "subflows_100"]
FIGURES = {  # what each row shows: the figure, and its unit
    "overhead_us_per_task": "us/task total",
    "in_flow_us_per_task": "us/task body",
}


def run_once(script: Path, args: list[str], src: Path) -> dict:
    """One fresh process of `script` with `src` first on the path and a home of its own."""
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
        env.update(MAINSPRING_HOME=home, PYTHONPATH=str(src))
        out = subprocess.run(
            [sys.executable, str(script), *args], env=env, capture_output=True, text=True
        )
    if out.returncode != 0:
        raise SystemExit(f"{script.name} {' '.join(args)} ({src}) failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the old tree's src/")
    parser.add_argument("--after", type=Path, default=HERE.parent / "src", help="default: ours")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--scenario", action="append", choices=SCENARIOS)
    options = parser.parse_args()
    trees = {"before": options.before.resolve(), "after": options.after.resolve()}
    names = options.scenario or SCENARIOS
    rows: dict[tuple[str, str], list[dict]] = {}
    for _ in range(options.repeat):
        for name in [*names, "startup"]:
            for label, src in trees.items():
                script = HERE / ("startup.py" if name == "startup" else "scenario.py")
                args = [] if name == "startup" else [name]
                rows.setdefault((name, label), []).append(run_once(script, args, src))

    def median(name: str, label: str, key: str) -> float:
        return statistics.median(r[key] for r in rows[(name, label)])

    print(f"# {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"# before: {trees['before']}\n# after:  {trees['after']}")
    print(f"# medians of {options.repeat} alternating rounds, each run in a fresh process\n")
    print(f"{'scenario':<18}{'figure':<15}{'before':>10}{'after':>10}{'after/before':>14}")
    for name in names:
        for key, figure in FIGURES.items():
            before, after = median(name, "before", key), median(name, "after", key)
            print(f"{name:<18}{figure:<15}{before:>10.1f}{after:>10.1f}{after / before:>14.2f}")
    for key, figure in [
        ("import_seconds", "import ms"),
        ("hello_world_process_seconds", "hello-world ms"),
    ]:
        before, after = median("startup", "before", key), median("startup", "after", key)
        print(
            f"{'startup':<18}{figure:<15}{before * 1000:>10.1f}{after * 1000:>10.1f}"
            f"{after / before:>14.2f}"
        )


if __name__ == "__main__":
    main()
