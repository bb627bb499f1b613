"""SqlStore's part of the Store protocol for what is changed from outside a run.

`set_state` and the crash detector's queries (their SQL in store/sql/transitions.py), the end
of dead runs (store/sql/dead_runs.py), the API keys (store/sql/api_keys.py). A base class of
`SqlStore`, kept apart so that store.py holds the run history only; it uses SqlStore's
connections (`engine`, `_reading`, `_writing`), declared here.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager

import sqlalchemy as sa

from mainspring.exceptions import StoreError
from mainspring.model.api_keys import ApiKey
from mainspring.model.liveness import SilentRun
from mainspring.model.orchestration import Outcome
from mainspring.model.states import State
from mainspring.settings import redact_url
from mainspring.store.sql import api_keys, transitions
from mainspring.store.sql.dead_runs import end_dead_runs
from mainspring.store.sql.dialect import SqlBackend


class OutsideChanges:
    url: str
    _backend: SqlBackend

    # SqlStore's, which comes first in its own method resolution order.
    def engine(self) -> sa.Engine:
        raise NotImplementedError

    def _reading(self) -> AbstractContextManager[sa.Connection]:
        raise NotImplementedError

    def _writing(self, what: str = "write") -> AbstractContextManager[sa.Connection]:
        raise NotImplementedError

    # -- state changes from outside a run ----------------------------------------------------
    def set_state(self, flow_run_id: str, state: State, *, force: bool = False) -> Outcome:
        return transitions.set_state(
            lambda: self._writing("set the state"), flow_run_id, state, is_task=False, force=force
        )

    def set_task_run_state(self, task_run_id: str, state: State, *, force: bool = False) -> Outcome:
        return transitions.set_state(
            lambda: self._writing("set the state"), task_run_id, state, is_task=True, force=force
        )

    def find_silent_flow_runs(self, silent_since: float) -> list[SilentRun]:
        with self._reading() as conn:
            return transitions.find_silent(conn, silent_since)

    def crash_silent_flow_run(
        self, flow_run_id: str, crashed: State, *, silent_since: float
    ) -> int | None:
        return transitions.crash_silent(
            lambda: self._writing("crash the run"), flow_run_id, crashed, silent_since
        )

    def end_dead_flow_runs(self) -> list[str]:
        engine = self.engine()
        try:
            with self._backend.serialized():
                return end_dead_runs(engine, self._backend)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"Could not end dead runs in {redact_url(self.url)!r}: {exc}") from exc

    # -- API keys ----------------------------------------------------------------------------
    def create_api_key(self, key: ApiKey) -> None:
        with self._writing("store the API key") as conn:
            api_keys.create(conn, key)

    def read_api_keys(self) -> list[ApiKey]:
        with self._reading() as conn:
            return api_keys.read_all(conn)

    def find_api_key(self, id_or_name: str) -> ApiKey | None:
        with self._reading() as conn:
            return api_keys.find(conn, id_or_name)

    def revoke_api_key(self, id_or_name: str) -> tuple[ApiKey, bool]:
        with self._writing("revoke the API key") as conn:
            return api_keys.revoke(conn, id_or_name, time.time())

    def record_api_key_use(self, key_id: str, when: float) -> None:
        with self._writing("record the API key's use") as conn:
            api_keys.record_use(conn, key_id, when)
