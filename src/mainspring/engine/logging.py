"""Run logging: console lines in Prefect's format, every line also stored with its run.

    12:00:01.123 | INFO    | Flow run 'purple-dogfish' - Created task run 'extract-0' for ...

User code logs through `get_run_logger()`, a standard `logging.LoggerAdapter`, so handlers and
levels behave as Python users expect. The engine's own lifecycle lines (two or three per task
call) take a shortcut, `engine_log()`, that feeds the same two handlers without building a
`logging.LogRecord`: that alone is most of a task call's overhead otherwise.
"""

from __future__ import annotations

import builtins
import logging
import sys
import threading
import time
from contextvars import ContextVar
from typing import Any

from mainspring.engine.console import console
from mainspring.engine.context import flow_run_context, task_run_context
from mainspring.engine.dag import tracing
from mainspring.exceptions import MainspringError
from mainspring.store.recorder import get_recorder

LOGGER_NAME = "mainspring"
FLOW_RUN_LOGGER = "mainspring.flow_runs"
TASK_RUN_LOGGER = "mainspring.task_runs"

_configured = False
_configure_lock = threading.Lock()
_level = logging.INFO
_console: ConsoleHandler | None = None


#: A run's log lines as (flow_run_id, task_run_id, level, logger, message, ts), collected here
#: instead of stored or printed while a task's function runs in a worker of a remote runner
#: (process, Dask, Ray): they travel back with its outcome and the flow's process records them
#: (`replay_lines`), so a worker needs no store and no per-task write, and prints nothing twice.
captured_lines: ContextVar[list[tuple] | None] = ContextVar("captured_lines", default=None)

_clock_second = -1
_clock_text = ""


def format_line(ts: float, level: int, label: str, message: str) -> str:
    global _clock_second, _clock_text
    second = int(ts)
    if second != _clock_second:  # localtime+strftime cost more than the rest of the line
        _clock_text = time.strftime("%H:%M:%S", time.localtime(second))
        _clock_second = second
    millis = int((ts - second) * 1000)
    level_name = _LEVEL_NAMES.get(level) or logging.getLevelName(level)
    return f"{_clock_text}.{millis:03d} | {level_name:<7} | {label} - {message}\n"


