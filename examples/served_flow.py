"""A flow that runs on its own: served on a 1-second interval, no server needed.

    python examples/served_flow.py            # serves until Ctrl-C
    python examples/served_flow.py --runs 3   # stops by itself after about 3 runs

`flow.serve()` registers the deployment in the embedded store, creates its runs ahead of time,
and starts each one in a subprocess at its scheduled time. Look at the runs afterwards with
`mainspring flow-run ls`. Ctrl-C stops it cleanly (a run in progress is cancelled), and the
demo's deployment is paused. With MAINSPRING_API_URL set it serves through that server, whose
scheduler creates the runs (`make run` does this: examples/serve_with_server.py).
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time

from mainspring import flow, get_run_logger, task


@task
def measure(city: str) -> float:
    return round(10 + len(city) / 3, 1)  # a stand-in for a real reading


@flow(log_prints=True)
def weather_report(city: str = "Lisbon") -> float:
    temperature = measure(city)
    get_run_logger().info("%s: %.1f °C", city, temperature)
    return temperature


def stop_after(seconds: float) -> None:
    """Send this process the SIGTERM a supervisor would (serve() stops cleanly on it), again
    every second until it stops: on a slow machine the first may come before serve() listens
    for it, and is then ignored rather than killing the process."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # serve() puts its own handler in place

    def send() -> None:
        while True:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)

    timer = threading.Timer(seconds, send)
    timer.daemon = True
    timer.start()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, help="stop after about this many runs")
    arguments = parser.parse_args()
    if arguments.runs:
        stop_after(arguments.runs + 1.5)  # one run a second, and a second to start
    weather_report.serve("every-second", interval=1, parameters={"city": "Porto"})
    # A demo's deployment should not go on being scheduled once the demo is over (a server
    # started on this history would create its runs, every second, with no one to run them):
    # pause it. Serving it again resumes it, as does `mainspring deployment resume
    # weather-report/every-second`.
    from mainspring.store import get_store

    store = get_store()
    deployment = store.find_deployment("weather-report", "every-second")
    store.set_deployment_paused(deployment.id, True)
    print("Paused deployment 'weather-report/every-second' (the demo is over).")
