"""What `ApiStore` cannot do: the server's own operations, which need its database.

The API-key queries and the crash detector's are used by the server process and by an
admin's CLI on the server's machine, both with the database at hand; the API offers no
endpoint for them (a client able to list keys or crash runs would be a hole). A client of the
server that calls them gets a `NeedsDatabase` saying so, rather than a 404 from a guessed URL.
"""

from __future__ import annotations

from typing import NoReturn

from mainspring.exceptions import NeedsDatabase
from mainspring.model.api_keys import ApiKey
from mainspring.model.liveness import SilentRun
from mainspring.model.states import State
from mainspring.settings import redact_url


class ServerOnly:
    url: str

    def _needs_database(self, what: str) -> NoReturn:
        raise NeedsDatabase(
            f"{what} needs direct access to the server's database: run it on the server's "
            f"machine with MAINSPRING_DATABASE_URL (not MAINSPRING_API_URL, which points at "
            f"{redact_url(self.url)})."
        )

    def find_silent_flow_runs(self, silent_since: float) -> list[SilentRun]:
        self._needs_database("Finding silent flow runs (the crash detector's query)")

    def crash_silent_flow_run(
        self, flow_run_id: str, crashed: State, *, silent_since: float
    ) -> int | None:
        self._needs_database("Crashing a silent flow run (the crash detector's)")

    def end_dead_flow_runs(self) -> list[str]:
        self._needs_database("Ending the runs whose process is gone")

    def create_api_key(self, key: ApiKey) -> None:
        self._needs_database("Creating an API key")

    def read_api_keys(self) -> list[ApiKey]:
        self._needs_database("Listing API keys")

    def find_api_key(self, id_or_name: str) -> ApiKey | None:
        self._needs_database("Finding an API key")

    def revoke_api_key(self, id_or_name: str) -> tuple[ApiKey, bool]:
        self._needs_database("Revoking an API key")

    def record_api_key_use(self, key_id: str, when: float) -> None:
        self._needs_database("Recording an API key's use")
