"""`make run`'s last step: the server, and a flow served through it on a 1-second interval.

    python examples/serve_with_server.py [SERVER OPTIONS, e.g. --port 4201]

Starts `mainspring server start` (with the options given) over this machine's database, then
`examples/served_flow.py` with MAINSPRING_API_URL pointing at that server: the server's
scheduler creates the served deployment's runs, and the served process claims each one as it
falls due and runs it in a subprocess that records into the server. Both run until Ctrl-C (or
SIGTERM), which stops them in order: the served process first (it cancels a run in progress
and pauses its deployment through the server, so a server started later does not schedule
runs that no one serves), then the server.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

EXAMPLES_DIR = Path(__file__).resolve().parent
#: What `mainspring server start` says once its socket is bound (cli/server.py).
ANNOUNCED = re.compile(r"Mainspring server on (http://\S+/api)")
#: How long each process has to stop cleanly before it is killed.
STOP_GRACE = 20.0


def start(command: list[str], env: dict[str, str], **options: object) -> subprocess.Popen[str]:
    # a session of its own: Ctrl-C reaches this process only, which stops the two in order
    return subprocess.Popen(command, env=env, text=True, start_new_session=True, **options)  # type: ignore[call-overload, no-any-return]


def stop(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> int:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


def echo(stream: object) -> None:
    for line in stream:  # type: ignore[attr-defined]
        sys.stderr.write(line)


def main(server_options: list[str]) -> int:
    env = {k: v for k, v in os.environ.items() if k != "MAINSPRING_API_URL"}
    server = start(
        [sys.executable, "-m", "mainspring.cli.main", "server", "start", *server_options],
        env,
        stderr=subprocess.PIPE,
    )
    assert server.stderr is not None
    url = None
    for line in server.stderr:  # until it announces where it listens (or fails)
        sys.stderr.write(line)
        found = ANNOUNCED.search(line)
        if found:
            url = found.group(1)
            break
    if url is None:
        return server.wait() or 1
    threading.Thread(target=echo, args=(server.stderr,), daemon=True).start()
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    print(f"Serving examples/served_flow.py through {url} (Ctrl-C stops both).", flush=True)
    served = start(
        [sys.executable, str(EXAMPLES_DIR / "served_flow.py")],
        dict(env, MAINSPRING_API_URL=url),
    )
    while not stopping.wait(0.2):
        if server.poll() is not None or served.poll() is not None:
            break  # one of them ended by itself: stop the other
    served_code = stop(served)
    server_code = stop(server, signal.SIGINT)  # uvicorn's clean shutdown
    return 0 if stopping.is_set() else (server_code or served_code or 1)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
