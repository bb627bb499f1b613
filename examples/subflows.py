"""Subflows: a parent flow that calls other flows, each recorded as its own (child) flow run.

What it shows:
- calling a `@flow` from inside another flow makes a subflow run, linked to its parent, with
  its own parameters, state, logs and task runs;
- subflows are ordinary function calls: their return values feed the next step;
- `.submit()` inside a child flow to run its tasks concurrently.

Usage: `python examples/subflows.py` (prints the summary on stdout).
"""

from __future__ import annotations

from mainspring import flow, get_run_logger, task


@task
def fetch_reading(station: str, day: int) -> float:
    """A fake, deterministic temperature reading (a real one would call a weather API)."""
    base = sum(map(ord, station)) % 20
    return base + 1.5 * day


@flow
def station_report(station: str, days: int = 3) -> dict[str, float | str]:
    """Child flow: one station's readings, fetched concurrently, reduced to a small report."""
    futures = [fetch_reading.submit(station, day) for day in range(days)]
    readings = [future.result() for future in futures]
    report = {"station": station, "mean": sum(readings) / len(readings), "max": max(readings)}
    get_run_logger().info("Station %s: mean %.2f, max %.2f", station, report["mean"], report["max"])
    return report


@flow
def format_summary(reports: list[dict[str, float | str]]) -> str:
    """Child flow: turn the reports into text, hottest station first."""
    ranked = sorted(reports, key=lambda r: r["mean"], reverse=True)
    lines = [f"{r['station']:>6}: mean {r['mean']:5.2f}  max {r['max']:5.2f}" for r in ranked]
    return "\n".join(lines)


@flow(log_prints=True)
def weather_summary(stations: tuple[str, ...] = ("oslo", "lima", "perth"), days: int = 3) -> str:
    """Parent flow: one `station_report` subflow per station, then a `format_summary` subflow."""
    reports = [station_report(station, days=days) for station in stations]
    summary = format_summary(reports)
    print(f"Summary of {len(reports)} stations over {days} days:\n{summary}")
    return summary


if __name__ == "__main__":
    print(weather_summary())
