"""What ApiStore does not offer of `RunRetries`: a retry through the pool is the web UI's,
which runs in the server over its database; a client asking gets `NeedsDatabase` (the CLI's
`mainspring flow-run retry` resumes a run wherever it is asked)."""

from __future__ import annotations

from mainspring.model.orchestration import Outcome
from mainspring.store.http.server_calls import ServerCalls
from mainspring.store.run_retries import RunRetries


class ApiRunRetries(RunRetries, ServerCalls):
    def retry_deployment_run(self, flow_run_id: str, message: str) -> Outcome:
        self._needs_database("Retrying a deployment run through its pool (the web UI's)")