_LEVEL_NAMES = {10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR", 50: "CRITICAL"}


class ConsoleHandler(logging.Handler):
    """Writes run log lines to the *current* `sys.stderr`, through the console buffer."""

    def emit(self, record: logging.LogRecord) -> None:
        if captured_lines.get() is not None:
            return  # printed by the flow's process when the lines come back
        try:
            label = getattr(record, "run_label", None) or record.name
            self.write(record.created, record.levelno, label, record.getMessage())
        except Exception:
            self.handleError(record)

    def write(self, ts: float, level: int, label: str, message: str) -> None:
        console.write(format_line(ts, level, label, message))


class StoreHandler(logging.Handler):
    """Hands log records that belong to a run to the recorder, which stores them with it."""

    def emit(self, record: logging.LogRecord) -> None:
        flow_run_id = getattr(record, "flow_run_id", None)
        task_run_id = getattr(record, "task_run_id", None)
        if flow_run_id is None and task_run_id is None:
            return
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + logging.Formatter().formatException(record.exc_info)
            lines = captured_lines.get()
            if lines is not None:
                line = (flow_run_id, task_run_id, record.levelno, record.name, message)
                lines.append((*line, record.created))
                return
            get_recorder().log(
                flow_run_id, task_run_id, record.levelno, record.name, message, record.created
            )
        except Exception:
            self.handleError(record)


def configure_logging(force: bool = False) -> None:
    """Attach Mainspring's console and store handlers to the `mainspring` logger, once."""
    global _configured, _level, _console
    if _configured and not force:
        return
    with _configure_lock:
        if _configured and not force:
            return
        from mainspring.settings import get_settings

        settings = get_settings()
        _level = logging.getLevelName(settings.logging_level)
        logger = logging.getLogger(LOGGER_NAME)
        for handler in list(logger.handlers):
            if isinstance(handler, ConsoleHandler | StoreHandler):
                logger.removeHandler(handler)
        logger.setLevel(_level)
        logger.propagate = False  # our console handler prints; avoid doubled lines via root
        _console = ConsoleHandler() if settings.logging_console else None
        if _console is not None:
            logger.addHandler(_console)
        logger.addHandler(StoreHandler())
        _configured = True


def reset_logging() -> None:
    """Forget the configuration: the next run configures the handlers anew from the settings
    of that moment (tests, whose settings change between them; a program that changes its
    MAINSPRING_LOGGING_* settings at run time). Without it the first configuration stays."""
    global _configured
    with _configure_lock:
        _configured = False


def engine_log(
    level: int,
    label: str,
    message: str,
    flow_run_id: str | None,
    task_run_id: str | None,
    recorder: Any,
    logger_name: str = FLOW_RUN_LOGGER,
) -> None:
    """The engine's lifecycle lines: same console format and storage, no LogRecord built."""
    if level < _level:
        return
    ts = time.time()
    if _console is not None:
        console.write(format_line(ts, level, label, message))
    recorder.log(flow_run_id, task_run_id, level, logger_name, message, ts)


def replay_lines(lines: list[tuple], label: str) -> None:
    """Record and print log lines a task run's function wrote in a worker (`captured_lines`),
    as if it had run here: the worker's clock and levels, this process's console and store."""
    if not lines:
        return
    recorder = get_recorder()
    for flow_run_id, task_run_id, level, logger, message, ts in lines:
        if level < _level:
            continue
        if _console is not None:
            console.write(format_line(ts, level, label, message))
        recorder.log(flow_run_id, task_run_id, level, logger, message, ts)


class RunLogger(logging.LoggerAdapter):
    """A logger bound to one run: its lines carry the run's label and ids."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        extra = kwargs.get("extra")
        kwargs["extra"] = {**(self.extra or {}), **extra} if extra else self.extra
        return msg, kwargs


def get_run_logger() -> RunLogger:
    """The logger of the current task run, or else of the current flow run."""
    configure_logging()
    task_ctx = task_run_context.get()
    flow_ctx = flow_run_context.get()
    flow_run_id = flow_ctx.flow_run.id if flow_ctx else None
    if task_ctx is not None:
        extra = {
            "run_label": task_ctx.label,
            "flow_run_id": task_ctx.task_run.flow_run_id or flow_run_id,
            "task_run_id": task_ctx.task_run.id,
        }
        return RunLogger(logging.getLogger(TASK_RUN_LOGGER), extra)
    if flow_ctx is not None:
        extra = {"run_label": flow_ctx.label, "flow_run_id": flow_run_id, "task_run_id": None}
        return RunLogger(logging.getLogger(FLOW_RUN_LOGGER), extra)

    if tracing.current() is not None:  # a dry trace for visualize(): no run to log to
        return _silent_logger()

    raise MainspringError(
        "get_run_logger() needs a run context: call it inside a flow or task, "
        "or use logging.getLogger() elsewhere."
    )


def _silent_logger() -> Any:
    """What `get_run_logger()` returns in a dry trace: a logger whose lines go nowhere (the
    flow is not running, so there is no run to log to)."""
    logger = logging.getLogger("mainspring.dry_trace")
    logger.propagate = False
    logger.disabled = True
    return RunLogger(logger, {"run_label": "", "flow_run_id": None, "task_run_id": None})


# -- log_prints: print() inside a run becomes an INFO log line of that run -----------------------
_original_print = builtins.print
_print_patched = False


def _run_wants_prints() -> bool:
    task_ctx = task_run_context.get()
    if task_ctx is not None:
        return task_ctx.log_prints
    flow_ctx = flow_run_context.get()
    return flow_ctx is not None and flow_ctx.log_prints


def _logging_print(
    *args: Any, sep: str | None = " ", end: str | None = "\n", file: Any = None, flush: bool = False
) -> None:
    if (file is None or file is sys.stdout) and _run_wants_prints():
        get_run_logger().info((sep if sep is not None else " ").join(map(str, args)))
        return
    _original_print(*args, sep=sep, end=end, file=file, flush=flush)


def enable_print_capture() -> None:
    """Route print() through run loggers where the run asked for it (`log_prints=True`)."""
    global _print_patched
    if not _print_patched:
        builtins.print = _logging_print
        _print_patched = True
