"""What ApiStore does not offer of `RunRetries`: a retry through the pool is the web UI's,
which runs in the server over its database; a client asking gets `NeedsDatabase` (the CLI's
`mainspring flow-run retry` resumes a run wherever it is asked)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

from mainspring.model.orchestration import Outcome
from mainspring.store.run_retries import RunRetries


class ApiRunRetries(RunRetries):
    if TYPE_CHECKING:

        def _needs_database(self, what: str) -> NoReturn: ...  # ServerOnly's

    def retry_deployment_run(self, flow_run_id: str, message: str) -> Outcome:
        self._needs_database("Retrying a deployment run through its pool (the web UI's)")
