"""Heartbeats: while flow runs are running in this process, tell the store so, every few seconds.

One daemon thread per process, started the first time a flow run begins, calls
`Store.heartbeat(ids)` every `heartbeat_interval` seconds (MAINSPRING_HEARTBEAT_INTERVAL,
default 5) for the flow runs registered at that moment. A crash detector (the server's) marks a
run whose heartbeats stop as Crashed; the answer tells this process what the store thinks of
each run, which is how a cancel requested elsewhere (`mainspring flow-run cancel`) reaches the
run: its engine is asked to stop within one interval.

The hot path pays a dict assignment and removal per flow run: nothing is sent when no run is
registered, and a flow shorter than one interval never causes a heartbeat. The thread works
with any store (the embedded SQLite file too), so a server started later over the same database
detects runs that died. A store that cannot be reached is reported once and retried; a heartbeat
never fails a flow.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import Any

from mainspring.model import StateType

#: what the thread calls when the store reports a run of this process in this state
Listener = Callable[[StateType], None]

_runs: dict[str, tuple[Any, Listener]] = {}  # flow run id -> (recorder, listener)
_thread: threading.Thread | None = None
_pid: int | None = None
_start_lock = threading.Lock()
_wake = threading.Event()
_last_error: BaseException | None = None


def register(flow_run_id: str, recorder: Any, listener: Listener) -> None:
    """Send heartbeats for this run (to `recorder`'s store) until `unregister`."""
    _runs[flow_run_id] = (recorder, listener)
    if _pid != os.getpid():
        _start()


def unregister(flow_run_id: str) -> None:
    _runs.pop(flow_run_id, None)


def beat_now() -> None:
    """Send the next heartbeat at once rather than at the end of the interval (tests use it)."""
    _wake.set()


def _start() -> None:
    global _thread, _pid
    with _start_lock:
        if _pid == os.getpid():
            return
        _thread = threading.Thread(target=_loop, name="mainspring-heartbeats", daemon=True)
        _thread.start()
        _pid = os.getpid()


def _interval() -> float:
    from mainspring.settings import get_settings

    try:
        return get_settings().heartbeat_interval
    except Exception:  # a bad setting is reported where settings are read for the run
        return 5.0


def _loop() -> None:
    while True:
        _wake.wait(_interval())
        _wake.clear()
        beat()


def beat() -> None:
    """One round: a heartbeat for every registered run, grouped by the store it records into,
    then each run's listener called with the state the store reports."""
    by_recorder: dict[int, tuple[Any, list[str]]] = {}
    for run_id, (recorder, _listener) in list(_runs.items()):
        by_recorder.setdefault(id(recorder), (recorder, []))[1].append(run_id)
    if not by_recorder:
        _recovered()  # nothing to send: a streak of failures is over
    for recorder, ids in by_recorder.values():
        try:
            states = recorder.store.heartbeat(ids)
        except Exception as exc:
            _report(exc)
            continue
        _recovered()
        for run_id, state_type in states.items():
            entry = _runs.get(run_id)
            if entry is not None:
                try:
                    entry[1](state_type)
                except Exception as exc:  # a listener's fault must not stop the heartbeats
                    _report(exc)


def _report(exc: BaseException) -> None:
    global _last_error
    first = _last_error is None
    _last_error = exc
    if first:
        print(
            f"mainspring: could not send heartbeats ({type(exc).__name__}: {exc}); "
            "retrying in the background",
            file=sys.stderr,
        )


def _recovered() -> None:
    global _last_error
    _last_error = None
