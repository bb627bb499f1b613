"""Exceptions users see. Each says what went wrong and, where it can, what to do about it.

Part of the floor: this module imports nothing of ours, so every layer can raise these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass


class MainspringError(Exception):
    """Base class of every error Mainspring raises on its own account."""


class ParameterBindError(MainspringError, TypeError):
    """The arguments given do not fit the function's signature (missing, unknown, too many)."""


class ParameterTypeError(MainspringError, TypeError):
    """An argument could not be validated or coerced to the type its annotation asks for."""

    def __init__(self, owner: str, parameter: str, expected: str, value: object, detail: str = ""):
        self.owner, self.parameter, self.expected, self.value = owner, parameter, expected, value
        shown = repr(value)
        if len(shown) > 200:
            shown = shown[:197] + "..."
        message = (
            f"{owner} parameter {parameter!r} expects {expected}, "
            f"got {shown} ({type(value).__name__})"
        )
        if detail:
            message += f": {detail}"
        super().__init__(message)


class UnfinishedRun(MainspringError):
    """A result was asked of a run that has not reached a final state."""


class FailedRun(MainspringError):
    """A run failed without an exception object to re-raise (for example, a state read back)."""


class CrashedRun(MainspringError):
    """A run was interrupted by something outside user code (Ctrl-C, a killed process)."""


class CancelledRun(MainspringError):
    """Raise inside a flow or task to end it Cancelled; a cancelled run's result raises it."""


class MainspringTimeoutError(MainspringError, TimeoutError):
    """A flow or task ran longer than its `timeout_seconds`."""


class StoreError(MainspringError):
    """The run history could not be read or written."""


class StoreRejected(StoreError):
    """The store refused a write for good (no or a read-only API key, a body the server finds
    invalid): retrying the same batch cannot succeed, unlike after a network failure."""

    def __init__(
        self, message: str, refused: int | None = None, parts: list[Any] | None = None
    ) -> None:
        super().__init__(message)
        #: How many records of the write were refused; None: all of them.
        self.refused = refused
        #: The refused records, as (batch part, reason) pairs, when the others were stored;
        #: the recorder sets them aside (see store/dead_letter.py).
        self.parts = parts


class StoreFull(StoreRejected):
    """The disk holding the store is full: nothing can be written until space is freed, and
    waiting a few seconds will not free it."""


class ObjectNotFound(StoreError, LookupError):
    """The store has no object with the id asked for."""


class FlowRunCancelled(CancelledRun):
    """Raised inside a flow run (and its task runs) whose cancellation was requested."""


class TerminationSignal(SystemExit):
    """SIGTERM arrived during a flow run: the run is marked Crashed, then the process exits."""


class SerializationError(MainspringError):
    """A result could not be serialized (or read back) for result storage."""


class MissingResult(MainspringError, LookupError):
    """A run's result cannot be loaded: it was never persisted, or its record is gone."""


class UntrustedResultLocation(MainspringError, PermissionError):
    """A result reference points outside the result storages this process trusts: loading it
    could run code (a pickle) planted by whoever wrote the reference."""


class ResultStorageError(MainspringError):
    """A result storage cannot be used: a path that is not a folder, an unknown protocol, a
    folder that cannot be written."""


class ResumeError(MainspringError):
    """A flow run cannot be resumed: wrong state, no manifest, or its flow cannot be loaded."""


class InvalidSchedule(MainspringError, ValueError):
    """A schedule cannot be built: a malformed cron or rrule, an unknown time zone, an interval
    that is not a positive number of seconds. The message is one line naming what is wrong."""


class NeedsDatabase(StoreRejected):
    """The operation reads or writes the server's own tables (API keys, the crash detector's
    queries): only a process with direct access to the database (the server, or an admin's
    CLI on its machine) can do it, not a client of the server's API."""


class ObjectAlreadyExists(MainspringError, ValueError):
    """An object of that name exists already (a block saved without `overwrite=True`)."""


class BlockDataInvalid(MainspringError, ValueError):
    """A block's field values do not fit its type's schema; the message names the field, and
    `field` is its top-level name when there is one (so a form can mark it)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class EncryptionKeyError(MainspringError):
    """Secrets cannot be encrypted or decrypted: the encryption key is malformed, or is not
    the one the secrets were encrypted with. The message names where the key came from."""


class ConcurrencyLimitNotFound(ObjectNotFound):
    """`concurrency(..., strict=True)` named a limit the store does not have."""


class ConcurrencySlotTimeout(MainspringError, TimeoutError):
    """No slot of a concurrency limit became free within `timeout_seconds` (Prefect raises a
    TimeoutError too, so `except TimeoutError` code keeps working)."""
