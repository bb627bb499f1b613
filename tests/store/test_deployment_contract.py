"""The DeploymentStore contract (deployment_contract.py) on SqlStore: SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from mainspring.store.sql import SqlStore

from .deployment_contract import *  # noqa: F403  (the contract's tests, collected here)


@pytest.fixture
def deployments(store: SqlStore) -> SqlStore:
    return store
