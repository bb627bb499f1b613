"""SQLite's triggers that keep `task_run_hour` (migration 0015), with the seal written in.

Task runs are written by the thousand per flow, and any trigger on `task_run` is paid per
written row: one that counts every row costs ~2.3 us a write (+20% of the store's task-run
write CPU), one that first looks the seal up in its table ~1.5 us. These compare `created`
with the seal as a constant, which a task run being run (created after it) fails at once;
moving the seal (store/sql/hour_counts.py, about once an hour) recreates them, in the
transaction that counts the hours it seals, so no row is counted twice or missed.
"""

from __future__ import annotations

EVENTS = ("insert", "update", "delete")
DROP = [f"DROP TRIGGER IF EXISTS task_run_hour_{event}" for event in EVENTS]

_HOUR = "CAST({0}.created / 3600 AS INTEGER)"
_ADD = (
    "INSERT INTO task_run_hour (hour, state_type, runs) "
    f"SELECT {_HOUR.format('new')}, new.state_type, 1 WHERE new.created < {{seal}} "
    "ON CONFLICT (hour, state_type) DO UPDATE SET runs = runs + 1;"
)
_REMOVE = (
    f"UPDATE task_run_hour SET runs = runs - 1 WHERE hour = {_HOUR.format('old')} "
    "AND state_type = old.state_type AND old.created < {seal};"
)


def sqlite_task_triggers(seal: float) -> list[str]:
    """CREATE TRIGGER statements counting the task runs created before `seal`."""
    at = repr(float(seal))  # a float's repr: digits only, nothing to quote
    return [
        f"CREATE TRIGGER task_run_hour_insert AFTER INSERT ON task_run "
        f"WHEN new.created < {at} BEGIN {_ADD.format(seal=at)} END",
        f"CREATE TRIGGER task_run_hour_update AFTER UPDATE OF created, state_type ON task_run "
        f"WHEN min(old.created, new.created) < {at} "
        f"BEGIN {_REMOVE.format(seal=at)} {_ADD.format(seal=at)} END",
        f"CREATE TRIGGER task_run_hour_delete AFTER DELETE ON task_run "
        f"WHEN old.created < {at} BEGIN {_REMOVE.format(seal=at)} END",
    ]
