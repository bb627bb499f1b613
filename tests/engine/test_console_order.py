"""On a terminal, run log lines, the user's own `print()` and an `input()` prompt appear in the
order they happened (the console thread's bursts would put the prompt first); where output is
not a terminal the burst writer stays. Run for real on a pseudo-terminal."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from .support import subprocess_env

SCRIPT = textwrap.dedent(
    """
    from mainspring import flow, get_run_logger

    @flow(name="asks")
    def asks() -> str:
        logger = get_run_logger()
        logger.info("log line one")
        print("printed two")
        logger.info("log line three")
        answer = input("prompt four> ")
        logger.info("got %s", answer)
        return answer

    asks()
    """
)


def _run_on_a_terminal(script: Path, home: Path) -> str:
    """Run `script` with stdin, stdout and stderr on one pty; answer its prompt; return all
    that reached the terminal."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, str(script)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=subprocess_env(home),
        close_fds=True,
    )
    os.close(slave)
    seen = b""
    answered = False
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            if not answered and b"prompt four> " in seen:
                # Wait past the old burst interval: late log lines would land after the prompt.
                time.sleep(0.3)
                os.write(master, b"yes\n")
                answered = True
            if process.poll() is not None and not ready:
                break
    finally:
        process.wait(timeout=30)
        os.close(master)
    return seen.decode(errors="replace").replace("\r\n", "\n")


def test_log_lines_print_and_input_prompt_keep_their_order_on_a_terminal(tmp_path):
    script = tmp_path / "asks.py"
    script.write_text(SCRIPT)
    shown = _run_on_a_terminal(script, tmp_path / "home")
    marks = ["log line one", "printed two", "log line three", "prompt four> ", "got yes"]
    places = [shown.find(mark) for mark in marks]
    assert all(p >= 0 for p in places), shown
    assert places == sorted(places), shown
    # The run's own opening line came before the user's first line too.
    assert shown.find("Beginning flow run") < places[0], shown


def test_where_output_is_not_a_terminal_lines_are_still_written_in_bursts(tmp_path):
    """Piped, all the lines arrive (order among stderr lines kept) through the burst writer."""
    script = tmp_path / "logs.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            from mainspring import flow, get_run_logger
            from mainspring.engine.console import console

            @flow(name="piped")
            def piped() -> None:
                for i in range(50):
                    get_run_logger().info("line %d", i)
                # still gathered, not yet written: the burst writer is in use
                print("pending", len(console._lines), file=sys.stdout, flush=True)

            piped()
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        env=subprocess_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    pending = int(done.stdout.split("pending")[1].split()[0])
    assert pending > 0, "piped output should gather lines for the console thread"
    lines = [line for line in done.stderr.splitlines() if "line " in line]
    assert [int(line.rsplit(" ", 1)[1]) for line in lines] == list(range(50))


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="no pseudo-terminals here")
def test_the_terminal_path_writes_each_line_at_once(tmp_path):
    script = tmp_path / "direct.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            from mainspring import flow, get_run_logger
            from mainspring.engine.console import console

            @flow(name="direct")
            def direct() -> None:
                get_run_logger().info("now")
                print("pending", len(console._lines), flush=True)

            direct()
            """
        )
    )
    shown = _run_on_a_terminal(script, tmp_path / "home")
    assert "pending 0" in shown, shown
