"""A small, real run history for the UI's tests and screenshots: run as a script.

`python tests/server/ui/history.py` records into the store its environment names
(MAINSPRING_HOME / MAINSPRING_DATABASE_URL): real flows (completed, failed after retries,
subflows, hostile names and text), a work pool with a live worker and a deployment with an
upcoming run. Prints nothing; exits 0 when all of it was recorded.
"""

from __future__ import annotations

import contextlib
import time

from mainspring import flow, get_run_logger, task
from mainspring.store import get_store

POOL = "local-pool"
HOSTILE = "<script>alert('x')</script>"


@task
def extract(city: str) -> dict:
    return {"city": city, "temp": 21.5}


@task
def transform(reading: dict) -> str:
    return f"{reading['city']}: {reading['temp']}"


@flow(log_prints=True)
def weather(cities: list[str]) -> list[str]:
    readings = extract.map(cities)
    lines = [transform(r) for r in readings.result()]
    get_run_logger().info("Got %d readings", len(lines))
    return lines


@task(retries=2, retry_delay_seconds=0)
def read_source(url: str) -> bytes:
    raise ConnectionError(f"{url} is unreachable")


@flow
def flaky_import(url: str = "http://source.invalid/data.csv") -> bytes:
    return read_source(url)


@flow
def station_report(station: str) -> float:
    return float(len(station))


@flow
def weather_summary(stations: tuple[str, ...] = ("oslo", "lima")) -> float:
    return sum(station_report(s) for s in stations)


@task
def shout(text: str) -> str:
    get_run_logger().warning("Hostile log line: %s", text)
    return text.upper()


@flow(name=f"hostile {HOSTILE}")
def hostile(note: str) -> str:
    shout(note)
    raise ValueError(f"bad input <img src=x onerror=alert(1)> {note}")


def main() -> None:
    for cities in (["Oslo", "Lima"], ["Perth"], ["Quito", "Accra", "Hanoi"]):
        weather(cities)
    with contextlib.suppress(ConnectionError):
        flaky_import()
    weather_summary()
    with contextlib.suppress(ValueError):
        hostile(HOSTILE)
    _deployment_and_worker()


def _deployment_and_worker() -> None:
    from mainspring.model.deployments import Deployment, WorkPool

    store = get_store()
    store.create_work_pool(WorkPool(POOL, description="Runs on this machine"))
    store.worker_heartbeat(POOL, "worker-1")
    nightly = Deployment("weather", "nightly", entrypoint="h.py:weather", work_pool_name=POOL)
    deployment = store.upsert_deployment(nightly)
    store.create_deployment_run(deployment.id, {"cities": ["Oslo"]}, when=time.time() + 3600)


if __name__ == "__main__":
    main()
