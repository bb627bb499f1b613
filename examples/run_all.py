"""Run every example in turn, then say where their run history went and how to look at it.

Each example runs as its own process (`python examples/NAME.py`), exactly as a user would
run it, so one failing example cannot hide behind another's state. Used by `make run`.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

EXAMPLES_DIR = Path(__file__).resolve().parent
EXAMPLES = (
    "etl_http_to_sqlite.py",
    "etl_dag_style.py",
    "csv_pipeline.py",
    "subflows.py",
    "flaky_source.py",
    ("served_flow.py", "--runs", "3"),
)


def run_example(example: str | tuple[str, ...]) -> bool:
    """Run one example (a file name, or a file name and its arguments) with the current
    interpreter; True when it exited with status 0."""
    name, *args = (example,) if isinstance(example, str) else example
    print(f"\n=== {name} " + "=" * (60 - len(name)), flush=True)
    started = time.perf_counter()
    code = subprocess.call([sys.executable, str(EXAMPLES_DIR / name), *args])
    status = "ok" if code == 0 else f"FAILED (exit code {code})"
    print(f"--- {name}: {status} in {time.perf_counter() - started:.1f}s", flush=True)
    return code == 0


def cli_command() -> str:
    """How to call the CLI of this interpreter's environment (`.venv/bin/mainspring`)."""
    script = Path(sys.executable).parent / "mainspring"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def history_location() -> str:
    """Where the runs were recorded, as the settings (env, profile, defaults) decide it."""
    from mainspring.settings import get_settings, redact_url

    settings = get_settings()
    if settings.api_url:
        return f"the Mainspring server at {settings.api_url}"
    url = settings.effective_database_url
    if url.startswith("sqlite:///"):  # the embedded store: show the file, which people can find
        return url.removeprefix("sqlite:///")
    return redact_url(url)


def main() -> int:
    failed = [str(example) for example in EXAMPLES if not run_example(example)]
    cli = cli_command()
    print(f"\n{len(EXAMPLES) - len(failed)}/{len(EXAMPLES)} examples succeeded.")
    print(f"Run history: {history_location()}")
    print("  (set MAINSPRING_HOME or MAINSPRING_DATABASE_URL to record elsewhere)")
    print("See it with:")
    print(f"  {cli} flow-run ls                # recent flow runs and their states")
    print(f"  {cli} flow-run inspect <RUN_ID>  # one run: parameters, states, task runs")
    print(f"  {cli} flow-run logs <RUN_ID>     # its log lines")
    print(f"  {cli} flow ls                    # every flow that has run")
    if failed:
        print(f"Failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
