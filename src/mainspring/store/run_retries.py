"""The RunRetries protocol: retrying a finished deployment run through its work pool.

`mainspring flow-run retry` resumes a run in the process that asks. A server must not run
users' code itself, so a retry asked of the server (the web UI's Retry button) hands the run
back to the workers of its deployment's pool instead: the run becomes Scheduled and
unclaimed, due now, and the worker that claims it resumes it under the same id
(deploy/execute.py keeps the task runs with persisted results). Only deployment runs have a
pool to go back to; other runs are retried with the CLI. `SqlStore` implements it
(store/sql/run_retries.py); `ApiStore` raises `NeedsDatabase`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from mainspring.model.orchestration import Outcome

__all__ = ["RunRetries"]


class RunRetries(ABC):
    @abstractmethod
    def retry_deployment_run(self, flow_run_id: str, message: str) -> Outcome:
        """Move a Failed, Crashed or Cancelled top-level deployment run back to Scheduled
        (named Scheduled, with `message`), unclaimed and due now, as one compare-and-set
        (`set_state` with force). Rejected, with the reason, for a run that is not a
        deployment run, is a subflow run, or has not finished unsuccessfully. An unknown id
        raises `ObjectNotFound`."""
